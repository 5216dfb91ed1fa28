// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vela: copy-on-write branching block devices for device-mapper.
 *
 * Two targets:
 *
 *   vela-pool  binds a metadata device and a data device into a pool and
 *              takes the admin messages (create, branch, delete, ...).
 *              I/O to the pool device itself fails.
 *   vela       one branch device: a branch id inside a pool.
 *
 * This file is the pool's lifetime, the pool target and the module's
 * registration; vela-target.h lists the other rooms.  The exception store
 * (kernel/vela-meta.c) is opened once per metadata device and shared, as
 * struct vela_pool, by every table instance on it: a reload builds the new
 * table while the old one is live, as dm-thin's pool does.
 *
 * Contract:
 * - One struct vela_pool per metadata device, on the pools list under
 *   pools_lock.  Every pool and branch table holds a reference; the last
 *   one to go commits and closes the store, under pools_lock, so a new
 *   table cannot open a second store on the device meanwhile.
 * - A new pool shares nothing with an open one: not the pool device, not
 *   the data device, not the metadata reached through another path.  Its
 *   data device must carry the pool's label.
 * - Resuming the pool table binds its features and records grown devices.
 *
 * The table lines, status lines, messages and modes are documented in
 * docs/dm-vela.rst; the comments above each function must match it.
 */

#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/sched/mm.h>

#include "vela-target.h"

#define LOW_WATER_DATA		"low_water_data="
#define LOW_WATER_METADATA	"low_water_metadata="

/* If @arg is "<@name><blocks>", parse it into @v; *@matched says whether. */
static int parse_low_water(const char *arg, const char *name, u64 *v, bool *matched)
{
	size_t len = strlen(name);

	*matched = !strncasecmp(arg, name, len);
	return *matched && kstrtou64(arg + len, 10, v) ? -EINVAL : 0;
}

/*
 * Parse the optional feature group of the pool table line.  The caller has
 * already consumed the fixed arguments; @as holds what is left.
 */
static int parse_pool_features(struct dm_arg_set *as,
			       struct vela_pool_features *pf,
			       struct dm_target *ti)
{
	static const struct dm_arg feature_count = {
		0, 5, "Invalid number of pool feature arguments"
	};
	bool data_lw, meta_lw = false;
	unsigned int argc;
	const char *arg;
	int r;

	pf->read_only = false;
	pf->error_if_no_space = false;
	pf->discard_passdown = true;
	pf->low_water_data = U64_MAX;
	pf->low_water_metadata = U64_MAX;

	if (!as->argc)
		return 0;

	r = dm_read_arg_group(&feature_count, as, &argc, &ti->error);
	if (r)
		return -EINVAL;

	while (argc--) {
		arg = dm_shift_arg(as);
		if (!strcasecmp(arg, "read_only")) {
			pf->read_only = true;
		} else if (!strcasecmp(arg, "error_if_no_space")) {
			pf->error_if_no_space = true;
		} else if (!strcasecmp(arg, "no_discard_passdown")) {
			pf->discard_passdown = false;
		} else {
			r = parse_low_water(arg, LOW_WATER_DATA, &pf->low_water_data, &data_lw);
			if (!r && !data_lw)
				r = parse_low_water(arg, LOW_WATER_METADATA,
						    &pf->low_water_metadata, &meta_lw);
			if (r) {
				ti->error = "Invalid low water mark: not a number of blocks";
				return r;
			}
			if (data_lw || meta_lw)
				continue;
			ti->error = "Unrecognised pool feature requested";
			return -EINVAL;
		}
	}

	if (as->argc) {
		ti->error = "Too many arguments after the pool features";
		return -EINVAL;
	}
	return 0;
}

static const char *const pool_mode_names[] = {
	[POOL_WRITE] = "rw",
	[POOL_OUT_OF_DATA_SPACE] = "out_of_data_space",
	[POOL_OUT_OF_METADATA_SPACE] = "out_of_metadata_space",
	[POOL_READ_ONLY] = "ro",
	[POOL_FAIL] = "fail",
};

