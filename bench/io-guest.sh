#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# bench/io, guest side (bench/io.sh boots the VM and runs it).  Prints the
# P1, P2, P3, P5, P6 and P9 figures of targets.md: dm-vela against the raw
# NVMe namespace, dm-linear, dm-thin and dm-snapshot, all with 64 KiB
# blocks, in one boot on the same emulated devices.  fio, psync, QD1,
# 4 KiB.  CPU is the whole guest's (user+system+irq+softirq, from
# /proc/stat) per I/O, so work done in kernel threads counts too.
# Environment: BENCH_SECONDS (default 8) per timed run.
set -u
meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
secs=${BENCH_SECONDS:-8}
area=$((256 * 2048))		# 256 MiB test area, in sectors
bs=128				# 64 KiB blocks, in sectors
export PATH=$PATH:/usr/sbin

modprobe dm-vela
modprobe dm-thin-pool
modprobe dm-snapshot

# dmc NAME ARGS...: dmsetup create, and the node (the guest has no udev).
dmc() {
	name=$1
	shift
	dmsetup create "$name" "$@" && dmsetup mknodes "$name"
}
cpu_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}
# run DEV RW [FIO ARGS...]: prints "<iops> <cpu us per io> <max clat us>"
run() {
	dev=$1 rw=$2
	shift 2
	t0=$(cpu_ticks)
	out=$(fio --name=b --filename="$dev" --rw="$rw" --bs=4k --ioengine=psync --direct=1 \
		--size=$((area * 512)) --randrepeat=0 --minimal "$@" 2>/dev/null)
	t1=$(cpu_ticks)
	echo "$out" | awk -F';' -v ticks=$((t1 - t0)) -v hz="$(getconf CLK_TCK 2>/dev/null || echo 100)" '{
		if ($8 > 0) { iops = $8; ios = $6 / 4; clat = $15 }
		else { iops = $49; ios = $47 / 4; clat = $56 }
		printf "%d %.0f %d\n", iops, ios ? ticks * 1e6 / hz / ios : 0, clat
	}'
}
# timed DEV RW: a 2 s warm-up run, then the measured one (the first I/O to
# a device in the emulated guest is slow, which would skew the ratios).
timed() {
	run "$@" --runtime=2 --time_based >/dev/null
	run "$@" --runtime="$secs" --time_based
}
fill() {
	dd if=/dev/urandom of=/tmp/chunk bs=1M count=4 status=none
	i=0
	while [ $i -lt $((area / 2048)) ]; do
		dd if=/tmp/chunk of="$1" bs=1M seek=$i conv=notrunc oflag=direct status=none
		i=$((i + 4))
	done
}
field() {
	echo "$1" | awk -v n="$2" '{ print $n }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}
row() {	# row ID WHAT RESULT REFERENCE-RESULT REFNAME TARGET
	printf '%-4s %-44s %7s %8s %7s  %-20s %s\n' "$1" "$2" "$(field "$3" 1)" \
		"$(field "$3" 2)" "$(ratio "$(field "$3" 1)" "$(field "$4" 1)")" "$5" "$6"
}

# Devices: metadata on $meta (vela at 0, thin at 512 MiB); data area on $data
# (raw/linear/vela/thin each start from a fresh fill of the same 256 MiB).
dmc lin --table "0 $area linear $data 0"
dmc thinmeta --table "0 262144 linear $meta 1048576"
dd if=/dev/zero of=/dev/mapper/thinmeta bs=4096 count=1 oflag=direct status=none
dmc thinpool --table "0 $(blockdev --getsz "$data") thin-pool /dev/mapper/thinmeta $data $bs 0 1 skip_block_zeroing"
dmsetup message thinpool 0 "create_thin 1"
dmc thin --table "0 $area thin /dev/mapper/thinpool 1"
dmsetup mknodes

fill "$data"
raw_r=$(timed "$data" randread)
raw_w=$(timed "$data" randwrite)
fill /dev/mapper/lin
lin_r=$(timed /dev/mapper/lin randread)
lin_w=$(timed /dev/mapper/lin randwrite)
fill /dev/mapper/thin
thin_r=$(timed /dev/mapper/thin randread)
thin_w=$(timed /dev/mapper/thin randwrite)
# P3 reference: first writes to blocks shared with a snapshot, one per 64 KiB block.
dmsetup suspend thin
dmsetup message thinpool 0 "create_snap 2 1"
dmsetup resume thin
thin_cow=$(run /dev/mapper/thin randwrite --blockalign=64k --number_ios=2048)
dmsetup remove thin
dmsetup remove thinpool
dmsetup remove thinmeta

velactl format --force --metadata "$meta" --data "$data" --block-size 64k --name bench >/dev/null
dmc pool --table "0 $(blockdev --getsz "$data") vela-pool $meta $data $bs"
change=0
msg() {
	verb=$1
	shift
	reply=$(dmsetup message pool 0 "$verb" $change "$@")
	change=$((change + 1))
}
msg create_volume vol $area
vol=$reply
dmc vol --table "0 $area vela /dev/mapper/pool $vol"
dmsetup mknodes
fill /dev/mapper/vol
vela_r=$(timed /dev/mapper/vol randread)
vela_w=$(timed /dev/mapper/vol randwrite)
msg create_branch "$vol" b1
vela_cow=$(run /dev/mapper/vol randwrite --blockalign=64k --number_ios=2048)

# P5: a chain of 200 branches; read the first and the deepest.
msg create_branch "$vol" d1
d1=$reply
tip=$d1
i=2
while [ $i -le 200 ]; do
	msg create_branch "$tip" "d$i"
	tip=$reply
	i=$((i + 1))
done
dmc d1 --table "0 $area vela /dev/mapper/pool $d1"
dmc d200 --table "0 $area vela /dev/mapper/pool $tip"
dmsetup mknodes
depth1=$(timed /dev/mapper/d1 randread)
depth200=$(timed /dev/mapper/d200 randread)
dmsetup remove d1
dmsetup remove d200

# P6: first writes to a parent with 1 and with 10 live (active) branches.
msg create_volume p6 $area
p6=$reply
dmc p6 --table "0 $area vela /dev/mapper/pool $p6"
dmsetup mknodes
fill /dev/mapper/p6
msg create_branch "$p6" l1
dmc l1 --table "0 $area vela /dev/mapper/pool $reply"
one_live=$(run /dev/mapper/p6 randwrite --blockalign=64k --number_ios=1024 --offset=0 \
	--size=$((area * 256)))
i=2
while [ $i -le 10 ]; do
	msg create_branch "$p6" "l$i"
	dmc "l$i" --table "0 $area vela /dev/mapper/pool $reply"
	i=$((i + 1))
done
ten_live=$(run /dev/mapper/p6 randwrite --blockalign=64k --number_ios=1024 \
	--offset=$((area * 256)) --size=$((area * 256)))
for i in 1 2 3 4 5 6 7 8 9 10; do dmsetup remove "l$i"; done

# P9: delete a branch with many mapped blocks while another branch runs I/O.
msg create_volume big $area
big=$reply
dmc big --table "0 $area vela /dev/mapper/pool $big"
dmsetup mknodes
fill /dev/mapper/big
dmsetup remove big
quiet=$(timed /dev/mapper/vol randwrite)
(sleep 2; msg delete "$big") &
deleting=$(timed /dev/mapper/vol randwrite)
wait
reclaimed=$(dmsetup status pool | awk '{ print $9 }')
dmsetup remove vol
dmsetup remove p6
dmsetup remove pool

# dm-snapshot: P3 and P6 references (origin writes copy to every snapshot).
dmc origin --table "0 $area linear $data 0"
i=1
while [ $i -le 10 ]; do
	dmc "cow$i" --table "0 65536 linear $meta $((i * 65536))"
	i=$((i + 1))
done
dmsetup mknodes
fill /dev/mapper/origin
snap() {	# snap N: make N snapshots of the origin
	dmsetup suspend origin
	j=1
	while [ $j -le "$1" ]; do
		dmc "snap$j" --table "0 $area snapshot $data /dev/mapper/cow$j P $bs"
		j=$((j + 1))
	done
	dmsetup reload origin --table "0 $area snapshot-origin $data"
	dmsetup resume origin
}
unsnap() {
	dmsetup suspend origin
	dmsetup reload origin --table "0 $area linear $data 0"
	dmsetup resume origin
	for s in $(dmsetup ls | awk '/^snap/ { print $1 }'); do dmsetup remove "$s"; done
	j=1
	while [ $j -le 10 ]; do
		dd if=/dev/zero of=/dev/mapper/cow$j bs=4096 count=1 oflag=direct status=none
		j=$((j + 1))
	done
}
snap 1
snap_one=$(run /dev/mapper/origin randwrite --blockalign=64k --number_ios=1024 --offset=0 \
	--size=$((area * 256)))
unsnap
snap 10
snap_ten=$(run /dev/mapper/origin randwrite --blockalign=64k --number_ios=1024 \
	--offset=$((area * 256)) --size=$((area * 256)))
unsnap

echo "BENCH-RESULTS"
printf '%-4s %-44s %7s %8s %7s  %-20s %s\n' id what IOPS "CPU us/IO" ratio "against" target
row P1 "4K random read, owned blocks: dm-vela" "$vela_r" "$raw_r" raw ">= 0.90"
row "" "  dm-linear" "$lin_r" "$raw_r" raw "ceiling"
row "" "  dm-thin" "$thin_r" "$raw_r" raw "reference"
row "" "  raw NVMe" "$raw_r" "$raw_r" raw ""
row P2 "4K random overwrite, owned blocks: dm-vela" "$vela_w" "$raw_w" raw ">= 0.90"
row "" "  dm-linear" "$lin_w" "$raw_w" raw "ceiling"
row "" "  dm-thin" "$thin_w" "$raw_w" raw "reference"
row "" "  raw NVMe" "$raw_w" "$raw_w" raw ""
row P3 "first write to shared blocks: dm-vela" "$vela_cow" "$thin_cow" dm-thin ">= 1.0"
row "" "  dm-thin" "$thin_cow" "$thin_cow" dm-thin ""
row "" "  dm-snapshot (origin, 1 snapshot)" "$snap_one" "$thin_cow" dm-thin ""
row P5 "read at depth 200: dm-vela" "$depth200" "$depth1" "depth 1" ">= 0.95"
row "" "  read at depth 1" "$depth1" "$depth1" "depth 1" ""
row P6 "first writes, 10 live branches: dm-vela" "$ten_live" "$one_live" "1 live branch" ">= 0.9"
row "" "  dm-snapshot, 10 snapshots" "$snap_ten" "$snap_one" "1 snapshot" "(falls ~N-fold)"
row P9 "4K writes while a 256 MiB branch is deleted" "$deleting" "$quiet" "no delete" "no stall"
printf '     max completion latency: %s us during the delete, %s us without\n' \
	"$(field "$deleting" 3)" "$(field "$quiet" 3)"
printf '     pending deletes after the run: %s\n' "$reclaimed"
