#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Branch creation on a live, writable parent, without suspending it.  A
# writer streams whole-block O_DIRECT writes over a 1 MiB volume (8 KiB
# blocks, 128 of them), each block filled with its write's sequence number,
# and logs each write once it is acknowledged.  Ten branches are taken
# while it runs.  Each branch must hold, in every block, one write whole
# (never torn) and no older one than the writes logged before its
# create_branch was sent, and must not change afterwards (no later write
# to the parent lands in a block the branch shares).  The parent keeps running throughout, and is
# checked the same way at the end.
# Devices: $VELA_DISK_meta (metadata) and $VELA_DISK_data (data).
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/vela.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
bs=16
vol=2048


modprobe dm-vela
ktap_plan 6
ktap_check "format and activate the pool" sh -c \
	"velactl format --force --metadata $meta --data $data --block-size 8k --name live &&
	 dmsetup create pool --table '0 $(blockdev --getsz "$data") vela-pool $meta $data $bs' &&
	 dmsetup mknodes pool"
admin create_volume prod $vol && prod=$reply
dmsetup create prod --table "0 $vol vela /dev/mapper/pool $prod" && dmsetup mknodes prod

rm -f /tmp/acked
vela-io seqwrite /dev/mapper/prod /tmp/acked 100000000 8192 &
writer=$!
sleep 2
failed=""
ids=""
i=1
while [ $i -le 10 ]; do
	cp /tmp/acked "/tmp/before-$i"
	admin create_branch "$prod" "live-$i" || { failed="create_branch $i"; break; }
	ids="$ids $reply"
	dmsetup create "b$reply" --table "0 $vol vela /dev/mapper/pool $reply" &&
		dmsetup mknodes "b$reply" || { failed="activating branch $reply"; break; }
	dd if="/dev/mapper/b$reply" of="/tmp/branch-$reply" bs=8192 iflag=direct status=none
	sleep 0.3
	i=$((i + 1))
done
if kill -0 "$writer" 2>/dev/null; then
	ktap_pass "the parent kept taking writes while 10 branches were taken ($(wc -l </tmp/acked) acknowledged)"
else
	ktap_fail "the parent kept taking writes while 10 branches were taken" "the writer died"
fi
kill "$writer"
wait "$writer" 2>/dev/null

i=1
bad=""
for id in $ids; do
	out=$(vela-io seqcheck "/dev/mapper/b$id" "/tmp/before-$i" 8192 2>&1) || bad="$bad
branch $id: $out"
	dd if="/dev/mapper/b$id" of=/tmp/now bs=8192 iflag=direct status=none
	cmp -s /tmp/now "/tmp/branch-$id" || bad="$bad
branch $id changed after it was taken: the parent's later writes leaked into it"
	i=$((i + 1))
done
if [ -z "$failed" ] && [ -z "$bad" ]; then
	ktap_pass "every branch holds each block whole, every write acknowledged before its creation, and no later one"
else
	ktap_fail "every branch holds each block whole, every write acknowledged before its creation, and no later one" \
		"$failed" "$bad"
fi
ktap_expect_exit "the parent holds each block whole and every acknowledged write" 0 "" \
	vela-io seqcheck /dev/mapper/prod /tmp/acked 8192

for id in $ids; do dmsetup remove "b$id"; done
dmsetup remove prod
ktap_check "deactivate the pool" dmsetup remove pool
ktap_check "velactl check is clean" velactl check "$meta"
ktap_finish
