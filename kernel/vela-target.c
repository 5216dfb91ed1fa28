// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vela: copy-on-write branching block devices for device-mapper.
 *
 * Two targets live in this file:
 *
 *   vela-pool  binds a metadata device and a data device into a pool.
 *              Every volume and branch of the pool shares its data blocks.
 *   vela       one branch device: a branch id inside a pool.
 *
 * This slice of the target: the pool opens the exception store (kernel/
 * vela-meta.c) on its metadata device, reports it in its status line and
 * takes the admin messages that create, rename, protect, resize, limit and
 * delete volumes and branches.  Each admin message carries the pool's change id as a compare-and-
 * swap and is committed before it returns, so a tool sees either the whole
 * change or none of it.  The pool device itself carries no data: I/O to it
 * fails.  Branch devices (the data path) are the next slice; their
 * constructor validates its table line and refuses, rather than pretend
 * to serve I/O.
 *
 * Several tables can use one metadata device at a time (a reload builds
 * the new table while the old one is live), so the open exception store
 * lives in a struct vela_pool shared by every table instance on that
 * device, found by its block device and reference counted, as dm-thin's
 * pool is.
 *
 * The table lines, status lines and messages are documented in
 * docs/dm-vela.rst; the comments above each function must match it.
 */

#include <linux/device-mapper.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>

#include "vela-meta.h"

#define DM_MSG_PREFIX "vela"

/* Data block sizes, in 512-byte sectors: 4 KiB to 1 MiB, powers of two. */
#define VELA_MIN_BLOCK_SECTORS	(4096 >> SECTOR_SHIFT)
#define VELA_MAX_BLOCK_SECTORS	((1024 * 1024) >> SECTOR_SHIFT)

struct vela_pool_features {
	bool read_only;
	bool error_if_no_space;
	bool discard_passdown;
};

/*
 * Parse the optional feature group of the pool table line.  The caller has
 * already consumed the fixed arguments; @as holds what is left.
 */
static int parse_pool_features(struct dm_arg_set *as,
			       struct vela_pool_features *pf,
			       struct dm_target *ti)
{
	static const struct dm_arg feature_count = {
		0, 3, "Invalid number of pool feature arguments"
	};
	unsigned int argc;
	const char *arg;
	int r;

	pf->read_only = false;
	pf->error_if_no_space = false;
	pf->discard_passdown = true;

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

/* The open exception store, shared by every table on one metadata device. */
struct vela_pool {
	struct list_head list;
	struct block_device *metadata_bdev;
	struct block_device *data_bdev;
	unsigned int block_sectors;
	unsigned int refs;		/* table instances; under pools_lock */
	struct vela_md *md;
	struct mutex admin_lock;	/* one admin message at a time */
};

/* One table instance of the pool target. */
struct pool_c {
	struct dm_dev *metadata_dev;
	struct dm_dev *data_dev;
	unsigned int block_sectors;
	struct vela_pool_features features;
	struct vela_pool *pool;
};

static LIST_HEAD(pools);
static DEFINE_MUTEX(pools_lock);

static struct vela_pool *__pool_find(struct block_device *metadata_bdev)
{
	struct vela_pool *pool;

