#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The guest side of bench/create.sh (P4).  Five samples per case; prints
# "P4 <impl> <case> <median ms> <min ms> <max ms>".
set -eu
export PATH=$PATH:/usr/sbin
modprobe dm-vela
modprobe dm-thin-pool
SAMPLES=5

# stats NAME: the median, min and max of the numbers in /tmp/samples.
stats() {
	sort -n /tmp/samples >/tmp/sorted
	echo "P4 $1 $(sed -n 3p /tmp/sorted) $(head -n 1 /tmp/sorted) $(tail -n 1 /tmp/sorted)"
	: >/tmp/samples
}

vela_branch() {	# vela_branch PARENT NAME
	vela-io time velactl create-branch "bench/$1" "$2" >>/tmp/samples
}

thin_snap() {	# thin_snap ORIGIN-ID NEW-ID SECTORS
	vela-io time sh -c "dmsetup message tpool 0 'create_snap $2 $1' &&
		dmsetup create thin$2 --table '0 $3 thin /dev/mapper/tpool $2' &&
		dmsetup mknodes thin$2" >>/tmp/samples
}

velactl activate bench >/dev/null
: >/tmp/samples
i=1
while [ $i -le $SAMPLES ]; do vela_branch vol-1g "a$i"; i=$((i + 1)); done
stats "vela 1st-5th_branch,1GiB_mapped"
i=1
while [ $i -le $SAMPLES ]; do vela_branch vol-16g "b$i"; i=$((i + 1)); done
stats "vela 6th-10th_branch,16GiB_mapped"
# Up to 995 branches through the kernel message alone.
change=$(dmsetup status @bench | awk '{ print $5 }')
id=$(velactl list bench -H -o name,id | awk '$1 == "vol-1g" { print $2 }')
n=$(velactl list bench -H -o name | wc -l)
n=$((n - 2))
while [ $n -lt 995 ]; do
	dmsetup message @bench 0 create_branch "$change" "$id" "fill-$n" >/dev/null
	change=$((change + 1))
	n=$((n + 1))
done
i=1
while [ $i -le $SAMPLES ]; do vela_branch vol-1g "c$i"; i=$((i + 1)); done
stats "vela 996th-1000th_branch,1GiB_mapped"
i=1
while [ $i -le $SAMPLES ]; do vela_branch vol-16g "d$i"; i=$((i + 1)); done
stats "vela 1001st-1005th,16GiB_mapped"
echo "# dm-vela: $(velactl list bench -H -o name | wc -l) volumes and branches"

# The floor for making any dm device, measured here: a bare dmsetup create
# of a dm-linear device with its node ready.  velactl create-branch aims at
# no more than twice that (issue 13, item 7).
i=1
while [ $i -le $SAMPLES ]; do
	vela-io time sh -c "dmsetup create lin$i --table '0 2097152 linear $VELA_DISK_tdata 0' &&
		dmsetup mknodes lin$i" >>/tmp/samples
	i=$((i + 1))
done
stats "floor dmsetup_create_linear"
i=1
while [ $i -le $SAMPLES ]; do dmsetup remove "lin$i"; i=$((i + 1)); done

# velactl list of 10,000 branches (pool "many", made by bench/populate:
# one volume and 9,999 branches of it): wall time, the kernel's
# list_branches included, and peak memory; three samples of each form,
# printed as "LIST <what> <median ms> <min ms> <max ms> <max KiB>".
velactl activate many >/dev/null
echo "# pool many: $(velactl list many -H -o name | wc -l) volumes and branches"
for what in "list many" "list many --json" "list many -O -exclusive -S name=~vol-9" "list many --tree"; do
	: >/tmp/samples
	: >/tmp/rss
	for i in 1 2 3; do
		# shellcheck disable=SC2086 # the words of $what are the arguments
		vela-io rss velactl $what >/tmp/one
		awk '{ print $1 }' /tmp/one >>/tmp/samples
		awk '{ print $2 }' /tmp/one >>/tmp/rss
	done
	sort -n /tmp/samples >/tmp/sorted
	echo "LIST $(echo "$what" | tr ' ' _) $(sed -n 2p /tmp/sorted) $(head -n 1 /tmp/sorted) $(tail -n 1 /tmp/sorted) $(sort -n /tmp/rss | tail -n 1)"
done

tmeta=$VELA_DISK_tmeta
tdata=$VELA_DISK_tdata
dmsetup create tpool --table "0 $(blockdev --getsz "$tdata") thin-pool $tmeta $tdata 128 0 1 skip_block_zeroing"
dmsetup mknodes tpool
i=1
while [ $i -le $SAMPLES ]; do thin_snap 1 $((10 + i)) 2097152; i=$((i + 1)); done
stats "thin 1st-5th_snap,1GiB_mapped"
i=1
while [ $i -le $SAMPLES ]; do thin_snap 2 $((20 + i)) 33554432; i=$((i + 1)); done
stats "thin 6th-10th_snap,16GiB_mapped"
n=10
while [ $n -lt 995 ]; do
	dmsetup message tpool 0 "create_snap $((100 + n)) 1"
	n=$((n + 1))
done
i=1
while [ $i -le $SAMPLES ]; do thin_snap 1 $((30 + i)) 2097152; i=$((i + 1)); done
stats "thin 996th-1000th_snap,1GiB_mapped"
i=1
while [ $i -le $SAMPLES ]; do thin_snap 2 $((40 + i)) 33554432; i=$((i + 1)); done
stats "thin 1001st-1005th,16GiB_mapped"
echo "# dm-thin: $(dmsetup status tpool)"
