// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vela: the branch target, "vela": one branch of a pool as a block
 * device.
 *
 * Contract:
 * - The table line is "vela <pool dev> <branch id> [<external origin
 *   dev>]"; the status line and the rules are in docs/dm-vela.rst.
 * - A branch table holds a reference on the pool and on the pool's own
 *   metadata and data devices for its whole life, so the pool table may be
 *   reloaded or replaced (even by the error target) while it lives.
 * - The constructor holds admin_lock from its check of the branch record
 *   until the device is on the pool's list, so no admin message misses it
 *   (vela-msg.c).
 * - Deactivating a branch commits what was written to it.  Writes that
 *   wait for data space do not wait through a suspend.
 * - map() and end_io() are the data path's, in vela-io.c.
 */

#include <linux/module.h>
#include <linux/sched/mm.h>

#include "vela-target.h"

/* Hold the pool's metadata and data devices in this branch table. */
static int get_pool_devices(struct dm_target *ti, struct branch_c *bc)
{
	fmode_t mode = FMODE_READ | FMODE_WRITE;
	char name[32];
	int r;

	snprintf(name, sizeof(name), "%u:%u", MAJOR(bc->pool->metadata_bdev->bd_dev),
		 MINOR(bc->pool->metadata_bdev->bd_dev));
	r = dm_get_device(ti, name, mode, &bc->metadata_dev);
	if (r) {
		ti->error = "Error opening the pool's metadata device";
		return r;
	}
	snprintf(name, sizeof(name), "%u:%u", MAJOR(bc->pool->data_bdev->bd_dev),
		 MINOR(bc->pool->data_bdev->bd_dev));
	r = dm_get_device(ti, name, mode, &bc->data_dev);
	if (r) {
		ti->error = "Error opening the pool's data device";
		dm_put_device(ti, bc->metadata_dev);
	}
	return r;
}

static void put_pool_devices(struct dm_target *ti, struct branch_c *bc)
{
	dm_put_device(ti, bc->data_dev);
	dm_put_device(ti, bc->metadata_dev);
}

/* Read and check the branch's record for a table of @ti->len sectors. */
static int read_branch(struct dm_target *ti, struct branch_c *bc, struct vela_branch_info *rec)
{
	int r = vela_md_get_branch(bc->pool->md, bc->id, rec);

	if (r == -ENODATA || r == -ENOENT) {
		ti->error = "No such branch in the pool";
		return -ENOENT;
	}
	if (r) {
		ti->error = "Error reading the branch table";
		return r;
	}
	if (rec->flags & (VELA_BRANCH_CREATING | VELA_BRANCH_DELETING)) {
		ti->error = "The branch is being created or deleted";
		return -EBUSY;
	}
	if (ti->len > rec->size_sectors) {
		ti->error = "The table is longer than the branch";
		return -EINVAL;
	}
	return 0;
}

/*
 * With admin_lock held, until the device is listed: the record again (a
 * message may have deleted or protected the branch since it was first
 * read) and what the branch owns alone.
 */
static int check_branch(struct dm_target *ti, struct branch_c *bc)
{
	struct vela_pool *pool = bc->pool;
	struct vela_branch_info rec;
	unsigned int noio;
	u64 exclusive, shared;
	int r;

	lockdep_assert_held(&pool->admin_lock);
	r = read_branch(ti, bc, &rec);
	if (r)
		return r;
	bc->read_only = rec.flags & VELA_BRANCH_READ_ONLY;
	bc->limit = rec.alloc_limit_blocks;
	noio = memalloc_noio_save();
	r = vela_md_branch_usage(pool->md, bc->id, &exclusive, &shared);
	memalloc_noio_restore(noio);
	if (r) {
		/* A bad block in this branch's tree: the pool stops writing. */
		ti->error = "Error reading the branch's mapping tree (see the log: the pool needs checking)";
		vela_metadata_error(pool, "read", r);
		return r;
	}
	atomic64_set(&bc->owned, exclusive);
	return 0;
}

/*
 * Construct a branch device:
 *
 *   vela <pool dev> <branch id> [<external origin dev>]
 *
 * The branch must exist and be at least as long as the table.  A read-only
 * (golden) branch can be activated, but writes to it fail.  A branch of a
 * volume created over an external origin (create_origin_volume) must name
 * that origin, and only it: its size and sampled blocks must match what
 * was recorded.  The origin is only ever read.
 */
