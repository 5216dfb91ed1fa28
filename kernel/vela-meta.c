// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pool metadata: superblock, branch table, mappings.
 *
 * On-disk format (docs/on-disk-format.md has the details).  Block 0 holds
 * the superblock, of which only the first 512 bytes are written, so its
 * update is atomic.  It names the roots of everything else: the two space
 * maps, the branch table (id -> branch record), the name index (hash of a
 * name -> id) and the delete queue (sequence -> tree to delete).  Each
 * branch record names the branch's mapping tree (logical block -> data
 * block) and its base: the mapping tree as of the branch point.
 *
 * Breaking sharing is the B-tree's business: a branch created from a parent
 * takes a reference on the parent's mapping root; the first write by either
 * side shadows the path to the changed leaf, so the two trees share every
 * untouched subtree.  A data block is shared while more than one leaf holds
 * it; the caller copies it before writing (vela_md_lookup() says when).
 *
 * Commit order: the caller has flushed the data device; then the data
 * space map's deltas are applied, then the metadata space map's until
 * they stop changing; every dirty block is written and flushed; finally
 * the superblock is written and flushed.  Nothing live is ever overwritten,
 * so a crash at any point reopens at the previous superblock.
 */
#include "vela-meta.h"

struct vela_md_state {
	u64 change_id;
	u64 next_branch_id;
	u64 next_delete_seq;
	u64 branch_table_root;
	u64 name_index_root;
	u64 delete_queue_root;
	u64 held_root;
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

#define SB_KNOWN_INCOMPAT	0ULL
#define SB_KNOWN_COMPAT_RO	0ULL

static int sb_check(const void *data, u64 b)
{
	const struct vela_superblock *sb = data;

	if (le64_to_cpu(sb->magic) != VELA_SUPERBLOCK_MAGIC) {
		pr_err("vela: no dm-vela superblock (bad magic)\n");
		return -EILSEQ;
	}
	return 0;
}

static const struct vela_block_type sb_type = {
	.name = "superblock",
	.type = VELA_TYPE_SUPERBLOCK,
	.csum_len = VELA_SUPERBLOCK_BYTES,
	.check = sb_check,
};

/* --- value types ----------------------------------------------------- */

static int mapping_block(const void *value, u64 *pblock)
{
	u64 v = le64_to_cpu(*(const __le64 *)value);

	if (v & ~VELA_MAPPING_BLOCK_MASK) {
		pr_err("vela: mapping %#llx uses extent bits this version lacks\n", v);
		return -EILSEQ;
	}
	*pblock = v;
	return 0;
}

static int mapping_inc(void *context, const void *value)
{
	struct vela_md *md = context;
	u64 pblock;
	int r = mapping_block(value, &pblock);

	return r ? r : vela_sm_inc(&md->data_sm, pblock);
}

static int mapping_dec(void *context, const void *value)
{
	struct vela_md *md = context;
	u64 pblock;
	int r = mapping_block(value, &pblock);

	return r ? r : vela_sm_dec(&md->data_sm, pblock);
}

/* A branch record holds a reference on its mapping tree and its base. */
static int branch_inc(void *context, const void *value)
{
	const struct vela_disk_branch *rec = value;
	struct vela_md *md = context;
	int r;

	r = vela_btree_clone(&md->mapping_info, le64_to_cpu(rec->mapping_root));
	return r ? r : vela_btree_clone(&md->mapping_info, le64_to_cpu(rec->base_root));
}

static int branch_dec(void *context, const void *value)
{
	const struct vela_disk_branch *rec = value;
	struct vela_md *md = context;
	int r;

	r = vela_btree_delete(&md->mapping_info, le64_to_cpu(rec->mapping_root));
	return r ? r : vela_btree_delete(&md->mapping_info, le64_to_cpu(rec->base_root));
}

static int pending_inc(void *context, const void *value)
{
	const struct vela_disk_pending_delete *pd = value;
	struct vela_md *md = context;

	return vela_btree_clone(&md->mapping_info, le64_to_cpu(pd->root));
}

static int pending_dec(void *context, const void *value)
{
	const struct vela_disk_pending_delete *pd = value;
	struct vela_md *md = context;

	return vela_btree_delete(&md->mapping_info, le64_to_cpu(pd->root));
}

static void init_infos(struct vela_md *md)
{
	struct vela_btree_info *i;

	i = &md->mapping_info;
	i->tm = &md->tm;
	i->value_type = (struct vela_btree_value_type) {
		.context = md, .size = sizeof(__le64), .inc = mapping_inc, .dec = mapping_dec,
	};
	i = &md->branch_info;
	i->tm = &md->tm;
	i->value_type = (struct vela_btree_value_type) {
		.context = md, .size = sizeof(struct vela_disk_branch),
		.inc = branch_inc, .dec = branch_dec,
	};
	i = &md->name_info;
	i->tm = &md->tm;
	i->value_type = (struct vela_btree_value_type) {
		.context = md, .size = sizeof(__le64),
	};
	i = &md->delete_info;
	i->tm = &md->tm;
	i->value_type = (struct vela_btree_value_type) {
		.context = md, .size = sizeof(struct vela_disk_pending_delete),
		.inc = pending_inc, .dec = pending_dec,
	};
}

/* --- open, format, commit -------------------------------------------- */

static struct vela_md *md_alloc(struct block_device *bdev)
{
	struct vela_md *md;

	BUILD_BUG_ON(sizeof(struct vela_superblock) != VELA_SUPERBLOCK_BYTES);
	BUILD_BUG_ON(sizeof(struct vela_disk_branch) != 320);

