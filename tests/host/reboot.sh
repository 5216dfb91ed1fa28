#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Reboot test: boot the VM, build a tree of branches with data
# (tests/vm/reboot-guest.sh build), power it off without deactivating
# anything, boot it again on the same disks and check that `velactl
# activate --all` brings back every device, by scanning, with identical
# names, lineage and content.  Disks: meta, data, origin, state.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/ktap.sh"
dir=$(mktemp -d /tmp/vela-reboot.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$top/build/logs/reboot
mkdir -p "$log"

vm() {
	"$top/tests/vm/run-vm" --disk-dir "$dir" --disk meta:64M --disk data:512M \
		--disk origin:16M --disk state:4M --timeout 300 "$@" -- sh tests/vm/reboot-guest.sh
}

ktap_plan 2
out=$(vm --env VELA_REBOOT_PHASE=build --kill-on '^POWER-OFF-NOW$' 2>&1)
rc=$?
echo "$out" >"$log/build.log"
if [ $rc = 137 ] && echo "$out" | grep -q '^BUILT'; then
	ktap_pass "boot 1: $(echo "$out" | grep '^BUILT'), then powered off"
else
	ktap_fail "boot 1: build the tree and power off" "run-vm exit $rc" "$(echo "$out" | tail -n 20)"
fi
out=$(vm --env VELA_REBOOT_PHASE=verify 2>&1)
rc=$?
echo "$out" >"$log/verify.log"
if [ $rc = 0 ]; then
	ktap_pass "boot 2: velactl activate --all restored every device ($(echo "$out" | grep -c '^ok') checks)"
else
	ktap_fail "boot 2: velactl activate --all restores every device" "run-vm exit $rc" \
		"$(echo "$out" | grep -v '^ok' | tail -n 30)"
fi
ktap_finish
