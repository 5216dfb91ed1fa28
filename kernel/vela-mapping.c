// SPDX-License-Identifier: GPL-2.0-only
/*
 * A branch's mappings: logical block -> data block, one B-tree per branch
 * (docs/on-disk-format.md, "Mapping trees").  A mapping value holds one
 * reference on its data block, counted in the data space map.
 *
 * Breaking sharing is the B-tree's business: a branch created from a parent
 * takes a reference on the parent's mapping root; the first write by either
 * side shadows the path to the changed leaf, so the two trees share every
 * untouched subtree.  A data block is shared while more than one leaf holds
 * it; the caller copies it before writing (vela_md_lookup() says when).
 *
 * Every update first stores the branch's record back unchanged
 * (__vela_md_get_branch_for_update()), which shadows the branch table's
 * path to it, and only then shadows the mapping tree: breaking sharing runs
 * top-down, so a held view sharing the branch table keeps its references.
 * An update reserves the memory it may need before its first change
 * (__vela_md_reserve_update()), so -ENOMEM leaves the transaction whole.
 *
 * vela_md_lookup_try() is the target's fast path: a trylock of md->lock
 * and non-blocking node lookups, refused while the last commit failed.
 *
 * Usage: exclusive and shared counts come from a walk that skips shared
 * subtrees.  Status lines read the last commit's trees with no metadata
 * lock, under a pin of the metadata space map (vela_md_committed_usage()
 * in vela-meta.h explains the pin, its bound and the fallbacks).
 */
#include "vela-meta-internal.h"

int vela_md_lookup(struct vela_md *md, u64 id, u64 lblock, u64 *pblock, bool *shared)
{
	struct vela_disk_branch rec;
	__le64 v;
	u32 count;
	int r;

	down_read(&md->lock);
	r = __vela_md_get_branch(md, id, &rec);
	if (!r)
		r = vela_btree_lookup_shared(&md->mapping_info, le64_to_cpu(rec.mapping_root),
					     lblock, &v, shared);
	if (!r)
		r = vela_md_mapping_block(&v, pblock);
	if (!r && !*shared) {
		r = vela_sm_get_count(&md->data_sm, *pblock, &count);
		*shared = count > 1;
	}
	up_read(&md->lock);
	return r;
}

int vela_md_lookup_try(struct vela_md *md, u64 id, u64 lblock, u64 *pblock)
{
	struct vela_disk_branch rec;
	__le64 v;
	int r;

	if (READ_ONCE(md->commit_failed) || !down_read_trylock(&md->lock))
		return -EWOULDBLOCK;
	r = vela_btree_lookup_try(&md->branch_info, md->cur.branch_table_root, id, &rec);
	if (r == -ENODATA)
		r = -ENOENT;
	if (!r)
		r = vela_btree_lookup_try(&md->mapping_info, le64_to_cpu(rec.mapping_root),
					  lblock, &v);
	if (!r)
		r = vela_md_mapping_block(&v, pblock);
	up_read(&md->lock);
	return r;
}

struct mapping_walk {
	vela_mapping_fn fn;
	void *context;
};

static int walk_mapping(void *context, u64 key, const void *value)
{
	struct mapping_walk *mw = context;
	u64 pblock;
	int r = vela_md_mapping_block(value, &pblock);

	return r ? r : mw->fn(mw->context, key, pblock);
}

int vela_md_walk_mappings(struct vela_md *md, u64 id, vela_mapping_fn fn, void *context)
{
	struct mapping_walk mw = { .fn = fn, .context = context };
	struct vela_disk_branch rec;
	int r;

	down_read(&md->lock);
	r = __vela_md_get_branch(md, id, &rec);
	if (!r)
		r = vela_btree_walk(&md->mapping_info, le64_to_cpu(rec.mapping_root),
				    walk_mapping, &mw);
	up_read(&md->lock);
	return r;
}

