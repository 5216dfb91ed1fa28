#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Filesystems on branches.  Every branch of a filesystem carries its
# parent's UUID; XFS refuses to mount a second filesystem with a mounted
# UUID, and by-uuid lookups pick either.  create-branch --new-fs-uuid gives
# the branch's filesystem its own: ext4 (taken from a mounted parent, so
# its journal needs replaying first) and XFS.  Without a filesystem it
# fails and leaves no branch behind.  Devices: $VELA_DISK_meta, $VELA_DISK_data.
. "$(dirname "$0")/../../lib/ktap.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
P=fs
M=/dev/mapper

uuid() {
	velactl probe "$1" | sed -n 's/.* UUID="\([^"]*\)".*/\1/p'
}

modprobe dm-vela
modprobe xfs
modprobe ext4
ktap_plan 14
mkdir -p /mnt/a /mnt/b
velactl init "$P" --metadata "$meta" --data "$data" --force >/dev/null
velactl create "$P/ext" --size 64M >/dev/null
mkfs.ext4 -q "$M/$P@ext"
mount -t ext4 "$M/$P@ext" /mnt/a || ktap_diag "mounting the ext4 parent failed"
echo "written on the parent" >/mnt/a/file
sync
ktap_expect_exit "create-branch --new-fs-uuid of a mounted ext4 parent" 0 "^$M/$P@ext-b\$" \
	velactl create-branch "$P/ext" ext-b --new-fs-uuid
a=$(uuid "$M/$P@ext") b=$(uuid "$M/$P@ext-b")
if [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; then
	ktap_pass "the ext4 branch has a UUID of its own ($b, parent $a)"
else
	ktap_fail "the ext4 branch has a UUID of its own" "parent '$a' branch '$b'"
fi
ktap_expect_exit "the branch mounts beside its parent and holds the file" 0 "written on the parent" \
	sh -c "mount -t ext4 $M/$P@ext-b /mnt/b && cat /mnt/b/file && umount /mnt/b"
umount /mnt/a
ktap_check "e2fsck -fn: the parent is clean" e2fsck -fn "$M/$P@ext"
ktap_check "e2fsck -fn: the branch is clean" e2fsck -fn "$M/$P@ext-b"

velactl create "$P/xfs" --size 512M >/dev/null
mkfs.xfs -q "$M/$P@xfs"
mount -t xfs "$M/$P@xfs" /mnt/a
echo "xfs parent" >/mnt/a/file
umount /mnt/a
velactl create-branch "$P/xfs" xfs-same >/dev/null
mount -t xfs "$M/$P@xfs" /mnt/a
ktap_expect_exit "without --new-fs-uuid a second copy of XFS does not mount" 0 "" \
	sh -c "! mount -t xfs $M/$P@xfs-same /mnt/b 2>/dev/null"
ktap_expect_exit "create-branch --new-fs-uuid of an XFS volume" 0 "^$M/$P@xfs-new\$" \
	velactl create-branch "$P/xfs" xfs-new --new-fs-uuid
ktap_expect_exit "...it mounts beside its mounted parent and holds the file" 0 "xfs parent" \
	sh -c "mount -t xfs $M/$P@xfs-new /mnt/b && cat /mnt/b/file && umount /mnt/b"
umount /mnt/a
ktap_expect_exit "the XFS UUIDs differ" 0 "" test "$(uuid "$M/$P@xfs")" != "$(uuid "$M/$P@xfs-new")"

velactl create "$P/raw" --size 16M >/dev/null
ktap_expect_exit "--new-fs-uuid without a filesystem fails and says so" 1 \
	"no ext2/3/4 or XFS filesystem on the branch" \
	velactl create-branch "$P/raw" raw-b --new-fs-uuid
ktap_expect_exit "...and leaves no branch and no device behind" 0 "" sh -c \
	"! velactl list $P -H -o name | grep -qx raw-b && ! test -e $M/$P@raw-b"
ktap_expect_exit "--new-fs-uuid is refused on create" 2 "is for create-branch" \
	velactl create "$P/x" --size 1M --new-fs-uuid
ktap_check "deactivate" velactl deactivate "$P"
ktap_check "the metadata checks clean" velactl check "$meta"
# xfs shares libcrc32c with dm-vela: unload it, or module_unload.sh cannot
# take libcrc32c away with dm-vela.
modprobe -r xfs
ktap_finish
