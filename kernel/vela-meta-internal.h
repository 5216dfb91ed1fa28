/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the metadata store: struct vela_md and the helpers its rooms share.
 * For vela-meta.c, vela-superblock.c, vela-mapping.c, vela-merge.c, the
 * checker and the tests; never for the target or velactl, which see only
 * vela-meta.h, in CPU byte order.
 *
 * The rooms of the store:
 *   vela-superblock.c  validating, loading and writing the superblock
 *   vela-meta.c        open, format, commit and abort; the branch table,
 *                      the name index, the delete queue, the held view;
 *                      repair's rebuild
 *   vela-mapping.c     a branch's mappings: lookups, map, unmap, data
 *                      blocks, usage walks
 *   vela-merge.c       diff and merge
 *
 * Contract: a function whose name starts with "__" is called with md->lock
 * held (shared for reads, exclusive for updates) and says so with
 * lockdep_assert_held(), which the userspace build checks too.  Lock order:
 * usage_lock, then md->lock; the block locks of vela-block.c nest inside
 * md->lock.
 */
#ifndef VELA_META_INTERNAL_H
#define VELA_META_INTERNAL_H

#include "vela-meta.h"
#include "vela-sm.h"

struct vela_md_state {
	u64 change_id;
	u64 next_branch_id;
	u64 next_delete_seq;
	u64 branch_table_root;
	u64 name_index_root;
	u64 delete_queue_root;
	u64 held_root;
	char held_by[VELA_HOLDER_LEN];	/* "" when nothing is held, or no tag */
	u32 flags;
	u64 data_dev_size_sectors;
	/* Counted at open and kept since, so vela_md_info() is O(1). */
	u64 nr_branches;
	u64 nr_pending_deletes;
};

struct vela_md {
	struct rw_semaphore lock;
	struct vela_bm *bm;
	struct vela_tm tm;
	struct vela_sm metadata_sm;
	struct vela_sm data_sm;
	struct vela_btree_info mapping_info;
	struct vela_btree_info branch_info;
	struct vela_btree_info name_info;
	struct vela_btree_info delete_info;
	struct vela_md_state cur, committed;
	/* Opened for repair: the space maps are not read (they may be what is broken). */
	bool trees_only;
	/*
	 * Committed usage (vela_md_committed_usage()): usage_lock serialises
	 * the walks, which pin the metadata space map one at a time, and
	 * guards the cache of their results, valid for one generation.
	 */
	struct mutex usage_lock;
	struct vela_u64map usage_generation;	/* branch id -> generation + 1 */
	struct vela_u64map usage_mapped;	/* branch id -> mapped blocks */
	struct vela_u64map usage_exclusive;	/* branch id -> exclusive blocks */
	u8 uuid[16];
	char pool_name[VELA_POOL_NAME_LEN];
	u32 data_block_sectors;
	u64 ctime;
	bool read_only;
	/*
	 * The last commit failed: until one succeeds, vela_md_lookup_try()
	 * serves nothing (see vela_md_commit()).
	 */
	bool commit_failed;
	bool held_view;		/* opened on the held branch table */
};


/* vela-superblock.c */
/* At open, before @md is shared: validate, load, open (no lock). */
int vela_md_read_superblock(struct vela_md *md);
int __vela_md_write_superblock(struct vela_md *md);

/* vela-meta.c: the branch table, and what every update needs. */
int __vela_md_get_branch(struct vela_md *md, u64 id, struct vela_disk_branch *rec);
int __vela_md_put_branch(struct vela_md *md, u64 id, const struct vela_disk_branch *rec);
int __vela_md_get_branch_for_update(struct vela_md *md, u64 id, struct vela_disk_branch *rec);
int __vela_md_reserve_update(struct vela_md *md);
int vela_md_past_reservation(int r);
/*
 * A mapping's data block; -EILSEQ for extent bits this version lacks.
 * Inline: the lock-free lookup of the data path calls it.
 */
static inline int vela_md_mapping_block(const void *value, u64 *pblock)
{
	u64 v = le64_to_cpu(*(const __le64 *)value);

	if (v & ~VELA_MAPPING_BLOCK_MASK) {
		pr_err("vela: mapping %#llx uses extent bits this version lacks\n", v);
		return -EILSEQ;
	}
	*pblock = v;
	return 0;
}
/* Drop the reference a mapping value holds on its data block. */
int vela_md_mapping_dec(void *context, const void *value);

/* For the checker and the tests: the layers underneath. */
struct vela_md_trees {
	struct vela_btree_info *mapping, *branch, *name, *delete_queue;
	u64 branch_table_root, name_index_root, delete_queue_root, held_root;
	u64 next_branch_id;
	u32 flags;
};

void vela_md_trees(struct vela_md *md, struct vela_md_trees *t);
u64 vela_md_name_hash(const char *name);

static inline struct vela_tm *vela_md_tm(struct vela_md *md)
{
	return &md->tm;
}

static inline struct vela_sm *vela_md_metadata_sm(struct vela_md *md)
{
	return &md->metadata_sm;
}

static inline struct vela_sm *vela_md_data_sm(struct vela_md *md)
{
	return &md->data_sm;
}

/*
 * The steps of vela_md_committed_usage(), for the tests, which run
 * transactions between them: begin (with usage_lock held; 1 when the
 * figures are known without a walk), walk (no lock), end (unpins; caches
 * the figures if @r is 0; returns @r or an error of its own).
 */
struct vela_md_usage_walk {
	struct vela_md *md;
	u64 id, root;
	bool pinned;
	bool now;		/* vela_md_branch_usage(): the open transaction's counts */
	struct vela_sm_view metadata_view, data_view;
	struct vela_md_usage usage;
};

int vela_md_usage_begin(struct vela_md *md, u64 id, struct vela_md_usage_walk *w);
int vela_md_usage_walk(struct vela_md_usage_walk *w);
int vela_md_usage_end(struct vela_md_usage_walk *w, int r);

#endif