int vela_md_map(struct vela_md *md, u64 id, u64 lblock, u64 pblock)
{
	struct vela_disk_branch rec;
	__le64 v = cpu_to_le64(pblock), old;
	bool replaced;
	u64 root;
	int r;

	if (pblock >= VELA_MAX_DATA_BLOCKS)
		return -EINVAL;
	down_write(&md->lock);
	r = md->read_only ? -EROFS : __vela_md_reserve_update(md);
	if (r)
		goto out;
	r = __vela_md_get_branch_for_update(md, id, &rec);
	if (r)
		goto out_reserved;
	r = vela_btree_insert(&md->mapping_info, le64_to_cpu(rec.mapping_root), lblock, &v,
			      &root, &replaced, &old);
	if (r)
		goto out_reserved;
	if (replaced)
		r = vela_md_mapping_dec(md, &old);
	else
		le64_add_cpu(&rec.mapped_blocks, 1);
	rec.mapping_root = cpu_to_le64(root);
	if (!r)
		r = __vela_md_put_branch(md, id, &rec);
out_reserved:
	r = vela_md_past_reservation(r);
out:
	up_write(&md->lock);
	return r;
}

int vela_md_unmap(struct vela_md *md, u64 id, u64 lblock, u64 *freed)
{
	struct vela_disk_branch rec;
	u64 root, pblock;
	__le64 v;
	u32 count;
	int r;

	*freed = VELA_NO_BLOCK;
	down_write(&md->lock);
	r = md->read_only ? -EROFS : __vela_md_get_branch(md, id, &rec);
	if (!r)
		r = vela_btree_lookup(&md->mapping_info, le64_to_cpu(rec.mapping_root), lblock, &v);
	if (!r)
		r = vela_md_mapping_block(&v, &pblock);
	/* Only a mapping that exists changes anything. */
	if (!r)
		r = __vela_md_reserve_update(md);
	if (r)
		goto out;
	r = __vela_md_get_branch_for_update(md, id, &rec);
	if (!r)
		r = vela_btree_remove(&md->mapping_info, le64_to_cpu(rec.mapping_root), lblock,
				      &root);
	if (!r) {
		rec.mapping_root = cpu_to_le64(root);
		le64_add_cpu(&rec.mapped_blocks, -1);
		r = __vela_md_put_branch(md, id, &rec);
	}
	if (!r)
		r = vela_sm_get_count(&md->data_sm, pblock, &count);
	if (!r && !count)
		*freed = pblock;
	r = vela_md_past_reservation(r);
out:
	up_write(&md->lock);
	return r;
}

int vela_md_alloc_data_block(struct vela_md *md, u64 *pblock)
{
	int r;

	down_write(&md->lock);
	r = md->read_only ? -EROFS : vela_sm_alloc(&md->data_sm, pblock);
	up_write(&md->lock);
	return r;
}

int vela_md_release_data_block(struct vela_md *md, u64 pblock)
{
	int r;

	down_write(&md->lock);
	r = vela_sm_dec(&md->data_sm, pblock);
	up_write(&md->lock);
	return r;
}

/*
 * A mapping of the walked tree: exclusive when its data block has one
 * reference, now (@w->now) or at the last commit.  A mapped block with no
 * reference is corruption.
 */
static int usage_leaf_value(void *context, u64 key, const void *value)
{
	struct vela_md_usage_walk *w = context;
	u64 pblock;
	u32 count;
	int r;

	r = vela_md_mapping_block(value, &pblock);
	if (!r && w->now)
		r = vela_sm_get_count(&w->md->data_sm, pblock, &count);
	else if (!r)
		r = vela_sm_view_count(&w->md->data_sm, &w->data_view, pblock, &count);
	if (!r && !count) {
		pr_err("vela: data block %llu is mapped but free\n", pblock);
		r = -EILSEQ;
	}
	if (!r && count == 1)
		w->usage.exclusive++;
	return r;
}

int vela_md_branch_usage(struct vela_md *md, u64 id, u64 *exclusive, u64 *shared)
{
	struct vela_md_usage_walk w = { .md = md, .now = true };
	struct vela_disk_branch rec;
	int r;

	down_read(&md->lock);
	r = __vela_md_get_branch(md, id, &rec);
	if (!r)
		r = vela_btree_walk_exclusive(&md->mapping_info, le64_to_cpu(rec.mapping_root),
					      usage_leaf_value, &w);
	if (!r) {
		*exclusive = w.usage.exclusive;
		*shared = le64_to_cpu(rec.mapped_blocks) - w.usage.exclusive;
	}
	up_read(&md->lock);
	return r;
}

