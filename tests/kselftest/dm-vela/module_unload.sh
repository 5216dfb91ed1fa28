#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# dm-vela unloads cleanly, its targets disappear, and it loads and unloads
# again.
. "$(dirname "$0")/../../lib/ktap.sh"

ktap_plan 4
modprobe dm-vela
ktap_check "modprobe -r dm-vela" modprobe -r dm-vela
if lsmod | grep -q '^dm_vela '; then
	ktap_fail "dm_vela is gone from lsmod" "$(lsmod)"
else
	ktap_pass "dm_vela is gone from lsmod"
fi
if dmsetup targets | grep -q '^vela'; then
	ktap_fail "the vela targets are unregistered" "$(dmsetup targets)"
else
	ktap_pass "the vela targets are unregistered"
fi
ktap_check "load and unload again" sh -c 'modprobe dm-vela && modprobe -r dm-vela'
ktap_finish