	lockdep_assert_held(&pools_lock);
	list_for_each_entry(pool, &pools, list)
		if (pool->metadata_bdev == metadata_bdev)
			return pool;
	return NULL;
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

/* Open the exception store, or share the one another table opened. */
static int __pool_create(struct dm_target *ti, struct pool_c *pc, struct vela_pool **result)
{
	bool read_only = pc->features.read_only ||
			 !(dm_table_get_mode(ti->table) & FMODE_WRITE);
	struct vela_md_info info;
	struct vela_pool *pool;
	int r;

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
		r = 0;
	if (r) {
		vela_md_close(pool->md);
		kfree(pool);
		return r;
	}
	pool->metadata_bdev = pc->metadata_dev->bdev;
	pool->data_bdev = pc->data_dev->bdev;
	pool->block_sectors = pc->block_sectors;
	mutex_init(&pool->admin_lock);
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

static void pool_put(struct vela_pool *pool)
{
	mutex_lock(&pools_lock);
	if (!--pool->refs) {
		list_del(&pool->list);
		/* Admin messages commit before they return: nothing is pending. */
		vela_md_close(pool->md);
		mutex_destroy(&pool->admin_lock);
		kfree(pool);
	}
	mutex_unlock(&pools_lock);
}

static int parse_block_size(const char *arg, unsigned int *sectors,
			    struct dm_target *ti)
{
	unsigned int v;

	if (kstrtouint(arg, 10, &v)) {
		ti->error = "Invalid data block size: not a number of sectors";
		return -EINVAL;
	}
	if (!is_power_of_2(v)) {
		ti->error = "Invalid data block size: not a power of two";
		return -EINVAL;
	}
	if (v < VELA_MIN_BLOCK_SECTORS || v > VELA_MAX_BLOCK_SECTORS) {
		ti->error = "Invalid data block size: outside 8..2048 sectors (4 KiB..1 MiB)";
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

/*
 * Construct a branch device:
 *
 *   vela <pool dev> <branch id> [<external origin dev>]
 *
 * Refused with -EOPNOTSUPP until pools can be built.
 */
static int branch_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_dev *pool_dev;
	u64 branch_id;
	int r;

	if (argc < 2 || argc > 3) {
		ti->error = "Invalid argument count: expected <pool dev> <branch id> [<external origin dev>]";
		return -EINVAL;
	}
	if (kstrtou64(argv[1], 10, &branch_id)) {
		ti->error = "Invalid branch id: not a number";
		return -EINVAL;
	}

	r = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table), &pool_dev);
	if (r) {
		ti->error = "Error opening pool device";
		return r;
	}

	ti->error = "Branch devices are not implemented in this version of dm-vela";
	r = -EOPNOTSUPP;

	dm_put_device(ti, pool_dev);
	return r;
}

static void pool_dtr(struct dm_target *ti)
{
	struct pool_c *pc = ti->private;

	pool_put(pc->pool);
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
 *   <used data>/<total data> <branches> <pending deletes> rw|ro
 *   needs_check|-
 *
 * Every field is O(1): nothing here walks the metadata.  Fields are only
 * ever appended, never reordered.
 */
static void pool_status(struct dm_target *ti, status_type_t type, unsigned int status_flags,
			char *result, unsigned int maxlen)
{
	struct pool_c *pc = ti->private;
	struct vela_md_info info;
	unsigned int sz = 0, nr_features;

	switch (type) {
	case STATUSTYPE_INFO:
		vela_md_info(pc->pool->md, &info);
		DMEMIT("%llu %llu %llu/%llu %llu/%llu %llu %llu %s %s",
		       info.generation, info.change_id,
		       info.metadata_nr_blocks - info.metadata_nr_free, info.metadata_nr_blocks,
		       info.data_nr_blocks - info.data_nr_free, info.data_nr_blocks,
		       info.nr_branches, info.pending_deletes,
		       info.read_only ? "ro" : "rw",
		       info.flags & VELA_SB_FLAG_NEEDS_CHECK ? "needs_check" : "-");
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %s %u", pc->metadata_dev->name, pc->data_dev->name, pc->block_sectors);
		nr_features = pc->features.read_only + pc->features.error_if_no_space +
			      !pc->features.discard_passdown;
		if (nr_features)
			DMEMIT(" %u", nr_features);
		if (pc->features.read_only)
			DMEMIT(" read_only");
		if (pc->features.error_if_no_space)
			DMEMIT(" error_if_no_space");
		if (!pc->features.discard_passdown)
			DMEMIT(" no_discard_passdown");
		break;
	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

static int pool_iterate_devices(struct dm_target *ti, iterate_devices_callout_fn fn, void *data)
{
	struct pool_c *pc = ti->private;

	return fn(ti, pc->data_dev, 0, ti->len, data);
}

/* --- messages -------------------------------------------------------- */

static int parse_id(const char *arg, u64 *v)
{
	return kstrtou64(arg, 10, v) ? -EINVAL : 0;
}

/* create_volume <change id> <name> <size in sectors>: replies the new id. */
static int msg_create_volume(struct vela_pool *pool, char **argv, u64 *reply,
			     const char **why)
{
	u64 size;

	if (parse_id(argv[3], &size) || !size) {
		*why = "the size must be a positive number of sectors";
		return -EINVAL;
	}
	return vela_md_create_volume(pool->md, argv[2], size, 0, ktime_get_real_seconds(),
				     reply);
}

/* create_branch <change id> <parent id> <name>: replies the new id. */
static int msg_create_branch(struct vela_pool *pool, char **argv, u64 *reply,
			     const char **why)
{
	u64 parent;

	if (parse_id(argv[2], &parent)) {
		*why = "the parent id is not a number";
		return -EINVAL;
	}
	return vela_md_create_branch(pool->md, parent, argv[3], 0, ktime_get_real_seconds(),
				     reply);
}

/* delete <change id> <id> */
static int msg_delete(struct vela_pool *pool, char **argv, u64 *reply, const char **why)
{
	u64 id;
	int r;

	if (parse_id(argv[2], &id)) {
		*why = "the branch id is not a number";
		return -EINVAL;
	}
	r = vela_md_delete_branch(pool->md, id);
	return r == -ENOTEMPTY ? -EBUSY : r;
}

/* rename <change id> <id> <new name> */
static int msg_rename(struct vela_pool *pool, char **argv, u64 *reply, const char **why)
{
	u64 id;

	if (parse_id(argv[2], &id)) {
		*why = "the branch id is not a number";
		return -EINVAL;
	}
	return vela_md_rename_branch(pool->md, id, argv[3]);
}

/* set_read_only <change id> <id>, set_writable <change id> <id> */
static int set_read_only(struct vela_pool *pool, char **argv, bool read_only,
			 const char **why)
{
	u64 id;

	if (parse_id(argv[2], &id)) {
		*why = "the branch id is not a number";
		return -EINVAL;
	}
	return vela_md_set_branch_flags(pool->md, id, read_only ? VELA_BRANCH_READ_ONLY : 0,
					read_only ? 0 : VELA_BRANCH_READ_ONLY);
}

static int msg_set_read_only(struct vela_pool *pool, char **argv, u64 *reply,
			     const char **why)
{
	return set_read_only(pool, argv, true, why);
}

static int msg_set_writable(struct vela_pool *pool, char **argv, u64 *reply,
			    const char **why)
{
	return set_read_only(pool, argv, false, why);
}

/* resize <change id> <id> <size in sectors>: growth only */
static int msg_resize(struct vela_pool *pool, char **argv, u64 *reply, const char **why)
{
	u64 id, size;
	int r;

	if (parse_id(argv[2], &id) || parse_id(argv[3], &size)) {
		*why = "the branch id and the size must be numbers";
		return -EINVAL;
	}
	r = vela_md_resize_branch(pool->md, id, size);
	if (r == -EINVAL)
		*why = "shrinking a branch is not supported";
	return r;
}

/* set_limit <change id> <id> <data blocks>: 0 removes the limit */
static int msg_set_limit(struct vela_pool *pool, char **argv, u64 *reply, const char **why)
{
	u64 id, limit;

	if (parse_id(argv[2], &id) || parse_id(argv[3], &limit)) {
		*why = "the branch id and the limit must be numbers";
		return -EINVAL;
	}
	return vela_md_set_branch_limit(pool->md, id, limit);
}

struct pool_message {
	const char *verb;
	unsigned int argc;	/* the verb included */
	bool replies;
	int (*handle)(struct vela_pool *pool, char **argv, u64 *reply, const char **why);
};

static const struct pool_message pool_messages[] = {
	{ "create_volume", 4, true, msg_create_volume },
	{ "create_branch", 4, true, msg_create_branch },
	{ "delete", 3, false, msg_delete },
	{ "rename", 4, false, msg_rename },
	{ "set_read_only", 3, false, msg_set_read_only },
	{ "set_writable", 3, false, msg_set_writable },
	{ "resize", 4, false, msg_resize },
	{ "set_limit", 4, false, msg_set_limit },
};

static const char *errno_reason(int r)
{
	switch (r) {
	case -EEXIST:
		return "a branch with this name exists";
	case -ENOENT:
		return "no such branch";
	case -EBUSY:
		return "the branch has children";
	case -EINVAL:
		return "invalid name: 1 to 127 of A-Z a-z 0-9 . _ + - (not starting with -)";
	case -ENOSPC:
		return "the metadata device is full";
	default:
		return "metadata error";
	}
}

/*
 * Admin messages, each "<verb> <change id> <arguments>".  The change id must
 * equal the pool's (the second field of the status line), or the message
 * fails with -ESTALE and changes nothing.  A message that succeeds is
 * committed before it returns; one that fails leaves the pool as it was.
 * Replies are one number, so they never overflow the ioctl buffer and the
 * message is never re-issued by libdevmapper.
 */
static int pool_message(struct dm_target *ti, unsigned int argc, char **argv, char *result,
			unsigned int maxlen)
{
	const char *dev = dm_device_name(dm_table_get_md(ti->table));
	struct vela_pool *pool = ((struct pool_c *)ti->private)->pool;
	const struct pool_message *m = NULL;
	const char *why = NULL;
	struct vela_md_info info;
	u64 change_id, reply = 0;
	unsigned int i;
	int r;

	for (i = 0; argc && i < ARRAY_SIZE(pool_messages); i++)
		if (!strcasecmp(argv[0], pool_messages[i].verb))
			m = &pool_messages[i];
	if (!m) {
		DMERR("%s: unknown message '%s'", dev, argc ? argv[0] : "");
		return -EINVAL;
	}
	if (argc != m->argc) {
		DMERR("%s: message %s takes %u arguments", dev, m->verb, m->argc - 1);
		return -EINVAL;
	}
	if (parse_id(argv[1], &change_id)) {
		DMERR("%s: message %s: the change id is not a number", dev, m->verb);
		return -EINVAL;
	}
	mutex_lock(&pool->admin_lock);
	vela_md_info(pool->md, &info);
	if (info.read_only) {
		r = -EROFS;
		why = "the pool is read-only";
	} else if (change_id != info.change_id) {
		r = -ESTALE;
		why = "stale change id: read the pool status and retry";
	} else {
		r = m->handle(pool, argv, &reply, &why);
		if (!r) {
			r = vela_md_commit(pool->md);
			if (r)
				why = "the metadata commit failed";
		}
		if (r)
			vela_md_abort(pool->md);
	}
	mutex_unlock(&pool->admin_lock);

	if (r) {
		DMERR("%s: message %s: %s (%d)", dev, m->verb, why ? why : errno_reason(r), r);
		return r;
	}
	if (!m->replies)
		return 0;
	snprintf(result, maxlen, "%llu", reply);
	return 1;
}

static struct target_type pool_target = {
	.name = "vela-pool",
	.version = {0, 3, 0},
	.module = THIS_MODULE,
	.ctr = pool_ctr,
	.dtr = pool_dtr,
	.map = pool_map,
	.status = pool_status,
	.message = pool_message,
	.iterate_devices = pool_iterate_devices,
};

static struct target_type branch_target = {
	.name = "vela",
	.version = {0, 3, 0},
	.module = THIS_MODULE,
	.ctr = branch_ctr,
};

static int __init dm_vela_init(void)
{
	int r;

	r = dm_register_target(&pool_target);
	if (r)
		return r;

	r = dm_register_target(&branch_target);
	if (r)
		goto out_pool;

	return 0;

out_pool:
	dm_unregister_target(&pool_target);
	return r;
}

static void __exit dm_vela_exit(void)
{
	dm_unregister_target(&branch_target);
	dm_unregister_target(&pool_target);
}

module_init(dm_vela_init);
module_exit(dm_vela_exit);

MODULE_DESCRIPTION(DM_NAME " copy-on-write branching target");
MODULE_AUTHOR("dm-vela developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(VELA_PACKAGE_VERSION);
