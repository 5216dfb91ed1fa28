#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# format and init refuse a metadata and a data device that share a byte,
# on block devices (the host's tests/host/velactl-meta.sh covers image
# files): partitions and their disk, loop devices over one file, dm linear
# and striped ranges on one disk, a dm table of an unknown layout, a
# multipath device and its LUN, two disks with one WWID.  Devices that are
# apart (two partitions, dm ranges that do not meet) are formatted.  Also:
# format refuses a device in use, and two inits of different pools on the
# same devices at once make one pool.  Every refusal uses --force, so it is
# the overlap that refuses, not a signature.  Devices are loop devices over
# tmpfs; the VM's disks are only read.
. "$(dirname "$0")/../../lib/ktap.sh"

modprobe dm-vela
modprobe loop
ktap_plan 20

dir=/mnt/format
mkdir -p $dir
mount -t tmpfs -o size=400m tmpfs $dir
# busybox losetup: take the next free device, then attach it.
attach() {	# attach [-P | -o OFFSET] FILE
	l=$(losetup -f) || return 1
	case $1 in
	-P) losetup -P "$l" "$2" ;;
	-o) losetup -o "$2" "$l" "$3" ;;
	*) losetup "$l" "$1" ;;
	esac && echo "$l"
}
dm() {	# dm NAME TABLE: /dev/mapper/NAME
	printf '%s\n' "$2" | dmsetup create "$1" && dmsetup mknodes "$1" && echo "/dev/mapper/$1"
}
apart() {	# apart DESCRIPTION META DATA: formatted
	ktap_expect_exit "$1" 0 "formatted pool" velactl format --force --metadata "$2" --data "$3"
}
overlap() {	# overlap DESCRIPTION META DATA [PATTERN]: refused (2), naming both
	ktap_expect_exit "$1" 2 "$2 and data .*$3 overlap.*${4:-}" \
		velactl format --force --metadata "$2" --data "$3"
}

for f in disk a b c m; do
	truncate -s 64M $dir/$f
done

# --- partitions: p1 at 1 MiB and p2 at 21 MiB, 20 MiB each (an MBR) ----
printf '\000\000\000\000\203\000\000\000\000\010\000\000\000\240\000\000' |
	dd of=$dir/disk bs=1 seek=446 conv=notrunc 2>/dev/null
printf '\000\000\000\000\203\000\000\000\000\250\000\000\000\240\000\000' |
	dd of=$dir/disk bs=1 seek=462 conv=notrunc 2>/dev/null
