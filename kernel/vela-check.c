// SPDX-License-Identifier: GPL-2.0-only
/*
 * The metadata checker.  See vela-check.h for the contract.
 *
 * It walks every tree from the superblock, counting the references it
 * finds to each metadata block (tree nodes, reference-count blocks, block
 * 0) and each data block (mappings, data block 0), visiting a shared node
 * once per reference but descending into it only once.  Then it compares
 * those counts with both space maps, block by block.
 */
#include "vela-meta-internal.h"
#include "vela-check.h"

struct branch_seen {
	u64 parent;
	u32 depth;
	u64 name_hash;
};

struct checker {
	struct vela_md *md;
	struct vela_md_trees t;
	struct vela_check_report *report;
	struct vela_u64map meta_refs;	/* block -> references found */
	struct vela_u64map data_refs;
	struct vela_u64map count_memo;
	struct branch_seen *branches;	/* indexed by position in id order */
	u64 *branch_ids;
	u64 nr_branches, max_branches;
	u64 meta_nr_blocks, data_nr_blocks;
	int error;			/* out of memory: stop */
};

__printf(2, 3)
static void problem(struct checker *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->report->nr_problems++;
	if (c->report->problem)
		c->report->problem(c->report->context, msg);
}

static void note_error(struct checker *c, int r)
{
	if (r && !c->error)
		c->error = r;
}

/* --- visitors -------------------------------------------------------- */

static int ref_meta(struct checker *c, u64 b, const char *what)
{
	int r;

	if (b >= c->meta_nr_blocks) {
		problem(c, "%s at metadata block %llu: beyond the device (%llu blocks)",
			what, b, c->meta_nr_blocks);
		return 0;
	}
	r = vela_u64map_add(&c->meta_refs, b, 1);
	note_error(c, r);
	return r ? r : vela_u64map_get(&c->meta_refs, b) == 1;
}

static int node_seen(void *context, u64 b)
{
	return ref_meta(context, b, "B-tree node");
}

static void bad_node(void *context, u64 b, int error, const char *why)
{
	problem(context, "metadata block %llu: %s (error %d)", b, why, error);
}

static int no_values(void *context, u64 key, const void *value)
{
	return 0;
}

static int visit_tree(struct checker *c, struct vela_btree_info *info, u64 root,
		      int (*value)(void *context, u64 key, const void *value))
{
	struct vela_btree_visitor v = {
		.node = node_seen, .value = value, .bad_node = bad_node, .context = c,
	};
	int r = vela_btree_visit(info, root, &v);

	note_error(c, r);
	return c->error;
}

static int mapping_value(void *context, u64 key, const void *value)
{
	u64 pblock = le64_to_cpu(*(const __le64 *)value);
	struct checker *c = context;
	int r;

	if (pblock & ~VELA_MAPPING_BLOCK_MASK) {
		problem(c, "mapping of logical block %llu: reserved bits set (%#llx)", key, pblock);
		return 0;
	}
	if (pblock >= c->data_nr_blocks) {
		problem(c, "mapping of logical block %llu: data block %llu beyond the device",
			key, pblock);
		return 0;
	}
	r = vela_u64map_add(&c->data_refs, pblock, 1);
	note_error(c, r);
	return r;
}

static int index_value(void *context, u64 key, const void *value)
{
	const struct vela_disk_index_entry *ie = value;
	struct checker *c = context;
	int r = ref_meta(c, le64_to_cpu(ie->location), "reference-count block");

	return r < 0 ? r : 0;
}

static int pending_value(void *context, u64 key, const void *value)
{
	const struct vela_disk_pending_delete *pd = value;
	struct checker *c = context;

	if (le32_to_cpu(pd->kind) != VELA_DELETE_MAPPING_TREE)
		problem(c, "delete queue entry %llu: unknown kind %u", key, le32_to_cpu(pd->kind));
	return visit_tree(c, c->t.mapping, le64_to_cpu(pd->root), mapping_value);
}

static int name_is_valid(const struct vela_disk_branch *rec)
{
	return memchr(rec->name, '\0', sizeof(rec->name)) && vela_md_valid_name(rec->name);
}

