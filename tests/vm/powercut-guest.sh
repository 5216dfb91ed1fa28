#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The guest side of the power-cut campaign (tests/host/powercut.sh).  Each
# boot first recovers from the previous cut and checks it, then runs a
# mixed workload (write batches ending in a flush, branch creates, deletes)
# until the host kills the VM.
#
# What must hold after a cut lives on a third disk, $VELA_DISK_state,
# written with O_DIRECT and fdatasync (durable: the emulated NVMe has no
# volatile cache): a text header (the branches, each with its phase), and
# per branch two images, A (its data as of its last completed flush) and
# B (its data once the batch in flight completes).  A batch is: B := A plus
# the batch; phase 1; the writes and their fsync; phase 2; A := B; phase 0.
# After a cut a branch in phase 0 must read exactly A, in phase 2 exactly B
# (the flush completed), in phase 1 each sector from A or B.  Creates and
# deletes are logged in the header before they are sent, and resolved
# against the pool's metadata on recovery.
#
# Lines for the host: FRESH, RECOVERED <summary>, RECOVERY-FAILED <why>,
# then VELA-CLOCK (the cut may come from here on).  With
# VELA_POWERCUT_FINAL=1 the boot only recovers, deactivates and runs
# velactl check.
set -u
meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
state=${VELA_DISK_state:?}
vol_sectors=512
vol_bytes=$((vol_sectors * 512))
block_bytes=8192
max_branches=16
export PATH=$PATH:/usr/sbin

fail() {
	echo "RECOVERY-FAILED $*"
	exit 1
}
slot() {	# slot ID A|B: the image's offset on the state disk
	o=$((1048576 + $1 * 2 * vol_bytes))
	[ "$2" = B ] && o=$((o + vol_bytes))
	echo $o
}
hdr_read() {
	vela-io save "$state" 0 4096 /tmp/h.raw && tr -d '\000' </tmp/h.raw >/tmp/h
}
hdr_write() {
	vela-io load "$state" 0 /tmp/h
}
hdr_set() {	# hdr_set KEY VALUE: replace the line "KEY ..." (or add it)
	grep -v "^$1 " /tmp/h >/tmp/h.new
	echo "$1 $2" >>/tmp/h.new
	mv /tmp/h.new /tmp/h
}
hdr_del() {
	grep -v "^$1 " /tmp/h >/tmp/h.new
	mv /tmp/h.new /tmp/h
}
image_get() {	# image_get ID A|B FILE
	vela-io save "$state" "$(slot "$1" "$2")" $vol_bytes "$3"
}
image_put() {	# image_put ID A|B FILE
	vela-io load "$state" "$(slot "$1" "$2")" "$3"
}
change() {
	dmsetup status pool | awk '{ print $5 }'
}
message() {	# message VERB ARGS...: with the pool's current change id
	verb=$1
	shift
	dmsetup message pool 0 "$verb" "$(change)" "$@"
}
activate_pool() {
	dmsetup create pool --table "0 $(blockdev --getsz "$data") vela-pool $meta $data 16" &&
		dmsetup mknodes pool
}
activate() {
	dmsetup create "b$1" --table "0 $vol_sectors vela /dev/mapper/pool $1" &&
		dmsetup mknodes "b$1"
}
branches() {
	sed -n 's/^b\([0-9]*\) .*/\1/p' /tmp/h
}
parent_of() {
	sed -n "s/^b$1 [0-9]* \\(.*\\)/\\1/p" /tmp/h
}
dump_id() {	# dump_id NAME: the id of NAME in the (inactive) pool, if any
	velactl dump "$meta" | sed -n "s/.*\"id\": \\([0-9]*\\), \"name\": \"$1\".*/\\1/p"
}

modprobe dm-vela
hdr_read || fail "cannot read the state disk"
if ! grep -q '^pool' /tmp/h; then
	velactl format --force --metadata "$meta" --data "$data" --block-size 8k \
		--name powercut >/dev/null || fail "format"
	activate_pool || fail "activating a fresh pool"
	id=$(message create_volume vol0 $vol_sectors) || fail "create_volume"
	truncate -s $vol_bytes /tmp/zero
	image_put "$id" A /tmp/zero
	printf 'pool\nboot 1\nseq 0\nb%s 0 -\n' "$id" >/tmp/h
	hdr_write
	activate "$id" || fail "activating the volume"
	echo "FRESH"
