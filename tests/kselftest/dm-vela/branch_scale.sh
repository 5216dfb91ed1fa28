#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Scale: 1000 branches of one volume in the metadata, 100 of them active
# as devices at once, each written and checked against its own oracle.
# A 1 MiB volume with 8 KiB blocks (128 blocks), partly written before
# the branches are taken.  Devices: $VELA_DISK_meta and $VELA_DISK_data.
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/vela.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
vol=2048


modprobe dm-vela
ktap_plan 6
ktap_check "format and activate the pool" sh -c \
	"velactl format --force --metadata $meta --data $data --block-size 8k --name scale &&
	 dmsetup create pool --table '0 $(blockdev --getsz "$data") vela-pool $meta $data 16' &&
	 dmsetup mknodes pool"
admin create_volume base $vol && base=$reply
dmsetup create base --table "0 $vol vela /dev/mapper/pool $base" && dmsetup mknodes base
truncate -s $((vol * 512)) /tmp/base
vela-io write /dev/mapper/base /tmp/base 1 64 8192
dmsetup remove base

i=1
failed=
while [ $i -le 1000 ]; do
	admin create_branch "$base" "ci-$i" || { failed="create_branch $i"; break; }
	i=$((i + 1))
done
if [ -z "$failed" ] && [ "$(dmsetup status pool | awk '{ print $8 }')" = 1001 ]; then
	ktap_pass "1000 branches of one volume (1001 in the pool)"
else
	ktap_fail "1000 branches of one volume" "$failed" "$(dmsetup status pool)"
fi

# Branch ids 2..1001; activate every tenth: 100 devices.
ids=$(seq 2 10 1001)
failed=
for id in $ids; do
	dmsetup create "b$id" --table "0 $vol vela /dev/mapper/pool $id" &&
		dmsetup mknodes "b$id" || { failed="activating $id"; break; }
done
if [ -z "$failed" ] && [ "$(dmsetup ls | grep -c '^b[0-9]')" = 100 ]; then
	ktap_pass "100 branches active as devices at once"
else
	ktap_fail "100 branches active as devices at once" "$failed"
fi
set --
for id in $ids; do
	cp /tmp/base "/tmp/o$id"
	vela-io write "/dev/mapper/b$id" "/tmp/o$id" "$id" 8 8192 || failed="writing $id"
	set -- "$@" "/dev/mapper/b$id" "/tmp/o$id"
done
ktap_expect_exit "each of the 100 reads its own writes over the shared base" 0 "" \
	vela-io verify "$@"
for id in $ids; do dmsetup remove "b$id"; done
ktap_check "deactivate the pool" dmsetup remove pool
ktap_check "velactl check is clean with 1001 branches" velactl check "$meta"
ktap_finish
