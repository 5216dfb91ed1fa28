// SPDX-License-Identifier: GPL-2.0-only
/*
 * Space maps.  See vela-sm.h for the contract and docs/on-disk-format.md
 * for the layout.
 *
 * Why deltas.  A space map that lives in the metadata it counts is
 * recursive: changing a count shadows a reference-count block, which
 * allocates a block, which changes a count.  Here counts change only in
 * memory during a transaction (committed count + delta), and the on-disk
 * map is brought up to date at commit by vela_sm_apply().  Applying shadows
 * map blocks, which records new deltas; the next round applies those.  A
 * block shadowed once in a transaction is written in place afterwards, so
 * each round touches fewer new blocks and the rounds stop quickly.
 *
 * Invariant during apply: the count of a block is always the count in the
 * current trees plus its delta; a delta is cleared in the same step that
 * writes it into the trees.
 */
#include "vela-sm.h"

static const struct vela_block_type rc_block_type = {
	.name = "reference-count block",
	.type = VELA_TYPE_REFCOUNT,
	.csum_len = VELA_BLOCK_SIZE,
};

static u32 rc_get(const void *data, u64 i)
{
	const u8 *bits = (const u8 *)data + sizeof(struct vela_block_header);

	return (bits[i / 4] >> ((i % 4) * 2)) & 3;
}

static void rc_set(void *data, u64 i, u32 v)
{
	u8 *bits = (u8 *)data + sizeof(struct vela_block_header);
	unsigned int shift = (i % 4) * 2;

	bits[i / 4] = (bits[i / 4] & ~(3u << shift)) | (v << shift);
}

/* Index values hold a reference on their reference-count block. */
static int index_value_inc(void *context, const void *value)
{
	const struct vela_disk_index_entry *ie = value;

	return vela_tm_inc(context, le64_to_cpu(ie->location));
}

static int index_value_dec(void *context, const void *value)
{
	const struct vela_disk_index_entry *ie = value;

	return vela_tm_dec(context, le64_to_cpu(ie->location));
}

static void init_infos(struct vela_sm *sm, struct vela_tm *tm)
{
	sm->tm = tm;
	sm->index_info.tm = tm;
	sm->index_info.value_type.context = tm;
	sm->index_info.value_type.size = sizeof(struct vela_disk_index_entry);
	sm->index_info.value_type.inc = index_value_inc;
	sm->index_info.value_type.dec = index_value_dec;
	sm->overflow_info.tm = tm;
	sm->overflow_info.value_type.context = NULL;
	sm->overflow_info.value_type.size = sizeof(struct vela_disk_overflow_count);
	sm->overflow_info.value_type.inc = NULL;
	sm->overflow_info.value_type.dec = NULL;
	vela_u64map_init(&sm->deltas);
	sm->nr_allocated = 0;
	sm->alloc_hint = 0;
	sm->pinned = false;
	sm->pin_broken = false;
	sm->nr_held = 0;
	sm->pending_held = 0;
	sm->applied_free = 0;
}

void vela_sm_init_new(struct vela_sm *sm, struct vela_tm *tm, u64 nr_blocks)
{
	init_infos(sm, tm);
	sm->nr_blocks = nr_blocks;
	sm->index_root = 0;
	sm->overflow_root = 0;
	sm->nr_free = nr_blocks;
	vela_sm_committed(sm);
}

static u64 range_size(struct vela_sm *sm, u64 idx)
{
	u64 first = idx * VELA_RC_ENTRIES_PER_BLOCK;

	return min_t(u64, VELA_RC_ENTRIES_PER_BLOCK, sm->nr_blocks - first);
}

static int count_free(void *context, u64 idx, const void *value)
{
	const struct vela_disk_index_entry *ie = value;
	struct vela_sm *sm = context;

	if (idx * VELA_RC_ENTRIES_PER_BLOCK >= sm->nr_blocks ||
	    le32_to_cpu(ie->nr_free) > range_size(sm, idx)) {
		pr_err("vela: space map index entry %llu is out of range\n", idx);
		return -EILSEQ;
	}
	sm->nr_free -= range_size(sm, idx) - le32_to_cpu(ie->nr_free);
	return 0;
}

