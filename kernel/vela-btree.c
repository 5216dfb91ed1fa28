// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copy-on-write B-tree.  See vela-btree.h for the contract.
 *
 * Node layout (docs/on-disk-format.md): a 48-byte header, then
 * max_entries keys, then max_entries values.  Internal nodes hold child
 * block numbers as values; key i is a lower bound of child i's keys.
 *
 * Updates go top-down.  Every node on the path is shadowed: when the
 * original was shared, the copy takes a reference on each of its children
 * (or, in a leaf, on each value's own references).  Insert splits full nodes
 * on the way down, so the parent of a split always has room; an append at
 * the right edge splits off only the last entry.  Remove frees a
 * node that empties and collapses a root left with one child; nodes may stay
 * under-full, which costs space, never correctness.
 */
#include "vela-btree.h"
#include "vela-format.h"

static u32 max_entries_for(u32 value_size)
{
	u32 n = (VELA_BLOCK_SIZE - sizeof(struct vela_node_header)) / (8 + value_size);

	return n - n % 3;
}

static u32 nr_entries(const struct vela_node_header *n)
{
	return le32_to_cpu(n->nr_entries);
}

static bool is_leaf(const struct vela_node_header *n)
{
	return le32_to_cpu(n->flags) == VELA_NODE_LEAF;
}

static __le64 *node_keys(struct vela_node_header *n)
{
	return (__le64 *)(n + 1);
}

static u32 value_size(const struct vela_node_header *n)
{
	return le32_to_cpu(n->value_size);
}

static void *value_at(struct vela_node_header *n, u32 i)
{
	return (u8 *)(node_keys(n) + le32_to_cpu(n->max_entries)) + (size_t)i * value_size(n);
}

static u64 key_at(struct vela_node_header *n, u32 i)
{
	return le64_to_cpu(node_keys(n)[i]);
}

static u64 child_at(struct vela_node_header *n, u32 i)
{
	return le64_to_cpu(*(__le64 *)value_at(n, i));
}

static void set_child(struct vela_node_header *n, u32 i, u64 b)
{
	__le64 v = cpu_to_le64(b);

	memcpy(value_at(n, i), &v, sizeof(v));
}

static int node_check(const void *data, u64 b)
{
	struct vela_node_header *n = (struct vela_node_header *)data;
	u32 flags = le32_to_cpu(n->flags), nr = nr_entries(n), vs = value_size(n), i;

	if (flags != VELA_NODE_LEAF && flags != VELA_NODE_INTERNAL)
		goto bad;
	if (!vs || vs > 1024 || (flags == VELA_NODE_INTERNAL && vs != sizeof(__le64)))
		goto bad;
	if (le32_to_cpu(n->max_entries) != max_entries_for(vs) || !nr || nr > max_entries_for(vs))
		goto bad;
	for (i = 1; i < nr; i++)
		if (key_at(n, i - 1) >= key_at(n, i))
			goto bad;
	return 0;
bad:
	pr_err("vela: metadata block %llu: malformed B-tree node\n", b);
	return -EILSEQ;
}

const struct vela_block_type vela_btree_node_type = {
	.name = "B-tree node",
	.type = VELA_TYPE_BTREE_NODE,
	.csum_len = VELA_BLOCK_SIZE,
	.check = node_check,
};

static struct vela_node_header *data_of(struct vela_block *blk)
{
	return vela_block_data(blk);
}

/* The largest i with key_at(i) <= @key, or -1. */
static int lower_bound(struct vela_node_header *n, u64 key)
{
	int lo = -1, hi = nr_entries(n);

	while (hi - lo > 1) {
		int mid = lo + (hi - lo) / 2;

		if (key_at(n, mid) <= key)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* A leaf must hold this tree's values; anything else is corruption. */
static int check_leaf_fits(struct vela_btree_info *info, struct vela_node_header *n, u64 b)
{
	if (is_leaf(n) && value_size(n) != info->value_type.size) {
		pr_err("vela: metadata block %llu: leaf values of %u bytes, expected %u\n",
		       b, value_size(n), info->value_type.size);
		return -EILSEQ;
	}
	return 0;
}

static void init_node(struct vela_node_header *n, u32 flags, u32 vs)
{
	n->flags = cpu_to_le32(flags);
	n->nr_entries = 0;
	n->value_size = cpu_to_le32(vs);
	n->max_entries = cpu_to_le32(max_entries_for(vs));
}

static void insert_at(struct vela_node_header *n, u32 i, u64 key, const void *value)
{
	u32 nr = nr_entries(n), vs = value_size(n);

	memmove(node_keys(n) + i + 1, node_keys(n) + i, (nr - i) * sizeof(__le64));
	memmove(value_at(n, i + 1), value_at(n, i), (size_t)(nr - i) * vs);
	node_keys(n)[i] = cpu_to_le64(key);
	memcpy(value_at(n, i), value, vs);
	n->nr_entries = cpu_to_le32(nr + 1);
}

static void delete_at(struct vela_node_header *n, u32 i)
{
	u32 nr = nr_entries(n), vs = value_size(n);

	memmove(node_keys(n) + i, node_keys(n) + i + 1, (nr - i - 1) * sizeof(__le64));
	memmove(value_at(n, i), value_at(n, i + 1), (size_t)(nr - i - 1) * vs);
	n->nr_entries = cpu_to_le32(nr - 1);
}

/* Copy entries [@from, nr) of @src to the empty node @dst, same layout. */
static void move_tail(struct vela_node_header *src, u32 from, struct vela_node_header *dst)
{
	u32 nr = nr_entries(src), count = nr - from;

	init_node(dst, le32_to_cpu(src->flags), value_size(src));
	memcpy(node_keys(dst), node_keys(src) + from, count * sizeof(__le64));
	memcpy(value_at(dst, 0), value_at(src, from), (size_t)count * value_size(src));
	dst->nr_entries = cpu_to_le32(count);
	src->nr_entries = cpu_to_le32(from);
}

static int inc_children(struct vela_btree_info *info, struct vela_node_header *n)
{
	u32 i;
	int r;

	for (i = 0; i < nr_entries(n); i++) {
		if (!is_leaf(n))
			r = vela_tm_inc(info->tm, child_at(n, i));
		else if (info->value_type.inc)
			r = info->value_type.inc(info->value_type.context, value_at(n, i));
		else
			r = 0;
		if (r)
			return r;
	}
	return 0;
}

static int shadow_node(struct vela_btree_info *info, u64 b, struct vela_block **result)
{
	struct vela_block *blk;
	bool inc;
	int r;

	r = vela_tm_shadow(info->tm, b, &vela_btree_node_type, &blk, &inc);
	if (r)
		return r;
	r = check_leaf_fits(info, data_of(blk), b);
	if (!r && inc)
		r = inc_children(info, data_of(blk));
	if (r) {
		vela_tm_unlock(info->tm, blk);
		return r;
	}
	*result = blk;
	return 0;
}

static int lookup(struct vela_btree_info *info, u64 root, u64 key, void *value, bool try,
		  bool *shared)
{
	struct vela_node_header *n;
	struct vela_block *blk;
	u64 b = root;
	int depth, i, r;
	u32 count;

	if (!root)
		return -ENODATA;
	if (shared)
		*shared = false;
	for (depth = 0; depth < VELA_BTREE_MAX_DEPTH; depth++) {
		if (shared) {
			r = vela_tm_ref(info->tm, b, &count);
			if (r)
				return r;
			*shared |= count > 1;
		}
		if (try)
			r = vela_tm_read_try_lock(info->tm, b, &vela_btree_node_type, &blk);
		else
			r = vela_tm_read_lock(info->tm, b, &vela_btree_node_type, &blk);
		if (r)
			return r;
		n = data_of(blk);
		r = check_leaf_fits(info, n, b);
		i = lower_bound(n, key);
		if (!r && is_leaf(n)) {
			if (i >= 0 && key_at(n, i) == key) {
				if (value)
					memcpy(value, value_at(n, i), value_size(n));
			} else {
				r = -ENODATA;
			}
			vela_tm_unlock(info->tm, blk);
			return r;
		}
		if (!r && i < 0)
			r = -ENODATA;
		if (!r)
			b = child_at(n, i);
		vela_tm_unlock(info->tm, blk);
		if (r)
			return r;
	}
	pr_err("vela: B-tree at %llu is deeper than %d levels\n", root, VELA_BTREE_MAX_DEPTH);
	return -EILSEQ;
}

int vela_btree_lookup(struct vela_btree_info *info, u64 root, u64 key, void *value)
{
	return lookup(info, root, key, value, false, NULL);
}

int vela_btree_lookup_try(struct vela_btree_info *info, u64 root, u64 key, void *value)
{
	return lookup(info, root, key, value, true, NULL);
}

int vela_btree_lookup_shared(struct vela_btree_info *info, u64 root, u64 key, void *value,
			     bool *shared)
{
	return lookup(info, root, key, value, false, shared);
}

/*
 * Walks that may visit many nodes carry a budget of node visits: the number
 * of blocks on the device.  A real tree never reaches it; metadata whose
 * nodes share children within one tree (a loop, or a forged DAG that would
 * make the walk exponential) does, and is rejected.
 */
static int spend_visit(struct vela_btree_info *info, u64 *visits)
{
	if (!*visits) {
		pr_err("vela: B-tree visits more nodes than the device holds: a loop\n");
		return -EILSEQ;
	}
	(*visits)--;
	return 0;
}

static u64 visit_budget(struct vela_btree_info *info)
{
	return vela_tm_nr_blocks(info->tm);
}

static int lookup_next(struct vela_btree_info *info, u64 b, u64 key, int depth,
		       u64 *visits, u64 *found_key, void *value)
{
	struct vela_node_header *n;
	struct vela_block *blk;
	int i, r;

	if (depth >= VELA_BTREE_MAX_DEPTH)
		return -EILSEQ;
	r = spend_visit(info, visits);
	if (r)
		return r;
	r = vela_tm_read_lock(info->tm, b, &vela_btree_node_type, &blk);
	if (r)
		return r;
	n = data_of(blk);
	r = check_leaf_fits(info, n, b);
	if (r)
		goto out;
	i = lower_bound(n, key);
	if (is_leaf(n)) {
		if (i < 0 || key_at(n, i) < key)
			i++;
		if (i < (int)nr_entries(n)) {
			*found_key = key_at(n, i);
			if (value)
				memcpy(value, value_at(n, i), value_size(n));
		} else {
			r = -ENODATA;
		}
		goto out;
	}
	r = -ENODATA;
	for (i = max(i, 0); i < (int)nr_entries(n) && r == -ENODATA; i++)
		r = lookup_next(info, child_at(n, i), key, depth + 1, visits, found_key, value);
out:
	vela_tm_unlock(info->tm, blk);
	return r;
}

int vela_btree_lookup_next(struct vela_btree_info *info, u64 root, u64 key,
			   u64 *found_key, void *value)
{
	u64 visits = visit_budget(info);

	if (!root)
		return -ENODATA;
	return lookup_next(info, root, key, 0, &visits, found_key, value);
}

static bool is_full(struct vela_node_header *n)
{
	return nr_entries(n) == le32_to_cpu(n->max_entries);
}

/*
 * Where to split a full node: in half, or, when @key is appended past its
 * last key, just before the last entry.  Sequential fills (a database
 * file written in order) then leave full nodes behind instead of half-full
 * ones.
 */
static u32 split_point(struct vela_node_header *n, u64 key, bool right_edge)
{
	u32 nr = nr_entries(n);

	return right_edge && key > key_at(n, nr - 1) ? nr - 1 : nr / 2;
}

/*
 * The root is full: move its entries into two new children and make it an
 * internal node over them.  The root keeps its block number.
 */
static int split_beneath(struct vela_btree_info *info, struct vela_block *root_blk, u64 key)
{
	struct vela_node_header *root = data_of(root_blk), *left, *right;
	struct vela_block *lblk, *rblk;
	u32 half = split_point(root, key, true);
	int r;

	r = vela_tm_new_block(info->tm, &vela_btree_node_type, &lblk);
	if (r)
		return r;
	r = vela_tm_new_block(info->tm, &vela_btree_node_type, &rblk);
	if (r) {
		vela_tm_unlock(info->tm, lblk);
		return r;
	}
	left = data_of(lblk);
	right = data_of(rblk);
	move_tail(root, half, right);
	move_tail(root, 0, left);

	init_node(root, VELA_NODE_INTERNAL, sizeof(__le64));
	root->nr_entries = cpu_to_le32(2);
	node_keys(root)[0] = node_keys(left)[0];
	node_keys(root)[1] = node_keys(right)[0];
	set_child(root, 0, vela_block_location(lblk));
	set_child(root, 1, vela_block_location(rblk));
	vela_tm_unlock(info->tm, lblk);
	vela_tm_unlock(info->tm, rblk);
	return 0;
}

/*
 * Child @i of @parent, write-locked in *@child, is full: move its upper half
 * to a new sibling after it.  *@child becomes whichever half @key belongs in;
 * the other is unlocked.
 */
static int split_child(struct vela_btree_info *info, struct vela_node_header *parent, u32 i,
		       u64 key, struct vela_block **child)
{
	struct vela_node_header *left = data_of(*child), *right;
	struct vela_block *rblk;
	__le64 loc;
	int r;

	r = vela_tm_new_block(info->tm, &vela_btree_node_type, &rblk);
	if (r)
		return r;
	right = data_of(rblk);
	move_tail(left, split_point(left, key, i + 1 == nr_entries(parent)), right);
	loc = cpu_to_le64(vela_block_location(rblk));
	insert_at(parent, i + 1, key_at(right, 0), &loc);

	if (key >= key_at(right, 0)) {
		vela_tm_unlock(info->tm, *child);
		*child = rblk;
	} else {
		vela_tm_unlock(info->tm, rblk);
	}
	return 0;
}

static int drop_value(struct vela_btree_info *info, const void *value)
{
	if (!info->value_type.dec)
		return 0;
	return info->value_type.dec(info->value_type.context, value);
}

static int new_root_leaf(struct vela_btree_info *info, u64 key, const void *value,
			 u64 *new_root)
{
	struct vela_block *blk;
	int r;

	r = vela_tm_new_block(info->tm, &vela_btree_node_type, &blk);
	if (r)
		return r;
	init_node(data_of(blk), VELA_NODE_LEAF, info->value_type.size);
	insert_at(data_of(blk), 0, key, value);
	*new_root = vela_block_location(blk);
	vela_tm_unlock(info->tm, blk);
	return 0;
}

int vela_btree_insert(struct vela_btree_info *info, u64 root, u64 key, const void *value,
		      u64 *new_root, bool *replaced, void *old_value)
{
	struct vela_block *blk, *child;
	struct vela_node_header *n;
	int depth, i, r;

	if (replaced)
		*replaced = false;
	if (!root)
		return new_root_leaf(info, key, value, new_root);

	r = shadow_node(info, root, &blk);
	if (r)
		return r;
	if (is_full(data_of(blk))) {
		r = split_beneath(info, blk, key);
		if (r)
			goto out;
	}
	*new_root = vela_block_location(blk);

	for (depth = 0; depth < VELA_BTREE_MAX_DEPTH; depth++) {
		n = data_of(blk);
		i = lower_bound(n, key);
		if (is_leaf(n)) {
			if (i >= 0 && key_at(n, i) == key) {
				if (old_value)
					memcpy(old_value, value_at(n, i), value_size(n));
				memcpy(value_at(n, i), value, value_size(n));
				if (replaced)
					*replaced = true;
			} else {
				insert_at(n, i + 1, key, value);
			}
			goto out;
		}
		if (i < 0) {
			i = 0;
			node_keys(n)[0] = cpu_to_le64(key);
		}
		r = shadow_node(info, child_at(n, i), &child);
		if (r)
			goto out;
		set_child(n, i, vela_block_location(child));
		if (is_full(data_of(child))) {
			r = split_child(info, n, i, key, &child);
			if (r) {
				vela_tm_unlock(info->tm, child);
				goto out;
			}
		}
		vela_tm_unlock(info->tm, blk);
		blk = child;
	}
	pr_err("vela: B-tree at %llu is deeper than %d levels\n", root, VELA_BTREE_MAX_DEPTH);
	r = -EILSEQ;
out:
	vela_tm_unlock(info->tm, blk);
	return r;
}

static int remove_rec(struct vela_btree_info *info, u64 b, u64 key, int depth,
		      u64 *new_loc, bool *emptied)
{
	struct vela_node_header *n;
	struct vela_block *blk;
	bool child_emptied;
	u64 child;
	int i, r;

	if (depth >= VELA_BTREE_MAX_DEPTH)
		return -EILSEQ;
	r = shadow_node(info, b, &blk);
	if (r)
		return r;
	n = data_of(blk);
	*new_loc = vela_block_location(blk);
	i = lower_bound(n, key);
	if (is_leaf(n)) {
		if (i < 0 || key_at(n, i) != key) {
			r = -ENODATA;
			goto out;
		}
		r = drop_value(info, value_at(n, i));
		if (!r)
			delete_at(n, i);
	} else {
		if (i < 0) {
			r = -ENODATA;
			goto out;
		}
		r = remove_rec(info, child_at(n, i), key, depth + 1, &child, &child_emptied);
		if (r)
			goto out;
		set_child(n, i, child);
		if (child_emptied) {
			/* Shadowed in this transaction, so this frees it. */
			r = vela_tm_dec(info->tm, child);
			if (!r)
				delete_at(n, i);
		}
	}
	*emptied = nr_entries(n) == 0;
out:
	vela_tm_unlock(info->tm, blk);
	return r;
}

/* A root left with a single child hands its place to that child. */
static int collapse_root(struct vela_btree_info *info, u64 *root)
{
	struct vela_node_header *n;
	struct vela_block *blk;
	u64 only_child;
	int r;

	for (;;) {
		r = vela_tm_read_lock(info->tm, *root, &vela_btree_node_type, &blk);
		if (r)
			return r;
		n = data_of(blk);
		if (is_leaf(n) || nr_entries(n) != 1) {
			vela_tm_unlock(info->tm, blk);
			return 0;
		}
		only_child = child_at(n, 0);
		vela_tm_unlock(info->tm, blk);
		/* The root's reference on the child becomes the caller's. */
		r = vela_tm_dec(info->tm, *root);
		if (r)
			return r;
		*root = only_child;
	}
}

int vela_btree_remove(struct vela_btree_info *info, u64 root, u64 key, u64 *new_root)
{
	bool emptied;
	int r;

	/* Look first, so removing an absent key shadows nothing. */
	r = vela_btree_lookup(info, root, key, NULL);
	if (r)
		return r;
	r = remove_rec(info, root, key, 0, new_root, &emptied);
	if (r)
		return r;
	if (emptied) {
		r = vela_tm_dec(info->tm, *new_root);
		*new_root = 0;
		return r;
	}
	return collapse_root(info, new_root);
}

int vela_btree_remove_range(struct vela_btree_info *info, u64 root, u64 begin, u64 end,
			    u64 max, u64 *new_root, u64 *nr_removed)
{
	u64 key;
	int r = 0;

	*new_root = root;
	*nr_removed = 0;
	while (*nr_removed < max && begin < end) {
		r = vela_btree_lookup_next(info, *new_root, begin, &key, NULL);
		if (r == -ENODATA || (!r && key >= end))
			return 0;
		if (r)
			return r;
		r = vela_btree_remove(info, *new_root, key, new_root);
		if (r)
			return r;
		(*nr_removed)++;
		if (key == U64_MAX)
			break;
		begin = key + 1;
	}
	return r;
}

/*
 * How a walk goes: @ref, when set, gives a node's reference count, and a
 * node counted more than once is skipped with all below it.
 */
struct walk_control {
	int (*ref)(void *ref_context, u64 b, u32 *count);
	void *ref_context;
	int (*fn)(void *context, u64 key, const void *value);
	void *context;
	u64 visits;
};

static int walk(struct vela_btree_info *info, u64 b, int depth, struct walk_control *wc)
{
	struct vela_node_header *n;
	struct vela_block *blk;
	u32 i, count;
	int r;

	if (depth >= VELA_BTREE_MAX_DEPTH)
		return -EILSEQ;
	r = spend_visit(info, &wc->visits);
	if (r)
		return r;
	/* A walk of a big tree outside every lock must not hog the CPU. */
	cond_resched();
	if (wc->ref) {
		r = wc->ref(wc->ref_context, b, &count);
		if (r || count > 1)
			return r;
	}
	r = vela_tm_read_lock(info->tm, b, &vela_btree_node_type, &blk);
	if (r)
		return r;
	n = data_of(blk);
	r = check_leaf_fits(info, n, b);
	for (i = 0; !r && i < nr_entries(n); i++) {
		if (is_leaf(n))
			r = wc->fn(wc->context, key_at(n, i), value_at(n, i));
		else
			r = walk(info, child_at(n, i), depth + 1, wc);
	}
	vela_tm_unlock(info->tm, blk);
	return r;
}

static int walk_root(struct vela_btree_info *info, u64 root, struct walk_control *wc)
{
	wc->visits = visit_budget(info);
	return root ? walk(info, root, 0, wc) : 0;
}

int vela_btree_walk(struct vela_btree_info *info, u64 root,
		    int (*fn)(void *context, u64 key, const void *value), void *context)
{
	struct walk_control wc = { .fn = fn, .context = context };

	return walk_root(info, root, &wc);
}

static int transaction_ref(void *tm, u64 b, u32 *count)
{
	return vela_tm_ref(tm, b, count);
}

int vela_btree_walk_exclusive(struct vela_btree_info *info, u64 root,
			      int (*fn)(void *context, u64 key, const void *value), void *context)
{
	struct walk_control wc = {
		.ref = transaction_ref, .ref_context = info->tm, .fn = fn, .context = context,
	};

	return walk_root(info, root, &wc);
}

int vela_btree_walk_exclusive_by(struct vela_btree_info *info, u64 root,
				 int (*ref)(void *ref_context, u64 b, u32 *count),
				 void *ref_context,
				 int (*fn)(void *context, u64 key, const void *value),
				 void *context)
{
	struct walk_control wc = {
		.ref = ref, .ref_context = ref_context, .fn = fn, .context = context,
	};

	return walk_root(info, root, &wc);
}

int vela_btree_clone(struct vela_btree_info *info, u64 root)
{
	return root ? vela_tm_inc(info->tm, root) : 0;
}

static int delete_rec(struct vela_btree_info *info, u64 b, int depth)
{
	struct vela_node_header *n;
	struct vela_block *blk;
	u32 count, i;
	int r;

	if (depth >= VELA_BTREE_MAX_DEPTH)
		return -EILSEQ;
	r = vela_tm_ref(info->tm, b, &count);
	if (r)
		return r;
	if (!count) {
		pr_err("vela: deleting metadata block %llu, which is already free\n", b);
		return -EILSEQ;
	}
	if (count > 1)
		return vela_tm_dec(info->tm, b);

	r = vela_tm_read_lock(info->tm, b, &vela_btree_node_type, &blk);
	if (r)
		return r;
	n = data_of(blk);
	r = check_leaf_fits(info, n, b);
	for (i = 0; !r && i < nr_entries(n); i++) {
		if (is_leaf(n))
			r = drop_value(info, value_at(n, i));
		else
			r = delete_rec(info, child_at(n, i), depth + 1);
	}
	vela_tm_unlock(info->tm, blk);
	return r ? r : vela_tm_dec(info->tm, b);
}

int vela_btree_delete(struct vela_btree_info *info, u64 root)
{
	return root ? delete_rec(info, root, 0) : 0;
}

/*
 * One bounded step of deleting the tree at @b: a shared node only loses
 * this reference; an exclusive one is emptied from its last entry
 * backwards, then freed.  *@new_loc is 0 when the node is gone.
 */
/*
 * Release @b's entries from the last, within *@budget.  A node this tree
 * alone holds is read, not shadowed: one emptied whole is simply freed,
 * so a step allocates only along the one path it leaves half done (the
 * space map hands out no block freed in the transaction, and shadowing
 * every node a step empties would spend a block per node).  The half-done
 * node is shadowed at the end, cut to what is left, and @*new_loc names
 * it; 0 when @b is gone.
 */
static int delete_step(struct vela_btree_info *info, u64 b, int depth, u64 *budget,
		       u64 *new_loc)
{
	struct vela_node_header *n;
	struct vela_block *blk;
	u64 child = 0;
	u32 count, keep;
	int r;

	if (depth >= VELA_BTREE_MAX_DEPTH)
		return -EILSEQ;
	r = vela_tm_ref(info->tm, b, &count);
	if (r)
		return r;
	if (count > 1) {
		if (*budget)
			(*budget)--;
		*new_loc = 0;
		return vela_tm_dec(info->tm, b);
	}
	r = vela_tm_read_lock(info->tm, b, &vela_btree_node_type, &blk);
	if (r)
		return r;
	n = data_of(blk);
	r = check_leaf_fits(info, n, b);
	for (keep = nr_entries(n); !r && *budget && keep; ) {
		if (is_leaf(n)) {
			r = drop_value(info, value_at(n, keep - 1));
			(*budget)--;
			keep--;
			continue;
		}
		r = delete_step(info, child_at(n, keep - 1), depth + 1, budget, &child);
		if (!r && child)
			break;		/* the budget ran out inside it */
		keep--;
	}
	vela_tm_unlock(info->tm, blk);
	if (r)
		return r;
	if (!keep) {
		*new_loc = 0;
		return vela_tm_dec(info->tm, b);
	}
	r = shadow_node(info, b, &blk);
	if (r)
		return r;
	n = data_of(blk);
	n->nr_entries = cpu_to_le32(keep);
	if (child)
		set_child(n, keep - 1, child);
	*new_loc = vela_block_location(blk);
	vela_tm_unlock(info->tm, blk);
	return 0;
}

int vela_btree_delete_step(struct vela_btree_info *info, u64 root, u64 *budget, u64 *new_root)
{
	*new_root = 0;
	return root ? delete_step(info, root, 0, budget, new_root) : 0;
}

static int visit(struct vela_btree_info *info, u64 b, u64 lo, u64 hi, bool bounded_above,
		 int depth, struct vela_btree_visitor *v)
{
	struct vela_node_header *n;
	struct vela_block *blk;
	u32 i, nr;
	int r;

	if (depth >= VELA_BTREE_MAX_DEPTH) {
		v->bad_node(v->context, b, -EILSEQ, "tree too deep (a cycle?)");
		return 0;
	}
	r = v->node(v->context, b);
	if (r <= 0)
		return r;
	r = vela_tm_read_lock(info->tm, b, &vela_btree_node_type, &blk);
	if (r) {
		v->bad_node(v->context, b, r, "unreadable or invalid node");
		return 0;
	}
	n = data_of(blk);
	nr = nr_entries(n);
	if (check_leaf_fits(info, n, b)) {
		v->bad_node(v->context, b, -EILSEQ, "leaf of the wrong tree type");
		goto out;
	}
	if (key_at(n, 0) < lo || (bounded_above && key_at(n, nr - 1) >= hi)) {
		v->bad_node(v->context, b, -EILSEQ, "keys outside the range its parent gives");
		goto out;
	}
	for (i = 0; !r && i < nr; i++) {
		if (is_leaf(n))
			r = v->value(v->context, key_at(n, i), value_at(n, i));
		else
			r = visit(info, child_at(n, i), key_at(n, i),
				  i + 1 < nr ? key_at(n, i + 1) : hi,
				  i + 1 < nr || bounded_above, depth + 1, v);
	}
out:
	vela_tm_unlock(info->tm, blk);
	return r;
}

int vela_btree_visit(struct vela_btree_info *info, u64 root, struct vela_btree_visitor *v)
{
	return root ? visit(info, root, 0, 0, false, 0, v) : 0;
}

static int count_rec(struct vela_btree_info *info, u64 b, int depth, struct vela_u64map *memo,
		     u64 *count)
{
	struct vela_node_header *n;
	struct vela_block *blk;
	u64 sub;
	u32 i;
	int r;

	if (depth >= VELA_BTREE_MAX_DEPTH)
		return -EILSEQ;
	/*
	 * Memo values are count + 1, so a present entry is never 0; -1 marks a
	 * node being counted, so meeting it again is a loop.
	 */
	sub = vela_u64map_get(memo, b);
	if ((s64)sub == -1)
		return -EILSEQ;
	if (sub) {
		*count += sub - 1;
		return 0;
	}
	r = vela_u64map_add(memo, b, -1);
	if (r)
		return r;
	r = vela_tm_read_lock(info->tm, b, &vela_btree_node_type, &blk);
	if (r)
		return r;
	n = data_of(blk);
	sub = 0;
	if (is_leaf(n))
		sub = nr_entries(n);
	for (i = 0; !is_leaf(n) && !r && i < nr_entries(n); i++)
		r = count_rec(info, child_at(n, i), depth + 1, memo, &sub);
	vela_tm_unlock(info->tm, blk);
	if (!r)
		r = vela_u64map_set(memo, b, sub + 1);
	*count += sub;
	return r;
}

int vela_btree_count(struct vela_btree_info *info, u64 root, struct vela_u64map *memo,
		     u64 *count)
{
	*count = 0;
	return root ? count_rec(info, root, 0, memo, count) : 0;
}

/*
 * Structural diff.  Two cursors walk the trees in key order, each item
 * being either a leaf entry or a whole unexpanded subtree with a lower bound
 * on its keys (the separator key; for a first child, its parent's bound).
 * When both cursors stand at the same subtree block, every entry before it
 * has been compared in both trees and the subtree holds the same entries in
 * both: it is skipped unread.  Otherwise the item that starts first is
 * expanded (a subtree) or compared (an entry).  Only the paths that differ
 * are read: the cost follows the differences, not the size of the trees.
 */
struct diff_frame {
	struct vela_block *blk;
	u32 next;		/* the next item of this node */
	u64 low;		/* a lower bound on the node's keys */
};

struct diff_cursor {
	struct vela_btree_info *info;
	struct diff_frame stack[VELA_BTREE_MAX_DEPTH];
	int depth;		/* frames in use */
	u64 *visits;
	u64 *nodes_read;
};

struct diff_item {
	bool subtree;
	u64 low;		/* the entry's key, or the subtree's lower bound */
	u64 block;		/* subtree */
	const void *value;	/* entry */
};

static int cursor_push(struct diff_cursor *c, u64 b, u64 low)
{
	struct diff_frame *f;
	int r;

	if (c->depth >= VELA_BTREE_MAX_DEPTH)
		return -EILSEQ;
	r = spend_visit(c->info, c->visits);
	if (r)
		return r;
	f = &c->stack[c->depth];
	r = vela_tm_read_lock(c->info->tm, b, &vela_btree_node_type, &f->blk);
	if (r)
		return r;
	r = check_leaf_fits(c->info, data_of(f->blk), b);
	if (r) {
		vela_tm_unlock(c->info->tm, f->blk);
		return r;
	}
	f->next = 0;
	f->low = low;
	c->depth++;
	(*c->nodes_read)++;
	return 0;
}

static void cursor_release(struct diff_cursor *c)
{
	while (c->depth)
		vela_tm_unlock(c->info->tm, c->stack[--c->depth].blk);
}

/* The current item; false at the end of the tree. */
static bool cursor_peek(struct diff_cursor *c, struct diff_item *item)
{
	struct vela_node_header *n;
	struct diff_frame *f;

	while (c->depth) {
		f = &c->stack[c->depth - 1];
		n = data_of(f->blk);
		if (f->next < nr_entries(n)) {
			item->subtree = !is_leaf(n);
			item->low = item->subtree && !f->next ? f->low : key_at(n, f->next);
			if (item->subtree)
				item->block = child_at(n, f->next);
			else
				item->value = value_at(n, f->next);
			return true;
		}
		vela_tm_unlock(c->info->tm, f->blk);
		c->depth--;
	}
	return false;
}

static void cursor_skip(struct diff_cursor *c)
{
	c->stack[c->depth - 1].next++;
}

/* Replace the current subtree item by its node's items. */
static int cursor_expand(struct diff_cursor *c, const struct diff_item *item)
{
	cursor_skip(c);
	return cursor_push(c, item->block, item->low);
}

int vela_btree_diff(struct vela_btree_info *info, u64 root_a, u64 root_b,
		    vela_btree_diff_fn fn, void *context, u64 *nodes_read)
{
	u64 visits = 2 * visit_budget(info), unused = 0;
	struct diff_cursor a = { .info = info, .visits = &visits };
	struct diff_cursor b = { .info = info, .visits = &visits };
	struct diff_item ia, ib;
	bool more_a, more_b;
	u32 vs = info->value_type.size;
	int r = 0;

	a.nodes_read = b.nodes_read = nodes_read ? nodes_read : &unused;
	if (root_a == root_b)
		return 0;
	if (root_a)
		r = cursor_push(&a, root_a, 0);
	if (!r && root_b)
		r = cursor_push(&b, root_b, 0);
	while (!r) {
		more_a = cursor_peek(&a, &ia);
		more_b = cursor_peek(&b, &ib);
		if (!more_a && !more_b)
			break;
		if (more_a && more_b && ia.subtree && ib.subtree && ia.block == ib.block) {
			cursor_skip(&a);	/* one subtree, in both */
			cursor_skip(&b);
		} else if (more_a && ia.subtree && (!more_b || ia.low <= ib.low)) {
			r = cursor_expand(&a, &ia);
		} else if (more_b && ib.subtree && (!more_a || ib.low <= ia.low)) {
			r = cursor_expand(&b, &ib);
		} else if (more_a && (!more_b || ia.low < ib.low)) {
			r = fn(context, ia.low, ia.value, NULL);
			cursor_skip(&a);
		} else if (more_b && (!more_a || ib.low < ia.low)) {
			r = fn(context, ib.low, NULL, ib.value);
			cursor_skip(&b);
		} else {
			/* One key in both trees. */
			if (memcmp(ia.value, ib.value, vs))
				r = fn(context, ia.low, ia.value, ib.value);
			cursor_skip(&a);
			cursor_skip(&b);
		}
	}
	cursor_release(&a);
	cursor_release(&b);
	return r;
}