/* --- usage: see vela_md_committed_usage() in vela-meta.h --------------- */

/*
 * Node counts of the pinned commit.  A node the walk reaches had a count
 * of at least one then, or the pin would not protect it: a zero is
 * corruption (or a broken pin), never something to read on.
 */
static int committed_metadata_ref(void *context, u64 b, u32 *count)
{
	struct vela_md_usage_walk *w = context;
	int r;

	if (w->pinned && vela_sm_pin_broken(&w->md->metadata_sm))
		return -EAGAIN;
	r = vela_sm_view_count(&w->md->metadata_sm, &w->metadata_view, b, count);
	if (!r && !*count) {
		pr_err("vela: metadata block %llu is in a committed tree but was free\n", b);
		r = -EILSEQ;
	}
	return r;
}

/*
 * The cached figures of @id: of the last commit, or of any commit if @any.
 * The metadata lock guards the cache's maps.
 */
static bool cached_usage(struct vela_md *md, u64 id, bool any, struct vela_md_usage *usage)
{
	u64 cached;
	bool hit;

	down_read(&md->lock);
	cached = vela_u64map_get(&md->usage_generation, id);
	hit = cached && (any || cached == vela_tm_generation(&md->tm) + 1);
	if (hit) {
		usage->generation = cached - 1;
		usage->mapped = vela_u64map_get(&md->usage_mapped, id);
		usage->exclusive = vela_u64map_get(&md->usage_exclusive, id);
	}
	up_read(&md->lock);
	return hit;
}

u64 vela_md_metadata_reserve(u64 nr_blocks)
{
	return max_t(u64, 64, nr_blocks / 32);
}

/*
 * What a pin may hold back: an eighth of the free metadata above twice the
 * reserve, so that a walk never takes the pool into (or keeps it in) its
 * metadata reserve.
 */
static u64 __pin_max_held(struct vela_md *md)
{
	u64 free, floor;

	lockdep_assert_held(&md->lock);
	free = vela_sm_nr_free(&md->metadata_sm);
	floor = 2 * vela_md_metadata_reserve(vela_sm_nr_blocks(&md->metadata_sm));
	return free > floor ? (free - floor) / 8 : 0;
}

/*
 * Set @w up for a walk of @id's tree at the last commit (the caller holds
 * the metadata lock): 1 when the figures are known without one (a branch
 * created since has none), 0 when the walk is to be made.
 */
static int __usage_setup(struct vela_md *md, u64 id, struct vela_md_usage_walk *w)
{
	struct vela_disk_branch rec;
	int r;

	lockdep_assert_held(&md->lock);
	memset(w, 0, sizeof(*w));
	w->md = md;
	w->id = id;
	w->usage.generation = vela_tm_generation(&md->tm);
	r = vela_btree_lookup(&md->branch_info, md->committed.branch_table_root, id, &rec);
	if (r == -ENODATA)
		return 1;
	if (r)
		return r;
	vela_sm_committed_view(&md->metadata_sm, &w->metadata_view);
	vela_sm_committed_view(&md->data_sm, &w->data_view);
	w->root = le64_to_cpu(rec.mapping_root);
	w->usage.mapped = le64_to_cpu(rec.mapped_blocks);
	return 0;
}

int vela_md_usage_begin(struct vela_md *md, u64 id, struct vela_md_usage_walk *w)
{
	int r;

	lockdep_assert_held(&md->usage_lock);
	w->md = md;
	w->pinned = false;
	if (cached_usage(md, id, false, &w->usage))
		return 1;

	down_write(&md->lock);
	r = __usage_setup(md, id, w);
	if (r)
		goto out;
	/* Entries of deleted branches pile up: start afresh now and then. */
	if (md->usage_generation.nr_used > 2 * md->cur.nr_branches + 64) {
		vela_u64map_clear(&md->usage_generation);
		vela_u64map_clear(&md->usage_mapped);
		vela_u64map_clear(&md->usage_exclusive);
	}
	/* Room in the cache now: its update at the end cannot fail. */
	r = vela_u64map_reserve(&md->usage_generation, 1);
	if (!r)
		r = vela_u64map_reserve(&md->usage_mapped, 1);
	if (!r)
		r = vela_u64map_reserve(&md->usage_exclusive, 1);
	if (!r)
		r = vela_sm_pin_committed(&md->metadata_sm, __pin_max_held(md));
	w->pinned = !r;
out:
	up_write(&md->lock);
	return r;
}