int vela_sm_open(struct vela_sm *sm, struct vela_tm *tm,
		 const struct vela_disk_sm_root *root, u64 nr_blocks)
{
	int r;

	init_infos(sm, tm);
	sm->nr_blocks = nr_blocks;
	sm->index_root = le64_to_cpu(root->index_root);
	sm->overflow_root = le64_to_cpu(root->overflow_root);
	/* Ranges without an index entry are entirely free. */
	sm->nr_free = nr_blocks;
	r = vela_btree_walk(&sm->index_info, sm->index_root, count_free, sm);
	if (r) {
		vela_u64map_exit(&sm->deltas);
		return r;
	}
	vela_sm_committed(sm);
	return 0;
}

void vela_sm_exit(struct vela_sm *sm)
{
	vela_u64map_exit(&sm->deltas);
}

/* The count of entry @i of reference-count block @blk, overflow included. */
static int rc_count(struct vela_sm *sm, struct vela_block *blk, u64 overflow_root, u64 b,
		    u32 *count)
{
	struct vela_disk_overflow_count oc;
	int r;

	*count = rc_get(vela_block_data(blk), b % VELA_RC_ENTRIES_PER_BLOCK);
	if (*count < VELA_RC_OVERFLOW)
		return 0;
	r = vela_btree_lookup(&sm->overflow_info, overflow_root, b, &oc);
	if (r == -ENODATA) {
		pr_err("vela: block %llu has an overflowed count but no overflow entry\n", b);
		return -EILSEQ;
	}
	if (!r)
		*count = le32_to_cpu(oc.count);
	return r;
}

/* The count of @b in the trees rooted at @index_root and @overflow_root. */
static int tree_count(struct vela_sm *sm, u64 index_root, u64 overflow_root, u64 b,
		      u32 *count)
{
	struct vela_disk_index_entry ie;
	struct vela_block *blk;
	int r;

	r = vela_btree_lookup(&sm->index_info, index_root, b / VELA_RC_ENTRIES_PER_BLOCK, &ie);
	if (r == -ENODATA) {
		*count = 0;
		return 0;
	}
	if (r)
		return r;
	r = vela_tm_read_lock(sm->tm, le64_to_cpu(ie.location), &rc_block_type, &blk);
	if (r)
		return r;
	r = rc_count(sm, blk, overflow_root, b, count);
	vela_tm_unlock(sm->tm, blk);
	return r;
}

static int check_range(struct vela_sm *sm, u64 b)
{
	if (b < sm->nr_blocks)
		return 0;
	pr_err("vela: block %llu is beyond the space map (%llu blocks)\n", b, sm->nr_blocks);
	return -EILSEQ;
}

int vela_sm_get_count(struct vela_sm *sm, u64 b, u32 *count)
{
	s64 total;
	u32 on_disk;
	int r;

	r = check_range(sm, b);
	if (r)
		return r;
	r = tree_count(sm, sm->index_root, sm->overflow_root, b, &on_disk);
	if (r)
		return r;
	total = (s64)on_disk + vela_u64map_get(&sm->deltas, b);
	if (total < 0 || total > U32_MAX) {
		pr_err("vela: reference count of block %llu out of range (%lld)\n", b, total);
		return -EILSEQ;
	}
	*count = total;
	return 0;
}

int vela_sm_inc(struct vela_sm *sm, u64 b)
{
	int r = check_range(sm, b);

	return r ? r : vela_u64map_add(&sm->deltas, b, 1);
}

int vela_sm_dec(struct vela_sm *sm, u64 b)
{
	int r = check_range(sm, b);

	return r ? r : vela_u64map_add(&sm->deltas, b, -1);
}

/*
 * Free now (@current_tree_count is the current trees' count) and untouched
 * in this transaction.  A block whose count changed since the last commit
 * keeps its entry in the deltas until the next commit, even at a net zero
 * or after apply wrote it into the trees: so a block freed in this
 * transaction (committed or allocated in it) is never handed out again
 * before the commit that makes the free durable.  A block free now and
 * never touched was free at the last commit too, so it is safe to reuse
 * after a crash as well.
 */