else
	boot=$(($(sed -n 's/^boot //p' /tmp/h) + 1))
	hdr_set boot "$boot"
	out=$(velactl check "$meta" 2>&1) || fail "velactl check after the cut: $out"
	# Creates and deletes the cut interrupted.
	for name in $(sed -n 's/^creating \([^ ]*\) .*/\1/p' /tmp/h); do
		parent=$(sed -n "s/^creating $name //p" /tmp/h)
		id=$(dump_id "$name")
		if [ -n "$id" ]; then
			image_get "$parent" A /tmp/img
			image_put "$id" A /tmp/img
			hdr_set "b$id" "0 $parent"
		fi
		hdr_del "creating $name"
	done
	deleting=
	for id in $(sed -n 's/^deleting //p' /tmp/h); do
		velactl dump "$meta" | grep -q "\"id\": $id," && deleting="$deleting $id"
	done
	hdr_del deleting
	activate_pool || fail "activating the pool after the cut"
	for id in $deleting; do
		message delete "$id" >/dev/null 2>&1 || fail "finishing the delete of $id"
	done
	n=0
	newest=0
	for id in $(branches); do
		phase=$(sed -n "s/^b$id \\([0-9]\\) .*/\\1/p" /tmp/h)
		activate "$id" || fail "activating branch $id"
		image_get "$id" A /tmp/a
		image_get "$id" B /tmp/b
		case $phase in
		0)	vela-io verify "/dev/mapper/b$id" /tmp/a >/tmp/out 2>&1 ||
				fail "branch $id (no batch in flight) lost flushed data: $(cat /tmp/out)" ;;
		2)	vela-io verify "/dev/mapper/b$id" /tmp/b >/tmp/out 2>&1 ||
				fail "branch $id (batch flushed) lost flushed data: $(cat /tmp/out)" ;;
		1)	vela-io either "/dev/mapper/b$id" /tmp/a /tmp/b >/tmp/out 2>&1 ||
				fail "branch $id (batch unflushed): $(cat /tmp/out)"
			newest=$((newest + 1)) ;;
		esac
		# The device is the truth from here on.
		vela-io save "/dev/mapper/b$id" 0 $vol_bytes /tmp/a
		image_put "$id" A /tmp/a
		hdr_set "b$id" "0 $(parent_of "$id")"
		n=$((n + 1))
	done
	hdr_write
	echo "RECOVERED boot $boot: $n branches verified ($newest cut mid-batch) after $(sed -n "s/^seq //p" /tmp/h) operations, velactl check clean"
fi

if [ "${VELA_POWERCUT_FINAL:-0}" = 1 ]; then
	for id in $(branches); do dmsetup remove "b$id"; done
	dmsetup remove pool
	out=$(velactl check "$meta" 2>&1) || fail "final velactl check: $out"
	echo "FINAL $out"
	exit 0
fi

echo "VELA-CLOCK"
seq=$(sed -n 's/^seq //p' /tmp/h)
boot=$(sed -n 's/^boot //p' /tmp/h)
while :; do
	seq=$((seq + 1))
	hdr_set seq "$seq"
	set -- $(branches)
	count=$#
	shift $((seq * 7 % count))
	x=$1
	op=$((seq % 10))
	if [ $op = 7 ] && [ "$count" -lt $max_branches ]; then
		name="p$boot-$seq"
		hdr_set "creating $name" "$x"
		hdr_write
		id=$(message create_branch "$x" "$name") || fail "create_branch"
		image_get "$x" A /tmp/img
		image_put "$id" A /tmp/img
		hdr_del "creating $name"
		hdr_set "b$id" "0 $x"
		hdr_write
		activate "$id" || fail "activating $id"
	elif [ $op = 8 ] && [ "$count" -gt 3 ] && [ "$(parent_of "$x")" != - ] &&
	     ! grep -q " $x\$" /tmp/h; then
		hdr_set deleting "$x"
		hdr_del "b$x"
		hdr_write
		dmsetup remove "b$x" || fail "removing $x"
		message delete "$x" >/dev/null || fail "delete $x"
		hdr_del deleting
		hdr_write
	else
		seed=$((boot * 100000 + seq))
		image_get "$x" A /tmp/b
		vela-io batch - /tmp/b $seed 12 $block_bytes
		image_put "$x" B /tmp/b
		hdr_set "b$x" "1 $(parent_of "$x")"
		hdr_write
		vela-io batch "/dev/mapper/b$x" - $seed 12 $block_bytes || fail "batch on $x"
		hdr_set "b$x" "2 $(parent_of "$x")"
		hdr_write
		image_put "$x" A /tmp/b
		hdr_set "b$x" "0 $(parent_of "$x")"
		hdr_write
	fi
done
