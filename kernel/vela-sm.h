/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Space maps: exact reference counts for metadata blocks and data blocks.
 *
 * Contract:
 * - A count is the count at the last commit plus this transaction's delta.
 *   Increments and decrements are recorded in memory; the on-disk map
 *   (reference-count blocks, an index tree and an overflow tree, all in
 *   metadata blocks) changes only in vela_sm_apply(), during commit.
 * - vela_sm_alloc() returns a block whose count is zero now AND was zero at
 *   the last commit, and sets its count to one.  So a block freed in a
 *   transaction is never reused within it, and a crash, which returns to
 *   the last commit, never finds a live block overwritten.
 * - Commit: call vela_sm_apply() until it reports no change (the metadata
 *   space map's own blocks are counted in itself, so applying can create
 *   new deltas), then vela_sm_root() for the superblock, then
 *   vela_sm_committed() once the superblock is on disk.  vela_sm_abort()
 *   returns to the last commit.
 */
#ifndef VELA_SM_H
#define VELA_SM_H

#include "vela-btree.h"
#include "vela-format.h"

struct vela_sm {
	struct vela_tm *tm;		/* where the map's own blocks live */
	struct vela_btree_info index_info;
	struct vela_btree_info overflow_info;
	u64 nr_blocks;			/* blocks this map counts */
	u64 index_root, overflow_root;	/* current (moves during apply) */
	u64 committed_index_root, committed_overflow_root;
	u64 committed_nr_free, committed_nr_blocks;
	u64 nr_free;			/* free blocks per the on-disk map */
	u64 nr_allocated;		/* allocations in this transaction */
	u64 alloc_hint;
	struct vela_u64map deltas;
};

/* A new map of @nr_blocks blocks, all free. */
void vela_sm_init_new(struct vela_sm *sm, struct vela_tm *tm, u64 nr_blocks);
int vela_sm_open(struct vela_sm *sm, struct vela_tm *tm,
		 const struct vela_disk_sm_root *root, u64 nr_blocks);
void vela_sm_exit(struct vela_sm *sm);

int vela_sm_get_count(struct vela_sm *sm, u64 b, u32 *count);
int vela_sm_inc(struct vela_sm *sm, u64 b);
int vela_sm_dec(struct vela_sm *sm, u64 b);
int vela_sm_alloc(struct vela_sm *sm, u64 *b);
/*
 * Room for @nr_changes more blocks whose count changes (inc, dec, alloc)
 * in this transaction, so that they cannot fail for want of memory.
 */
int vela_sm_reserve(struct vela_sm *sm, u64 nr_changes);
/* Blocks that vela_sm_alloc() can still hand out in this transaction. */
u64 vela_sm_nr_free(struct vela_sm *sm);
u64 vela_sm_nr_blocks(struct vela_sm *sm);
/* Count @nr_blocks blocks from now on; only growth is supported. */
int vela_sm_extend(struct vela_sm *sm, u64 nr_blocks);

/*
 * Call @fn for every block of every range that has a reference-count block,
 * with its current count, in block order, reading each reference-count
 * block once (the checker's fast path).  Ranges without one hold only
 * zero counts and are skipped, so the cost follows what is allocated, not
 * the device size.
 */
int vela_sm_walk_counts(struct vela_sm *sm, int (*fn)(void *context, u64 b, u32 count),
			void *context);

int vela_sm_apply(struct vela_sm *sm, bool *changed);
void vela_sm_root(struct vela_sm *sm, struct vela_disk_sm_root *root);
void vela_sm_committed(struct vela_sm *sm);
void vela_sm_abort(struct vela_sm *sm);

#endif