int vela_sm_reserve(struct vela_sm *sm, u64 nr_changes)
{
	return vela_u64map_reserve(&sm->deltas, nr_changes);
}

static bool is_allocatable(struct vela_sm *sm, u64 b, u32 current_tree_count)
{
	return !current_tree_count && !vela_u64map_contains(&sm->deltas, b);
}

/* The reference-count block of range @idx in the trees at @index_root, or NULL. */
static int read_range(struct vela_sm *sm, u64 index_root, u64 idx, u32 *nr_free,
		      struct vela_block **blk)
{
	struct vela_disk_index_entry ie;
	int r;

	*blk = NULL;
	r = vela_btree_lookup(&sm->index_info, index_root, idx, &ie);
	if (r == -ENODATA)
		return 0;
	if (r)
		return r;
	if (nr_free)
		*nr_free = le32_to_cpu(ie.nr_free);
	if (nr_free && !*nr_free)
		return 0;
	return vela_tm_read_lock(sm->tm, le64_to_cpu(ie.location), &rc_block_type, blk);
}

/*
 * Look for an allocatable block in index range @idx, from block @from.
 * While pinned, a block must also have been free at the pinned commit.
 */
static int search_range(struct vela_sm *sm, u64 idx, u64 from, u64 *found)
{
	u64 first = idx * VELA_RC_ENTRIES_PER_BLOCK, end = first + range_size(sm, idx), b;
	struct vela_block *blk, *pinned_blk = NULL;
	u32 nr_free = 1;
	int r;

	r = read_range(sm, sm->index_root, idx, &nr_free, &blk);
	if (r)
		return r;
	if (!nr_free)
		return -ENOSPC;
	if (sm->pinned && first < sm->pin.nr_blocks) {
		r = read_range(sm, sm->pin.index_root, idx, NULL, &pinned_blk);
		if (r) {
			if (blk)
				vela_tm_unlock(sm->tm, blk);
			return r;
		}
	}
	for (b = max(from, first); b < end; b++) {
		u32 c = blk ? rc_get(vela_block_data(blk), b - first) : 0;

		if (pinned_blk && rc_get(vela_block_data(pinned_blk), b - first))
			continue;
		if (is_allocatable(sm, b, c)) {
			*found = b;
			break;
		}
	}
	if (pinned_blk)
		vela_tm_unlock(sm->tm, pinned_blk);
	if (blk)
		vela_tm_unlock(sm->tm, blk);
	return b < end ? 0 : -ENOSPC;
}

int vela_sm_alloc(struct vela_sm *sm, u64 *b)
{
	u64 nr_ranges = DIV_ROUND_UP(sm->nr_blocks, VELA_RC_ENTRIES_PER_BLOCK);
	u64 start = sm->alloc_hint < sm->nr_blocks ? sm->alloc_hint : 0;
	u64 i, idx, from;
	int r;

	/* Every range once, starting at the hint's, then the hint's start. */
	for (i = 0; i <= nr_ranges; i++) {
		idx = (start / VELA_RC_ENTRIES_PER_BLOCK + i) % nr_ranges;
		from = i == 0 ? start : idx * VELA_RC_ENTRIES_PER_BLOCK;
		r = search_range(sm, idx, from, b);
		if (r == -ENOSPC)
			continue;
		if (r)
			return r;
		r = vela_u64map_add(&sm->deltas, *b, 1);
		if (r)
			return r;
		sm->nr_allocated++;
		sm->alloc_hint = *b + 1;
		return 0;
	}
	return -ENOSPC;
}

u64 vela_sm_nr_free(struct vela_sm *sm)
{
	u64 in_use = sm->nr_allocated + sm->nr_held;

	return sm->nr_free > in_use ? sm->nr_free - in_use : 0;
}

u64 vela_sm_nr_blocks(struct vela_sm *sm)
{
	return sm->nr_blocks;
}

