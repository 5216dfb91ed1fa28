#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# A pool's devices are its own for as long as a branch uses them (review
# findings K8, K13, K14, K17, K20).
# - The data device must carry the pool's label: another pool's data
#   device, or an unlabelled one, is refused.  So is the pool's metadata
#   reached through a second path (a dm-linear alias), a second pool on the
#   same data device, and a reload of the pool device onto another pool's
#   metadata while its branches live.
# - The pool table replaced by the error target, then force-removed, under
#   branch I/O: the branch keeps the metadata and data devices and goes on
#   serving every write correctly; no new branch activates on the error
#   table; afterwards the metadata checks clean and the data matches.
# - A reload with read_only stops writes; a data device that shrank is
#   refused at resume, and accepted once it has its size back.
# - Writes waiting for data space do not hold up a suspend.
# Devices: dm-linear slices of $VELA_DISK_meta and $VELA_DISK_data.
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/vela.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
vsize=131072			# 64 MiB volumes
dsize=1048576			# the data slice: 512 MiB

linear() {	# linear NAME DEV OFFSET SECTORS
	dmsetup create "$1" --table "0 $4 linear $2 $3" && dmsetup mknodes "$1"
}
pool_line() {	# pool_line META DATA [FEATURES...]
	m=$1 d=$2
	shift 2
	echo "0 $(blockdev --getsz "$d") vela-pool $m $d 16${1:+ $# $*}"
}

modprobe dm-vela
ktap_plan 19
linear mdev "$meta" 0 131072
linear mdev2 "$meta" 131072 65536
linear malias "$meta" 0 131072
linear ddev "$data" 0 $dsize
linear ddev2 "$data" $dsize 65536
linear dalias "$data" 0 $dsize
linear dbare "$data" $((dsize + 65536)) 65536
dd if=/dev/zero of=/dev/mapper/dbare bs=1M count=1 oflag=direct status=none
velactl format --force --metadata /dev/mapper/mdev --data /dev/mapper/ddev --block-size 8k \
	--name ident >/dev/null
velactl format --force --metadata /dev/mapper/mdev2 --data /dev/mapper/ddev2 --block-size 8k \
	--name other >/dev/null
dmsetup create pool --table "$(pool_line /dev/mapper/mdev /dev/mapper/ddev)" &&
	dmsetup mknodes pool
admin create_volume v $vsize && v=$reply
dmsetup create v --table "0 $vsize vela /dev/mapper/pool $v" && dmsetup mknodes v
truncate -s $((vsize * 512)) /tmp/v
vela-io write /dev/mapper/v /tmp/v 1 300 8192

# Identity.
expect_refusal "another pool's data device is refused" "belongs to another pool" \
	dmsetup create p2 --table "$(pool_line /dev/mapper/mdev2 /dev/mapper/dalias)"
expect_refusal "an unlabelled data device is refused" "carries no dm-vela data label" \
	dmsetup create p2 --table "$(pool_line /dev/mapper/mdev2 /dev/mapper/dbare)"
expect_refusal "the pool's metadata through a second path is refused" \
	"already open through another device path" \
	dmsetup create p2 --table "$(pool_line /dev/mapper/malias /dev/mapper/dalias)"
expect_refusal "a second pool on the same data device is refused" \
	"data device is in use by another pool" \
	dmsetup create p2 --table "$(pool_line /dev/mapper/mdev2 /dev/mapper/ddev)"
expect_refusal "the live pool device cannot switch to another pool's metadata" \
	"A different pool cannot replace a pool" \
	dmsetup reload pool --table "$(pool_line /dev/mapper/mdev2 /dev/mapper/ddev2)"
dmsetup clear pool 2>/dev/null
ktap_check "a reload of the same pool is accepted" sh -c \
	"dmsetup reload pool --table '$(pool_line /dev/mapper/mdev /dev/mapper/ddev)' &&
	 dmsetup resume pool"

# The pool table replaced under branch I/O.
vela-io write /dev/mapper/v /tmp/v 2 600 8192 &
writer=$!
sleep 1
ktap_check "the pool table is replaced by the error target under I/O" sh -c \
	"dmsetup reload pool --table '0 $(blockdev --getsz /dev/mapper/ddev) error' &&
	 dmsetup resume pool"