static LIST_HEAD(pools);
static DEFINE_MUTEX(pools_lock);

/* --- pool lifetime --------------------------------------------------- */

static struct vela_pool *__pool_find(struct block_device *metadata_bdev)
{
	struct vela_pool *pool;

	lockdep_assert_held(&pools_lock);
	list_for_each_entry(pool, &pools, list)
		if (pool->metadata_bdev == metadata_bdev)
			return pool;
	return NULL;
}

/*
 * A new store may not share anything with an open one: not the pool
 * device (a different pool cannot replace a pool whose branches live on),
 * not the data device, and not the metadata itself reached through
 * another path (a partition and its disk, a dm-linear alias, a second
 * multipath path), which the superblock's UUID gives away.
 */
static int __check_pool_identity(struct dm_target *ti, struct pool_c *pc, const u8 *uuid)
{
	struct vela_pool *pool;

	lockdep_assert_held(&pools_lock);
	list_for_each_entry(pool, &pools, list) {
		if (pool->pool_md == dm_table_get_md(ti->table)) {
			ti->error = "A different pool cannot replace a pool: the pool device's branches use another metadata device";
			return -EINVAL;
		}
		if (pool->data_bdev == pc->data_dev->bdev) {
			ti->error = "The data device is in use by another pool";
			return -EBUSY;
		}
		if (!memcmp(pool->uuid, uuid, sizeof(pool->uuid))) {
			ti->error = "This pool's metadata is already open through another device path";
			return -EBUSY;
		}
	}
	return 0;
}

static char *open_error(int r)
{
	switch (r) {
	case -EILSEQ:
		return "No valid dm-vela metadata on the metadata device (format it with velactl format)";
	case -EOPNOTSUPP:
		return "The pool metadata uses a format version or feature this module does not support";
	case -ENOMEM:
		return "Out of memory opening the pool metadata";
	default:
		return "Error reading the pool metadata";
	}
}

/* Raise a dm event on the pool device: its status changed. */
static void event_work_fn(struct work_struct *work)
{
	struct vela_pool *pool = container_of(work, struct vela_pool, event_work);

	mutex_lock(&pool->ti_lock);
	if (pool->ti)
		dm_table_event(pool->ti->table);
	mutex_unlock(&pool->ti_lock);
}

/* Everything but the metadata: locks, epochs, workqueues. */
static int pool_init_io(struct vela_pool *pool)
{
	unsigned int i;
	int r;

	mutex_init(&pool->admin_lock);
	mutex_init(&pool->drain_lock);
	mutex_init(&pool->devs_lock);
	mutex_init(&pool->ti_lock);
	INIT_WORK(&pool->event_work, event_work_fn);
	init_rwsem(&pool->share_lock);
	for (i = 0; i < ARRAY_SIZE(pool->block_locks); i++)
		mutex_init(&pool->block_locks[i]);
	spin_lock_init(&pool->lock);
	INIT_LIST_HEAD(&pool->branch_devs);
	vela_commit_init(pool);

	r = vela_epochs_init(pool);
	if (r)
		return r;
	r = bioset_init(&pool->bs, BIO_POOL_SIZE, 0, 0);
	if (r)
		goto out_epochs;
	r = -ENOMEM;
	pool->wq = alloc_workqueue("vela-io", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!pool->wq)
		goto out_bs;
	pool->commit_wq = alloc_ordered_workqueue("vela-commit", WQ_MEM_RECLAIM);
	if (!pool->commit_wq)
		goto out_wq;
	vela_commit_start(pool);
	return 0;

out_wq:
	destroy_workqueue(pool->wq);
out_bs:
	bioset_exit(&pool->bs);
out_epochs:
	vela_epochs_exit(pool);
	return r;
}

static void pool_exit_io(struct vela_pool *pool)
{
	vela_commit_stop(pool);
	cancel_work_sync(&pool->event_work);
	destroy_workqueue(pool->commit_wq);
	destroy_workqueue(pool->wq);
	bioset_exit(&pool->bs);
	vela_epochs_exit(pool);
}

