/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pool metadata: the superblock, the branch table and the mappings.  This
 * is the API the target (and velactl, through the userspace build) uses.
 *
 * Contract:
 * - One struct vela_md per open metadata device.  Every call takes the
 *   metadata lock itself: updates exclusively, lookups shared.
 * - Changes accumulate in an open transaction until vela_md_commit(), which
 *   makes all of them durable atomically, or vela_md_abort(), which returns
 *   to the last commit.  After any failed update the caller must abort
 *   (the transaction may hold half of an operation).  A failed commit has
 *   aborted already, and vela_md_lookup_try() serves nothing until a
 *   commit succeeds; except a commit that failed with -ENOMEM, which wrote
 *   nothing and leaves the transaction open and whole: try it again later,
 *   or abort.
 * - Branch ids are never reused.  Creating a volume or a branch is O(1): a
 *   branch takes one reference on its parent's mapping tree as its own tree
 *   and one as its base (the tree as of the branch point).
 * - A mapping holds one reference on its data block.  vela_md_map() takes
 *   over the caller's reference on the new block and drops the reference
 *   of any mapping it replaces.
 * - Deleting a branch is O(1) too: its trees go to the persistent delete
 *   queue, which vela_md_reclaim() drains a bounded step at a time.
 * - change_id moves only with admin changes (create, delete, rename, flags,
 *   resize, limit); the generation moves with every commit.
 */
#ifndef VELA_META_H
#define VELA_META_H

#include "vela-format.h"

struct vela_md;
struct vela_u64map;

/* "No data block", where a block number is optional. */
#define VELA_NO_BLOCK	(~0ULL)

struct vela_md_format_params {
	const char *pool_name;
	u8 uuid[16];
	u32 data_block_sectors;
	u64 data_nr_blocks;
	u64 data_dev_size_sectors;
	u64 now;
};

struct vela_md_info {
	u8 uuid[16];
	char pool_name[VELA_POOL_NAME_LEN];
	u32 data_block_sectors;
	u32 flags;
	u64 generation;
	u64 change_id;
	u64 ctime;
	u64 metadata_nr_blocks, metadata_nr_free;
	u64 data_nr_blocks, data_nr_free;
	u64 data_dev_size_sectors;
	u64 nr_branches;
	u64 pending_deletes;
	u64 held_root;		/* the held view's branch table, 0: none */
	char held_by[VELA_HOLDER_LEN];	/* its holder's tag, "" if none given */
	bool read_only;
};

/*
 * Is @sb (the first VELA_SUPERBLOCK_BYTES of block 0) a superblock this
 * version can open, on a metadata device of @dev_blocks 4 KiB blocks?  Pure:
 * checksum, block header, magic, version, features, block sizes and
 * sizes, as every open checks them.  0, or -EILSEQ (not a valid
 * superblock) or -EOPNOTSUPP (one from a version this one cannot read),
 * with the reason in @why.
 */
int vela_sb_validate(const struct vela_superblock *sb, u64 dev_blocks, char *why, size_t len);

int vela_md_format(struct block_device *bdev, const struct vela_md_format_params *p);
struct vela_md *vela_md_open(struct block_device *bdev, bool read_only);
/*
 * Open the held view of a pool that may be live: the branch table as of
 * vela_md_hold(), read-only.  Its trees never change while held, so it
 * reads consistently however the live pool moves on.  Branches and their
 * mappings can be walked and looked up; the name index, the delete queue
 * and the space maps are the live pool's and are not to be used.
 * -ENOENT when nothing is held.
 */
struct vela_md *vela_md_open_held(struct block_device *bdev);
/*
 * Read-only, without reading the space maps: the source of a repair, whose
 * space maps may be what is broken.  Only the trees may be walked.
 */
struct vela_md *vela_md_open_trees(struct block_device *bdev);
/*
 * Repair's last step: write a new pool on @dst with @src's superblock
 * fields and trees (every B-tree node in @meta_refs copied to the same
 * block number) and space maps holding exactly @meta_refs and @data_refs
 * (block -> references, as a full walk found them).  needs_check is
 * cleared.  -ENOSPC when @dst is smaller than @src's metadata.
 */
int vela_md_rebuild(struct vela_md *src, struct block_device *dst,
		    const struct vela_u64map *meta_refs, const struct vela_u64map *data_refs);
