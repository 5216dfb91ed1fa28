// SPDX-License-Identifier: GPL-2.0-only
/*
 * Diff and merge, in the metadata only: no data is read or copied.
 *
 * Diff compares two mapping trees by their structure (vela_btree_diff()):
 * a subtree both trees reference is skipped unread, so the cost follows the
 * differences, not the size.  The keys it reports are coalesced into ranges
 * of logical blocks.
 *
 * Merge is two diffs against the child's base (its tree as of the branch
 * point): what the child changed, and what the parent changed.  Their
 * intersection is the conflicts.  The parent's tree then takes the child's
 * version of each changed block (take_change()), a reference moved, never
 * a copy; or, for a fast-forward or a replace, the parent simply takes a
 * reference on the child's tree (repoint()).  The child's base becomes the
 * merge point, so a second merge takes only what changed since.  The caller
 * commits the whole merge as one transaction: a crash shows the pool before
 * or after, never a mix.
 */
#include "vela-meta-internal.h"

/* Coalesces the keys a B-tree diff reports into ranges of logical blocks. */
struct range_diff {
	vela_range_fn fn;
	void *context;
	u64 begin, end;		/* the range being built; empty when equal */
};

static int diff_key(void *context, u64 key, const void *a, const void *b)
{
	struct range_diff *rd = context;
	int r = 0;

	if (rd->begin != rd->end && key == rd->end) {
		rd->end++;
		return 0;
	}
	if (rd->begin != rd->end)
		r = rd->fn(rd->context, rd->begin, rd->end);
	rd->begin = key;
	rd->end = key + 1;
	return r;
}

static int diff_roots(struct vela_md *md, u64 root_a, u64 root_b, vela_range_fn fn,
		      void *context, u64 *nodes_read)
{
	struct range_diff rd = { .fn = fn, .context = context };
	int r = vela_btree_diff(&md->mapping_info, root_a, root_b, diff_key, &rd, nodes_read);

	if (!r && rd.begin != rd.end)
		r = fn(context, rd.begin, rd.end);
	return r;
}

int vela_md_diff(struct vela_md *md, u64 id_a, u64 id_b, vela_range_fn fn, void *context,
		 u64 *nodes_read)
{
	struct vela_disk_branch a, b;
	int r;

	down_read(&md->lock);
	r = __vela_md_get_branch(md, id_a, &a);
	if (!r)
		r = __vela_md_get_branch(md, id_b, &b);
	if (!r)
		r = diff_roots(md, le64_to_cpu(a.mapping_root), le64_to_cpu(b.mapping_root), fn,
			       context, nodes_read);
	up_read(&md->lock);
	return r;
}

int vela_md_diff_since_branch_point(struct vela_md *md, u64 id, bool parent_side,
				    vela_range_fn fn, void *context, u64 *nodes_read)
{
	struct vela_disk_branch rec, parent;
	u64 other;
	int r;

	down_read(&md->lock);
	r = __vela_md_get_branch(md, id, &rec);
	if (!r && le64_to_cpu(rec.parent_id) == VELA_NO_PARENT)
		r = -EINVAL;	/* a volume has no branch point */
	if (!r && parent_side)
		r = __vela_md_get_branch(md, le64_to_cpu(rec.parent_id), &parent);
	if (!r) {
		other = parent_side ? le64_to_cpu(parent.mapping_root) :
				      le64_to_cpu(rec.mapping_root);
		r = diff_roots(md, le64_to_cpu(rec.base_root), other, fn, context, nodes_read);
	}
	up_read(&md->lock);
	return r;
}

/* The keys a diff reported, in key order, with the second tree's value. */
struct change_list {
	struct change {
		u64 key;
		bool mapped;	/* in the second tree */
		__le64 value;
	} *v;
	u64 n, max;
};

static int note_change(void *context, u64 key, const void *a, const void *b)
{
	struct change_list *cl = context;
	struct change *v;

	if (cl->n == cl->max) {
		u64 max = cl->max ? 2 * cl->max : 256;

		/* kvmalloc() warns above INT_MAX bytes: refuse such a merge. */
		if (max > INT_MAX / sizeof(*v))
			return -E2BIG;
		v = kvmalloc_array(max, sizeof(*v), GFP_KERNEL);
		if (!v)
			return -ENOMEM;
		if (cl->n)
			memcpy(v, cl->v, cl->n * sizeof(*v));
		kvfree(cl->v);
		cl->v = v;
		cl->max = max;
	}
	v = &cl->v[cl->n++];
	v->key = key;
	v->mapped = b != NULL;
	if (b)
		memcpy(&v->value, b, sizeof(v->value));
	return 0;
}

/* Take the child's version of one block into the parent's tree @*root. */
static int take_change(struct vela_md *md, u64 *root, const struct change *c,
		       struct vela_disk_branch *parent)
{
	bool replaced = false;
	__le64 old;
	u64 pblock;
	int r;