	md = kzalloc(sizeof(*md), GFP_KERNEL);
	if (!md)
		return ERR_PTR(-ENOMEM);
	init_rwsem(&md->lock);
	mutex_init(&md->usage_lock);
	vela_u64map_init(&md->usage_generation);
	vela_u64map_init(&md->usage_mapped);
	vela_u64map_init(&md->usage_exclusive);
	md->bm = vela_bm_create(bdev, 64);
	if (IS_ERR(md->bm)) {
		struct vela_md *err = ERR_CAST(md->bm);

		kfree(md);
		return err;
	}
	init_infos(md);
	return md;
}

static void md_free(struct vela_md *md)
{
	vela_u64map_exit(&md->usage_generation);
	vela_u64map_exit(&md->usage_mapped);
	vela_u64map_exit(&md->usage_exclusive);
	mutex_destroy(&md->usage_lock);
	vela_sm_exit(&md->data_sm);
	vela_sm_exit(&md->metadata_sm);
	vela_tm_exit(&md->tm);
	vela_bm_destroy(md->bm);
	kfree(md);
}

static void fill_sb(void *data, void *context)
{
	struct vela_superblock *sb = data;
	struct vela_md *md = context;

	sb->magic = cpu_to_le64(VELA_SUPERBLOCK_MAGIC);
	sb->version = cpu_to_le32(VELA_FORMAT_VERSION);
	sb->flags = cpu_to_le32(md->cur.flags);
	memcpy(sb->uuid, md->uuid, sizeof(sb->uuid));
	memcpy(sb->pool_name, md->pool_name, sizeof(sb->pool_name));
	sb->metadata_block_size = cpu_to_le32(VELA_BLOCK_SIZE);
	sb->data_block_sectors = cpu_to_le32(md->data_block_sectors);
	sb->metadata_nr_blocks = cpu_to_le64(vela_sm_nr_blocks(&md->metadata_sm));
	sb->data_nr_blocks = cpu_to_le64(vela_sm_nr_blocks(&md->data_sm));
	sb->data_dev_size_sectors = cpu_to_le64(md->cur.data_dev_size_sectors);
	sb->generation = cpu_to_le64(md->tm.generation + 1);
	sb->change_id = cpu_to_le64(md->cur.change_id);
	sb->ctime = cpu_to_le64(md->ctime);
	sb->next_branch_id = cpu_to_le64(md->cur.next_branch_id);
	vela_sm_root(&md->metadata_sm, &sb->metadata_sm);
	vela_sm_root(&md->data_sm, &sb->data_sm);
	sb->branch_table_root = cpu_to_le64(md->cur.branch_table_root);
	sb->name_index_root = cpu_to_le64(md->cur.name_index_root);
	sb->delete_queue_root = cpu_to_le64(md->cur.delete_queue_root);
	sb->held_root = cpu_to_le64(md->cur.held_root);
	sb->next_delete_seq = cpu_to_le64(md->cur.next_delete_seq);
}

static int __commit(struct vela_md *md)
{
	bool changed;
	int r;

	do {
		r = vela_sm_apply(&md->data_sm, &changed);
	} while (!r && changed);
	while (!r) {
		r = vela_sm_apply(&md->metadata_sm, &changed);
		if (!changed)
			break;
	}
	if (r)
		return r;
	/*
	 * From here a failure may have left blocks half written: never the
	 * -ENOMEM that means "nothing written, try again" (a write can end
	 * with a resource error, which dm-bufio reports as -ENOMEM).
	 */
	r = vela_tm_flush(&md->tm);
	if (!r)
		r = vela_tm_write_superblock(&md->tm, &sb_type, fill_sb, md);
	if (r)
		return r == -ENOMEM ? -EIO : r;

	vela_sm_committed(&md->metadata_sm);
	vela_sm_committed(&md->data_sm);
	vela_tm_end(&md->tm, true);
	md->committed = md->cur;
	return 0;
}

int vela_md_format(struct block_device *bdev, const struct vela_md_format_params *p)
{
	struct vela_md *md;
	u64 nr_meta;
	int r;

	if (!vela_valid_block_sectors(p->data_block_sectors) ||
	    p->data_nr_blocks < 2 || p->data_nr_blocks > VELA_MAX_DATA_BLOCKS ||
	    strnlen(p->pool_name, VELA_POOL_NAME_LEN) >= VELA_POOL_NAME_LEN)
		return -EINVAL;
	md = md_alloc(bdev);
	if (IS_ERR(md))
		return PTR_ERR(md);
	nr_meta = vela_bm_nr_blocks(md->bm);
	if (nr_meta < 16) {
		r = -ENOSPC;
		goto out;
	}
	vela_tm_init(&md->tm, md->bm, 0);
	vela_sm_init_new(&md->metadata_sm, &md->tm, nr_meta);
	vela_tm_set_sm(&md->tm, &md->metadata_sm);
	vela_sm_init_new(&md->data_sm, &md->tm, p->data_nr_blocks);

	memcpy(md->uuid, p->uuid, sizeof(md->uuid));
	strscpy(md->pool_name, p->pool_name, sizeof(md->pool_name));
	md->data_block_sectors = p->data_block_sectors;
	md->ctime = p->now;
	md->cur.next_branch_id = 1;
	md->cur.next_delete_seq = 1;
	md->cur.data_dev_size_sectors = p->data_dev_size_sectors;

	/* Block 0 is the superblock; data block 0 is the data-device label. */
	r = vela_sm_inc(&md->metadata_sm, VELA_SUPERBLOCK_LOCATION);
	if (!r)
		r = vela_sm_inc(&md->data_sm, 0);
	if (!r)
		r = __commit(md);
out:
	md_free(md);
	return r;
}

static int count_entry(void *context, u64 key, const void *value)
{
	(*(u64 *)context)++;
	return 0;
}

static int read_superblock(struct vela_md *md, bool *read_only)
{
	struct vela_superblock *sb;
	struct vela_block *blk;
	u64 incompat, compat_ro;
	int r;

	r = vela_bm_read_lock(md->bm, VELA_SUPERBLOCK_LOCATION, &sb_type, &blk);
	if (r)
		return r;
	sb = vela_block_data(blk);
	incompat = le64_to_cpu(sb->incompat_flags);
	compat_ro = le64_to_cpu(sb->compat_ro_flags);
	r = -EILSEQ;
	if (le32_to_cpu(sb->version) != VELA_FORMAT_VERSION) {
		pr_err("vela: superblock version %u is not supported\n", le32_to_cpu(sb->version));
		r = -EOPNOTSUPP;
	} else if (incompat & ~SB_KNOWN_INCOMPAT) {
		pr_err("vela: superblock has unsupported incompatible features %#llx\n", incompat);
		r = -EOPNOTSUPP;
	} else if (le32_to_cpu(sb->metadata_block_size) != VELA_BLOCK_SIZE) {
		pr_err("vela: superblock: metadata block size %u\n",
		       le32_to_cpu(sb->metadata_block_size));
	} else if (!vela_valid_block_sectors(le32_to_cpu(sb->data_block_sectors))) {
		pr_err("vela: superblock: bad data block size\n");
	} else if (le64_to_cpu(sb->metadata_nr_blocks) > vela_bm_nr_blocks(md->bm) ||
		   le64_to_cpu(sb->metadata_nr_blocks) < 16) {
		pr_err("vela: superblock: metadata size %llu blocks, device has %llu\n",
		       le64_to_cpu(sb->metadata_nr_blocks), vela_bm_nr_blocks(md->bm));
	} else if (le64_to_cpu(sb->data_nr_blocks) > VELA_MAX_DATA_BLOCKS ||
		   le64_to_cpu(sb->data_nr_blocks) < 2) {
		pr_err("vela: superblock: bad data size\n");
	} else {
		r = 0;
	}
	if (r)
		goto out;
	if (compat_ro & ~SB_KNOWN_COMPAT_RO)
		*read_only = true;

	memcpy(md->uuid, sb->uuid, sizeof(md->uuid));
	memcpy(md->pool_name, sb->pool_name, sizeof(md->pool_name));
	md->pool_name[VELA_POOL_NAME_LEN - 1] = '\0';
	md->data_block_sectors = le32_to_cpu(sb->data_block_sectors);
	md->ctime = le64_to_cpu(sb->ctime);
	md->cur.flags = le32_to_cpu(sb->flags);
	md->cur.change_id = le64_to_cpu(sb->change_id);
	md->cur.next_branch_id = le64_to_cpu(sb->next_branch_id);
	md->cur.next_delete_seq = le64_to_cpu(sb->next_delete_seq);
	md->cur.branch_table_root = le64_to_cpu(sb->branch_table_root);
	md->cur.name_index_root = le64_to_cpu(sb->name_index_root);
	md->cur.delete_queue_root = le64_to_cpu(sb->delete_queue_root);
	md->cur.held_root = le64_to_cpu(sb->held_root);
	md->cur.data_dev_size_sectors = le64_to_cpu(sb->data_dev_size_sectors);
	if (md->held_view) {
		/* Only the held tree is immutable while the pool is live. */
		r = -ENOENT;
		if (!md->cur.held_root)
			goto out;
		md->cur.branch_table_root = md->cur.held_root;
		md->cur.name_index_root = 0;
		md->cur.delete_queue_root = 0;
	}

	vela_tm_init(&md->tm, md->bm, le64_to_cpu(sb->generation));
	if (md->trees_only) {
		/* Sizes only: nothing will ask for a count. */
		vela_sm_init_new(&md->metadata_sm, &md->tm, le64_to_cpu(sb->metadata_nr_blocks));
		vela_sm_init_new(&md->data_sm, &md->tm, le64_to_cpu(sb->data_nr_blocks));
		r = 0;
	} else {
		r = vela_sm_open(&md->metadata_sm, &md->tm, &sb->metadata_sm,
				 le64_to_cpu(sb->metadata_nr_blocks));
		if (r)
			goto out;
		r = vela_sm_open(&md->data_sm, &md->tm, &sb->data_sm,
				 le64_to_cpu(sb->data_nr_blocks));
		if (r)
			vela_sm_exit(&md->metadata_sm);
	}
	if (r)
		goto out;
	vela_tm_set_sm(&md->tm, &md->metadata_sm);
	if (!r)
		r = vela_btree_walk(&md->branch_info, md->cur.branch_table_root, count_entry,
				    &md->cur.nr_branches);
	if (!r)
		r = vela_btree_walk(&md->delete_info, md->cur.delete_queue_root, count_entry,
				    &md->cur.nr_pending_deletes);
	if (r) {
		vela_sm_exit(&md->data_sm);
		vela_sm_exit(&md->metadata_sm);
	}
	md->committed = md->cur;
out:
	vela_bm_unlock(blk);
	return r;
}

static struct vela_md *md_open(struct block_device *bdev, bool read_only, bool held_view,
			       bool trees_only)
{
	struct vela_md *md = md_alloc(bdev);
	int r;

	if (IS_ERR(md))
		return md;
	md->read_only = read_only;
	md->held_view = held_view;
	md->trees_only = trees_only;
	r = read_superblock(md, &md->read_only);
	if (r) {
		vela_tm_exit(&md->tm);
		vela_bm_destroy(md->bm);
		kfree(md);
		return ERR_PTR(r);
	}
	return md;
}

struct vela_md *vela_md_open(struct block_device *bdev, bool read_only)
{
	return md_open(bdev, read_only, false, false);
}

struct vela_md *vela_md_open_held(struct block_device *bdev)
{
	return md_open(bdev, true, true, false);
}

struct vela_md *vela_md_open_trees(struct block_device *bdev)
{
	return md_open(bdev, true, false, true);
}

/* Count every reference in @refs (block -> count) into @sm. */
static int add_counts(struct vela_sm *sm, const struct vela_u64map *refs)
{
	struct vela_u64map_entry *e;
	u64 n, i, k;
	int r = vela_u64map_sorted(refs, &e, &n);

	if (r)
		return r;
	for (i = 0; !r && i < n; i++)
		for (k = 0; !r && k < (u64)e[i].value; k++)
			r = vela_sm_inc(sm, e[i].key);
	kvfree(e);
	return r;
}

/* Copy every B-tree node in @refs from @src to the same place in @md. */
static int copy_tree_blocks(struct vela_md *src, struct vela_md *md,
			    const struct vela_u64map *refs)
{
	struct vela_block *from, *to;
	struct vela_u64map_entry *e;
	u64 n, i;
	int r = vela_u64map_sorted(refs, &e, &n);

	if (r)
		return r;
	for (i = 0; !r && i < n; i++) {
		if (e[i].key == VELA_SUPERBLOCK_LOCATION)
			continue;
		r = vela_bm_read_lock(src->bm, e[i].key, &vela_btree_node_type, &from);
		if (r)
			break;
		r = vela_bm_write_lock_zero(md->bm, e[i].key, &vela_btree_node_type, &to);
		if (!r) {
			memcpy(vela_block_data(to), vela_block_data(from), VELA_BLOCK_SIZE);
			vela_bm_unlock(to);
		}
		vela_bm_unlock(from);
	}
	kvfree(e);
	return r;
}

int vela_md_rebuild(struct vela_md *src, struct block_device *dst,
		    const struct vela_u64map *meta_refs, const struct vela_u64map *data_refs)
{
	struct vela_md *md = md_alloc(dst);
	u64 nr_meta;
	int r;

	if (IS_ERR(md))
		return PTR_ERR(md);
	nr_meta = vela_bm_nr_blocks(md->bm);
	if (nr_meta < vela_sm_nr_blocks(&src->metadata_sm)) {
		r = -ENOSPC;
		goto out;
	}
	/* Every copied block is from src's last commit or before: still valid. */
	vela_tm_init(&md->tm, md->bm, src->tm.generation);
	vela_sm_init_new(&md->metadata_sm, &md->tm, nr_meta);
	vela_tm_set_sm(&md->tm, &md->metadata_sm);
	vela_sm_init_new(&md->data_sm, &md->tm, vela_sm_nr_blocks(&src->data_sm));
	memcpy(md->uuid, src->uuid, sizeof(md->uuid));
	memcpy(md->pool_name, src->pool_name, sizeof(md->pool_name));
	md->data_block_sectors = src->data_block_sectors;
	md->ctime = src->ctime;
	md->cur = src->committed;
	md->cur.flags &= ~VELA_SB_FLAG_NEEDS_CHECK;

	/*
	 * The counts go in as deltas before anything is allocated, so the
	 * space maps' own blocks, allocated at commit, avoid every tree block.
	 */
	r = copy_tree_blocks(src, md, meta_refs);
	if (!r)
		r = add_counts(&md->metadata_sm, meta_refs);
	if (!r)
		r = add_counts(&md->data_sm, data_refs);
	if (!r)
		r = __commit(md);
out:
	md_free(md);
	return r;
}

void vela_md_close(struct vela_md *md)
{
	md_free(md);
}

static void __abort(struct vela_md *md)
{
	vela_sm_abort(&md->metadata_sm);
	vela_sm_abort(&md->data_sm);
	vela_tm_end(&md->tm, false);
	md->cur = md->committed;
}

/*
 * A commit that fails returns to the last commit before anyone else can
 * look: the failed transaction's new blocks may never have reached the
 * disk, and a buffer whose write failed is clean to the cache, so it may
 * be dropped and read back as garbage.  The lookups that need no lock
 * (the target's fast path, which writes in place where the transaction
 * made a block its own) are refused until a commit succeeds, so that the
 * caller can stop those writes before they meet the older mappings.
 */
int vela_md_commit(struct vela_md *md)
{
	int r;

	down_write(&md->lock);
	r = md->read_only ? 0 : __commit(md);
	/*
	 * -ENOMEM comes only from applying the space maps, before anything is
	 * written, with the transaction intact (vela-sm.h): it stays open.
	 */
	if (r && r != -ENOMEM)
		__abort(md);
	/* Nor does it clear the mark of an earlier failure. */
	if (r != -ENOMEM)
		WRITE_ONCE(md->commit_failed, r != 0);
	up_write(&md->lock);
	return r;
}

int vela_md_abort(struct vela_md *md)
{
	down_write(&md->lock);
	__abort(md);
	up_write(&md->lock);
	return 0;
}

int vela_md_info(struct vela_md *md, struct vela_md_info *info)
{
	down_read(&md->lock);
	memset(info, 0, sizeof(*info));
	memcpy(info->uuid, md->uuid, sizeof(info->uuid));
	memcpy(info->pool_name, md->pool_name, sizeof(info->pool_name));
	info->data_block_sectors = md->data_block_sectors;
	info->flags = md->cur.flags;
	info->generation = md->tm.generation;
	info->change_id = md->cur.change_id;
	info->ctime = md->ctime;
	info->metadata_nr_blocks = vela_sm_nr_blocks(&md->metadata_sm);
	info->metadata_nr_free = vela_sm_nr_free(&md->metadata_sm);
	info->data_nr_blocks = vela_sm_nr_blocks(&md->data_sm);
	info->held_root = md->cur.held_root;
	info->data_nr_free = vela_sm_nr_free(&md->data_sm);
	info->data_dev_size_sectors = md->cur.data_dev_size_sectors;
	info->read_only = md->read_only;
	info->nr_branches = md->cur.nr_branches;
	info->pending_deletes = md->cur.nr_pending_deletes;
	up_read(&md->lock);
	return 0;
}

int vela_md_resize_data(struct vela_md *md, u64 data_nr_blocks, u64 data_dev_size_sectors)
{
	int r;

	if (data_nr_blocks > VELA_MAX_DATA_BLOCKS)
		return -EINVAL;
	down_write(&md->lock);
	r = md->read_only ? -EROFS : vela_sm_extend(&md->data_sm, data_nr_blocks);
	if (!r)
		md->cur.data_dev_size_sectors = data_dev_size_sectors;
	up_write(&md->lock);
	return r;
}

int vela_md_resize_metadata(struct vela_md *md)
{
	int r;

	down_write(&md->lock);
	r = md->read_only ? -EROFS : vela_sm_extend(&md->metadata_sm, vela_bm_nr_blocks(md->bm));
	up_write(&md->lock);
	return r;
}

int vela_md_set_needs_check(struct vela_md *md, bool needs_check)
{
	down_write(&md->lock);
	if (needs_check)
		md->cur.flags |= VELA_SB_FLAG_NEEDS_CHECK;
	else
		md->cur.flags &= ~VELA_SB_FLAG_NEEDS_CHECK;
	up_write(&md->lock);
	return 0;
}

/* --- branches -------------------------------------------------------- */

bool vela_md_valid_name(const char *name)
{
	size_t len = strnlen(name, VELA_NAME_LEN), i;

	if (!len || len >= VELA_NAME_LEN)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '+' ||
		      (c == '-' && i > 0)))
			return false;
	}
	return strcmp(name, ".") && strcmp(name, "..");
}

