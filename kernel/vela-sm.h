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
 *   vela_sm_committed() once the superblock is on disk.  vela_sm_apply()
 *   fails with -ENOMEM only between the counts it writes, where every
 *   count is still its trees' count plus its delta: the transaction is
 *   intact and the commit can be tried again.  vela_sm_abort()
 *   returns to the last commit.
 */
#ifndef VELA_SM_H
#define VELA_SM_H

#include "vela-btree.h"
#include "vela-format.h"

/*
 * The map as of the last commit, for a reader outside the metadata lock
 * (vela_md_committed_usage()).  Its blocks stay as they were only while
 * the metadata space map is pinned (vela_sm_pin_committed()).
 */
struct vela_sm_view {
	u64 index_root, overflow_root, nr_blocks;
	/*
	 * The reference-count block of the range asked last, kept locked
	 * (counts are mostly asked in block order); vela_sm_view_put() lets
	 * it go.
	 */
	u64 range;
	struct vela_block *range_blk;
};

struct vela_sm {
	struct vela_tm *tm;		/* where the map's own blocks live */
	struct vela_btree_info index_info;
	struct vela_btree_info overflow_info;
	u64 nr_blocks;			/* blocks this map counts */
	u64 index_root, overflow_root;	/* current (moves during apply) */
	u64 committed_index_root, committed_overflow_root;
	u64 committed_nr_free, committed_nr_blocks;
	u64 nr_free;			/* free blocks at the last commit */
	s64 applied_free;		/* what this transaction's apply changed */
	u64 nr_allocated;		/* allocations in this transaction */
	u64 alloc_hint;
	struct vela_u64map deltas;
	/* See vela_sm_pin_committed(). */
	bool pinned;
	bool pin_broken;		/* read without the metadata lock */
	struct vela_sm_view pin;
	u64 nr_held;			/* by the pin, as of the last commit */
	u64 pending_held;		/* by this transaction's apply */
	u64 pin_max_held;
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

/*
 * Committed views.  vela_sm_committed_view() describes the last commit;
 * vela_sm_view_count() reads a count in it, touching nothing the open
 * transaction changes, so it needs no lock while the view's blocks are
 * pinned.
 *
 * vela_sm_pin_committed() (metadata space map only) keeps the blocks of the
 * last commit intact: until vela_sm_unpin(), vela_sm_alloc() hands out no
 * block whose count was non-zero at that commit, whatever commits follow.
 * A block the pinned commit used that a later commit frees is held back:
 * vela_sm_nr_free() counts it in use until the unpin, so free space never
 * includes a block alloc cannot hand out.  Once @max_held blocks are held
 * back, the pin is broken: vela_sm_pin_broken() says so, and the reader
 * should give up and unpin, since what it holds back is space the pool
 * needs (the blocks stay held back until the unpin all the same).  One pin
 * at a time (-EBUSY); none (-EAGAIN) when @max_held is 0, or after a
 * commit that failed for want of memory applied some counts.
 * vela_sm_view_count(), vela_sm_view_put() and vela_sm_pin_broken() are
 * the calls that run without the metadata lock; the others take it like
 * every other call here.
 */
void vela_sm_committed_view(struct vela_sm *sm, struct vela_sm_view *view);
int vela_sm_view_count(struct vela_sm *sm, struct vela_sm_view *view, u64 b, u32 *count);
void vela_sm_view_put(struct vela_sm *sm, struct vela_sm_view *view);
int vela_sm_pin_committed(struct vela_sm *sm, u64 max_held);
bool vela_sm_pin_broken(struct vela_sm *sm);
void vela_sm_unpin(struct vela_sm *sm);

int vela_sm_apply(struct vela_sm *sm, bool *changed);
void vela_sm_root(struct vela_sm *sm, struct vela_disk_sm_root *root);
void vela_sm_committed(struct vela_sm *sm);
void vela_sm_abort(struct vela_sm *sm);

/*
 * For the checker: visit the space map's own trees, the index with @index
 * (its values are struct vela_disk_index_entry) and then the overflow tree
 * with @overflow.  The first error ends the visit.
 */
int vela_sm_visit(struct vela_sm *sm, struct vela_btree_visitor *index,
		  struct vela_btree_visitor *overflow);

#endif