int vela_sm_extend(struct vela_sm *sm, u64 nr_blocks)
{
	struct vela_disk_index_entry ie;
	u64 last = (sm->nr_blocks - 1) / VELA_RC_ENTRIES_PER_BLOCK;
	u64 grown_in_last, new_root;
	int r;

	if (nr_blocks <= sm->nr_blocks)
		return nr_blocks == sm->nr_blocks ? 0 : -EINVAL;

	/* A partial last range gains free entries. */
	grown_in_last = min_t(u64, nr_blocks, (last + 1) * VELA_RC_ENTRIES_PER_BLOCK) -
			sm->nr_blocks;
	r = vela_btree_lookup(&sm->index_info, sm->index_root, last, &ie);
	if (!r && grown_in_last) {
		ie.nr_free = cpu_to_le32(le32_to_cpu(ie.nr_free) + grown_in_last);
		r = vela_btree_insert(&sm->index_info, sm->index_root, last, &ie,
				      &new_root, NULL, NULL);
		if (r)
			return r;
		sm->index_root = new_root;
	} else if (r && r != -ENODATA) {
		return r;
	}
	sm->nr_free += nr_blocks - sm->nr_blocks;
	sm->nr_blocks = nr_blocks;
	return 0;
}

int vela_sm_walk_counts(struct vela_sm *sm, int (*fn)(void *context, u64 b, u32 count),
			void *context)
{
	u64 nr_ranges = DIV_ROUND_UP(sm->nr_blocks, VELA_RC_ENTRIES_PER_BLOCK), idx = 0, b, end;
	struct vela_disk_overflow_count oc;
	struct vela_disk_index_entry ie;
	struct vela_block *blk;
	s64 count;
	int r = 0;

	while (!r && idx < nr_ranges) {
		r = vela_btree_lookup_next(&sm->index_info, sm->index_root, idx, &idx, &ie);
		if (r == -ENODATA)
			return 0;
		if (r)
			return r;
		if (idx >= nr_ranges) {
			pr_err("vela: space map index entry %llu is out of range\n", idx);
			return -EILSEQ;
		}
		b = idx * VELA_RC_ENTRIES_PER_BLOCK;
		end = b + range_size(sm, idx);
		idx++;
		r = vela_tm_read_lock(sm->tm, le64_to_cpu(ie.location), &rc_block_type, &blk);
		if (r)
			return r;
		for (; !r && b < end; b++) {
			count = rc_get(vela_block_data(blk), b % VELA_RC_ENTRIES_PER_BLOCK);
			if (count == VELA_RC_OVERFLOW) {
				r = vela_btree_lookup(&sm->overflow_info, sm->overflow_root, b, &oc);
				if (r == -ENODATA)
					r = -EILSEQ;
				count = le32_to_cpu(oc.count);
			}
			count += vela_u64map_get(&sm->deltas, b);
			if (!r && (count < 0 || count > U32_MAX))
				r = -EILSEQ;
			if (!r)
				r = fn(context, b, count);
		}
		vela_tm_unlock(sm->tm, blk);
	}
	return r;
}