void vela_md_close(struct vela_md *md);

int vela_md_commit(struct vela_md *md);
/*
 * Rename the pool (@name, a valid name shorter than VELA_POOL_NAME_LEN, or
 * NULL to keep it) and/or give it a new UUID (@uuid, or NULL), committing
 * the open transaction with it: after a crash the superblock holds either
 * the old identity or the new one.  For velactl rename-pool and
 * import-clone, on an inactive pool.  -EINVAL for a bad name.
 */
int vela_md_set_identity(struct vela_md *md, const char *name, const u8 *uuid);
int vela_md_abort(struct vela_md *md);
/* O(1): safe for the status path. */
int vela_md_info(struct vela_md *md, struct vela_md_info *info);

/*
 * Grow the pool after its devices grew: the data device to @data_nr_blocks
 * blocks, the metadata device to its current size.  Only growth; -EINVAL
 * for a shrink.
 */
int vela_md_resize_data(struct vela_md *md, u64 data_nr_blocks, u64 data_dev_size_sectors);
int vela_md_resize_metadata(struct vela_md *md);

/*
 * Hold a consistent read-only view of the branch table as it is now (one
 * reference on its root, committed with the transaction), for tools that
 * read a live pool through vela_md_open_held().  -EBUSY if one is held.
 * @holder (NULL or "" for none) is a tag that says who holds it, kept with
 * the view in the superblock, so that after a crash or a reboot the view
 * can be traced to its owner: 1 to VELA_HOLDER_LEN - 1 bytes of 0x21-0x7e
 * (vela_md_valid_holder()), else -EINVAL.  Releasing drops what only the
 * view still kept, and the tag.
 */
bool vela_md_valid_holder(const char *holder);
int vela_md_hold(struct vela_md *md, const char *holder, u64 *held_root);
int vela_md_release_hold(struct vela_md *md);

/* Set or clear NEEDS_CHECK in the open transaction. */
int vela_md_set_needs_check(struct vela_md *md, bool needs_check);

/* Branches.  Names are 1..127 bytes; see vela_md_valid_name(). */
bool vela_md_valid_name(const char *name);
int vela_md_create_volume(struct vela_md *md, const char *name, u64 size_sectors,
			  u32 flags, u64 now, u64 *id);
/*
 * An external origin: a read-only device a volume reads its unmapped
 * blocks from, recorded so activation can tell it is still the same one.
 */
struct vela_md_origin {
	u64 size_sectors;
	u32 sample_csum;	/* see vela_origin_sample_sector() */
	u32 sample_count;
	char id[VELA_ORIGIN_ID_LEN];	/* the identity the admin gave it */
	u32 flags;		/* VELA_BRANCH_* for the new volume */
};

/* A volume over an external origin, as large as the origin. */
int vela_md_create_origin_volume(struct vela_md *md, const char *name,
				 const struct vela_md_origin *origin, u64 now, u64 *id);
int vela_md_create_branch(struct vela_md *md, u64 parent_id, const char *name, u32 flags,
			  u64 now, u64 *id);
/*
 * -ENOTEMPTY while the branch has children; -EPERM while it is protected
 * (VELA_BRANCH_READ_ONLY), so a kept image is never deleted by accident.
 */
int vela_md_delete_branch(struct vela_md *md, u64 id);
int vela_md_find_branch(struct vela_md *md, const char *name, u64 *id);

/*
 * A branch as the store describes it, in CPU byte order.  The on-disk
 * record (struct vela_disk_branch) stays inside the store, so a change to
 * the format touches the store alone.
 */
struct vela_branch_info {
	u64 parent_id;		/* VELA_NO_PARENT for a volume */
	u64 branch_point_change_id;	/* the pool's change_id at the branch point */
	u64 size_sectors;
	u64 ctime;
	u64 mapped_blocks;	/* exact */
	u64 alloc_limit_blocks;	/* 0: no limit */
	u32 flags;		/* VELA_BRANCH_* */
	u32 depth;		/* 0 for a volume, the parent's + 1 */
	u8 uuid[16];
	char name[VELA_NAME_LEN];	/* NUL-terminated */
	/* With VELA_BRANCH_HAS_ORIGIN: the external origin, as recorded. */
	u64 origin_size_sectors;
	u32 origin_sample_csum;
	u32 origin_sample_count;
	char origin_id[VELA_ORIGIN_ID_LEN + 1];	/* NUL-terminated */
	/* Tree roots, for dumps and debugging only. */
	u64 mapping_root, base_root;
};

