// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pool metadata: the store's transactions and its branch table.  The
 * other rooms of the store are listed in vela-meta-internal.h.
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
#include "vela-meta-internal.h"

/* --- value types ----------------------------------------------------- */

static int mapping_inc(void *context, const void *value)
{
	struct vela_md *md = context;
	u64 pblock;
	int r = vela_md_mapping_block(value, &pblock);

	return r ? r : vela_sm_inc(&md->data_sm, pblock);
}

int vela_md_mapping_dec(void *context, const void *value)
{
	struct vela_md *md = context;
	u64 pblock;
	int r = vela_md_mapping_block(value, &pblock);

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
		.context = md, .size = sizeof(__le64),
		.inc = mapping_inc, .dec = vela_md_mapping_dec,
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

static int __commit(struct vela_md *md)
{
	bool changed;
	int r;

	lockdep_assert_held_write(&md->lock);
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
		r = __vela_md_write_superblock(md);
	if (r)
		return r == -ENOMEM ? -EIO : r;

	vela_sm_committed(&md->metadata_sm);
	vela_sm_committed(&md->data_sm);
	vela_tm_end(&md->tm, true);
	md->committed = md->cur;
	return 0;
}

/* The first commit of a pool nobody else can see yet (format, rebuild). */
static int commit_new(struct vela_md *md)
{
	int r;

	down_write(&md->lock);
	r = __commit(md);
	up_write(&md->lock);
	return r;
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
		r = commit_new(md);
out:
	md_free(md);
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
	r = vela_md_read_superblock(md);
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
		r = commit_new(md);
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
	lockdep_assert_held_write(&md->lock);
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
/* Commit; on a failure that wrote something, abort; and mark the outcome. */
static int __commit_or_abort(struct vela_md *md)
{
	int r;

	lockdep_assert_held_write(&md->lock);
	r = __commit(md);
	/*
	 * -ENOMEM comes only from applying the space maps, before anything is
	 * written, with the transaction intact (vela-sm.h): it stays open.
	 */
	if (r && r != -ENOMEM)
		__abort(md);
	/* Nor does it clear the mark of an earlier failure. */
	if (r != -ENOMEM)
		WRITE_ONCE(md->commit_failed, r != 0);
	return r;
}

int vela_md_commit(struct vela_md *md)
{
	int r;

	down_write(&md->lock);
	r = md->read_only ? 0 : __commit_or_abort(md);
	up_write(&md->lock);
	return r;
}

int vela_md_set_identity(struct vela_md *md, const char *name, const u8 *uuid)
{
	char old_name[VELA_POOL_NAME_LEN];
	u8 old_uuid[16];
	int r;

	if (name && (strnlen(name, VELA_POOL_NAME_LEN) >= VELA_POOL_NAME_LEN ||
		     !vela_md_valid_name(name)))
		return -EINVAL;
	down_write(&md->lock);
	r = md->read_only ? -EROFS : 0;
	if (r)
		goto out;
	memcpy(old_name, md->pool_name, sizeof(old_name));
	memcpy(old_uuid, md->uuid, sizeof(old_uuid));
	if (name)
		strscpy_pad(md->pool_name, name, sizeof(md->pool_name));
	if (uuid)
		memcpy(md->uuid, uuid, sizeof(md->uuid));
	/* The superblock written by this commit is the switch: before it, nothing changed. */
	r = __commit_or_abort(md);
	if (r) {
		memcpy(md->pool_name, old_name, sizeof(md->pool_name));
		memcpy(md->uuid, old_uuid, sizeof(md->uuid));
	}
out:
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
	info->generation = vela_tm_generation(&md->tm);
	info->change_id = md->cur.change_id;
	info->ctime = md->ctime;
	info->metadata_nr_blocks = vela_sm_nr_blocks(&md->metadata_sm);
	info->metadata_nr_free = vela_sm_nr_free(&md->metadata_sm);
	info->data_nr_blocks = vela_sm_nr_blocks(&md->data_sm);
	info->held_root = md->cur.held_root;
	memcpy(info->held_by, md->cur.held_by, sizeof(info->held_by));
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

int __vela_md_get_branch(struct vela_md *md, u64 id, struct vela_disk_branch *rec)
{
	int r;

	lockdep_assert_held(&md->lock);
	r = vela_btree_lookup(&md->branch_info, md->cur.branch_table_root, id, rec);
	return r == -ENODATA ? -ENOENT : r;
}

/* Store @rec; the references of the record it replaces were handed over. */
int __vela_md_put_branch(struct vela_md *md, u64 id, const struct vela_disk_branch *rec)
{
	lockdep_assert_held_write(&md->lock);
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
int vela_md_past_reservation(int r)
{
	if (r != -ENOMEM)
		return r;
	pr_err("vela: a mapping update outgrew its memory reservation\n");
	return -EIO;
}

int __vela_md_reserve_update(struct vela_md *md)
{
	int r;

	lockdep_assert_held_write(&md->lock);
	r = vela_tm_reserve(&md->tm, UPDATE_NEW_BLOCKS);
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
int __vela_md_get_branch_for_update(struct vela_md *md, u64 id, struct vela_disk_branch *rec)
{
	int r;

	lockdep_assert_held_write(&md->lock);
	r = __vela_md_get_branch(md, id, rec);
	return r ? r : __vela_md_put_branch(md, id, rec);
}

static int __find_branch(struct vela_md *md, const char *name, u64 *id)
{
	struct vela_disk_branch rec;
	__le64 v;
	int r;

	lockdep_assert_held(&md->lock);
	r = vela_btree_lookup(&md->name_info, md->cur.name_index_root, vela_md_name_hash(name), &v);
	if (r)
		return r == -ENODATA ? -ENOENT : r;
	*id = le64_to_cpu(v);
	r = __vela_md_get_branch(md, *id, &rec);
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

	lockdep_assert_held_write(&md->lock);
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

	lockdep_assert_held_write(&md->lock);
	if (md->read_only)
		return -EROFS;
	*id = md->cur.next_branch_id;
	r = __add_name(md, name, *id);
	if (r)
		return r;
	strscpy(rec->name, name, sizeof(rec->name));
	random_uuid(rec->uuid);
	r = __vela_md_put_branch(md, *id, rec);
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

	/* Activation fingerprints with VELA_ORIGIN_SAMPLES: record no other count. */
	if (!origin->size_sectors || origin->sample_count != VELA_ORIGIN_SAMPLES ||
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
	r = __vela_md_get_branch(md, parent_id, &parent);
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
	memset(rec.reserved_counts, 0, sizeof(rec.reserved_counts));
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

	lockdep_assert_held_write(&md->lock);
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
	r = md->read_only ? -EROFS : __vela_md_get_branch(md, id, &rec);
	if (r)
		goto out;
	/* Protected means kept: whoever asks, dmsetup included. */
	if (le32_to_cpu(rec.flags) & VELA_BRANCH_READ_ONLY) {
		r = -EPERM;
		goto out;
	}
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
	r = __vela_md_put_branch(md, id, &rec);
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

/* The store's record, in the CPU byte order of the API. */
static void to_branch_info(const struct vela_disk_branch *rec, struct vela_branch_info *info)
{
	memset(info, 0, sizeof(*info));
	info->parent_id = le64_to_cpu(rec->parent_id);
	info->branch_point_change_id = le64_to_cpu(rec->branch_point_change_id);
	info->size_sectors = le64_to_cpu(rec->size_sectors);
	info->ctime = le64_to_cpu(rec->ctime);
	info->mapped_blocks = le64_to_cpu(rec->mapped_blocks);
	info->alloc_limit_blocks = le64_to_cpu(rec->alloc_limit_blocks);
	info->flags = le32_to_cpu(rec->flags);
	info->depth = le32_to_cpu(rec->depth);
	memcpy(info->uuid, rec->uuid, sizeof(info->uuid));
	/* NUL-padded on disk, but a damaged record may fill the field. */
	memcpy(info->name, rec->name, sizeof(rec->name));
	info->name[sizeof(info->name) - 1] = '\0';
	info->origin_size_sectors = le64_to_cpu(rec->origin_size_sectors);
	info->origin_sample_csum = le32_to_cpu(rec->origin_sample_csum);
	info->origin_sample_count = le32_to_cpu(rec->origin_sample_count);
	memcpy(info->origin_id, rec->origin_id, sizeof(rec->origin_id));
	info->origin_id[sizeof(rec->origin_id)] = '\0';
	info->mapping_root = le64_to_cpu(rec->mapping_root);
	info->base_root = le64_to_cpu(rec->base_root);
}

int vela_md_get_branch(struct vela_md *md, u64 id, struct vela_branch_info *info)
{
	struct vela_disk_branch rec;
	int r;

	down_read(&md->lock);
	r = __vela_md_get_branch(md, id, &rec);
	up_read(&md->lock);
	if (!r)
		to_branch_info(&rec, info);
	return r;
}

int vela_md_next_branch(struct vela_md *md, u64 from, u64 *id, struct vela_branch_info *info)
{
	struct vela_disk_branch rec;
	int r;

	down_read(&md->lock);
	r = vela_btree_lookup_next(&md->branch_info, md->cur.branch_table_root, from, id, &rec);
	up_read(&md->lock);
	if (!r)
		to_branch_info(&rec, info);
	return r;
}

int vela_md_rename_branch(struct vela_md *md, u64 id, const char *name)
{
	struct vela_disk_branch rec;
	int r;

	down_write(&md->lock);
	r = md->read_only ? -EROFS : __vela_md_get_branch(md, id, &rec);
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
	r = __vela_md_put_branch(md, id, &rec);
	if (!r)
		md->cur.change_id++;
out:
	up_write(&md->lock);
	return r;
}

/*
 * Read-modify-write one field of a branch record, under the metadata lock:
 * an admin change of its own (the change id moves) unless @part_of_create.
 */
static int update_branch(struct vela_md *md, u64 id,
			 int (*change)(struct vela_disk_branch *rec, u64 arg), u64 arg,
			 bool part_of_create)
{
	struct vela_disk_branch rec;
	int r;

	down_write(&md->lock);
	r = md->read_only ? -EROFS : __vela_md_get_branch(md, id, &rec);
	if (!r)
		r = change(&rec, arg);
	if (!r)
		r = __vela_md_put_branch(md, id, &rec);
	if (!r && !part_of_create)
		md->cur.change_id++;
	up_write(&md->lock);
	return r;
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
	return update_branch(md, id, change_size, size_sectors, false);
}

int vela_md_set_branch_limit(struct vela_md *md, u64 id, u64 limit_blocks)
{
	return update_branch(md, id, change_limit, limit_blocks, false);
}

int vela_md_set_new_branch_limit(struct vela_md *md, u64 id, u64 limit_blocks)
{
	return update_branch(md, id, change_limit, limit_blocks, true);
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
	/* HAS_ORIGIN is what the branch was created over: never changed. */
	if ((set | clear) & (~VELA_BRANCH_KNOWN_FLAGS | VELA_BRANCH_HAS_ORIGIN))
		return -EINVAL;
	return update_branch(md, id, change_flags, set | (u64)clear << 32, false);
}

struct branch_walk {
	vela_branch_fn fn;
	void *context;
};

static int walk_branch(void *context, u64 id, const void *value)
{
	struct branch_walk *bw = context;
	struct vela_branch_info info;

	to_branch_info(value, &info);
	return bw->fn(bw->context, id, &info);
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

bool vela_md_valid_holder(const char *holder)
{
	size_t i;

	for (i = 0; holder[i]; i++)
		if (i == VELA_HOLDER_LEN - 1 || holder[i] < 0x21 || holder[i] > 0x7e)
			return false;
	return i > 0;
}

int vela_md_hold(struct vela_md *md, const char *holder, u64 *held_root)
{
	int r;

	if (holder && holder[0] && !vela_md_valid_holder(holder))
		return -EINVAL;
	down_write(&md->lock);
	r = md->read_only ? -EROFS : md->cur.held_root ? -EBUSY : 0;
	if (!r)
		r = vela_btree_clone(&md->branch_info, md->cur.branch_table_root);
	if (!r) {
		md->cur.held_root = md->cur.branch_table_root;
		strscpy_pad(md->cur.held_by, holder ? holder : "", sizeof(md->cur.held_by));
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
	if (!r) {
		md->cur.held_root = 0;
		memset(md->cur.held_by, 0, sizeof(md->cur.held_by));
	}
	up_write(&md->lock);
	return r;
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