/* Write count @new for @b (currently @old) into the trees. */
static int set_tree_count(struct vela_sm *sm, u64 b, u32 old, u32 new)
{
	u64 idx = b / VELA_RC_ENTRIES_PER_BLOCK, off = b % VELA_RC_ENTRIES_PER_BLOCK;
	struct vela_disk_overflow_count oc = { 0 };
	struct vela_disk_index_entry ie;
	struct vela_block *blk;
	u32 old_entry, nr_free;
	bool inc;
	int r;

	r = vela_btree_lookup(&sm->index_info, sm->index_root, idx, &ie);
	if (r == -ENODATA) {
		r = vela_tm_new_block(sm->tm, &rc_block_type, &blk);
		nr_free = range_size(sm, idx);
	} else if (!r) {
		r = vela_tm_shadow(sm->tm, le64_to_cpu(ie.location), &rc_block_type, &blk, &inc);
		nr_free = le32_to_cpu(ie.nr_free);
	}
	if (r)
		return r;
	old_entry = rc_get(vela_block_data(blk), off);
	rc_set(vela_block_data(blk), off, min_t(u32, new, VELA_RC_OVERFLOW));
	ie.location = cpu_to_le64(vela_block_location(blk));
	vela_tm_unlock(sm->tm, blk);

	if (!old && new) {
		nr_free--;
		sm->applied_free--;
	} else if (old && !new) {
		nr_free++;
		sm->applied_free++;
	}
	ie.nr_free = cpu_to_le32(nr_free);
	ie.zero = 0;
	r = vela_btree_insert(&sm->index_info, sm->index_root, idx, &ie, &sm->index_root,
			      NULL, NULL);
	if (r)
		return r;

	if (new >= VELA_RC_OVERFLOW) {
		oc.count = cpu_to_le32(new);
		return vela_btree_insert(&sm->overflow_info, sm->overflow_root, b, &oc,
					 &sm->overflow_root, NULL, NULL);
	}
	if (old_entry == VELA_RC_OVERFLOW)
		return vela_btree_remove(&sm->overflow_info, sm->overflow_root, b,
					 &sm->overflow_root);
	return 0;
}

void vela_sm_committed_view(struct vela_sm *sm, struct vela_sm_view *view)
{
	view->index_root = sm->committed_index_root;
	view->overflow_root = sm->committed_overflow_root;
	view->nr_blocks = sm->committed_nr_blocks;
	view->range = U64_MAX;
	view->range_blk = NULL;
}

int vela_sm_view_count(struct vela_sm *sm, struct vela_sm_view *view, u64 b, u32 *count)
{
	u64 idx = b / VELA_RC_ENTRIES_PER_BLOCK;
	int r;

	if (b >= view->nr_blocks) {
		pr_err("vela: block %llu is beyond the committed space map (%llu blocks)\n",
		       b, view->nr_blocks);
		return -EILSEQ;
	}
	if (view->range != idx) {
		vela_sm_view_put(sm, view);
		r = read_range(sm, view->index_root, idx, NULL, &view->range_blk);
		if (r)
			return r;
		view->range = idx;
	}
	if (!view->range_blk) {		/* no reference-count block: all free */
		*count = 0;
		return 0;
	}
	return rc_count(sm, view->range_blk, view->overflow_root, b, count);
}

void vela_sm_view_put(struct vela_sm *sm, struct vela_sm_view *view)
{
	if (view->range_blk)
		vela_tm_unlock(sm->tm, view->range_blk);
	view->range_blk = NULL;
	view->range = U64_MAX;
}

int vela_sm_pin_committed(struct vela_sm *sm, u64 max_held)
{
	if (sm->pinned)
		return -EBUSY;
	/*
	 * A commit that failed for want of memory may have applied counts
	 * already: blocks it freed would escape count_held().
	 */
	if (!max_held || sm->index_root != sm->committed_index_root ||
	    sm->overflow_root != sm->committed_overflow_root)
		return -EAGAIN;
	vela_sm_committed_view(sm, &sm->pin);
	sm->pinned = true;
	sm->nr_held = 0;
	sm->pending_held = 0;
	sm->pin_max_held = max_held;
	WRITE_ONCE(sm->pin_broken, false);
	return 0;
}

bool vela_sm_pin_broken(struct vela_sm *sm)
{
	return READ_ONCE(sm->pin_broken);
}

void vela_sm_unpin(struct vela_sm *sm)
{
	sm->pinned = false;
	sm->nr_held = 0;
	sm->pending_held = 0;
	WRITE_ONCE(sm->pin_broken, false);
}

/* @b was just freed: the pin holds it back if the pinned commit used it. */
static int count_held(struct vela_sm *sm, u64 b)
{
	u32 pinned_count = 0;
	int r = 0;

	if (b < sm->pin.nr_blocks)
		r = tree_count(sm, sm->pin.index_root, sm->pin.overflow_root, b, &pinned_count);
	if (r || !pinned_count)
		return r;
	/* Counted in use once the commit lands, with the frees it applies. */
	sm->pending_held++;
	if (sm->nr_held + sm->pending_held >= sm->pin_max_held)
		WRITE_ONCE(sm->pin_broken, true);
	return r;
}

