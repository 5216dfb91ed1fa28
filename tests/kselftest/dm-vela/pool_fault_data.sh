#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# What a metadata fault must never cost: another branch's bytes, data the
# last commit still maps, or a flush that lies.  Each case puts the
# metadata device on the error target while the open transaction holds
# changes, waits for the pool to degrade, and checks what a user would
# lose (review findings K3, K4, K5).
#
# - A protected golden branch of prod stays byte-identical however prod's
#   writer goes on writing after the fault (K5: exclusive bits set in the
#   aborted transaction must not let a write land in a block the last
#   commit shares with golden).
# - After the fault every flush fails, although the writes the abort
#   dropped had been acknowledged (K4).
# - A discard whose transaction was aborted is never passed down: the data
#   blocks it freed are mapped again by the last commit (K3).  The data
#   device is a loop device over tmpfs, where a discard reads back zeros.
# Afterwards the metadata checks clean and, reactivated, every volume
# reads what its last commit holds.
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/vela.sh"

meta=${VELA_DISK_meta:?}
msize=131072
blocks=512		# 4 MiB volumes of 8 KiB blocks
vsize=$((blocks * 16))

swap_meta() {	# swap_meta TABLE: replace the metadata device's table
	dmsetup suspend --nolockfs --noflush mdev && dmsetup reload mdev --table "$1" &&
		dmsetup resume mdev
}
wait_mode() {	# wait_mode MODE...: until the pool's mode is one of MODE (20 s)
	n=0
	while [ $n -lt 200 ]; do
		for m in "$@"; do
			[ "$(pool_field 7)" = "$m" ] && return 0
		done
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}
pool_up() {
	dmsetup create pool --table "0 $(blockdev --getsz "$data") vela-pool /dev/mapper/mdev $data 16" &&
		dmsetup mknodes pool
}
vol_up() {	# vol_up NAME ID
	dmsetup create "$1" --table "0 $vsize vela /dev/mapper/pool $2" && dmsetup mknodes "$1"
}
sum() {	# sum NAME WHEN: the device's checksum; a missing device never matches
	if [ -b "/dev/mapper/$1" ]; then
		md5sum <"/dev/mapper/$1" | cut -d' ' -f1
	else
		echo "no /dev/mapper/$1 $2"
	fi
}
# write_blocks DEV BYTE: one direct 8 KiB write of BYTE to every block,
# going on past failures; prints how many were acknowledged.
write_blocks() {
	tr '\0' "\\$2" </dev/zero | head -c 8192 >/tmp/pattern
	ok=0
	i=0
	while [ $i -lt $blocks ]; do
		dd if=/tmp/pattern of="$1" bs=8192 seek=$i count=1 oflag=direct \
			status=none 2>/dev/null && ok=$((ok + 1))
		i=$((i + 1))
	done
	echo $ok
}

modprobe dm-vela
modprobe loop
ktap_plan 9

mkdir -p /mnt/faultdata
mount -t tmpfs -o size=80m tmpfs /mnt/faultdata
truncate -s 64M /mnt/faultdata/data
data=$(losetup -f)
losetup "$data" /mnt/faultdata/data
dmsetup create mdev --table "0 $msize linear $meta 0" && dmsetup mknodes mdev
velactl format --force --metadata /dev/mapper/mdev --data "$data" --block-size 8k \
	--name faultdata >/dev/null
pool_up
admin create_volume prod $vsize && prod=$reply
vol_up prod "$prod"
dd if=/dev/urandom of=/dev/mapper/prod bs=8192 count=$blocks oflag=direct status=none
vela-io fsync /dev/mapper/prod
admin create_branch "$prod" golden && golden=$reply
admin set_read_only "$golden"
vol_up golden "$golden"
golden_sum=$(sum golden before)
prod_sum=$(sum prod before)

# K5 and K4.  prod's first writes after the fault break sharing with
# golden in a transaction that cannot commit; its later writes hit the
# blocks it then owned in that transaction.
echo "vela-fault-data golden" >/dev/kmsg
swap_meta "0 $msize error"
first=$(write_blocks /dev/mapper/prod 101)
wait_mode fail ro
later=$(write_blocks /dev/mapper/prod 102)
if [ "$later" = 0 ]; then
	ktap_pass "after the fault no write is acknowledged ($first were before it)"
else
	ktap_fail "after the fault no write is acknowledged" "$later of $blocks writes succeeded"
fi
ktap_expect_exit "a flush after the fault fails" 1 "" vela-io fsync /dev/mapper/prod
if [ "$(sum golden after)" = "$golden_sum" ]; then
	ktap_pass "the protected golden branch is byte-identical"
else
	ktap_fail "the protected golden branch is byte-identical" "its checksum changed"
fi

# K3.  solo owns every block alone, so a discard frees them.
dmsetup remove golden
dmsetup remove prod
dmsetup remove pool
swap_meta "0 $msize linear $meta 0"
velactl check --clear-needs-check /dev/mapper/mdev >/dev/null 2>&1
pool_up
change=$(pool_field 2)
admin create_volume solo $vsize && solo=$reply
vol_up solo "$solo"
dd if=/dev/urandom of=/dev/mapper/solo bs=8192 count=$blocks oflag=direct status=none
vela-io fsync /dev/mapper/solo
solo_sum=$(sum solo before)
echo "vela-fault-data discard" >/dev/kmsg
swap_meta "0 $msize error"
ktap_expect_exit "a discard whose commit fails fails" 1 "" \
	blkdiscard -o 0 -l $((blocks * 8192)) /dev/mapper/solo
wait_mode fail ro
vela-io fsync /dev/mapper/solo 2>/dev/null
dmsetup remove solo
dmsetup remove pool
swap_meta "0 $msize linear $meta 0"

ktap_check "the metadata checks clean at its last commit" velactl check /dev/mapper/mdev
velactl check --clear-needs-check /dev/mapper/mdev >/dev/null 2>&1
pool_up
vol_up prod "$prod" && vol_up golden "$golden" && vol_up solo "$solo"
if [ "$(sum prod after)" = "$prod_sum" ] && [ "$(sum golden after)" = "$golden_sum" ]; then
	ktap_pass "prod and golden read their last commit"
else
	ktap_fail "prod and golden read their last commit" "a checksum changed"
fi
if [ "$(sum solo after)" = "$solo_sum" ]; then
	ktap_pass "no block the aborted discard freed was discarded on the data device"
else
	ktap_fail "no block the aborted discard freed was discarded on the data device" \
		"solo no longer reads what its last commit maps"
fi
ktap_expect_exit "the pool is writable again" 0 "" vela-io fsync /dev/mapper/prod
dmsetup remove solo
dmsetup remove golden
dmsetup remove prod
dmsetup remove pool
ktap_check "and checks clean after use" velactl check /dev/mapper/mdev
dmsetup remove mdev
losetup -d "$data"
umount /mnt/faultdata
ktap_finish
