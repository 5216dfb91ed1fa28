#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# External origins.  The origin is a read-only dm-linear slice of
# $VELA_DISK_origin of 8200 sectors (4 MiB + 4 KiB: not a whole number of
# the pool's 8 KiB blocks), filled with random data.  A volume created over
# it reads it; a branch of that volume too; partial writes copy the rest of
# their block from the origin; growing the volume past the origin reads
# zeros there (bios across the origin's end are split).  Activation is
# refused without the origin, with another device, or after the origin
# changed; the origin is never written.
# Devices: $VELA_DISK_meta, $VELA_DISK_data, $VELA_DISK_origin.
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/vela.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
odisk=${VELA_DISK_origin:?}
osize=8200

activate() {	# activate NAME ID SECTORS [ORIGIN]
	dmsetup create "$1" --table "0 $3 vela /dev/mapper/pool $2${4:+ $4}" &&
		dmsetup mknodes "$1"
}

modprobe dm-vela
ktap_plan 13
dmsetup create odev --table "0 $osize linear $odisk 0" && dmsetup mknodes odev
truncate -s $((osize * 512)) /tmp/origin
vela-io write /dev/mapper/odev /tmp/origin 42 400 8192
dmsetup create --readonly origin --table "0 $osize linear $odisk 0" && dmsetup mknodes origin
sum_before=$(md5sum </dev/mapper/origin)
velactl format --force --metadata "$meta" --data "$data" --block-size 8k --name origin >/dev/null
dmsetup create pool --table "0 $(blockdev --getsz "$data") vela-pool $meta $data 16" &&
	dmsetup mknodes pool

admin create_origin_volume replica /dev/mapper/origin replica-2026-11-27 && vol=$reply
ktap_expect_exit "create_origin_volume replies an id" 0 "" test -n "$vol"
ktap_expect_exit "velactl dump shows the origin's identity and size" 0 "" sh -c \
	"dmsetup message pool 0 reserve_metadata_snap $change >/dev/null &&
	 velactl dump --held $meta | grep -q '\"origin\": {\"id\": \"replica-2026-11-27\", \"size_sectors\": $osize' &&
	 dmsetup message pool 0 release_metadata_snap $change"
ktap_expect_exit "activating it without the origin is refused" 1 "" \
	activate bad "$vol" $osize
ktap_expect_exit "activating it with another device is refused" 1 "" \
	activate bad "$vol" $osize /dev/mapper/odev2
dmsetup create odev2 --table "0 $osize linear $odisk 16384" && dmsetup mknodes odev2
ktap_expect_exit "activating it with another device of the same size is refused" 1 "" \
	activate bad "$vol" $osize /dev/mapper/odev2
if dmesg | grep -q "The branch reads from an external origin: name it as the third argument" &&
   dmesg | grep -q "sampled blocks differ from the ones recorded at creation"; then
	ktap_pass "the refusals say why in the kernel log"
else
	ktap_fail "the refusals say why in the kernel log" "$(dmesg | tail -n 5)"
fi
activate vol "$vol" $osize /dev/mapper/origin
ktap_expect_exit "the volume reads the origin" 0 "" vela-io verify /dev/mapper/vol /tmp/origin

admin create_branch "$vol" dev-1 && br=$reply
activate br "$br" $osize /dev/mapper/origin
cp /tmp/origin /tmp/br
cp /tmp/origin /tmp/vol
vela-io write /dev/mapper/br /tmp/br 7 200 8192
vela-io write /dev/mapper/vol /tmp/vol 8 100 8192
ktap_expect_exit "a branch reads the origin too; partial writes keep the origin's data around them" 0 "" \
	vela-io verify /dev/mapper/br /tmp/br /dev/mapper/vol /tmp/vol
dmsetup remove br
dmsetup remove vol

# Past the origin's end: zeros.
admin resize "$vol" 8400
truncate -s $((8400 * 512)) /tmp/vol
activate vol "$vol" 8400 /dev/mapper/origin
ktap_expect_exit "grown past the origin, the volume reads zeros there (split bios)" 0 "" \
	vela-io verify /dev/mapper/vol /tmp/vol
dd if=/dev/mapper/vol of=/tmp/whole bs=1M iflag=direct status=none
ktap_expect_exit "a large read across the origin's end matches too" 0 "" cmp /tmp/whole /tmp/vol
dmsetup remove vol

ktap_expect_exit "the origin was never written" 0 "" \
	test "$(md5sum </dev/mapper/origin)" = "$sum_before"
# The origin changes: activation is refused.
dmsetup remove origin
dd if=/dev/urandom of=/dev/mapper/odev bs=4096 count=1 oflag=direct conv=notrunc status=none
dmsetup create --readonly origin --table "0 $osize linear $odisk 0" && dmsetup mknodes origin
ktap_expect_exit "after the origin changed, activation is refused" 1 "" \
	activate vol "$vol" 8400 /dev/mapper/origin
dmsetup remove pool
ktap_check "velactl check is clean" velactl check "$meta"
for d in origin odev odev2; do dmsetup remove "$d"; done
ktap_finish
