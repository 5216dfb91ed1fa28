#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The guest side of the merge power-cut campaign (tests/host/merge-powercut.sh).
# A volume "vol" (32 blocks of 64 KiB) and its branch "child".  Each cycle
# writes random blocks to the child and flushes them, computes what vol
# must hold after a child-wins merge (vol with the ranges velactl diff
# reports for the child copied from it), records that on the state disk
# with "merge in flight", merges, and records the merge as done.  The host
# cuts the power at a random moment.  On the next boot, vol must equal the
# state before the merge or the state after it, never a mix, and the
# metadata must check clean.
#
# State disk: header at 0 (text), slot A (vol as last committed) at 1 MiB,
# slot B (vol after the merge in flight) at 4 MiB.  Lines for the host:
# FRESH, RECOVERED <summary>, RECOVERY-FAILED <why>, VELA-CLOCK; with
# VELA_POWERCUT_FINAL=1 only recovery, deactivation and a check (FINAL).
set -u
meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
state=${VELA_DISK_state:?}
P=mpc
M=/dev/mapper
BLOCK=65536
NBLOCKS=32
VOL_BYTES=$((BLOCK * NBLOCKS))
SLOT_A=1048576
SLOT_B=4194304
export PATH=$PATH:/usr/sbin

fail() {
	echo "RECOVERY-FAILED $*"
	exit 1
}
hdr_write() {	# hdr_write PHASE CYCLE
	printf 'phase %s\ncycle %s\n' "$1" "$2" >/tmp/h
	vela-io load "$state" 0 /tmp/h
}
hdr_get() {	# hdr_get KEY
	vela-io save "$state" 0 4096 /tmp/h.raw && tr -d '\000' </tmp/h.raw | sed -n "s/^$1 //p"
}

modprobe dm-vela
if [ -z "$(hdr_get phase)" ]; then
	velactl init "$P" --metadata "$meta" --data "$data" --force >/dev/null &&
	velactl create "$P/vol" --size $VOL_BYTES >/dev/null &&
	dd if=/dev/urandom of=/tmp/current.img bs=$BLOCK count=$NBLOCKS 2>/dev/null &&
	dd if=/tmp/current.img of="$M/$P@vol" bs=$BLOCK oflag=direct conv=fsync 2>/dev/null &&
	velactl create-branch "$P/vol" child >/dev/null &&
	vela-io load "$state" $SLOT_A /tmp/current.img &&
	hdr_write 0 0 || fail "cannot set up the pool"
	echo "FRESH"
else
	phase=$(hdr_get phase) cycle=$(hdr_get cycle)
	out=$(velactl check "$meta" 2>&1) || fail "velactl check after the cut: $out"
	velactl activate --all >/dev/null || fail "velactl activate --all failed"
	vela-io save "$state" $SLOT_A $VOL_BYTES /tmp/a.img
	vela-io save "$state" $SLOT_B $VOL_BYTES /tmp/b.img
	if cmp -s "$M/$P@vol" /tmp/a.img; then
		seen=before
		cp /tmp/a.img /tmp/current.img
	elif [ "$phase" = 1 ] && cmp -s "$M/$P@vol" /tmp/b.img; then
		seen=after
		cp /tmp/b.img /tmp/current.img
	else
		fail "cycle $cycle (phase $phase): vol is neither the state before the merge nor the state after it"
	fi
	# Start the next cycle from what vol holds.
	vela-io load "$state" $SLOT_A /tmp/current.img && hdr_write 0 "$cycle" ||
		fail "cannot write the state disk"
	if [ "$phase" = 1 ]; then
		echo "RECOVERED cycle $cycle, a merge in flight: vol holds the state $seen it; velactl check clean"
	else
		echo "RECOVERED cycle $cycle, no merge in flight: vol holds its last state; velactl check clean"
	fi
fi

if [ "${VELA_POWERCUT_FINAL:-0}" = 1 ]; then
	velactl deactivate "$P" >/dev/null || fail "deactivate failed"
	out=$(velactl check "$meta") || fail "final check: $out"
	echo "FINAL $out"
	exit 0
fi

echo "VELA-CLOCK"
cycle=$(hdr_get cycle)
while :; do
	cycle=$((cycle + 1))
	for i in 1 2 3 4 5 6; do
		dd if=/dev/urandom of="$M/$P@child" bs=$BLOCK count=1 \
			seek=$(( $(od -An -N2 -tu2 /dev/urandom) % NBLOCKS )) oflag=direct \
			conv=fsync 2>/dev/null
	done
	# What vol holds after a child-wins merge: the child's changed ranges.
	cp /tmp/current.img /tmp/after.img
	velactl diff --json "$P/child" | jq -r '.ranges[] | "\(.offset) \(.length)"' >/tmp/ranges ||
		fail "velactl diff failed"
	while read -r off len; do
		dd if="$M/$P@child" of=/tmp/after.img bs=$BLOCK skip=$((off / BLOCK)) \
			seek=$((off / BLOCK)) count=$((len / BLOCK)) conv=notrunc 2>/dev/null
	done </tmp/ranges
	vela-io load "$state" $SLOT_B /tmp/after.img && hdr_write 1 "$cycle" || fail "state disk"
	velactl merge "$P/child" --strategy child-wins >/dev/null || fail "merge failed in cycle $cycle"
	vela-io load "$state" $SLOT_A /tmp/after.img && hdr_write 0 "$cycle" || fail "state disk"
	cp /tmp/after.img /tmp/current.img
done