/* FNV-1a, 64 bits: the name index key. */
u64 vela_md_name_hash(const char *name)
{
	u64 h = 0xcbf29ce484222325ULL;

	while (*name) {
		h ^= (u8)*name++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int __get_branch(struct vela_md *md, u64 id, struct vela_disk_branch *rec)
{
	int r = vela_btree_lookup(&md->branch_info, md->cur.branch_table_root, id, rec);

	return r == -ENODATA ? -ENOENT : r;
}

/* Store @rec; the references of the record it replaces were handed over. */
static int __put_branch(struct vela_md *md, u64 id, const struct vela_disk_branch *rec)
{
	return vela_btree_insert(&md->branch_info, md->cur.branch_table_root, id, rec,
				 &md->cur.branch_table_root, NULL, NULL);
}

/*
 * What one mapping update (insert or remove in one tree, with the branch
 * table's path to its record shadowed first) can touch at most: two B-tree
 * updates.  Only the leaf's children are data blocks.
 */
#define UPDATE_NEW_BLOCKS	(2 * VELA_BTREE_UPDATE_NEW_BLOCKS)
#define UPDATE_METADATA_COUNTS	(2 * VELA_BTREE_UPDATE_COUNTS)
#define UPDATE_DATA_COUNTS	(VELA_BTREE_MAX_ENTRIES + 2)

/*
 * Take the memory a mapping update may need before its first change, so
 * that a shortage fails it with -ENOMEM and nothing changed: the update
 * cannot be undone once a node is shadowed.
 */
/*
 * After the reservation, an update that still runs out of memory has
 * outgrown the bound above and may be half done: it must not look like
 * the clean refusal -ENOMEM promises.
 */
static int past_reservation(int r)
{
	if (r != -ENOMEM)
		return r;
	pr_err("vela: a mapping update outgrew its memory reservation\n");
	return -EIO;
}

static int __reserve_update(struct vela_md *md)
{
	int r = vela_tm_reserve(&md->tm, UPDATE_NEW_BLOCKS);

	if (!r)
		r = vela_sm_reserve(&md->metadata_sm, UPDATE_METADATA_COUNTS);
	if (!r)
		r = vela_sm_reserve(&md->data_sm, UPDATE_DATA_COUNTS);
	return r;
}

/*
 * Read @id's record for an update of the trees it names.  The record is
 * first stored back unchanged, which shadows the branch-table path to it:
 * breaking sharing runs top-down.  While a held view shares that path, the
 * shadow of the shared leaf takes a reference on every tree its records
 * name (branch_inc), so the mapping tree's root counts both holders before
 * the update shadows it, and the copy then takes references on the
 * children both roots point to.  Updating the mapping tree first would
 * shadow a root of count one, whose copy would take its children over
 * without a reference while the view still reached them.
 */
static int __get_branch_for_update(struct vela_md *md, u64 id, struct vela_disk_branch *rec)
{
	int r = __get_branch(md, id, rec);

	return r ? r : __put_branch(md, id, rec);
}

static int __find_branch(struct vela_md *md, const char *name, u64 *id)
{
	struct vela_disk_branch rec;
	__le64 v;
	int r;

	r = vela_btree_lookup(&md->name_info, md->cur.name_index_root, vela_md_name_hash(name), &v);
	if (r)
		return r == -ENODATA ? -ENOENT : r;
	*id = le64_to_cpu(v);
	r = __get_branch(md, *id, &rec);
	if (r)
		return r == -ENOENT ? -EILSEQ : r;
	/* Another name with the same hash holds the slot: the name is unusable. */
	return strncmp(rec.name, name, VELA_NAME_LEN) ? -EEXIST : 0;
}

static int __add_name(struct vela_md *md, const char *name, u64 id)
{
	__le64 v = cpu_to_le64(id);
	u64 existing;
	int r;

	if (!vela_md_valid_name(name))
		return -EINVAL;
	r = __find_branch(md, name, &existing);
	if (r != -ENOENT)
		return r ? r : -EEXIST;
	return vela_btree_insert(&md->name_info, md->cur.name_index_root, vela_md_name_hash(name), &v,
				 &md->cur.name_index_root, NULL, NULL);
}

static void random_uuid(u8 *uuid)
{
	u32 i, v;

	for (i = 0; i < 16; i += 4) {
		v = get_random_u32();
		memcpy(uuid + i, &v, 4);
	}
	uuid[6] = (uuid[6] & 0x0f) | 0x40;	/* version 4 */
	uuid[8] = (uuid[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
}

static int __create(struct vela_md *md, struct vela_disk_branch *rec, const char *name,
		    u64 *id)
{
	int r;

	if (md->read_only)
		return -EROFS;
	*id = md->cur.next_branch_id;
	r = __add_name(md, name, *id);
	if (r)
		return r;
	strscpy(rec->name, name, sizeof(rec->name));
	random_uuid(rec->uuid);
	r = __put_branch(md, *id, rec);
	if (r)
		return r;
	md->cur.nr_branches++;
	md->cur.next_branch_id++;
	md->cur.change_id++;
	return 0;
}

int vela_md_create_volume(struct vela_md *md, const char *name, u64 size_sectors,
			  u32 flags, u64 now, u64 *id)
{
	struct vela_disk_branch rec;
	int r;

	if (flags & ~VELA_BRANCH_KNOWN_FLAGS)
		return -EINVAL;
	memset(&rec, 0, sizeof(rec));
	rec.parent_id = cpu_to_le64(VELA_NO_PARENT);
	rec.size_sectors = cpu_to_le64(size_sectors);
	rec.ctime = cpu_to_le64(now);
	rec.flags = cpu_to_le32(flags);

	down_write(&md->lock);
	r = __create(md, &rec, name, id);
	up_write(&md->lock);
	return r;
}

int vela_md_create_origin_volume(struct vela_md *md, const char *name,
				 const struct vela_md_origin *origin, u64 now, u64 *id)
{
	struct vela_disk_branch rec;
	int r;

	if (!origin->size_sectors || !origin->sample_count ||
	    strnlen(origin->id, VELA_ORIGIN_ID_LEN) >= VELA_ORIGIN_ID_LEN ||
	    origin->flags & ~VELA_BRANCH_KNOWN_FLAGS)
		return -EINVAL;
	memset(&rec, 0, sizeof(rec));
	rec.parent_id = cpu_to_le64(VELA_NO_PARENT);
	rec.size_sectors = cpu_to_le64(origin->size_sectors);
	rec.ctime = cpu_to_le64(now);
	rec.flags = cpu_to_le32(origin->flags | VELA_BRANCH_HAS_ORIGIN);
	rec.origin_size_sectors = cpu_to_le64(origin->size_sectors);
	rec.origin_sample_csum = cpu_to_le32(origin->sample_csum);
	rec.origin_sample_count = cpu_to_le32(origin->sample_count);
	strscpy(rec.origin_id, origin->id, sizeof(rec.origin_id));

	down_write(&md->lock);
	r = __create(md, &rec, name, id);
	up_write(&md->lock);
	return r;
}

int vela_md_create_branch(struct vela_md *md, u64 parent_id, const char *name, u32 flags,
			  u64 now, u64 *id)
{
	struct vela_disk_branch parent, rec;
	u64 root;
	int r;

	if (flags & ~VELA_BRANCH_KNOWN_FLAGS)
		return -EINVAL;
	down_write(&md->lock);
	r = __get_branch(md, parent_id, &parent);
	if (r)
		goto out;
	root = le64_to_cpu(parent.mapping_root);

	/* The child inherits everything that describes the parent's contents. */
	rec = parent;
	rec.base_root = rec.mapping_root;
	rec.parent_id = cpu_to_le64(parent_id);
	rec.branch_point_change_id = cpu_to_le64(md->cur.change_id + 1);
	rec.ctime = cpu_to_le64(now);
	rec.alloc_limit_blocks = 0;
	rec.exclusive_blocks = 0;
	rec.shared_blocks = 0;
	rec.counts_generation = 0;
	rec.flags = cpu_to_le32(flags | (le32_to_cpu(parent.flags) & VELA_BRANCH_HAS_ORIGIN));
	rec.depth = cpu_to_le32(le32_to_cpu(parent.depth) + 1);

	/* O(1): one reference for the child's tree, one for its base. */
	r = vela_btree_clone(&md->mapping_info, root);
	if (!r)
		r = vela_btree_clone(&md->mapping_info, root);
	if (!r)
		r = __create(md, &rec, name, id);
out:
	up_write(&md->lock);
	return r;
}

struct child_search {
	u64 parent;
	bool found;
};

static int find_child(void *context, u64 id, const void *value)
{
	const struct vela_disk_branch *rec = value;
	struct child_search *cs = context;

	if (le64_to_cpu(rec->parent_id) == cs->parent) {
		cs->found = true;
		return 1;
	}
	return 0;
}

static int __queue_delete(struct vela_md *md, u64 root)
{
	struct vela_disk_pending_delete pd = { .root = cpu_to_le64(root),
					       .kind = cpu_to_le32(VELA_DELETE_MAPPING_TREE) };
	int r;

	if (!root)
		return 0;
	r = vela_btree_insert(&md->delete_info, md->cur.delete_queue_root,
			      md->cur.next_delete_seq, &pd, &md->cur.delete_queue_root, NULL, NULL);
	if (!r) {
		md->cur.next_delete_seq++;
		md->cur.nr_pending_deletes++;
	}
	return r;
}

int vela_md_delete_branch(struct vela_md *md, u64 id)
{
	struct child_search cs = { .parent = id };
	struct vela_disk_branch rec;
	int r;

	down_write(&md->lock);
	r = md->read_only ? -EROFS : __get_branch(md, id, &rec);
	if (r)
		goto out;
	r = vela_btree_walk(&md->branch_info, md->cur.branch_table_root, find_child, &cs);
	if (r < 0)
		goto out;
	if (cs.found) {
		r = -ENOTEMPTY;
		goto out;
	}
	/*
	 * The queue takes over the record's references on its trees; the
	 * record then leaves with empty roots, so removing it drops nothing.
	 */
	r = __queue_delete(md, le64_to_cpu(rec.mapping_root));
	if (!r)
		r = __queue_delete(md, le64_to_cpu(rec.base_root));
	if (r)
		goto out;
	rec.mapping_root = 0;
	rec.base_root = 0;
	r = __put_branch(md, id, &rec);
	if (!r)
		r = vela_btree_remove(&md->branch_info, md->cur.branch_table_root, id,
				      &md->cur.branch_table_root);
	if (!r)
		r = vela_btree_remove(&md->name_info, md->cur.name_index_root,
				      vela_md_name_hash(rec.name), &md->cur.name_index_root);
	if (!r) {
		md->cur.change_id++;
		md->cur.nr_branches--;
	}
out:
	up_write(&md->lock);
	return r;
}

int vela_md_find_branch(struct vela_md *md, const char *name, u64 *id)
{
	int r;

	down_read(&md->lock);
	r = __find_branch(md, name, id);
	if (r == -EEXIST)
		r = -ENOENT;
	up_read(&md->lock);
	return r;
}

int vela_md_get_branch(struct vela_md *md, u64 id, struct vela_disk_branch *rec)
{
	int r;

	down_read(&md->lock);
	r = __get_branch(md, id, rec);
	up_read(&md->lock);
	return r;
}

int vela_md_next_branch(struct vela_md *md, u64 from, u64 *id, struct vela_disk_branch *rec)
{
	int r;

	down_read(&md->lock);
	r = vela_btree_lookup_next(&md->branch_info, md->cur.branch_table_root, from, id, rec);
	up_read(&md->lock);
	return r;
}

int vela_md_rename_branch(struct vela_md *md, u64 id, const char *name)
{
	struct vela_disk_branch rec;
	int r;

	down_write(&md->lock);
	r = md->read_only ? -EROFS : __get_branch(md, id, &rec);
	if (r)
		goto out;
	r = __add_name(md, name, id);
	if (!r)
		r = vela_btree_remove(&md->name_info, md->cur.name_index_root,
				      vela_md_name_hash(rec.name), &md->cur.name_index_root);
	if (r)
		goto out;
	memset(rec.name, 0, sizeof(rec.name));
	strscpy(rec.name, name, sizeof(rec.name));
	r = __put_branch(md, id, &rec);
	if (!r)
		md->cur.change_id++;
out:
	up_write(&md->lock);
	return r;
}

/*
 * Read-modify-write one field of a branch record: an admin change of its
 * own (the change id moves) unless @part_of_create.
 */
static int __update_branch(struct vela_md *md, u64 id,
			   int (*change)(struct vela_disk_branch *rec, u64 arg), u64 arg,
			   bool part_of_create)
{
	struct vela_disk_branch rec;
	int r;

	down_write(&md->lock);
	r = md->read_only ? -EROFS : __get_branch(md, id, &rec);
	if (!r)
		r = change(&rec, arg);
	if (!r)
		r = __put_branch(md, id, &rec);
	if (!r && !part_of_create)
		md->cur.change_id++;
	up_write(&md->lock);
	return r;
}

static int update_branch(struct vela_md *md, u64 id,
			 int (*change)(struct vela_disk_branch *rec, u64 arg), u64 arg)
{
	return __update_branch(md, id, change, arg, false);
}

static int change_size(struct vela_disk_branch *rec, u64 size)
{
	if (size < le64_to_cpu(rec->size_sectors))
		return -EINVAL;
	rec->size_sectors = cpu_to_le64(size);
	return 0;
}

static int change_limit(struct vela_disk_branch *rec, u64 limit)
{
	rec->alloc_limit_blocks = cpu_to_le64(limit);
	return 0;
}

int vela_md_resize_branch(struct vela_md *md, u64 id, u64 size_sectors)
{
	return update_branch(md, id, change_size, size_sectors);
}

int vela_md_set_branch_limit(struct vela_md *md, u64 id, u64 limit_blocks)
{
	return update_branch(md, id, change_limit, limit_blocks);
}

int vela_md_set_new_branch_limit(struct vela_md *md, u64 id, u64 limit_blocks)
{
	return __update_branch(md, id, change_limit, limit_blocks, true);
}

/* @arg packs the flags to set (low half) and to clear (high half). */
static int change_flags(struct vela_disk_branch *rec, u64 arg)
{
	u32 set = arg, clear = arg >> 32;

	rec->flags = cpu_to_le32((le32_to_cpu(rec->flags) | set) & ~clear);
	return 0;
}

int vela_md_set_branch_flags(struct vela_md *md, u64 id, u32 set, u32 clear)
{
	if ((set | clear) & ~VELA_BRANCH_KNOWN_FLAGS)
		return -EINVAL;
	return update_branch(md, id, change_flags, set | (u64)clear << 32);
}

struct branch_walk {
	vela_branch_fn fn;
	void *context;
};

static int walk_branch(void *context, u64 id, const void *value)
{
	struct branch_walk *bw = context;

	return bw->fn(bw->context, id, value);
}

int vela_md_walk_branches(struct vela_md *md, vela_branch_fn fn, void *context)
{
	struct branch_walk bw = { .fn = fn, .context = context };
	int r;

	down_read(&md->lock);
	r = vela_btree_walk(&md->branch_info, md->cur.branch_table_root, walk_branch, &bw);
	up_read(&md->lock);
	return r;
}

int vela_md_reclaim(struct vela_md *md, u64 max, u64 *pending)
{
	struct vela_disk_pending_delete pd;
	u64 seq, root, budget = max;
	int r = 0;

	down_write(&md->lock);
	if (md->read_only) {
		r = -EROFS;
		goto out;
	}
	while (budget) {
		r = vela_btree_lookup_next(&md->delete_info, md->cur.delete_queue_root, 0,
					   &seq, &pd);
		if (r == -ENODATA) {
			r = 0;
			break;
		}
		if (r)
			break;
		r = vela_btree_delete_step(&md->mapping_info, le64_to_cpu(pd.root), &budget,
					   &root);
		if (r)
			break;
		/* The entry's reference moved to the shrunken tree. */
		pd.root = cpu_to_le64(root);
		r = vela_btree_insert(&md->delete_info, md->cur.delete_queue_root, seq, &pd,
				      &md->cur.delete_queue_root, NULL, NULL);
		if (!r && !root) {
			r = vela_btree_remove(&md->delete_info, md->cur.delete_queue_root, seq,
					      &md->cur.delete_queue_root);
			if (!r)
				md->cur.nr_pending_deletes--;
		}
		if (r)
			break;
	}
	*pending = md->cur.nr_pending_deletes;
out:
	up_write(&md->lock);
	return r;
}

int vela_md_hold(struct vela_md *md, u64 *held_root)
{
	int r;

	down_write(&md->lock);
	r = md->read_only ? -EROFS : md->cur.held_root ? -EBUSY : 0;
	if (!r)
		r = vela_btree_clone(&md->branch_info, md->cur.branch_table_root);
	if (!r) {
		md->cur.held_root = md->cur.branch_table_root;
		*held_root = md->cur.held_root;
	}
	up_write(&md->lock);
	return r;
}

int vela_md_release_hold(struct vela_md *md)
{
	int r;

	down_write(&md->lock);
	r = md->read_only ? -EROFS : !md->cur.held_root ? -ENOENT : 0;
	if (!r)
		r = vela_btree_delete(&md->branch_info, md->cur.held_root);
	if (!r)
		md->cur.held_root = 0;
	up_write(&md->lock);
	return r;
}

/* --- mappings -------------------------------------------------------- */

int vela_md_lookup(struct vela_md *md, u64 id, u64 lblock, u64 *pblock, bool *shared)
{
	struct vela_disk_branch rec;
	__le64 v;
	u32 count;
	int r;

	down_read(&md->lock);
	r = __get_branch(md, id, &rec);
	if (!r)
		r = vela_btree_lookup_shared(&md->mapping_info, le64_to_cpu(rec.mapping_root),
					     lblock, &v, shared);
	if (!r)
		r = mapping_block(&v, pblock);
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
		r = mapping_block(&v, pblock);
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
	int r = mapping_block(value, &pblock);

	return r ? r : mw->fn(mw->context, key, pblock);
}

int vela_md_walk_mappings(struct vela_md *md, u64 id, vela_mapping_fn fn, void *context)
{
	struct mapping_walk mw = { .fn = fn, .context = context };
	struct vela_disk_branch rec;
	int r;

	down_read(&md->lock);
	r = __get_branch(md, id, &rec);
	if (!r)
		r = vela_btree_walk(&md->mapping_info, le64_to_cpu(rec.mapping_root),
				    walk_mapping, &mw);
	up_read(&md->lock);
	return r;
}

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
	r = __get_branch(md, id_a, &a);
	if (!r)
		r = __get_branch(md, id_b, &b);
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
	r = __get_branch(md, id, &rec);
	if (!r && le64_to_cpu(rec.parent_id) == VELA_NO_PARENT)
		r = -EINVAL;	/* a volume has no branch point */
	if (!r && parent_side)
		r = __get_branch(md, le64_to_cpu(rec.parent_id), &parent);
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
	r = mapping_block(&c->value, &pblock);
	if (!r)
		r = vela_sm_inc(&md->data_sm, pblock);
	if (!r)
		r = vela_btree_insert(&md->mapping_info, *root, c->key, &c->value, root, &replaced,
				      &old);
	if (!r && replaced)
		r = mapping_dec(md, &old);
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
	r = md->read_only && !dry_run ? -EROFS : __get_branch(md, child_id, &child);
	if (!r && le64_to_cpu(child.parent_id) == VELA_NO_PARENT)
		r = -EINVAL;
	parent_id = le64_to_cpu(child.parent_id);
	if (!r)
		r = __get_branch(md, parent_id, &parent);
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

	r = __get_branch_for_update(md, parent_id, &parent);
	if (!r)
		r = __get_branch_for_update(md, child_id, &child);
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
		r = __put_branch(md, parent_id, &parent);
	if (!r)
		r = __put_branch(md, child_id, &child);
	if (!r)
		md->cur.change_id++;
out:
	up_write(&md->lock);
	kvfree(child_changes.v);
	kvfree(parent_changes.v);
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
	r = md->read_only ? -EROFS : __reserve_update(md);
	if (r)
		goto out;
	r = __get_branch_for_update(md, id, &rec);
	if (r)
		goto out_reserved;
	r = vela_btree_insert(&md->mapping_info, le64_to_cpu(rec.mapping_root), lblock, &v,
			      &root, &replaced, &old);
	if (r)
		goto out_reserved;
	if (replaced)
		r = mapping_dec(md, &old);
	else
		le64_add_cpu(&rec.mapped_blocks, 1);
	rec.mapping_root = cpu_to_le64(root);
	if (!r)
		r = __put_branch(md, id, &rec);
out_reserved:
	r = past_reservation(r);
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
	r = md->read_only ? -EROFS : __get_branch(md, id, &rec);
	if (!r)
		r = vela_btree_lookup(&md->mapping_info, le64_to_cpu(rec.mapping_root), lblock, &v);
	if (!r)
		r = mapping_block(&v, &pblock);
	/* Only a mapping that exists changes anything. */
	if (!r)
		r = __reserve_update(md);
	if (r)
		goto out;
	r = __get_branch_for_update(md, id, &rec);
	if (!r)
		r = vela_btree_remove(&md->mapping_info, le64_to_cpu(rec.mapping_root), lblock,
				      &root);
	if (!r) {
		rec.mapping_root = cpu_to_le64(root);
		le64_add_cpu(&rec.mapped_blocks, -1);
		r = __put_branch(md, id, &rec);
	}
	if (!r)
		r = vela_sm_get_count(&md->data_sm, pblock, &count);
	if (!r && !count)
		*freed = pblock;
	r = past_reservation(r);
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

	r = mapping_block(value, &pblock);
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
	r = __get_branch(md, id, &rec);
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

/* Committed usage: see vela_md_committed_usage() in vela-meta.h. */

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

static int set_cached(struct vela_u64map *map, u64 id, u64 value)
{
	return vela_u64map_add(map, id, value - vela_u64map_get(map, id));
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
	hit = cached && (any || cached == md->tm.generation + 1);
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
	u64 free = vela_sm_nr_free(&md->metadata_sm);
	u64 floor = 2 * vela_md_metadata_reserve(vela_sm_nr_blocks(&md->metadata_sm));

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

	memset(w, 0, sizeof(*w));
	w->md = md;
	w->id = id;
	w->usage.generation = md->tm.generation;
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
	if (w->usage.exclusive > w->usage.mapped) {
		pr_err("vela: branch %llu has more exclusive blocks (%llu) than mappings (%llu)\n",
		       w->id, w->usage.exclusive, w->usage.mapped);
		return -EILSEQ;
	}
	/* The generation goes last: figures without it are never served. */
	if (!set_cached(&md->usage_mapped, w->id, w->usage.mapped) &&
	    !set_cached(&md->usage_exclusive, w->id, w->usage.exclusive))
		set_cached(&md->usage_generation, w->id, w->usage.generation + 1);
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

struct mutex *vela_md_usage_lock(struct vela_md *md)
{
	return &md->usage_lock;
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

struct vela_tm *vela_md_tm(struct vela_md *md)
{
	return &md->tm;
}

struct vela_sm *vela_md_metadata_sm(struct vela_md *md)
{
	return &md->metadata_sm;
}

struct vela_sm *vela_md_data_sm(struct vela_md *md)
{
	return &md->data_sm;
}

void vela_md_trees(struct vela_md *md, struct vela_md_trees *t)
{
	t->mapping = &md->mapping_info;
	t->branch = &md->branch_info;
	t->name = &md->name_info;
	t->delete_queue = &md->delete_info;
	t->branch_table_root = md->cur.branch_table_root;
	t->name_index_root = md->cur.name_index_root;
	t->delete_queue_root = md->cur.delete_queue_root;
	t->held_root = md->cur.held_root;
	t->next_branch_id = md->cur.next_branch_id;
	t->flags = md->cur.flags;
}
