#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The data oracle over a branch tree.  A 512 KiB volume (8 KiB data
# blocks, 64 blocks) gets a chain of 50 branches, each taken from the
# previous one while that one stays active and is written to, and every
# fifth step one more branch from a random earlier branch (fan-out).  Each
# step writes 512 B, 4 KiB and whole-block pieces at random offsets to the
# new branch, its parent and a random older branch, keeping an oracle
# image of each; every branch is then read back byte for byte.  At the end
# the pool is deactivated and reactivated and every branch verified again,
# then velactl check must be clean.
# Devices: $VELA_DISK_meta (metadata) and $VELA_DISK_data (data).
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/vela.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
bs=16
block_bytes=$((bs * 512))
vol_sectors=1024
depth=50
oracle=/tmp/oracle
mkdir -p "$oracle"

pool_table="0 $(blockdev --getsz "$data") vela-pool $meta $data $bs"
ids=""

activate() {
	dmsetup create "b$1" --table "0 $vol_sectors vela /dev/mapper/pool $1" &&
		dmsetup mknodes "b$1"
}
verify_all() {
	set --
	for i in $ids; do
		set -- "$@" "/dev/mapper/b$i" "$oracle/$i"
	done
	vela-io verify "$@"
}

modprobe dm-vela
ktap_plan 8
ktap_check "format and activate the pool" sh -c \
	"velactl format --force --metadata $meta --data $data --block-size 8k --name oracle &&
	 dmsetup create pool --table '$pool_table' && dmsetup mknodes pool"

admin create_volume prod $((vol_sectors)) && vol=$reply
activate "$vol"
truncate -s $((vol_sectors * 512)) "$oracle/$vol"
ids=$vol
if vela-io write "/dev/mapper/b$vol" "$oracle/$vol" 1 200 $block_bytes &&
   vela-io verify "/dev/mapper/b$vol" "$oracle/$vol"; then
	ktap_pass "a fresh volume reads zeros where unwritten and the data written elsewhere"
else
	ktap_fail "a fresh volume reads zeros where unwritten and the data written elsewhere"
fi

# branch PARENT NAME: take, activate and record a branch of PARENT.
branch() {
	admin create_branch "$1" "$2" && activate "$reply" || return 1
	cp "$oracle/$1" "$oracle/$reply"
	ids="$ids $reply"
	nr=$((nr + 1))
}
# pick N: one of the branches so far, chosen by N.
pick() {
	n=$(($1 % nr))
	set -- $ids
	shift $n
	echo "$1"
}

tip=$vol
nr=1
failed=""
step=1
while [ $step -le $depth ]; do
	parent=$tip
	branch "$parent" "chain-$step" || { failed="taking branch $step"; break; }
	tip=$reply
	if [ $((step % 5)) -eq 0 ]; then
		side=$(pick $((step * 7)))
		branch "$side" "fan-$step" || { failed="taking fan-out branch $step"; break; }
	fi
	other=$(pick $((step * 13)))
	vela-io write "/dev/mapper/b$tip" "$oracle/$tip" $((step * 3)) 20 $block_bytes &&
	vela-io write "/dev/mapper/b$parent" "$oracle/$parent" $((step * 3 + 1)) 10 $block_bytes &&
	vela-io write "/dev/mapper/b$other" "$oracle/$other" $((step * 3 + 2)) 10 $block_bytes ||
		{ failed="writing at step $step"; break; }
	verify_all || { failed="verifying after step $step"; break; }
	step=$((step + 1))
done
if [ -z "$failed" ]; then
	ktap_pass "$depth steps over $nr branches: every branch matches its oracle after every step"
else
	ktap_fail "every branch matches its oracle after every step" "$failed"
fi
if velactl dump "$meta" | grep -q "\"id\": $tip, \"name\": \"chain-$depth\".*\"depth\": $depth,"; then
	ktap_pass "the chain tip is $depth levels below the volume"
else
	ktap_fail "the chain tip is $depth levels below the volume" \
		"$(velactl dump "$meta" | grep "chain-$depth")"
fi

for i in $ids; do dmsetup remove "b$i"; done
ktap_check "deactivate every branch and the pool" dmsetup remove pool
ktap_check "reactivate the pool and every branch" sh -c \
	"dmsetup create pool --table '$pool_table' && dmsetup mknodes pool &&
	 for i in $ids; do dmsetup create b\$i --table \"0 $vol_sectors vela /dev/mapper/pool \$i\" && dmsetup mknodes b\$i || exit 1; done"
if verify_all; then
	ktap_pass "after reactivation every branch still matches its oracle"
else
	ktap_fail "after reactivation every branch still matches its oracle"
fi
for i in $ids; do dmsetup remove "b$i"; done
dmsetup remove pool
ktap_check "velactl check is clean" velactl check "$meta"
ktap_finish