/*
 * One count written into the trees changes at most: its reference-count
 * block (shadowed: a new block, two counts) and the index and overflow
 * trees (a B-tree update each).  All of it is counted in the metadata
 * space map, which may be this one.
 */
#define APPLY_STEP_NEW_BLOCKS	(2 * VELA_BTREE_UPDATE_NEW_BLOCKS + 1)
#define APPLY_STEP_COUNTS	(2 * VELA_BTREE_UPDATE_COUNTS + 2)

static int reserve_apply_step(struct vela_sm *sm)
{
	int r = vela_tm_reserve(sm->tm, APPLY_STEP_NEW_BLOCKS);

	return r ? r : vela_sm_reserve(sm->tm->sm, APPLY_STEP_COUNTS);
}

int vela_sm_apply(struct vela_sm *sm, bool *changed)
{
	struct vela_u64map_entry *entries;
	u64 nr, i;
	s64 delta;
	u32 old;
	int r;

	r = vela_u64map_sorted(&sm->deltas, &entries, &nr);
	if (r)
		return r;
	*changed = nr > 0;
	for (i = 0; i < nr; i++) {
		u64 b = entries[i].key;

		/* An earlier step of this round may have moved it. */
		delta = vela_u64map_get(&sm->deltas, b);
		if (!delta)
			continue;
		/* Want of memory stops between steps, where the counts add up. */
		r = reserve_apply_step(sm);
		if (!r)
			r = tree_count(sm, sm->index_root, sm->overflow_root, b, &old);
		if (r)
			break;
		if ((s64)old + delta < 0 || (s64)old + delta > U32_MAX) {
			pr_err("vela: reference count of block %llu would become %lld\n",
			       b, (s64)old + delta);
			r = -EILSEQ;
			break;
		}
		r = set_tree_count(sm, b, old, old + delta);
		if (!r && sm->pinned && old && !(old + delta))
			r = count_held(sm, b);
		if (!r)
			r = vela_u64map_add(&sm->deltas, b, -delta);
		if (r == -ENOMEM) {
			pr_err("vela: a space map update outgrew its memory reservation\n");
			r = -EIO;
		}
		if (r)
			break;
	}
	kvfree(entries);
	return r;
}

void vela_sm_root(struct vela_sm *sm, struct vela_disk_sm_root *root)
{
	root->index_root = cpu_to_le64(sm->index_root);
	root->overflow_root = cpu_to_le64(sm->overflow_root);
}

/* A new transaction starts with no allocations and no deltas. */
static void begin_transaction(struct vela_sm *sm)
{
	sm->nr_allocated = 0;
	vela_u64map_clear(&sm->deltas);
}

void vela_sm_committed(struct vela_sm *sm)
{
	sm->committed_index_root = sm->index_root;
	sm->committed_overflow_root = sm->overflow_root;
	sm->nr_free += sm->applied_free;
	sm->applied_free = 0;
	sm->committed_nr_free = sm->nr_free;
	sm->committed_nr_blocks = sm->nr_blocks;
	sm->nr_held += sm->pending_held;
	sm->pending_held = 0;
	begin_transaction(sm);
}

void vela_sm_abort(struct vela_sm *sm)
{
	sm->index_root = sm->committed_index_root;
	sm->overflow_root = sm->committed_overflow_root;
	sm->nr_free = sm->committed_nr_free;
	sm->nr_blocks = sm->committed_nr_blocks;
	sm->pending_held = 0;
	sm->applied_free = 0;
	begin_transaction(sm);
}

int vela_sm_visit(struct vela_sm *sm, struct vela_btree_visitor *index,
		  struct vela_btree_visitor *overflow)
{
	int r = vela_btree_visit(&sm->index_info, sm->index_root, index);

	return r ? r : vela_btree_visit(&sm->overflow_info, sm->overflow_root, overflow);
}