/*
 * The data device must carry this pool's label (velactl format writes it
 * into data block 0): a renamed or mistyped device is refused before a
 * single block of it is written.
 */
static int check_data_label(struct dm_target *ti, struct block_device *data, const u8 *uuid,
			    unsigned int block_sectors)
{
	struct vela_data_label *label;
	struct page *page;
	struct bio *bio;
	int r;

	page = alloc_page(GFP_KERNEL);
	if (!page) {
		ti->error = "Out of memory";
		return -ENOMEM;
	}
	bio = bio_alloc(data, 1, REQ_OP_READ, GFP_KERNEL);
	bio->bi_iter.bi_sector = 0;
	/* A whole logical block: a 4Kn device refuses a 512-byte read. */
	__bio_add_page(bio, page, max_t(unsigned int, sizeof(*label),
					bdev_logical_block_size(data)), 0);
	r = submit_bio_wait(bio);
	bio_put(bio);
	label = page_address(page);
	if (r) {
		ti->error = "Error reading the data device's label";
	} else if (le64_to_cpu(label->magic) != VELA_DATA_LABEL_MAGIC ||
		   le32_to_cpu(label->csum) != vela_block_csum(label, sizeof(*label))) {
		ti->error = "The data device carries no dm-vela data label: it is not this pool's data device";
		r = -EINVAL;
	} else if (memcmp(label->pool_uuid, uuid, sizeof(label->pool_uuid)) ||
		   le32_to_cpu(label->data_block_sectors) != block_sectors) {
		ti->error = "The data device belongs to another pool";
		r = -EINVAL;
	}
	__free_page(page);
	return r;
}

/* With pools_lock held: open the store of a metadata device no pool has open. */
static int __pool_create(struct dm_target *ti, struct pool_c *pc, struct vela_pool **result)
{
	bool read_only = pc->features.read_only ||
			 !(dm_table_get_mode(ti->table) & FMODE_WRITE);
	struct vela_md_info info;
	struct vela_pool *pool;
	int r;

	lockdep_assert_held(&pools_lock);
	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool) {
		ti->error = "Out of memory";
		return -ENOMEM;
	}
	pool->md = vela_md_open(pc->metadata_dev->bdev, read_only);
	if (IS_ERR(pool->md)) {
		r = PTR_ERR(pool->md);
		ti->error = open_error(r);
		kfree(pool);
		return r == -EILSEQ ? -EINVAL : r;
	}
	vela_md_info(pool->md, &info);
	r = -EINVAL;
	if (info.data_block_sectors != pc->block_sectors)
		ti->error = "Data block size does not match the pool's metadata";
	else if (bdev_nr_sectors(pc->data_dev->bdev) <
		 info.data_nr_blocks * info.data_block_sectors)
		ti->error = "Data device is smaller than the pool's metadata records";
	else
		r = __check_pool_identity(ti, pc, info.uuid);
	if (!r)
		r = check_data_label(ti, pc->data_dev->bdev, info.uuid, pc->block_sectors);
	if (!r) {
		r = pool_init_io(pool);
		if (r)
			ti->error = "Out of memory";
	}
	if (r) {
		vela_md_close(pool->md);
		kfree(pool);
		return r;
	}
	pool->pool_md = dm_table_get_md(ti->table);
	pool->ti = ti;
	pool->metadata_bdev = pc->metadata_dev->bdev;
	pool->data_bdev = pc->data_dev->bdev;
	memcpy(pool->uuid, info.uuid, sizeof(pool->uuid));
	pool->block_sectors = pc->block_sectors;
	pool->features = pc->features;
	pool->mode = info.read_only ? POOL_READ_ONLY : POOL_WRITE;
	if (info.flags & VELA_SB_FLAG_NEEDS_CHECK && !info.read_only) {
		DMWARN("%s: the pool's metadata needs checking: read-only until velactl check --clear-needs-check",
		       dm_device_name(pool->pool_md));
		pool->mode = POOL_READ_ONLY;
	}
	list_add(&pool->list, &pools);
	*result = pool;
	return 0;
}

