#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The guest side of bench/merge.sh (P8).  For each volume, three rounds of:
# 1,000 distinct blocks written to a branch (spread over the volume, then
# within its first GiB), then `velactl diff` of the
# branch against its branch point and `velactl merge --strategy
# child-wins` into the volume (whose device is suspended and resumed),
# each timed end to end.  Prints "P8 <volume> <op> <median> <min> <max>
# <nodes read>".
set -eu
export PATH=$PATH:/usr/sbin
modprobe dm-vela
ROUNDS=3

stats() {	# stats VOLUME OP NODES: the median, min and max of /tmp/samples
	sort -n /tmp/samples >/tmp/sorted
	echo "P8 $1 $2 $(sed -n 2p /tmp/sorted) $(head -n 1 /tmp/sorted) $(tail -n 1 /tmp/sorted) $3"
	: >/tmp/samples
}

velactl activate bench >/dev/null
# spread: the 1,000 blocks anywhere in the volume; first-gib: within its
# first GiB (a dm-linear window on the branch), so both volumes see the
# same changes and only their size differs.
for where in spread first-gib; do
	for vol in vol-1g vol-64g; do
		child="$vol-$where"
		velactl create-branch "bench/$vol" "$child" >/dev/null
		target=/dev/mapper/bench@$child
		if [ $where = first-gib ]; then
			dmsetup create window --table "0 2097152 linear $target 0"
			dmsetup mknodes window
			target=/dev/mapper/window
		fi
		: >/tmp/diff.samples
		: >/tmp/merge.samples
		round=1
		while [ $round -le $ROUNDS ]; do
			vela-io batch "$target" - "$round" 1000 65536 >/dev/null
			sync
			vela-io time velactl diff "bench/$child" >>/tmp/diff.samples
			nodes=$(velactl diff --json "bench/$child" | jq .nodes_read)
			blocks=$(velactl diff --json "bench/$child" | jq '.bytes / 65536')
			vela-io time velactl merge "bench/$child" --strategy child-wins >>/tmp/merge.samples
			round=$((round + 1))
		done
		[ $where = first-gib ] && dmsetup remove window
		echo "# $vol, $where: $blocks blocks changed per round"
		cp /tmp/diff.samples /tmp/samples
		stats "$vol,$where" diff "$nodes"
		cp /tmp/merge.samples /tmp/samples
		stats "$vol,$where" merge -
	done
done
velactl deactivate bench >/dev/null
echo "# $(velactl check /dev/nvme0n1)"