static int branch_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct vela_branch_info rec;
	struct branch_c *bc;
	u64 id;
	int r;

	if (argc < 2 || argc > 3) {
		ti->error = "Invalid argument count: expected <pool dev> <branch id> [<external origin dev>]";
		return -EINVAL;
	}
	if (kstrtou64(argv[1], 10, &id)) {
		ti->error = "Invalid branch id: not a number";
		return -EINVAL;
	}
	bc = kzalloc(sizeof(*bc), GFP_KERNEL);
	if (!bc) {
		ti->error = "Out of memory";
		return -ENOMEM;
	}
	bc->ti = ti;
	bc->id = id;
	r = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table), &bc->pool_dev);
	if (r) {
		ti->error = "Error opening pool device";
		goto out_free;
	}
	bc->pool = vela_pool_get_by_dev(bc->pool_dev);
	if (!bc->pool) {
		ti->error = "The pool device is not an active vela-pool";
		r = -EINVAL;
		goto out_dev;
	}
	r = get_pool_devices(ti, bc);
	if (r)
		goto out_pool;
	/*
	 * The origin is read without admin_lock: it may be a device that
	 * waits for a resume, and a resume waits for admin_lock.  Its
	 * identity in the record never changes.
	 */
	r = read_branch(ti, bc, &rec);
	if (!r)
		r = vela_open_origin(ti, bc, &rec, argc == 3 ? argv[2] : NULL);
	if (r)
		goto out_devices;
	/*
	 * Blocks past what the largest bitmap array covers (2^57 sectors
	 * with 4 KiB blocks and pages) always take the slow path.
	 */
	bc->nr_excl_chunks = min_t(u64, MAX_EXCL_CHUNKS,
				   DIV_ROUND_UP_ULL(DIV_ROUND_UP_ULL(ti->len,
								     bc->pool->block_sectors),
						    EXCL_BITS_PER_CHUNK));
	bc->excl = kvcalloc(bc->nr_excl_chunks, sizeof(*bc->excl), GFP_KERNEL);
	if (!bc->excl) {
		ti->error = "Out of memory";
		r = -ENOMEM;
		goto out_origin;
	}
	r = dm_set_target_max_io_len(ti, bc->pool->block_sectors);
	if (r)
		goto out_excl;
	/*
	 * Under admin_lock from the branch's check to its listing, so that
	 * no message (delete, protect, branch, merge) falls in between and
	 * misses this device.
	 */
	mutex_lock(&bc->pool->admin_lock);
	r = check_branch(ti, bc);
	if (r)
		goto out_unlock;
	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	ti->num_discard_bios = 1;
	ti->discards_supported = true;
	ti->per_io_data_size = sizeof(struct vela_io);
	ti->private = bc;

	mutex_lock(&bc->pool->devs_lock);
	list_add(&bc->list, &bc->pool->branch_devs);
	mutex_unlock(&bc->pool->devs_lock);
	mutex_unlock(&bc->pool->admin_lock);
	return 0;

out_unlock:
	mutex_unlock(&bc->pool->admin_lock);
out_excl:
	kvfree(bc->excl);
out_origin:
	if (bc->origin_dev)
		dm_put_device(ti, bc->origin_dev);
out_devices:
	vela_pool_put(bc->pool);
	put_pool_devices(ti, bc);
	goto out_dev;
out_pool:
	vela_pool_put(bc->pool);
out_dev:
	dm_put_device(ti, bc->pool_dev);
out_free:
	kfree(bc);
	return r;
}

static void branch_dtr(struct dm_target *ti)
{
	struct branch_c *bc = ti->private;
	unsigned long i;

	mutex_lock(&bc->pool->devs_lock);
	list_del(&bc->list);
	mutex_unlock(&bc->pool->devs_lock);
	for (i = 0; i < bc->nr_excl_chunks; i++)
		free_page((unsigned long)bc->excl[i]);
	kvfree(bc->excl);
	if (bc->origin_dev)
		dm_put_device(ti, bc->origin_dev);
	/* The last put may commit: the devices are released after it. */
	vela_pool_put(bc->pool);
	put_pool_devices(ti, bc);
	dm_put_device(ti, bc->pool_dev);
	kfree(bc);
}

/*
 * Writes of this device waiting for data space cannot wait through a
 * suspend: a noflush suspend (a reload) hands them back to dm, to be sent
 * again after the resume; any other fails them (ENOSPC), as the timeout
 * would, instead of holding the suspend up for no_space_timeout_secs.
 * Writes still on their way to vela_no_data_space() meet suspend_status there.
 */