static int pool_get(struct dm_target *ti, struct pool_c *pc)
{
	struct vela_pool *pool;
	int r = 0;

	mutex_lock(&pools_lock);
	pool = __pool_find(pc->metadata_dev->bdev);
	if (pool) {
		if (pool->data_bdev != pc->data_dev->bdev ||
		    pool->block_sectors != pc->block_sectors) {
			ti->error = "The metadata device is in use by a pool with another data device or block size";
			r = -EBUSY;
		} else if (pool->pool_md != dm_table_get_md(ti->table)) {
			ti->error = "The metadata device is in use by another pool device";
			r = -EBUSY;
		} else {
			/* A reload: the data device must still be this pool's. */
			r = check_data_label(ti, pc->data_dev->bdev, pool->uuid,
					     pc->block_sectors);
		}
	} else {
		r = __pool_create(ti, pc, &pool);
	}
	if (!r) {
		pool->refs++;
		pc->pool = pool;
	}
	mutex_unlock(&pools_lock);
	return r;
}

void vela_pool_put(struct vela_pool *pool)
{
	/*
	 * The last put tears down under pools_lock, so a new table on the
	 * same metadata device cannot open a second store while this one
	 * still commits.
	 */
	mutex_lock(&pools_lock);
	if (!--pool->refs) {
		list_del(&pool->list);
		pool_exit_io(pool);
		vela_md_close(pool->md);
		kfree(pool);
	}
	mutex_unlock(&pools_lock);
}

/* Find the pool behind a pool device and take a reference on it. */
struct vela_pool *vela_pool_get_by_dev(struct dm_dev *pool_dev)
{
	struct mapped_device *pool_md = dm_get_md(pool_dev->bdev->bd_dev);
	struct vela_pool *pool, *found = NULL;

	if (!pool_md)
		return NULL;
	mutex_lock(&pools_lock);
	list_for_each_entry(pool, &pools, list) {
		if (pool->pool_md != pool_md)
			continue;
		/* Only a pool device whose table is a vela-pool (not error). */
		mutex_lock(&pool->ti_lock);
		if (pool->ti) {
			found = pool;
			pool->refs++;
		}
		mutex_unlock(&pool->ti_lock);
		break;
	}
	mutex_unlock(&pools_lock);
	dm_put(pool_md);
	return found;
}

/* --- the pool target ------------------------------------------------- */

static int parse_block_size(const char *arg, unsigned int *sectors,
			    struct dm_target *ti)
{
	unsigned int v;

	if (kstrtouint(arg, 10, &v)) {
		ti->error = "Invalid data block size: not a number of sectors";
		return -EINVAL;
	}
	if (!vela_valid_block_sectors(v)) {
		ti->error = is_power_of_2(v) ?
			"Invalid data block size: outside 8..2048 sectors (4 KiB..1 MiB)" :
			"Invalid data block size: not a power of two";
		return -EINVAL;
	}
	*sectors = v;
	return 0;
}

/*
 * Construct a pool:
 *
 *   vela-pool <metadata dev> <data dev> <data block size (sectors)>
 *             [<#feature args> [<feature arg>]*]
 *
 * Feature arguments:
 *   read_only            never write the metadata device
 *   error_if_no_space    fail writes at once when data space runs out
 *   no_discard_passdown  do not pass discards down to the data device
 *   low_water_data=<blocks>, low_water_metadata=<blocks>
 *                        raise a dm event when free blocks fall below
 *                        (default: 1/16 of the device)
 *
 * Every argument is checked before a device is opened.  The metadata device
 * must hold a pool (velactl format), with this data block size, and the
 * data device must be at least as large as the pool records.
 */
