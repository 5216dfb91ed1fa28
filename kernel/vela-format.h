/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vela on-disk structures.  docs/on-disk-format.md is the contract; this
 * header must say the same.  Everything is little-endian.
 */
#ifndef VELA_FORMAT_H
#define VELA_FORMAT_H

#include "vela-compat.h"

#define VELA_BLOCK_SIZE		4096
#define VELA_BLOCK_SHIFT	12
#define VELA_SUPERBLOCK_BYTES	512
#define VELA_SUPERBLOCK_LOCATION 0

/* Block types, stored in every block header. */
#define VELA_TYPE_SUPERBLOCK	0x56534231u	/* "VSB1" */
#define VELA_TYPE_BTREE_NODE	0x56424e31u	/* "VBN1" */
#define VELA_TYPE_REFCOUNT	0x56524331u	/* "VRC1" */

struct vela_block_header {
	__le32 csum;
	__le32 type;
	__le64 blocknr;
	__le64 generation;
	__le64 reserved;
} __packed;

/*
 * The checksum of every on-disk structure: ~crc32c(~0) over bytes 4..@len
 * of @data, the first four bytes being where it is stored.  In vela-block.c.
 */
u32 vela_block_csum(const void *data, unsigned int len);

#define VELA_SUPERBLOCK_MAGIC	0x4c4f4f50414c4556ULL	/* "VELAPOOL" */
#define VELA_FORMAT_VERSION	1
#define VELA_SB_FLAG_NEEDS_CHECK 1u
#define VELA_POOL_NAME_LEN	64
#define VELA_HOLDER_LEN		32	/* the held view's holder tag, NUL included */

/* A space map's root: its index tree and its overflow tree. */
struct vela_disk_sm_root {
	__le64 index_root;
	__le64 overflow_root;
} __packed;

struct vela_superblock {
	struct vela_block_header hdr;
	__le64 magic;
	__le32 version;
	__le32 flags;
	__le64 compat_flags;
	__le64 compat_ro_flags;
	__le64 incompat_flags;
	u8 uuid[16];
	char pool_name[VELA_POOL_NAME_LEN];
	__le32 metadata_block_size;
	__le32 data_block_sectors;
	__le64 metadata_nr_blocks;
	__le64 data_nr_blocks;
	__le64 data_dev_size_sectors;
	__le64 generation;
	__le64 change_id;
	__le64 ctime;
	__le64 next_branch_id;
	struct vela_disk_sm_root metadata_sm;
	struct vela_disk_sm_root data_sm;
	__le64 branch_table_root;
	__le64 name_index_root;
	__le64 delete_queue_root;
	__le64 held_root;
	__le64 next_delete_seq;
	/*
	 * Who holds the view at held_root, as the reserve message named it
	 * (velactl: "velactl:COMMAND:PID"): NUL-terminated, 0x21-0x7e, all
	 * zero for none.  A tool that does not know it zeroes it, and the
	 * view then has no known holder.
	 */
	char held_by[VELA_HOLDER_LEN];
	u8 reserved[192];
} __packed;

/*
 * The label in the first 512 bytes of data block 0 of the data device: it
 * pairs the data device with its metadata device after a reboot.
 */
#define VELA_DATA_LABEL_MAGIC	0x41544144414c4556ULL	/* "VELADATA" */

struct vela_data_label {
	__le32 csum;		/* ~crc32c(~0, bytes 4..511) */
	__le32 version;
	__le64 magic;
	u8 pool_uuid[16];
	__le32 data_block_sectors;
	u8 reserved[476];
} __packed;

/* B-tree nodes. */
#define VELA_NODE_INTERNAL	1u
#define VELA_NODE_LEAF		2u

struct vela_node_header {
	struct vela_block_header hdr;
	__le32 flags;
	__le32 nr_entries;
	__le32 max_entries;
	__le32 value_size;
} __packed;

/* A mapping: data block in bits 0-47, extent length - 1 in 48-62. */
#define VELA_MAPPING_BLOCK_BITS	48
#define VELA_MAPPING_BLOCK_MASK	((1ULL << VELA_MAPPING_BLOCK_BITS) - 1)
#define VELA_MAX_DATA_BLOCKS	(1ULL << VELA_MAPPING_BLOCK_BITS)

/*
 * Data block sizes: a power of two from 4 KiB to 1 MiB, in 512-byte
 * sectors.  The one copy of the rule: format, open, the pool's table line
 * and velactl all ask this.
 */
#define VELA_MIN_DATA_BLOCK_SECTORS	8
#define VELA_MAX_DATA_BLOCK_SECTORS	2048

static inline bool vela_valid_block_sectors(u64 sectors)
{
	return sectors >= VELA_MIN_DATA_BLOCK_SECTORS &&
	       sectors <= VELA_MAX_DATA_BLOCK_SECTORS && !(sectors & (sectors - 1));
}

/* Branch records: the branch table's values. */
#define VELA_NO_PARENT		U64_MAX
#define VELA_NAME_LEN		128	/* NUL-padded; at most 127 bytes */
#define VELA_ORIGIN_ID_LEN	64

#define VELA_BRANCH_READ_ONLY		1u
/*
 * Reserved: no version sets these yet, and a branch carrying either is
 * not activated.  CREATING is kept for a branch whose creation hook has
 * not finished (the database workflow), DELETING for a two-phase delete.
 */
#define VELA_BRANCH_CREATING		2u
#define VELA_BRANCH_DELETING		4u
#define VELA_BRANCH_NO_AUTOACTIVATE	8u
#define VELA_BRANCH_HAS_ORIGIN		16u
#define VELA_BRANCH_KNOWN_FLAGS		31u

struct vela_disk_branch {
	__le64 mapping_root;
	__le64 base_root;
	__le64 parent_id;
	__le64 branch_point_change_id;
	__le64 size_sectors;
	__le64 ctime;
	__le64 mapped_blocks;
	__le64 alloc_limit_blocks;
	/*
	 * Reserved for a persisted usage cache (exclusive, shared, and the
	 * generation they are true for): written zero, never read.
	 */
	__le64 reserved_counts[3];
	__le32 flags;
	__le32 depth;
	u8 uuid[16];
	char name[VELA_NAME_LEN];
	__le64 origin_size_sectors;
	__le32 origin_sample_csum;
	__le32 origin_sample_count;
	char origin_id[VELA_ORIGIN_ID_LEN];
} __packed;

#define VELA_DELETE_MAPPING_TREE 1u

struct vela_disk_pending_delete {
	__le64 root;
	__le32 kind;
	__le32 zero;
} __packed;

/* Space maps: 2 bits per block after the header; 3 means "see overflow". */
#define VELA_RC_ENTRIES_PER_BLOCK \
	((VELA_BLOCK_SIZE - sizeof(struct vela_block_header)) * 4)
#define VELA_RC_OVERFLOW	3u

struct vela_disk_index_entry {
	__le64 location;
	__le32 nr_free;
	__le32 zero;
} __packed;

struct vela_disk_overflow_count {
	__le32 count;
	__le32 zero;
} __packed;

#endif
