#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Out of metadata space (R6) and the low water events.  The metadata
# device is a dm-linear slice of $VELA_DISK_meta of 512 KiB (128 blocks,
# of which 64 are the reserve); the data device is $VELA_DISK_data with
# 4 KiB blocks and low_water_data=600000 (more than it has free, so the
# data low water event fires at once).  A 64 MiB volume written
# sequentially needs more mappings than the metadata can hold: the pool
# enters out_of_metadata_space before the metadata is full, the write
# fails, admin messages other than delete are refused, a dm event fires;
# growing the metadata device to 4 MiB and resuming the pool brings it back
# to rw, and the write then completes; the metadata checks clean.
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/vela.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}

events() {
	dmsetup info -c --noheadings -o events pool
}
pool_table() {
	echo "0 $(blockdev --getsz "$data") vela-pool /dev/mapper/smeta $data 8 1 low_water_data=600000"
}

modprobe dm-vela
ktap_plan 11
dmsetup create smeta --table "0 1024 linear $meta 0" && dmsetup mknodes smeta
velactl format --force --metadata /dev/mapper/smeta --data "$data" --block-size 4k \
	--name space >/dev/null
dmsetup create pool --table "$(pool_table)" && dmsetup mknodes pool
ktap_expect_exit "the table line echoes the low water mark" 0 "" \
	sh -c "dmsetup table pool | grep -q ' 1 low_water_data=600000\$'"
sleep 2
ev0=$(events)
if [ "$ev0" -ge 1 ] && dmesg | grep -q "free data blocks (.*) are below the low water mark (600000)"; then
	ktap_pass "free data below low_water_data raises a dm event and a log line"
else
	ktap_fail "free data below low_water_data raises a dm event and a log line" "events $ev0"
fi
admin create_volume big 131072 && big=$reply
dmsetup create big --table "0 131072 vela /dev/mapper/pool $big" && dmsetup mknodes big
if ! dd if=/dev/zero of=/dev/mapper/big bs=1M count=64 oflag=direct status=none 2>/dev/null &&
   [ "$(pool_field 7)" = out_of_metadata_space ]; then
	ktap_pass "filling the metadata stops at its reserve: the write fails, mode out_of_metadata_space"
else
	ktap_fail "filling the metadata stops at its reserve" "$(dmsetup status pool)"
fi
used=$(pool_field 3)
if [ "${used%/*}" -lt "${used#*/}" ] && [ "$(events)" -gt "$ev0" ]; then
	ktap_pass "the metadata is not full ($used) and the mode change raised a dm event"
else
	ktap_fail "the metadata is not full and the mode change raised a dm event" "$used" "events $(events)"
fi
ktap_expect_exit "admin messages other than delete are refused (ENOSPC)" 1 "" \
	dmsetup message pool 0 create_volume "$change" other 100
ktap_expect_exit "the volume still reads" 0 "" \
	dd if=/dev/mapper/big of=/dev/null bs=1M count=8 iflag=direct status=none
# K15: discards go on in out_of_metadata_space, but each one shadows leaves
# first: a discard of every block stops at half the reserve instead of
# running the metadata out, which would fail the pool with needs_check.
echo "vela-test: K15 discard" >/dev/kmsg
blkdiscard /dev/mapper/big 2>/dev/null
sleep 2
mode=$(pool_field 7)
if { [ "$mode" = out_of_metadata_space ] || [ "$mode" = rw ]; } &&
   ! dmesg | sed -n '/vela-test: K15 discard$/,$p' | grep -q "metadata .* failed"; then
	ktap_pass "K15: a discard of the whole volume does not spend the reserve (mode $mode)"
else
	ktap_fail "K15: a discard of the whole volume does not spend the reserve" \
		"$(dmsetup status pool)" "$(dmesg | grep vela | tail -n 5)"
fi
dmsetup suspend smeta && dmsetup reload smeta --table "0 8192 linear $meta 0" &&
	dmsetup resume smeta
dmsetup suspend pool && dmsetup reload pool --table "$(pool_table)" && dmsetup resume pool
if [ "$(pool_field 7)" = rw ] && [ "$(pool_field 3 | cut -d/ -f2)" = 1024 ]; then
	ktap_pass "growing the metadata device (reload, resume) returns the pool to rw with 1024 blocks"
else
	ktap_fail "growing the metadata device returns the pool to rw" "$(dmsetup status pool)"
fi
ktap_expect_exit "the write now completes" 0 "" \
	dd if=/dev/zero of=/dev/mapper/big bs=1M count=64 oflag=direct status=none
dmsetup remove big
dmsetup remove pool
ktap_check "velactl check is clean" velactl check /dev/mapper/smeta
ktap_check "no needs_check: nothing needed repair" sh -c \
	"! velactl check /dev/mapper/smeta | grep -q needs_check"
dmsetup remove smeta
ktap_finish