static int pool_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct vela_pool_features pf;
	struct dm_dev *metadata_dev, *data_dev;
	struct pool_c *pc;
	struct dm_arg_set as;
	unsigned int block_sectors;
	int r;

	if (argc < 3) {
		ti->error = "Invalid argument count: expected <metadata dev> <data dev> <data block size> [<#feature args> [<feature arg>]*]";
		return -EINVAL;
	}
	r = parse_block_size(argv[2], &block_sectors, ti);
	if (r)
		return r;

	as.argc = argc - 3;
	as.argv = argv + 3;
	r = parse_pool_features(&as, &pf, ti);
	if (r)
		return r;

	r = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table),
			  &metadata_dev);
	if (r) {
		ti->error = "Error opening metadata device";
		return r;
	}
	r = dm_get_device(ti, argv[1], dm_table_get_mode(ti->table), &data_dev);
	if (r) {
		ti->error = "Error opening data device";
		goto out_metadata;
	}
	if (metadata_dev->bdev == data_dev->bdev) {
		ti->error = "Metadata and data devices must be different devices";
		r = -EINVAL;
		goto out_data;
	}

	pc = kzalloc(sizeof(*pc), GFP_KERNEL);
	if (!pc) {
		ti->error = "Out of memory";
		r = -ENOMEM;
		goto out_data;
	}
	pc->metadata_dev = metadata_dev;
	pc->data_dev = data_dev;
	pc->block_sectors = block_sectors;
	pc->features = pf;
	r = pool_get(ti, pc);
	if (r) {
		kfree(pc);
		goto out_data;
	}
	ti->private = pc;
	return 0;

out_data:
	dm_put_device(ti, data_dev);
out_metadata:
	dm_put_device(ti, metadata_dev);
	return r;
}

static void pool_dtr(struct dm_target *ti)
{
	struct pool_c *pc = ti->private;

	mutex_lock(&pc->pool->ti_lock);
	if (pc->pool->ti == ti) {
		/*
		 * The pool device's table is going for good (removed, or
		 * replaced by another target): branches may still live on
		 * it, and their commits and reclaim go on.
		 */
		pc->pool->ti = NULL;
		WRITE_ONCE(pc->pool->suspended, false);
	}
	mutex_unlock(&pc->pool->ti_lock);
	vela_pool_put(pc->pool);
	dm_put_device(ti, pc->data_dev);
	dm_put_device(ti, pc->metadata_dev);
	kfree(pc);
}

/* The pool device carries no data: only branch devices serve I/O. */
static int pool_map(struct dm_target *ti, struct bio *bio)
{
	return DM_MAPIO_KILL;
}

/*
 * Status line (docs/dm-vela.rst):
 *
 *   <generation> <change id> <used metadata>/<total metadata>
 *   <used data>/<total data> <branches> <pending deletes>
 *   rw|out_of_data_space|ro|fail needs_check|-
 *   queue_if_no_space|error_if_no_space discard_passdown|no_discard_passdown
 *   <held metadata root>|-
 *
 * Every field is O(1): nothing here walks the metadata.  Fields are only
 * ever appended, never reordered.
 */
