#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# velactl with udev running (the other tests run without it): devices are
# created with a udev cookie that velactl waits for, so the node is there
# when the command returns and no cookie is left behind; branch devices
# carry the flags that keep blkid's by-uuid links and LVM off them, so the
# by-uuid link of a filesystem does not flap between its clones; and
# 56-dm-vela.rules sets those flags for events without velactl's cookie.
# A dm device without the VELA- UUID prefix gets its by-uuid link, which
# shows the rules work in this guest.  Skipped when the guest has no udev.
# Devices: $VELA_DISK_meta, $VELA_DISK_data.
. "$(dirname "$0")/../../lib/ktap.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
P=udv
M=/dev/mapper

if [ ! -x /lib/systemd/systemd-udevd ]; then
	echo "TAP version 13"
	echo "1..0 # SKIP no udev in this guest (make test-deps fetches it)"
	exit 4
fi
modprobe dm-vela
mkdir -p /run/udev
/lib/systemd/systemd-udevd --daemon
trap 'udevadm control --exit 2>/dev/null; killall systemd-udevd 2>/dev/null; rm -rf /run/udev' EXIT
udevadm trigger --action=add --subsystem-match=block
udevadm settle --timeout=60

# links_to DEV: the /dev/disk/by-uuid links that resolve to DEV.
links_to() {
	target=$(readlink -f "$1")
	for l in /dev/disk/by-uuid/*; do
		[ "$(readlink -f "$l")" = "$target" ] && echo "$l"
	done
}
property() {	# property DEV NAME
	udevadm info --query=property --name="$1" | sed -n "s/^$2=//p"
}

ktap_plan 10
velactl init "$P" --metadata "$meta" --data "$data" --force >/dev/null
ktap_expect_exit "create with udev running prints the path, node ready" 0 "^$M/$P@vol\$" \
	sh -c "velactl create $P/vol --size 64M && test -b $M/$P@vol"
mkfs.ext4 -q "$M/$P@vol"
uuid=$(velactl probe "$M/$P@vol" | sed -n 's/.* UUID="\([^"]*\)".*/\1/p')
ktap_expect_exit "create-branch with udev running" 0 "^$M/$P@b\$" \
	sh -c "velactl create-branch $P/vol b && test -b $M/$P@b"
ktap_expect_exit "velactl waited for udev: no cookie is left" 0 "" \
	sh -c "! dmsetup udevcookies | grep -q '^0x'"
flags="$(property "$M/$P@b" DM_UDEV_DISABLE_DISK_RULES_FLAG) $(property "$M/$P@b" DM_UDEV_DISABLE_OTHER_RULES_FLAG)"
ktap_expect_exit "the branch device carries the disk and other-rules flags" 0 "^1 1\$" echo "$flags"
udevadm trigger --action=change "/sys/class/block/$(basename "$(readlink -f "$M/$P@b")")"
udevadm settle --timeout=60
links="$(links_to "$M/$P@vol")$(links_to "$M/$P@b")"
ktap_expect_exit "no by-uuid link to the volume or its branch, even after a change event" 0 "" \
	test -z "$links"

# The rule on its own: dm-linear copies of the volume's filesystem, one
# with a VELA- UUID and no cookie flags, one with another UUID.
dmsetup create --uuid "VELA-BR-test-1" vela-like --table "0 131072 linear $M/$P@vol 0"
dmsetup create --uuid "OTHER-test-1" plain --table "0 131072 linear $M/$P@vol 0"
udevadm settle --timeout=60
ktap_expect_exit "56-dm-vela.rules: a VELA- device made without velactl gets no by-uuid link" 0 "" \
	test -z "$(links_to $M/vela-like)"
ktap_expect_exit "a device without the VELA- prefix gets its link (the rules work here)" 0 \
	"by-uuid/$uuid" links_to "$M/plain"
dmsetup remove vela-like
dmsetup remove plain
udevadm settle --timeout=60

ktap_check "delete with udev running" velactl delete "$P/b"
ktap_expect_exit "...its node is gone" 0 "" test ! -e "$M/$P@b"
ktap_check "deactivate with udev running, and the metadata checks clean" sh -c \
	"velactl deactivate $P && velactl check $meta && ! dmsetup udevcookies | grep -q '^0x'"
# Stop udev and remove its control socket: libdevmapper takes a socket
# without a daemon for a running udev and would wait for it forever.
udevadm control --exit 2>/dev/null
sleep 1
killall systemd-udevd 2>/dev/null
rm -rf /run/udev
ktap_finish