	if (!c->mapped) {
		r = vela_btree_remove(&md->mapping_info, *root, c->key, root);
		if (r == -ENODATA)
			return 0;	/* unmapped on both sides */
		if (!r)
			le64_add_cpu(&parent->mapped_blocks, -1);
		return r;
	}
	/* The parent becomes one more holder of the child's data block. */
	r = vela_md_mapping_block(&c->value, &pblock);
	if (!r)
		r = vela_sm_inc(&md->data_sm, pblock);
	if (!r)
		r = vela_btree_insert(&md->mapping_info, *root, c->key, &c->value, root, &replaced,
				      &old);
	if (!r && replaced)
		r = vela_md_mapping_dec(md, &old);
	else if (!r)
		le64_add_cpu(&parent->mapped_blocks, 1);
	return r;
}

/* Replace the tree reference @*field holds by one on @root. */
static int repoint(struct vela_md *md, __le64 *field, u64 root)
{
	int r = vela_btree_clone(&md->mapping_info, root);

	if (!r)
		r = vela_btree_delete(&md->mapping_info, le64_to_cpu(*field));
	if (!r)
		*field = cpu_to_le64(root);
	return r;
}

int vela_md_merge(struct vela_md *md, u64 child_id, enum vela_merge_strategy strategy,
		  bool dry_run, vela_range_fn conflict_fn, void *context,
		  struct vela_merge_result *result)
{
	struct change_list child_changes = { 0 }, parent_changes = { 0 };
	struct vela_disk_branch child, parent;
	struct range_diff conflicts = { .fn = conflict_fn, .context = context };
	u64 base, root, i, j, parent_id;
	int r;

	memset(result, 0, sizeof(*result));
	down_write(&md->lock);
	r = md->read_only && !dry_run ? -EROFS : __vela_md_get_branch(md, child_id, &child);
	if (!r && le64_to_cpu(child.parent_id) == VELA_NO_PARENT)
		r = -EINVAL;
	parent_id = le64_to_cpu(child.parent_id);
	if (!r)
		r = __vela_md_get_branch(md, parent_id, &parent);
	if (r)
		goto out;
	base = le64_to_cpu(child.base_root);
	r = vela_btree_diff(&md->mapping_info, base, le64_to_cpu(child.mapping_root),
			    note_change, &child_changes, &result->nodes_read);
	if (!r)
		r = vela_btree_diff(&md->mapping_info, base, le64_to_cpu(parent.mapping_root),
				    note_change, &parent_changes, &result->nodes_read);
	if (r)
		goto out;

	/* Conflicts: blocks both sides changed since the branch point. */
	for (i = 0, j = 0; !r && i < child_changes.n && j < parent_changes.n;) {
		if (child_changes.v[i].key < parent_changes.v[j].key) {
			i++;
		} else if (child_changes.v[i].key > parent_changes.v[j].key) {
			j++;
		} else {
			result->conflicts++;
			if (conflict_fn)
				r = diff_key(&conflicts, child_changes.v[i].key, NULL, NULL);
			i++;
			j++;
		}
	}
	if (!r && conflict_fn && conflicts.begin != conflicts.end)
		r = conflict_fn(context, conflicts.begin, conflicts.end);
	if (r)
		goto out;
	result->fast_forward = !parent_changes.n;
	result->taken = child_changes.n;
	if (dry_run)
		goto out;	/* counted and reported, conflicts or not */
	if (strategy == VELA_MERGE_THREE_WAY && result->conflicts) {
		r = -ECANCELED;
		goto out;
	}

	r = __vela_md_get_branch_for_update(md, parent_id, &parent);
	if (!r)
		r = __vela_md_get_branch_for_update(md, child_id, &child);
	if (r)
		goto out;
	if (strategy == VELA_MERGE_REPLACE || result->fast_forward) {
		/* The parent becomes exactly the child. */
		r = repoint(md, &parent.mapping_root, le64_to_cpu(child.mapping_root));
		parent.mapped_blocks = child.mapped_blocks;
	} else {
		root = le64_to_cpu(parent.mapping_root);
		for (i = 0; !r && i < child_changes.n; i++)
			r = take_change(md, &root, &child_changes.v[i], &parent);
		parent.mapping_root = cpu_to_le64(root);
	}
	/* The branch point moves to the merge point: the child as it is now. */
	if (!r)
		r = repoint(md, &child.base_root, le64_to_cpu(child.mapping_root));
	if (!r)
		r = __vela_md_put_branch(md, parent_id, &parent);
	if (!r)
		r = __vela_md_put_branch(md, child_id, &child);
	if (!r)
		md->cur.change_id++;
out:
	up_write(&md->lock);
	kvfree(child_changes.v);
	kvfree(parent_changes.v);
	return r;
}