static void pool_status(struct dm_target *ti, status_type_t type, unsigned int status_flags,
			char *result, unsigned int maxlen)
{
	struct pool_c *pc = ti->private;
	struct vela_pool *pool = pc->pool;
	struct vela_md_info info;
	unsigned int sz = 0, nr_features;

	switch (type) {
	case STATUSTYPE_INFO:
		vela_md_info(pool->md, &info);
		DMEMIT("%llu %llu %llu/%llu %llu/%llu %llu %llu %s %s %s %s ",
		       info.generation, info.change_id,
		       info.metadata_nr_blocks - info.metadata_nr_free, info.metadata_nr_blocks,
		       info.data_nr_blocks - info.data_nr_free, info.data_nr_blocks,
		       info.nr_branches, info.pending_deletes,
		       pool_mode_names[pool_mode(pool)],
		       info.flags & VELA_SB_FLAG_NEEDS_CHECK ? "needs_check" : "-",
		       pool->features.error_if_no_space ? "error_if_no_space" :
							  "queue_if_no_space",
		       pool->features.discard_passdown ? "discard_passdown" :
							 "no_discard_passdown");
		if (info.held_root)
			DMEMIT("%llu %s", info.held_root, info.held_by[0] ? info.held_by : "?");
		else
			DMEMIT("- -");
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %s %u", pc->metadata_dev->name, pc->data_dev->name, pc->block_sectors);
		nr_features = pc->features.read_only + pc->features.error_if_no_space +
			      !pc->features.discard_passdown +
			      (pc->features.low_water_data != U64_MAX) +
			      (pc->features.low_water_metadata != U64_MAX);
		if (nr_features)
			DMEMIT(" %u", nr_features);
		if (pc->features.read_only)
			DMEMIT(" read_only");
		if (pc->features.error_if_no_space)
			DMEMIT(" error_if_no_space");
		if (!pc->features.discard_passdown)
			DMEMIT(" no_discard_passdown");
		if (pc->features.low_water_data != U64_MAX)
			DMEMIT(" " LOW_WATER_DATA "%llu", pc->features.low_water_data);
		if (pc->features.low_water_metadata != U64_MAX)
			DMEMIT(" " LOW_WATER_METADATA "%llu", pc->features.low_water_metadata);
		break;
	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

/*
 * Grow the metadata (@metadata) or data space from @from to @to blocks
 * (@sectors: the data device's size), and log the outcome: commit what the
 * data path did, then the growth alone.  Short of memory, neither commit
 * wrote anything: the growth is undone (its transaction holds nothing
 * else) and the pool goes on as it was, to grow at the next resume.  Any
 * other failure is a metadata fault.
 */
static int grow_and_commit(struct vela_pool *pool, bool metadata, u64 from, u64 to, u64 sectors)
{
	const char *what = metadata ? "metadata" : "data";
	int r = vela_pool_commit_locked(pool, false);

	if (!r) {
		if (metadata)
			r = vela_md_resize_metadata(pool->md);
		else
			r = vela_md_resize_data(pool->md, to, sectors);
		if (!r)
			r = vela_md_commit(pool->md);
		if (r == -ENOMEM)
			vela_md_abort(pool->md);
		else if (r)
			vela_metadata_error(pool, "grow", r);
	}
	if (r)
		DMERR("%s: growing the %s device to %llu blocks failed (%d)%s",
		      dm_device_name(pool->pool_md), what, to, r,
		      r == -ENOMEM ? ": no memory, resume again to retry" : "");
	else
		DMINFO("%s: %s device grew from %llu to %llu blocks",
		       dm_device_name(pool->pool_md), what, from, to);
	return r;
}

/*
 * Resuming a (reloaded) pool table binds its features and picks up a
 * grown data device: the pool records the new blocks, commits, and leaves
 * out-of-data-space mode.
 */
static int pool_preresume(struct dm_target *ti)
{
	struct pool_c *pc = ti->private;
	struct vela_pool *pool = pc->pool;
	sector_t data_sectors = bdev_nr_sectors(pool->data_bdev);
	u64 data_blocks = data_sectors >> ilog2(pool->block_sectors);
	u64 metadata_blocks = bdev_nr_sectors(pool->metadata_bdev) >>
			      (ilog2(VELA_BLOCK_SIZE) - SECTOR_SHIFT);
	struct vela_md_info info;
	unsigned int noio;
	int r = 0, grown;

	mutex_lock(&pool->ti_lock);
	pool->ti = ti;
	mutex_unlock(&pool->ti_lock);

	vela_md_info(pool->md, &info);
	if (data_blocks < info.data_nr_blocks) {
		DMERR("%s: the data device shrank to %llu blocks; the pool has %llu: refusing to resume",
		      dm_device_name(pool->pool_md), data_blocks, info.data_nr_blocks);
		return -EINVAL;
	}
	mutex_lock(&pool->admin_lock);
	noio = memalloc_noio_save();
	down_write(&pool->share_lock);
	WRITE_ONCE(pool->suspended, false);
	if (pc->features.read_only && !pool->features.read_only) {
		/* Reloaded read-only: commit what was written, then stop writing. */
		r = vela_pool_commit_locked(pool, false);
		if (r) {
			DMERR("%s: cannot commit before going read_only (%d): refusing the resume",
			      dm_device_name(pool->pool_md), r);
			goto out_unlock;
		}
		if (vela_worsen_mode(pool, POOL_READ_ONLY))
			DMINFO("%s: reloaded read_only: the metadata is no longer written",
			       dm_device_name(pool->pool_md));
	} else if (!pc->features.read_only && pool->features.read_only) {
		DMWARN("%s: a pool opened read_only stays read-only: deactivate it to make it writable",
		       dm_device_name(pool->pool_md));
	}
	pool->features.read_only |= pc->features.read_only;
	pool->features.error_if_no_space = pc->features.error_if_no_space;
	pool->features.discard_passdown = pc->features.discard_passdown;
	pool->features.low_water_data = pc->features.low_water_data;
	pool->features.low_water_metadata = pc->features.low_water_metadata;
	vela_md_info(pool->md, &info);
	if (metadata_blocks > info.metadata_nr_blocks && pool_mode(pool) < POOL_READ_ONLY)
		r = grow_and_commit(pool, true, info.metadata_nr_blocks, metadata_blocks, 0);
	if (data_blocks > info.data_nr_blocks && pool_mode(pool) < POOL_READ_ONLY) {
		/* The first failure is the one the resume returns. */
		grown = grow_and_commit(pool, false, info.data_nr_blocks, data_blocks,
					data_sectors);
		if (!r)
			r = grown;
	}
out_unlock:
	up_write(&pool->share_lock);
	memalloc_noio_restore(noio);
	mutex_unlock(&pool->admin_lock);
	if (!r && pool_mode(pool) < POOL_READ_ONLY)
		vela_check_free_space(pool);
	/* Reloaded with error_if_no_space: the waiting writes fail now. */
	if (pool->features.error_if_no_space)
		vela_fail_no_space_bios(pool, BLK_STS_NOSPC);
	/* Space may have come back: out of data space returns to rw. */
	if (!r)
		vela_retry_no_space_bios(pool);
	return r;
}

/*
 * A suspended pool writes no metadata of its own accord (no periodic
 * commit, no reclaim).  Its branch devices are dm devices of their own:
 * a flush on one still commits, so suspend them too for a quiet metadata
 * device.
 */
static void pool_postsuspend(struct dm_target *ti)
{
	struct pool_c *pc = ti->private;

	vela_pool_commit(pc->pool);
	WRITE_ONCE(pc->pool->suspended, true);
}

static int pool_iterate_devices(struct dm_target *ti, iterate_devices_callout_fn fn, void *data)
{
	struct pool_c *pc = ti->private;

	return fn(ti, pc->data_dev, 0, ti->len, data);
}

/* --- registration ---------------------------------------------------- */

static struct target_type pool_target = {
	.name = "vela-pool",
	.version = {VELA_TARGET_MAJOR, VELA_TARGET_MINOR, VELA_TARGET_PATCH},
	.module = THIS_MODULE,
	.ctr = pool_ctr,
	.dtr = pool_dtr,
	.map = pool_map,
	.postsuspend = pool_postsuspend,
	.preresume = pool_preresume,
	.status = pool_status,
	.message = vela_pool_message,
	.iterate_devices = pool_iterate_devices,
};

static int __init dm_vela_init(void)
{
	int r;

	r = dm_register_target(&pool_target);
	if (r)
		return r;

	r = dm_register_target(&vela_branch_target);
	if (r)
		goto out_pool;

	return 0;

out_pool:
	dm_unregister_target(&pool_target);
	return r;
}

static void __exit dm_vela_exit(void)
{
	dm_unregister_target(&vela_branch_target);
	dm_unregister_target(&pool_target);
}

module_init(dm_vela_init);
module_exit(dm_vela_exit);

MODULE_DESCRIPTION(DM_NAME " copy-on-write branching target");
MODULE_AUTHOR("dm-vela developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(VELA_PACKAGE_VERSION);
