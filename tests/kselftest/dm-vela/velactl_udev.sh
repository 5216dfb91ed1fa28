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
. "$(dirname "$0")/../../lib/stop.sh"

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

ktap_plan 15
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

# A velactl killed while it waits for udev leaves its cookie, a semaphore
# that would stay until reboot; the next activate (or status, or check) of
# any pool removes it, and only it.  The killed one works on a second pool
# (on loop devices), so that the first one's lock is free for status.
cookies() {	# the cookies dmsetup knows, one a line
	dmsetup udevcookies | grep '^0x' | awk '{ print $1 }' | sort
}
modprobe loop
truncate -s 16M /tmp/udv2-meta
truncate -s 64M /tmp/udv2-data
loop_meta=$(losetup -f)
losetup "$loop_meta" /tmp/udv2-meta
loop_data=$(losetup -f)
losetup "$loop_data" /tmp/udv2-data
velactl init "${P}2" --metadata "$loop_meta" --data "$loop_data" --force >/dev/null
velactl create "${P}2/vol" --size 8M >/dev/null
other=$(dmsetup udevcreatecookie)
VELACTL_TEST_STOP=udev-wait velactl create-branch "${P}2/vol" killed </dev/null >/tmp/udev.out 2>&1 &
pid=$!
wait_stopped $pid || ktap_diag "velactl never reached udev-wait: $(cat /tmp/udev.out)"
velactl status "$P" >/dev/null
ktap_expect_exit "status leaves the cookie of a velactl that still runs" 0 "" test "$(cookies | wc -l)" -eq 2
kill -KILL $pid
wait $pid
ktap_expect_exit "a velactl killed waiting for udev left its cookie" 0 "" test "$(cookies | wc -l)" -eq 2
ktap_expect_exit "activate removes it and says so" 0 \
	"removed the udev cookie 0x0d4d[0-9a-f]{4} that velactl \\(pid $pid\\) left when it was killed waiting for udev" \
	velactl activate "$P"
left=$(cookies)
ktap_expect_exit "...and leaves another tool's cookie" 0 "" \
	test "$(printf '%d' "$left")" = "$(printf '%d' "$other")"
dmsetup udevreleasecookie "$other"
ktap_expect_exit "activate of its pool finishes the branch the killed velactl created" 0 "" \
	sh -c "velactl activate ${P}2 >/dev/null && test -b $M/${P}2@killed"
velactl deactivate "${P}2" >/dev/null
losetup -d "$loop_meta"
losetup -d "$loop_data"
rm -f /tmp/udv2-meta /tmp/udv2-data

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
