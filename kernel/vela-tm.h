/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Transaction manager: on-disk structures are immutable between commits.
 *
 * Contract:
 * - A block may be written only if it was created or shadowed in the
 *   current transaction and has not gained a second reference since.
 *   vela_tm_shadow() gives a writable copy of any block: the block
 *   itself when it is already new in this transaction, otherwise a freshly
 *   allocated copy, with the original's reference dropped.  When the original was shared (count above one) the caller
 *   must take a reference on everything the copy points to:
 *   *inc_children says so.
 * - Reference counts of metadata blocks live in the metadata space map.
 * - Commit is two-phase: vela_tm_flush() writes every dirty block and
 *   flushes the device (nothing written is referenced by the last
 *   commit); then vela_tm_write_superblock() writes block 0 and flushes
 *   again.  Until that write lands, the device opens at the previous commit.
 * - vela_tm_end() closes the transaction (commit or abort): the shadow set
 *   is cleared and the generation moves on.  Freed blocks are never reused
 *   inside the transaction that freed them (the space map enforces it).
 */
#ifndef VELA_TM_H
#define VELA_TM_H

#include "vela-block.h"
#include "vela-u64map.h"

struct vela_sm;

struct vela_tm {
	struct vela_bm *bm;
	struct vela_sm *sm;		/* the metadata space map */
	/* Blocks new in this transaction: 1 while writable in place. */
	struct vela_u64map shadowed;
	u64 generation;			/* of the last commit */
};

void vela_tm_init(struct vela_tm *tm, struct vela_bm *bm, u64 generation);
void vela_tm_exit(struct vela_tm *tm);
void vela_tm_set_sm(struct vela_tm *tm, struct vela_sm *metadata_sm);

int vela_tm_new_block(struct vela_tm *tm, const struct vela_block_type *type,
		      struct vela_block **result);
int vela_tm_shadow(struct vela_tm *tm, u64 orig, const struct vela_block_type *type,
		   struct vela_block **result, bool *inc_children);
int vela_tm_read_lock(struct vela_tm *tm, u64 b, const struct vela_block_type *type,
		      struct vela_block **result);
int vela_tm_read_try_lock(struct vela_tm *tm, u64 b, const struct vela_block_type *type,
			  struct vela_block **result);
void vela_tm_unlock(struct vela_tm *tm, struct vela_block *blk);

/* Room for @nr_new_blocks more new or shadowed blocks: 0 or -ENOMEM. */
int vela_tm_reserve(struct vela_tm *tm, u64 nr_new_blocks);
int vela_tm_inc(struct vela_tm *tm, u64 b);
int vela_tm_dec(struct vela_tm *tm, u64 b);
int vela_tm_ref(struct vela_tm *tm, u64 b, u32 *count);

int vela_tm_flush(struct vela_tm *tm);
int vela_tm_write_superblock(struct vela_tm *tm, const struct vela_block_type *type,
			     void (*fill)(void *sb, void *context), void *context);
/* Close the transaction; @committed says whether a new generation exists. */
void vela_tm_end(struct vela_tm *tm, bool committed);

/* The generation of the last commit. */
static inline u64 vela_tm_generation(const struct vela_tm *tm)
{
	return tm->generation;
}

/* The metadata device's size: the bound of every walk. */
static inline u64 vela_tm_nr_blocks(const struct vela_tm *tm)
{
	return vela_bm_nr_blocks(tm->bm);
}

#endif