static void branch_presuspend(struct dm_target *ti)
{
	struct branch_c *bc = ti->private;
	struct vela_pool *pool = bc->pool;
	blk_status_t status = dm_noflush_suspending(ti) ? BLK_STS_DM_REQUEUE : BLK_STS_NOSPC;
	struct bio_list held, mine;
	struct vela_io *io;
	struct bio *bio;

	bio_list_init(&mine);
	spin_lock_irq(&pool->lock);
	bc->suspend_status = status;
	held = pool->no_space_bios;
	bio_list_init(&pool->no_space_bios);
	while ((bio = bio_list_pop(&held))) {
		io = dm_per_bio_data(bio, sizeof(*io));
		bio_list_add(io->bc == bc ? &mine : &pool->no_space_bios, bio);
	}
	spin_unlock_irq(&pool->lock);
	vela_fail_bios(&mine, status);
}

/* Deactivating a branch makes everything written to it durable. */
static void branch_postsuspend(struct dm_target *ti)
{
	struct branch_c *bc = ti->private;

	mutex_lock(&bc->pool->admin_lock);
	bc->live = false;
	mutex_unlock(&bc->pool->admin_lock);
	if (vela_pool_commit_retrying(bc->pool, 10) == -ENOMEM)
		DMERR("%s: no memory for the metadata commit: the branch's last writes are not durable yet",
		      dm_device_name(dm_table_get_md(ti->table)));
}

/*
 * A resume waits for the admin message in progress: a merge, which
 * requires its parent's devices suspended, holds admin_lock throughout.
 */
static int branch_preresume(struct dm_target *ti)
{
	struct branch_c *bc = ti->private;

	spin_lock_irq(&bc->pool->lock);
	bc->suspend_status = 0;
	spin_unlock_irq(&bc->pool->lock);
	mutex_lock(&bc->pool->admin_lock);
	bc->live = true;
	mutex_unlock(&bc->pool->admin_lock);
	return 0;
}

/*
 * Status line (docs/dm-vela.rst):
 *
 *   <mapped blocks> <exclusive blocks> <shared blocks> <parent id>|- rw|ro
 *
 * The exclusive count walks the parts of the branch's tree it does not
 * share, once per pool change (then it is cached).
 */
static void branch_status(struct dm_target *ti, status_type_t type, unsigned int status_flags,
			  char *result, unsigned int maxlen)
{
	struct branch_c *bc = ti->private;
	struct vela_branch_info rec;
	struct vela_md_usage usage;
	unsigned int sz = 0, noio;
	int r;

	switch (type) {
	case STATUSTYPE_INFO:
		r = vela_md_get_branch(bc->pool->md, bc->id, &rec);
		if (!r) {
			noio = memalloc_noio_save();
			r = vela_md_committed_usage(bc->pool->md, bc->id, &usage);
			memalloc_noio_restore(noio);
		}
		if (r) {
			DMEMIT("Error");
			break;
		}
		DMEMIT("%llu %llu %llu ", rec.mapped_blocks, usage.exclusive,
		       usage.shared);
		if (rec.parent_id == VELA_NO_PARENT)
			DMEMIT("-");
		else
			DMEMIT("%llu", rec.parent_id);
		DMEMIT(" %s %llu", rec.flags & VELA_BRANCH_READ_ONLY ? "ro" : "rw",
		       usage.generation);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %llu", bc->pool_dev->name, bc->id);
		if (bc->origin_dev)
			DMEMIT(" %s", bc->origin_dev->name);
		break;
	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

static int branch_iterate_devices(struct dm_target *ti, iterate_devices_callout_fn fn,
				  void *data)
{
	struct branch_c *bc = ti->private;
	sector_t len = bdev_nr_sectors(bc->pool_dev->bdev);

	/* A branch may be larger than the pool: it is thin. */
	return fn(ti, bc->pool_dev, 0, min_t(sector_t, ti->len, len), data);
}

static void branch_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct branch_c *bc = ti->private;
	unsigned int bytes = bc->pool->block_sectors << SECTOR_SHIFT;

	limits->discard_granularity = bytes;
	limits->max_hw_discard_sectors = UINT_MAX >> SECTOR_SHIFT;
	limits->max_discard_sectors = UINT_MAX >> SECTOR_SHIFT;
	limits->io_opt = bytes;
}

struct target_type vela_branch_target = {
	.name = "vela",
	.version = {VELA_TARGET_MAJOR, VELA_TARGET_MINOR, VELA_TARGET_PATCH},
	.module = THIS_MODULE,
	.ctr = branch_ctr,
	.dtr = branch_dtr,
	.map = vela_branch_map,
	.end_io = vela_branch_end_io,
	.presuspend = branch_presuspend,
	.postsuspend = branch_postsuspend,
	.preresume = branch_preresume,
	.status = branch_status,
	.iterate_devices = branch_iterate_devices,
	.io_hints = branch_io_hints,
};
