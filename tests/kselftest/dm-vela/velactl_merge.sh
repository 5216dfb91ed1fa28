#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# velactl merge against a data oracle (an image file per branch, written
# with the same random blocks as the device): fast-forward, a clean
# three-way merge, conflicts refused with their ranges and then taken with
# child-wins, replace as a rollback, a merge five levels down a chain; a
# sibling and a grandchild checked untouched after every merge.  ext4: a
# branch's new files merged back (a fast-forward) with e2fsck clean, and
# three-way refused on a filesystem with its reason.
# Devices: $VELA_DISK_meta, $VELA_DISK_data.
. "$(dirname "$0")/../../lib/ktap.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
P=mrg
M=/dev/mapper
BLOCK=65536
NBLOCKS=64

wr() {	# wr NAME BLOCK: random data to the device and its oracle
	dd if=/dev/urandom of=/tmp/blk bs=$BLOCK count=1 2>/dev/null
	dd if=/tmp/blk of="$M/$P@$1" bs=$BLOCK seek="$2" oflag=direct 2>/dev/null
	dd if=/tmp/blk of="/tmp/$1.img" bs=$BLOCK seek="$2" conv=notrunc 2>/dev/null
}
take() {	# take FROM TO BLOCK: the oracle of TO gets FROM's block
	dd if="/tmp/$1.img" of="/tmp/$2.img" bs=$BLOCK skip="$3" seek="$3" count=1 \
		conv=notrunc 2>/dev/null
}
branch() {	# branch PARENT NAME
	velactl create-branch "$P/$1" "$2" >/dev/null && cp "/tmp/$1.img" "/tmp/$2.img"
}
same() {	# same NAME...: each device reads its oracle
	for n in "$@"; do
		cmp -s "$M/$P@$n" "/tmp/$n.img" || { echo "$n differs from its oracle"; return 1; }
	done
}

modprobe dm-vela
modprobe ext4
ktap_plan 26
velactl init "$P" --metadata "$meta" --data "$data" --force >/dev/null
velactl create "$P/vol" --size $((NBLOCKS * BLOCK)) >/dev/null
dd if=/dev/urandom of=/tmp/vol.img bs=$BLOCK count=$NBLOCKS 2>/dev/null
dd if=/tmp/vol.img of="$M/$P@vol" bs=$BLOCK oflag=direct 2>/dev/null
branch vol child
branch vol sibling
branch child grandchild
wr sibling 7
wr grandchild 8

# Fast-forward: the parent has not changed since the branch point.
wr child 3
wr child 4
ktap_expect_exit "merge --dry-run reports and changes nothing" 0 "would merge .* 2 block.*fast-forward" \
	velactl merge "$P/child" --dry-run
ktap_expect_exit "...on a terminal it shows its preflight steps" 0 "asking the kernel what a three-way merge would do" \
	script -qec "velactl merge $P/child --dry-run" /dev/null
ktap_expect_exit "...the parent still reads as before" 0 "" same vol
ktap_expect_exit "merge, parent unchanged: a fast-forward" 0 "2 block.* taken.*fast-forward" \
	velactl merge "$P/child" --into vol
take child vol 3
take child vol 4
ktap_expect_exit "the parent equals its oracle; sibling and grandchild untouched" 0 "" \
	same vol child sibling grandchild

# A parent in use does not change: open, or held exclusively by a stacked device.
exec 5<"$M/$P@vol"
ktap_expect_exit "a merge into an open parent is refused (exit 6)" 6 "is open 1 time.*unmount or close it" \
	velactl merge "$P/child"
exec 5<&-
dmsetup create stacked --table "0 8 linear $M/$P@vol 0"
ktap_expect_exit "a merge into a parent held by another device is refused (exit 6)" 6 \
	"is open|held by another device" velactl merge "$P/child"
dmsetup remove stacked

# A protected parent does not change.
velactl protect "$P/vol"
ktap_expect_exit "a merge into a protected parent is refused, with the way out" 1 \
	"protected: 'velactl unprotect $P/vol' first" velactl merge "$P/child"
velactl unprotect "$P/vol"

# Three-way, clean: each side changed other blocks.
wr child 10
wr vol 20
ktap_expect_exit "three-way merge of disjoint changes: only the new block is taken" 0 \
	"1 block.* taken, 0 conflict" velactl merge "$P/child"
