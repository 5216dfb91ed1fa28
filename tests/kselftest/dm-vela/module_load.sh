#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The dm-vela module loads, with the package version, and logs no error.
. "$(dirname "$0")/../../lib/ktap.sh"

ktap_plan 3
ktap_check "modprobe dm-vela" modprobe dm-vela
if lsmod | grep -q '^dm_vela '; then
	ktap_pass "dm_vela is listed by lsmod"
else
	ktap_fail "dm_vela is listed by lsmod" "$(lsmod)"
fi
want=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' /vela/dkms.conf)
got=$(cat /sys/module/dm_vela/version 2>/dev/null)
if [ -n "$want" ] && [ "$got" = "$want" ]; then
	ktap_pass "module version is the package version ($want)"
else
	ktap_fail "module version is the package version" "/sys/module/dm_vela/version: '$got', dkms.conf: '$want'"
fi
ktap_finish
