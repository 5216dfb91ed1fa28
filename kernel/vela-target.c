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
 * This is the first slice of the target.  The constructors validate their
 * whole table line, report any problem through ti->error (which dm core
 * prints in the kernel log with the device name), and then refuse to build
 * a device, because the exception store that would serve I/O does not exist
 * yet.  Refusing is deliberate: a target that accepted a table line and
 * then failed or faked I/O would be worse than one that says no.  Since no
 * instance can be constructed, the targets have no map or dtr function yet.
 *
 * The table lines are documented in docs/dm-vela.rst; the comments above
 * each constructor must match that document.
 */

#include <linux/device-mapper.h>
#include <linux/kernel.h>
#include <linux/module.h>

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
 * Every argument is checked before a device is opened.  A well-formed line
 * is refused with -EOPNOTSUPP until the exception store exists.
 */
static int pool_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct vela_pool_features pf;
	struct dm_dev *metadata_dev, *data_dev;
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

	ti->error = "Pool metadata is not implemented in this version of dm-vela";
	r = -EOPNOTSUPP;

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

static struct target_type pool_target = {
	.name = "vela-pool",
	.version = {0, 1, 0},
	.module = THIS_MODULE,
	.ctr = pool_ctr,
};

static struct target_type branch_target = {
	.name = "vela",
	.version = {0, 1, 0},
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