static int branch_value(void *context, u64 id, const void *value)
{
	const struct vela_disk_branch *rec = value;
	struct checker *c = context;
	struct branch_seen *bs;
	u64 mapped = 0;
	int r;

	if (c->nr_branches == c->max_branches) {
		u64 n = c->max_branches ? c->max_branches * 2 : 64;
		void *b = krealloc(c->branches, n * sizeof(*c->branches), GFP_KERNEL);
		void *ids = b ? krealloc(c->branch_ids, n * sizeof(u64), GFP_KERNEL) : NULL;

		if (b)
			c->branches = b;
		if (!ids) {
			note_error(c, -ENOMEM);
			return -ENOMEM;
		}
		c->branch_ids = ids;
		c->max_branches = n;
	}
	bs = &c->branches[c->nr_branches];
	c->branch_ids[c->nr_branches++] = id;
	bs->parent = le64_to_cpu(rec->parent_id);
	bs->depth = le32_to_cpu(rec->depth);
	bs->name_hash = name_is_valid(rec) ? vela_md_name_hash(rec->name) : 0;

	if (id >= c->t.next_branch_id)
		problem(c, "branch %llu: id not below next_branch_id %llu", id, c->t.next_branch_id);
	if (!bs->name_hash)
		problem(c, "branch %llu: invalid name", id);
	if (le32_to_cpu(rec->flags) & ~VELA_BRANCH_KNOWN_FLAGS)
		problem(c, "branch %llu: unknown flags %#x", id, le32_to_cpu(rec->flags));
	if (le32_to_cpu(rec->flags) & VELA_BRANCH_HAS_ORIGIN &&
	    le32_to_cpu(rec->origin_sample_count) != VELA_ORIGIN_SAMPLES)
		problem(c, "branch %llu: origin fingerprint of %u samples, not %u", id,
			le32_to_cpu(rec->origin_sample_count), VELA_ORIGIN_SAMPLES);
	if (bs->parent == VELA_NO_PARENT && (bs->depth || rec->base_root))
		problem(c, "branch %llu: a volume with a depth or a base", id);

	r = visit_tree(c, c->t.mapping, le64_to_cpu(rec->mapping_root), mapping_value);
	if (!r)
		r = visit_tree(c, c->t.mapping, le64_to_cpu(rec->base_root), mapping_value);
	if (!r) {
		r = vela_btree_count(c->t.mapping, le64_to_cpu(rec->mapping_root),
				     &c->count_memo, &mapped);
		if (r) {
			problem(c, "branch %llu: cannot count its mappings (error %d)", id, r);
			r = 0;
		} else if (mapped != le64_to_cpu(rec->mapped_blocks)) {
			problem(c, "branch %llu: records %llu mapped blocks, its tree has %llu",
				id, le64_to_cpu(rec->mapped_blocks), mapped);
		}
	}
	return r;
}

/* A held snapshot's records: only their references matter. */
static int held_branch_value(void *context, u64 id, const void *value)
{
	const struct vela_disk_branch *rec = value;
	struct checker *c = context;
	int r;

	r = visit_tree(c, c->t.mapping, le64_to_cpu(rec->mapping_root), mapping_value);
	return r ? r : visit_tree(c, c->t.mapping, le64_to_cpu(rec->base_root), mapping_value);
}

static struct branch_seen *find_seen(struct checker *c, u64 id)
{
	u64 lo = 0, hi = c->nr_branches;