expect_refusal "no branch activates on the error table" "not an active vela-pool" \
	dmsetup create v2 --table "0 $vsize vela /dev/mapper/pool $v"
dmsetup remove --force pool >/dev/null 2>&1
if wait $writer; then
	ktap_pass "the branch's writes all succeeded"
else
	ktap_fail "the branch's writes all succeeded" "vela-io write failed"
fi
ktap_check "another batch after the forced remove succeeds" \
	vela-io write /dev/mapper/v /tmp/v 3 200 8192
ktap_check "the branch reads every byte written" vela-io verify /dev/mapper/v /tmp/v
dmsetup remove v
dmsetup remove pool 2>/dev/null
ktap_check "the metadata checks clean" velactl check /dev/mapper/mdev
dmsetup create pool --table "$(pool_line /dev/mapper/mdev /dev/mapper/ddev)" &&
	dmsetup mknodes pool
dmsetup create v --table "0 $vsize vela /dev/mapper/pool $v" && dmsetup mknodes v
ktap_check "reactivated, the branch reads every byte written" \
	vela-io verify /dev/mapper/v /tmp/v

# Reloads: read_only, a shrunk data device.
dmsetup reload pool --table "$(pool_line /dev/mapper/mdev /dev/mapper/ddev read_only)" &&
	dmsetup resume pool
ktap_expect_exit "reloaded read_only, the pool is ro" 0 "" test "$(pool_field 7)" = ro
ktap_expect_exit "and writes fail" 1 "" \
	dd if=/dev/zero of=/dev/mapper/v bs=8k count=1 oflag=direct status=none
dmsetup remove v
dmsetup remove pool
dmsetup create pool --table "$(pool_line /dev/mapper/mdev /dev/mapper/ddev)" &&
	dmsetup mknodes pool
dmsetup suspend ddev && dmsetup reload ddev --table "0 $((dsize / 2)) linear $data 0" &&
	dmsetup resume ddev
dmsetup reload pool --table "$(pool_line /dev/mapper/mdev /dev/mapper/ddev)"
expect_refusal "a data device that shrank is refused at resume" "data device shrank" \
	dmsetup resume pool
dmsetup suspend ddev && dmsetup reload ddev --table "0 $dsize linear $data 0" &&
	dmsetup resume ddev
dmsetup reload pool --table "$(pool_line /dev/mapper/mdev /dev/mapper/ddev)"
ktap_check "with its size back it resumes" dmsetup resume pool
ktap_expect_exit "and is writable" 0 "" test "$(pool_field 7)" = rw
dmsetup remove pool

# Writes waiting for data space and a suspend: a pool of 64 KiB blocks on
# a 2 MiB data device.
dmsetup suspend dbare && dmsetup reload dbare --table "0 4096 linear $data $((dsize + 65536))" &&
	dmsetup resume dbare
velactl format --force --metadata /dev/mapper/mdev2 --data /dev/mapper/dbare \
	--block-size 64k --name tiny >/dev/null
dmsetup create pool --table "0 4096 vela-pool /dev/mapper/mdev2 /dev/mapper/dbare 128" &&
	dmsetup mknodes pool
change=0
admin create_volume t 65536 && t=$reply
dmsetup create t --table "0 65536 vela /dev/mapper/pool $t" && dmsetup mknodes t
dd if=/dev/zero of=/dev/mapper/t bs=64k count=64 oflag=direct status=none 2>/dev/null &
ddpid=$!
n=0
while [ "$(pool_field 7)" != out_of_data_space ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
ms=$(vela-io time dmsetup suspend t)
if [ "$(pool_field 7)" = out_of_data_space ] && [ "${ms%%.*}" -lt 10000 ]; then
	ktap_pass "a suspend with writes waiting for space took ${ms} ms"
else
	ktap_fail "a suspend with writes waiting for space finishes at once" \
		"mode $(pool_field 7), suspend took $ms ms"
fi
wait $ddpid
dmsetup resume t
dmsetup remove t
dmsetup remove pool
for d in dbare dalias ddev2 ddev malias mdev2 mdev; do
	dmsetup remove $d
done
ktap_finish