int vela_md_get_branch(struct vela_md *md, u64 id, struct vela_branch_info *info);
/* The branch with the smallest id >= @from: -ENODATA when there is none. */
int vela_md_next_branch(struct vela_md *md, u64 from, u64 *id, struct vela_branch_info *info);
int vela_md_rename_branch(struct vela_md *md, u64 id, const char *name);
/* -EINVAL for unknown flags and for HAS_ORIGIN, which only creation sets. */
int vela_md_set_branch_flags(struct vela_md *md, u64 id, u32 set, u32 clear);
/* Grow a branch's size; shrinking is -EINVAL (not supported). */
int vela_md_resize_branch(struct vela_md *md, u64 id, u64 size_sectors);
/* Cap the data blocks a branch may own (0: no cap). */
int vela_md_set_branch_limit(struct vela_md *md, u64 id, u64 limit_blocks);
/* The same for a branch created in this transaction: part of that change. */
int vela_md_set_new_branch_limit(struct vela_md *md, u64 id, u64 limit_blocks);
/* In id order; a non-zero return from @fn stops the walk and is returned. */
typedef int (*vela_branch_fn)(void *context, u64 id, const struct vela_branch_info *info);
int vela_md_walk_branches(struct vela_md *md, vela_branch_fn fn, void *context);
/* Work through the delete queue: at most @max mappings, then stop. */
int vela_md_reclaim(struct vela_md *md, u64 max, u64 *pending);

/* Mappings. */
typedef int (*vela_mapping_fn)(void *context, u64 lblock, u64 pblock);
int vela_md_walk_mappings(struct vela_md *md, u64 id, vela_mapping_fn fn, void *context);
int vela_md_lookup(struct vela_md *md, u64 id, u64 lblock, u64 *pblock, bool *shared);

/*
 * Diff: the ranges [@begin, @end) of logical blocks whose mappings differ,
 * in order, from the structure of the trees (shared subtrees are skipped
 * unread: the cost follows the differences).  A block mapped on one side
 * only, or to different data blocks, differs; a block rewritten since it
 * was shared differs even if it holds the same bytes.  *@nodes_read (may
 * be NULL) is increased by the tree nodes read.
 */
typedef int (*vela_range_fn)(void *context, u64 begin, u64 end);
int vela_md_diff(struct vela_md *md, u64 id_a, u64 id_b, vela_range_fn fn, void *context,
		 u64 *nodes_read);
/*
 * What branch @id changed since its branch point (its tree against its
 * base), or with @parent_side what its parent changed since (the parent's
 * tree against the same base).  -EINVAL for a volume.
 */
int vela_md_diff_since_branch_point(struct vela_md *md, u64 id, bool parent_side,
				    vela_range_fn fn, void *context, u64 *nodes_read);

/*
 * Merge a branch into its parent, in the metadata only: references move,
 * no data is copied, and the caller commits the whole merge as one
 * transaction (before or after, never a mix).
 * - THREE_WAY: the parent takes every block the child changed since the
 *   branch point; if the parent changed any of them too, nothing changes
 *   and -ECANCELED is returned with the conflicts counted (and reported
 *   to @conflict_fn as ranges, which may be NULL).
 * - CHILD_WINS: the same, conflicts taking the child's version.
 * - REPLACE: the parent becomes exactly the child (rollback, promotion).
 * A merge whose parent did not change since the branch point is a
 * fast-forward: the parent becomes the child.  Afterwards the child's
 * branch point is the merge point, so a second merge takes only what
 * changed since.  Other branches keep their trees and branch points.
 * @dry_run counts and reports without changing anything, and returns 0
 * even when a three-way merge would be refused.  -EINVAL for a volume (no
 * parent).
 */
enum vela_merge_strategy {
	VELA_MERGE_THREE_WAY,
	VELA_MERGE_CHILD_WINS,
	VELA_MERGE_REPLACE,
};

