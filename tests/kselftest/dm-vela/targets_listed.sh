#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# `dmsetup targets` lists both dm-vela targets with a version, and velactl
# reads the same versions through libdevmapper.
. "$(dirname "$0")/../../lib/ktap.sh"

ktap_plan 4
modprobe dm-vela
targets=$(dmsetup targets)
vela_version() {
	echo "$targets" | sed -n "s/^$1 *v\([0-9]*\.[0-9]*\.[0-9]*\)\$/\1/p"
}
for t in vela-pool vela; do
	v=$(vela_version "$t")
	if [ -n "$v" ]; then
		ktap_pass "dmsetup targets lists $t v$v"
	else
		ktap_fail "dmsetup targets lists $t with a version" "$targets"
	fi
done

out=$(velactl version 2>&1)
rc=$?
if [ $rc -eq 0 ]; then
	ktap_pass "velactl version succeeds with the module loaded"
else
	ktap_fail "velactl version succeeds with the module loaded" "exit $rc" "$out"
fi
agree=yes
for t in vela-pool vela; do
	echo "$out" | grep -qx "kernel target $t $(vela_version "$t")" || agree=no
done
if [ $agree = yes ]; then
	ktap_pass "velactl reports the same target versions as dmsetup"
else
	ktap_fail "velactl reports the same target versions as dmsetup" "$out" "$targets"
fi
ktap_finish