printf '\125\252' | dd of=$dir/disk bs=1 seek=510 conv=notrunc 2>/dev/null
disk=$(attach -P $dir/disk)
i=0
while [ ! -b "${disk}p2" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
apart "two partitions of one disk are apart: formatted" "${disk}p1" "${disk}p2"
overlap "a partition and its disk overlap: refused (2)" "${disk}p1" "$disk"
overlap "a disk and its partition overlap: refused (2)" "$disk" "${disk}p2"
# A dm-linear slice of p1, 2 MiB in (the disk file's 3rd MiB), against
# loop devices into the disk's file at 3 MiB and at 5 MiB (the kernel
# itself refuses a dm table on the disk while one holds its partition).
onp1=$(dm onp1 "0 2048 linear ${disk}p1 4096")
at3=$(attach -o 3145728 $dir/disk)
at5=$(attach -o 5242880 $dir/disk)
overlap "dm-linear on a partition, and a loop device at the same bytes of the disk's file: refused" \
	"$onp1" "$at3" "both hold bytes of $dir/disk"
apart "...and a loop device past them is apart: formatted" "$onp1" "$at5"
dmsetup remove onp1
losetup -d "$at3"
losetup -d "$at5"

# --- loop devices over one file ------------------------------------------
la=$(attach $dir/a)
la2=$(attach $dir/a)
la44=$(attach -o 46137344 $dir/a)
overlap "two loop devices over one file: refused" "$la" "$la2" "both hold bytes of $dir/a"
overlap "a loop device 44 MiB into a file, and the file: refused" "$dir/a" "$la44"
losetup -d "$la2"
losetup -d "$la44"

# --- dm linear and striped ranges on one disk ------------------------------
lb=$(attach $dir/b)
lc=$(attach $dir/c)
lo=$(dm lo "0 40960 linear $lb 0")
hi=$(dm hi "0 40960 linear $lb 40960")
mid=$(dm mid "0 40960 linear $lb 20480")
# Two segments: MiB 0-4 and 40-44 of b; a slice of MiB 41-42.
two=$(dm two "0 8192 linear $lb 0
8192 8192 linear $lb 81920")
at41=$(dm at41 "0 2048 linear $lb 83968")
apart "two dm-linear ranges of one disk that do not meet: formatted" "$lo" "$hi"
overlap "two dm-linear ranges of one disk that meet: refused" "$lo" "$mid" "both hold bytes of $dir/b"
overlap "the second segment of a two-segment table meets a range: refused" "$two" "$at41"
apart "...and a range past both segments is apart: formatted" "$at41" "$lo"
# Striped over b's MiB 60-62 and c's MiB 0-2, 64 KiB chunks, 4 MiB.
st=$(dm st "0 8192 striped 2 128 $lb 122880 $lc 0")
onc=$(dm onc "0 2048 linear $lc 4096")
inc=$(dm inc "0 2048 linear $lc 2048")
apart "striped, and a range of a stripe's disk past its stripe: formatted" "$st" "$onc"
overlap "striped, and a range inside one of its stripes: refused" "$st" "$inc"

# --- a dm target whose layout velactl does not know -----------------------
if modprobe dm-delay 2>/dev/null &&
   delay=$(dm delay "0 2048 delay $lc 30720 0" 2>/dev/null); then
	overlap "a delay target is taken to use its disk whole: refused, and said" \
		"$delay" "$onc" "taken to use its devices whole"
	d1=$(dm d1 "0 512 linear $delay 0")
	d2=$(dm d2 "0 512 linear $delay 1024")
	apart "...but two ranges of the delay device itself are apart: formatted" "$d1" "$d2"
	dmsetup remove d1
	dmsetup remove d2
	dmsetup remove delay
else
	ktap_skip "a delay target is taken to use its disk whole: refused, and said" "no dm-delay"
	ktap_skip "...but two ranges of the delay device itself are apart: formatted" "no dm-delay"
fi

# --- multipath: a LUN by any path ------------------------------------------
lm1=$(attach $dir/m)
lm2=$(attach $dir/m)
lm3=$(attach $dir/m)
sectors=$(blockdev --getsz "$lm1")
if modprobe dm-multipath 2>/dev/null && modprobe dm-round-robin 2>/dev/null &&
   mp=$(dm mp "0 $sectors multipath 0 0 1 1 round-robin 0 2 1 $lm1 1000 $lm2 1000"); then
	overlap "a multipath device and another path to its LUN: refused" "$mp" "$lm3" \
		"both hold bytes of $dir/m"
	dmsetup remove mp
else
	ktap_skip "a multipath device and another path to its LUN: refused" "no dm-multipath"
fi

# --- two disks with one WWID are two paths to one LUN ----------------------
# The VM's NVMe disks have a WWID each; the metadata disk is made to show
# the data disk's.  Nothing is written: the refusal comes first.
mwwid=/sys/class/block/$(basename "${VELA_DISK_meta:-none}")/wwid
dwwid=/sys/class/block/$(basename "${VELA_DISK_data:-none}")/wwid
if [ -r "$mwwid" ] && [ -r "$dwwid" ] && cat "$dwwid" >/tmp/wwid &&
   ! cmp -s "$mwwid" "$dwwid" && mount --bind /tmp/wwid "$mwwid"; then
	# No --force: were the WWIDs not compared, a signature would still stop it.
	ktap_expect_exit "two disks with one WWID are one LUN: refused" 2 \
		"$VELA_DISK_meta and data device $VELA_DISK_data overlap" \
		velactl format --metadata "$VELA_DISK_meta" --data "$VELA_DISK_data"
	umount "$mwwid"
else
	ktap_skip "two disks with one WWID are one LUN: refused" "no NVMe WWIDs to compare"
fi

# --- in use, and two inits at once -------------------------------------------
ktap_expect_exit "format --force refuses a device in use (6)" 6 "metadata device $lb is in use" \
	velactl format --force --metadata "$lb" --data "$la"
for d in lo hi mid two at41 st onc inc; do
	dmsetup remove $d
done
# --force: the formats above left bytes libblkid may take for a signature.
velactl init fmta --force --metadata "${disk}p1" --data "${disk}p2" >/tmp/init-a.out 2>&1 &
velactl init fmtb --force --metadata "${disk}p2" --data "${disk}p1" >/tmp/init-b.out 2>&1
rc_b=$?
wait $!
rc_a=$?
n=$(velactl scan 2>/dev/null | grep -c -E "^fmt[ab] ")
if [ $((rc_a == 0)) -ne $((rc_b == 0)) ] && [ "$n" -eq 1 ]; then
	ktap_pass "two inits of two pools on one pair at once: one pool, the other refused"
else
	ktap_fail "two inits of two pools on one pair at once: one pool, the other refused" \
		"exits $rc_a and $rc_b, $n pools" "$(cat /tmp/init-a.out /tmp/init-b.out)"
fi
velactl deactivate fmta >/dev/null 2>&1
velactl deactivate fmtb >/dev/null 2>&1

for l in "$disk" "$la" "$lb" "$lc" "$lm1" "$lm2" "$lm3"; do
	losetup -d "$l"
done
if umount $dir; then
	ktap_pass "every device is released"
else
	ktap_fail "every device is released" "$(losetup -a; dmsetup ls)"
fi
ktap_finish