take child vol 10
ktap_expect_exit "the parent has both sides' changes; the others untouched" 0 "" \
	same vol child sibling grandchild

# Conflicts: refused, listed, nothing changed; then child-wins.
wr child 30
wr child 31
wr vol 31
wr vol 32
ktap_expect_exit "a conflicting three-way merge is refused (exit 8) and lists the range" 8 \
	"^2031616.65536\$" velactl merge "$P/child"
ktap_expect_exit "...nothing changed" 0 "" same vol child
if velactl merge "$P/child" --json --dry-run | jq -e '.conflicts == 1 and .conflict_ranges[0].offset == 2031616' >/dev/null; then
	ktap_pass "merge --json lists the conflicts as numbers"
else
	ktap_fail "merge --json lists the conflicts as numbers" "$(velactl merge "$P/child" --json --dry-run 2>&1)"
fi
ktap_expect_exit "child-wins takes the conflicting block too" 0 "2 block.* taken, 1 conflict\\(s\\) \\(the child's version\\)" \
	velactl merge "$P/child" --strategy child-wins
take child vol 30
take child vol 31
ktap_expect_exit "...the parent equals its oracle; the others untouched" 0 "" \
	same vol child sibling grandchild

# Replace as a rollback to a snapshot.
branch vol snap
wr vol 40
wr vol 41
ktap_expect_exit "replace without --yes and no terminal: exit 2, nothing changed" 2 \
	"replace the contents of $P/vol with those of $P/snap.*add --yes to confirm" \
	sh -c "velactl merge $P/snap --strategy replace </dev/null"
velactl protect "$P/snap"
ktap_expect_exit "--delete-child of a protected child is refused before merging (exit 6)" 6 \
	"the child is protected.*nothing changed" velactl merge "$P/snap" --strategy replace --delete-child --yes
velactl unprotect "$P/snap"
ktap_expect_exit "...the volume did not change" 0 "" same vol child sibling grandchild
ktap_expect_exit "replace rolls the volume back to its snapshot" 0 "merged $P/snap into vol" \
	velactl merge "$P/snap" --strategy replace --delete-child --yes
cp /tmp/snap.img /tmp/vol.img
ktap_expect_exit "...the volume equals the snapshot; the others untouched" 0 "" \
	same vol child sibling grandchild
ktap_expect_exit "...and --delete-child removed the snapshot" 0 "" sh -c \
	"! velactl list $P -H -o name | grep -qx snap"

# Five levels down.
branch vol d1 && branch d1 d2 && branch d2 d3 && branch d3 d4 && branch d4 d5
wr d5 50
ktap_expect_exit "a merge five levels deep" 0 "merged $P/d5 into d4" velactl merge "$P/d5"
take d5 d4 50
ktap_expect_exit "...d4 took it; d1-d3, the volume and the others untouched" 0 "" \
	same d4 d5 d3 d2 d1 vol child sibling grandchild

# ext4: a branch's changes back into an unchanged parent, then a refusal.
velactl create "$P/fs" --size 64M >/dev/null
mkfs.ext4 -q "$M/$P@fs"
velactl create-branch "$P/fs" fsb >/dev/null
mkdir -p /mnt/m
mount -t ext4 "$M/$P@fsb" /mnt/m && echo migrated >/mnt/m/schema && umount /mnt/m
ktap_expect_exit "ext4: merge back into an unmounted, unchanged parent (fast-forward)" 0 \
	"fast-forward" velactl merge "$P/fsb"
ktap_expect_exit "...e2fsck -fn clean and the file present" 0 "migrated" sh -c \
	"e2fsck -fn $M/$P@fs >/dev/null && mount -t ext4 -o ro $M/$P@fs /mnt/m && cat /mnt/m/schema; umount /mnt/m"
mount -t ext4 "$M/$P@fsb" /mnt/m && echo branch >/mnt/m/b && umount /mnt/m
mount -t ext4 "$M/$P@fs" /mnt/m && echo parent >/mnt/m/p && umount /mnt/m
ktap_expect_exit "ext4 changed on both sides: three-way refused without --force, with the reason" 1 \
	"holds ext4.*corruption.*--strategy replace" velactl merge "$P/fsb"
ktap_check "deactivate; the metadata checks clean" sh -c "velactl deactivate $P >/dev/null && velactl check $meta"
ktap_finish
