// SPDX-License-Identifier: GPL-2.0-only
/*
 * Transaction manager.  See vela-tm.h for the contract.
 */
#include "vela-tm.h"
#include "vela-sm.h"
#include "vela-format.h"

static void set_generations(struct vela_tm *tm)
{
	/*
	 * Blocks written in this transaction carry generation + 1 and may be
	 * read back from disk after eviction, so they are valid too.
	 */
	vela_bm_set_generations(tm->bm, tm->generation + 1, tm->generation + 1);
}

void vela_tm_init(struct vela_tm *tm, struct vela_bm *bm, u64 generation)
{
	tm->bm = bm;
	tm->sm = NULL;
	tm->generation = generation;
	vela_u64map_init(&tm->shadowed);
	set_generations(tm);
}

void vela_tm_exit(struct vela_tm *tm)
{
	vela_u64map_exit(&tm->shadowed);
}

void vela_tm_set_sm(struct vela_tm *tm, struct vela_sm *metadata_sm)
{
	tm->sm = metadata_sm;
}

int vela_tm_new_block(struct vela_tm *tm, const struct vela_block_type *type,
		      struct vela_block **result)
{
	u64 b;
	int r;

	r = vela_sm_alloc(tm->sm, &b);
	if (r)
		return r;
	r = vela_u64map_add(&tm->shadowed, b, 1);
	if (r)
		return r;
	return vela_bm_write_lock_zero(tm->bm, b, type, result);
}

int vela_tm_shadow(struct vela_tm *tm, u64 orig, const struct vela_block_type *type,
		   struct vela_block **result, bool *inc_children)
{
	struct vela_block *src, *copy;
	u32 count;
	int r;

	if (vela_u64map_get(&tm->shadowed, orig)) {
		*inc_children = false;
		return vela_bm_write_lock(tm->bm, orig, type, result);
	}

	r = vela_sm_get_count(tm->sm, orig, &count);
	if (r)
		return r;
	if (!count) {
		pr_err("vela: metadata block %llu (%s) is referenced but free in the space map\n",
		       orig, type->name);
		return -EILSEQ;
	}

	r = vela_bm_read_lock(tm->bm, orig, type, &src);
	if (r)
		return r;
	r = vela_tm_new_block(tm, type, &copy);
	if (r) {
		vela_bm_unlock(src);
		return r;
	}
	memcpy(vela_block_data(copy), vela_block_data(src), VELA_BLOCK_SIZE);
	vela_bm_unlock(src);

	r = vela_sm_dec(tm->sm, orig);
	if (r) {
		vela_bm_unlock(copy);
		return r;
	}
	*inc_children = count > 1;
	*result = copy;
	return 0;
}

int vela_tm_read_lock(struct vela_tm *tm, u64 b, const struct vela_block_type *type,
		      struct vela_block **result)
{
	return vela_bm_read_lock(tm->bm, b, type, result);
}

int vela_tm_read_try_lock(struct vela_tm *tm, u64 b, const struct vela_block_type *type,
			  struct vela_block **result)
{
	return vela_bm_read_try_lock(tm->bm, b, type, result);
}

void vela_tm_unlock(struct vela_tm *tm, struct vela_block *blk)
{
	vela_bm_unlock(blk);
}

int vela_tm_reserve(struct vela_tm *tm, u64 nr_new_blocks)
{
	return vela_u64map_reserve(&tm->shadowed, nr_new_blocks);
}

int vela_tm_inc(struct vela_tm *tm, u64 b)
{
	int r;

	/*
	 * A second reference makes even a block created in this transaction
	 * shared: from now on it must be copied, not written in place.
	 */
	if (vela_u64map_get(&tm->shadowed, b)) {
		r = vela_u64map_add(&tm->shadowed, b, -1);
		if (r)
			return r;
	}
	return vela_sm_inc(tm->sm, b);
}

int vela_tm_dec(struct vela_tm *tm, u64 b)
{
	return vela_sm_dec(tm->sm, b);
}

int vela_tm_ref(struct vela_tm *tm, u64 b, u32 *count)
{
	return vela_sm_get_count(tm->sm, b, count);
}

int vela_tm_flush(struct vela_tm *tm)
{
	return vela_bm_flush(tm->bm);
}

int vela_tm_write_superblock(struct vela_tm *tm, const struct vela_block_type *type,
			     void (*fill)(void *sb, void *context), void *context)
{
	struct vela_block *blk;
	int r;

	/*
	 * Block 0 is the one block written in place.  Its old contents are
	 * not read: everything in it is rebuilt by @fill.
	 */
	r = vela_bm_write_lock_zero(tm->bm, VELA_SUPERBLOCK_LOCATION, type, &blk);
	if (r)
		return r;
	fill(vela_block_data(blk), context);
	vela_bm_unlock(blk);
	return vela_bm_flush(tm->bm);
}

void vela_tm_end(struct vela_tm *tm, bool committed)
{
	vela_u64map_clear(&tm->shadowed);
	if (committed)
		tm->generation++;
	set_generations(tm);
}