	/* Visited in id order, so the ids are sorted. */
	while (lo < hi) {
		u64 mid = lo + (hi - lo) / 2;

		if (c->branch_ids[mid] == id)
			return &c->branches[mid];
		if (c->branch_ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int name_value(void *context, u64 hash, const void *value)
{
	u64 id = le64_to_cpu(*(const __le64 *)value);
	struct checker *c = context;
	struct branch_seen *bs = find_seen(c, id);

	if (!bs)
		problem(c, "name index entry %#llx: branch %llu does not exist", hash, id);
	else if (bs->name_hash != hash)
		problem(c, "name index entry %#llx: branch %llu has another name", hash, id);
	else
		bs->name_hash = 0;	/* indexed: seen */
	return 0;
}

static void check_lineage(struct checker *c)
{
	struct branch_seen *bs, *parent;
	u64 i;

	for (i = 0; i < c->nr_branches; i++) {
		bs = &c->branches[i];
		if (bs->name_hash)
			problem(c, "branch %llu: its name is missing from the name index",
				c->branch_ids[i]);
		if (bs->parent == VELA_NO_PARENT)
			continue;
		parent = find_seen(c, bs->parent);
		if (!parent)
			problem(c, "branch %llu: parent %llu does not exist",
				c->branch_ids[i], bs->parent);
		else if (bs->depth != parent->depth + 1)
			problem(c, "branch %llu: depth %u, its parent's is %u",
				c->branch_ids[i], bs->depth, parent->depth);
	}
}

struct compare {
	struct checker *c;
	struct vela_u64map *found;
	const char *what;
	u64 used;
};

static int compare_one(void *context, u64 b, u32 count)
{
	struct compare *cmp = context;
	s64 want = vela_u64map_get(cmp->found, b);

	if (count)
		cmp->used++;
	if (count != want)
		problem(cmp->c, "%s block %llu: space map count %u, references found %lld",
			cmp->what, b, count, want);
	/* Compared: what stays in the map afterwards was never visited. */
	return want ? vela_u64map_set(cmp->found, b, 0) : 0;
}

/* Compare the counts found with a space map, over every block it counts. */
static int compare_counts(struct checker *c, struct vela_sm *sm, struct vela_u64map *found,
			  const char *what, u64 *used)
{
	struct compare cmp = { .c = c, .found = found, .what = what };
	struct vela_u64map_entry *left;
	u64 nr_left, i;
	int r = vela_sm_walk_counts(sm, compare_one, &cmp);

	if (r == -EILSEQ) {
		problem(c, "%s space map: a reference-count block or overflow entry is invalid",
			what);
		return 0;
	}
	*used = cmp.used;
	if (r)
		return r;
	/* Referenced blocks in ranges the space map has no counts for. */
	r = vela_u64map_sorted(found, &left, &nr_left);
	if (r)
		return r;
	for (i = 0; i < nr_left; i++)
		problem(c, "%s block %llu: space map count 0, references found %lld",
			what, left[i].key, left[i].value);
	kvfree(left);
	return 0;
}

static int check_space_map(struct checker *c, struct vela_sm *sm)
{
	struct vela_btree_visitor index = {
		.node = node_seen, .value = index_value, .bad_node = bad_node, .context = c,
	};
	struct vela_btree_visitor overflow = {
		.node = node_seen, .value = no_values, .bad_node = bad_node, .context = c,
	};

	note_error(c, vela_sm_visit(sm, &index, &overflow));
	return c->error;
}

/*
 * Every tree from the superblock: references to metadata blocks (nodes and
 * the superblock) and data blocks (mappings and data block 0), the branch
 * table's structure and lineage.  Not the space maps' own trees.
 */
static int walk_trees(struct checker *c)
{
	int r;

	vela_md_trees(c->md, &c->t);
	c->meta_nr_blocks = vela_sm_nr_blocks(vela_md_metadata_sm(c->md));
	c->data_nr_blocks = vela_sm_nr_blocks(vela_md_data_sm(c->md));

	/* Block 0 is the superblock; data block 0 is the data-device label. */
	r = ref_meta(c, VELA_SUPERBLOCK_LOCATION, "superblock");
	if (r >= 0)
		r = vela_u64map_add(&c->data_refs, 0, 1);
	if (!r)
		r = visit_tree(c, c->t.branch, c->t.branch_table_root, branch_value);
	if (!r)
		r = visit_tree(c, c->t.name, c->t.name_index_root, name_value);
	if (!r)
		r = visit_tree(c, c->t.delete_queue, c->t.delete_queue_root, pending_value);
	if (!r && c->t.held_root)
		r = visit_tree(c, c->t.branch, c->t.held_root, held_branch_value);
	if (!r)
		check_lineage(c);
	c->report->nr_branches = c->nr_branches;
	c->report->needs_check = c->t.flags & VELA_SB_FLAG_NEEDS_CHECK;
	return r;
}

static void checker_init(struct checker *c, struct vela_check_report *report)
{
	memset(c, 0, sizeof(*c));
	c->report = report;
	report->nr_problems = 0;
	vela_u64map_init(&c->meta_refs);
	vela_u64map_init(&c->data_refs);
	vela_u64map_init(&c->count_memo);
}

static void checker_exit(struct checker *c)
{
	kfree(c->branches);
	kfree(c->branch_ids);
	vela_u64map_exit(&c->count_memo);
	vela_u64map_exit(&c->data_refs);
	vela_u64map_exit(&c->meta_refs);
	vela_md_close(c->md);
}

int vela_check(struct block_device *bdev, struct vela_check_report *report)
{
	struct checker c;
	int r;

	checker_init(&c, report);
	c.md = vela_md_open(bdev, true);
	if (IS_ERR(c.md))
		return PTR_ERR(c.md);
	r = walk_trees(&c);
	if (!r)
		r = check_space_map(&c, vela_md_metadata_sm(c.md));
	if (!r)
		r = check_space_map(&c, vela_md_data_sm(c.md));
	if (!r)
		r = compare_counts(&c, vela_md_metadata_sm(c.md), &c.meta_refs, "metadata",
				   &report->nr_metadata_blocks_used);
	if (!r)
		r = compare_counts(&c, vela_md_data_sm(c.md), &c.data_refs, "data",
				   &report->nr_data_blocks_used);
	checker_exit(&c);
	return r;
}

int vela_repair(struct block_device *src, struct block_device *dst,
		struct vela_check_report *report)
{
	struct checker c;
	int r;

	checker_init(&c, report);
	c.md = vela_md_open_trees(src);
	if (IS_ERR(c.md))
		return PTR_ERR(c.md);
	r = walk_trees(&c);
	if (!r && report->nr_problems)
		r = -EUCLEAN;
	if (!r)
		r = vela_md_rebuild(c.md, dst, &c.meta_refs, &c.data_refs);
	checker_exit(&c);
	return r;
}