struct vela_merge_result {
	u64 taken;		/* blocks the child changed since the branch point */
	u64 conflicts;		/* of those, blocks the parent changed too */
	bool fast_forward;	/* the parent had not changed */
	u64 nodes_read;		/* tree nodes the diffs read */
};

int vela_md_merge(struct vela_md *md, u64 child_id, enum vela_merge_strategy strategy,
		  bool dry_run, vela_range_fn conflict_fn, void *context,
		  struct vela_merge_result *result);
/* Never sleeps on metadata I/O or the lock: -EWOULDBLOCK instead. */
int vela_md_lookup_try(struct vela_md *md, u64 id, u64 lblock, u64 *pblock);
/*
 * Map and unmap take the memory they may need before their first change:
 * -ENOMEM means nothing changed, and the transaction may go on.  Any other
 * error may leave half an update: abort.
 */
int vela_md_map(struct vela_md *md, u64 id, u64 lblock, u64 pblock);
/*
 * Remove one mapping (-ENODATA if there is none).  If that released the
 * last reference on its data block, *@freed names the block, which stays
 * unallocatable until the next commit; otherwise it is VELA_NO_BLOCK.
 */
int vela_md_unmap(struct vela_md *md, u64 id, u64 lblock, u64 *freed);
int vela_md_alloc_data_block(struct vela_md *md, u64 *pblock);
/* Drop a reference the caller holds on a data block (e.g. a failed copy). */
int vela_md_release_data_block(struct vela_md *md, u64 pblock);

/*
 * Exact exclusive and shared block counts of a branch now: a walk of its
 * tree that skips shared subtrees, holding the metadata lock shared, so
 * lookups go on and updates wait for it.  For activation and the tests;
 * status and listings use vela_md_committed_usage().
 */
int vela_md_branch_usage(struct vela_md *md, u64 id, u64 *exclusive, u64 *shared);

/*
 * Usage as of the last commit, for status lines and listings.  Exact
 * counts cannot be kept in O(1) (deleting a sibling makes whole subtrees
 * exclusive), and a walk under the metadata lock would stall the I/O path
 * for as long as it runs.  So the walk reads the last commit's mapping
 * tree and space maps with no metadata lock held: it pins the metadata
 * space map (vela_sm_pin_committed()), so that no block of that commit is
 * reused while commits go on beside it.  The figures name their
 * generation and are cached per branch until the next commit.  Walks run
 * one at a time; a caller that finds another walk running gets the last
 * cached figures, of an older generation, when there are any, and waits
 * otherwise.  A pin may hold back an eighth of the free metadata blocks
 * above twice the reserve (vela_md_metadata_reserve()).  When it would
 * hold back more, the caller gets the last cached figures; when there are
 * none, or no pin can be taken (too little free space, or a commit that
 * failed for want of memory applied part of its counts), the walk reads
 * the same commit under the metadata lock held shared instead:
 * exact all the same, it holds up updates for as long as it runs, which
 * only a pool short of metadata space pays.  A branch created since the
 * last commit reports zeros.
 */
struct vela_md_usage {
	u64 generation;		/* the commit the figures describe */
	u64 mapped, exclusive, shared;
};

int vela_md_committed_usage(struct vela_md *md, u64 id, struct vela_md_usage *usage);

/*
 * Metadata blocks kept back for deleting, growing and recovering: the
 * target stops adding mappings when only these are left, and returns to
 * normal at twice as many free.  A usage walk's pin never holds back what
 * would take free space below twice the reserve.
 */
u64 vela_md_metadata_reserve(u64 nr_blocks);


/*
 * The origin's fingerprint: crc32c over VELA_ORIGIN_SAMPLES 4 KiB blocks
 * spread evenly over it, the first at sector 0, each preceded by its
 * sector number (le64).  Sample @i starts at this sector.
 */
#define VELA_ORIGIN_SAMPLES	16
#define VELA_ORIGIN_SAMPLE_SECTORS	8

static inline u64 vela_origin_sample_sector(u64 size_sectors, unsigned int i)
{
	u64 last = (size_sectors - VELA_ORIGIN_SAMPLE_SECTORS) & ~7ULL;

	return div_u64(last, VELA_ORIGIN_SAMPLES - 1) * i & ~7ULL;
}

#endif