int vela_md_usage_walk(struct vela_md_usage_walk *w)
{
	int r = vela_btree_walk_exclusive_by(&w->md->mapping_info, w->root,
					     committed_metadata_ref, w,
					     usage_leaf_value, w);

	vela_sm_view_put(&w->md->metadata_sm, &w->metadata_view);
	vela_sm_view_put(&w->md->data_sm, &w->data_view);
	return r;
}

/* Check the figures and keep them (the cache has room: see begin). */
static int __usage_store(struct vela_md *md, struct vela_md_usage_walk *w)
{
	lockdep_assert_held(&md->lock);
	if (w->usage.exclusive > w->usage.mapped) {
		pr_err("vela: branch %llu has more exclusive blocks (%llu) than mappings (%llu)\n",
		       w->id, w->usage.exclusive, w->usage.mapped);
		return -EILSEQ;
	}
	/* The generation goes last: figures without it are never served. */
	if (!vela_u64map_set(&md->usage_mapped, w->id, w->usage.mapped) &&
	    !vela_u64map_set(&md->usage_exclusive, w->id, w->usage.exclusive))
		vela_u64map_set(&md->usage_generation, w->id, w->usage.generation + 1);
	return 0;
}

int vela_md_usage_end(struct vela_md_usage_walk *w, int r)
{
	struct vela_md *md = w->md;

	if (!w->pinned)
		return r;
	down_write(&md->lock);
	vela_sm_unpin(&md->metadata_sm);
	w->pinned = false;
	if (!r)
		r = __usage_store(md, w);
	up_write(&md->lock);
	return r;
}

/*
 * The walk when no pin may be taken, or the pin broke: the same commit,
 * read under the metadata lock held shared.  No commit runs meanwhile, and
 * the open transaction reuses no block it freed (vela-sm.h), so the last
 * commit's blocks stay as they are without a pin.
 */
static int usage_walk_locked(struct vela_md *md, u64 id, struct vela_md_usage_walk *w)
{
	int r;

	down_read(&md->lock);
	r = __usage_setup(md, id, w);
	if (!r)
		r = vela_md_usage_walk(w);
	up_read(&md->lock);
	if (r == 1)
		return 0;
	if (!r) {
		down_write(&md->lock);
		r = __usage_store(md, w);
		up_write(&md->lock);
	}
	return r;
}

int vela_md_committed_usage(struct vela_md *md, u64 id, struct vela_md_usage *usage)
{
	struct vela_md_usage_walk w;
	bool pinned;
	int r;

	/*
	 * Another branch's walk is running: rather than wait for it, the
	 * last figures, when there are any.
	 */
	if (!mutex_trylock(&md->usage_lock)) {
		if (cached_usage(md, id, true, usage))
			goto out;
		mutex_lock(&md->usage_lock);
	}
	r = vela_md_usage_begin(md, id, &w);
	pinned = !r;
	if (!r)
		r = vela_md_usage_walk(&w);
	r = vela_md_usage_end(&w, r < 0 ? r : 0);
	/*
	 * A pin that broke did so under heavy metadata churn, when a walk
	 * under the lock would hurt most: the last figures, if there are
	 * any.  Otherwise (no pin on a pool short of space, or nothing
	 * cached yet) the same commit under the lock.
	 */
	if (r == -EAGAIN && pinned && cached_usage(md, id, true, usage)) {
		mutex_unlock(&md->usage_lock);
		goto out;
	}
	if (r == -EAGAIN)
		r = usage_walk_locked(md, id, &w);
	mutex_unlock(&md->usage_lock);
	if (r)
		return r;
	*usage = w.usage;
out:
	usage->shared = usage->mapped - usage->exclusive;
	return 0;
}

