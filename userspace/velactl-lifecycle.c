// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-lifecycle.c: a whole pool's identity and end: rename-pool,
 * import-clone and remove-pool.
 *
 * A pool is its superblock's name and UUID plus the data label that names
 * the same UUID.  All three commands work on an inactive pool, whose
 * devices nothing else has open, and change the superblock in one commit
 * (vela_md_set_identity()), so a crash leaves the old identity or the new.
 * import-clone also rewrites the data label, after the superblock: a crash
 * between the two leaves a pool whose label names the old UUID, which
 * import-clone --force, run again, finishes.  remove-pool erases the data
 * label first and the superblock last, so a crash between leaves a pool
 * that scan still finds, by its superblock, for remove-pool to finish.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vela-format.h"
#include "vela-meta.h"
#include "bufio-user.h"
#include "velactl.h"

/*
 * An inactive pool's devices: nothing may have them open, and nothing may
 * claim them while we write (an activation in between would have its
 * superblock changed underneath).  An exclusive open of a block device,
 * kept until velactl exits, is both the test and the claim.
 */
static int claim_device(const char *what, const char *path)
{
	struct stat st;
	int fd;

	if (stat(path, &st))
		return fail(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_FAILURE, "%s device %s: %s",
			    what, path, strerror(errno));
	if (!S_ISBLK(st.st_mode))
		return 0;	/* an image file: nothing activates it behind our back */
	fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0 && errno == EBUSY)
		return fail(EXIT_BUSY, "%s device %s is in use (mounted, or held by another device): release it first",
			    what, path);
	if (fd < 0)
		return fail(EXIT_FAILURE, "%s device %s: %s", what, path, strerror(errno));
	return 0;	/* the descriptor stays open: the claim lasts until exit */
}

/* The pool on @path, opened read-only, as vela_md_info() sees it: 0 or -errno. */
static int read_pool_info(const char *path, struct vela_md_info *info)
{
	struct block_device *bdev = open_dev(path, true);
	struct vela_md *md;
	int r;

	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	md = vela_md_open(bdev, true);
	r = IS_ERR(md) ? PTR_ERR(md) : vela_md_info(md, info);
	if (!IS_ERR(md))
		vela_md_close(md);
	vela_bdev_close(bdev);
	return r;
}

/* Set the name and/or UUID in the superblock on @meta_path: 0 or EXIT_* (printed). */
static int set_identity(const char *meta_path, const char *name, const u8 *uuid)
{
	struct block_device *bdev = open_dev(meta_path, false);
	struct vela_md *md;
	int r;

	if (IS_ERR(bdev))
		return EXIT_FAILURE;
	md = vela_md_open(bdev, false);
	r = IS_ERR(md) ? PTR_ERR(md) : vela_md_set_identity(md, name, uuid);
	if (!IS_ERR(md))
		vela_md_close(md);
	vela_bdev_close(bdev);
	if (r)
		return fail(EXIT_FAILURE, "%s: cannot write the new identity: %s; the superblock holds the old one or the new ('velactl scan' shows which)",
			    meta_path, strerror(-r));
	return 0;
}

/* Take pool name @name's lock: 0 or EXIT_* (printed). */
static int lock_name(const char *command, const char *name)
{
	struct pool other = { .lock_fd = -1 };

	if (!valid_pool_name(name)) {
		usage_error("%s: invalid pool name '%s'\n%s", command, name, name_rules_help);
		return EXIT_USAGE;
	}
	snprintf(other.name, sizeof(other.name), "%s", name);
	return lock_pool(&other);
}

/*
 * With @name's lock held, make sure no pool has it but the one on
 * @own_meta (an import-clone a crash cut short, taken only with @force):
 * 0 or EXIT_* (printed).
 */
static int name_is_free(const char *command, const char *name, const char *own_meta, bool force)
{
	struct pool other;
	int r = lookup_pool(name, &other);

	if (r == -ENOENT)
		return 0;
	if (r)
		return EXIT_FAILURE;
	if (own_meta && same_file(other.meta_path, own_meta)) {
		if (force)
			return 0;
		return fail(EXIT_EXISTS, "%s: %s already carries the name '%s': an import-clone cut short? add --force to finish it",
			    command, own_meta, name);
	}
	return fail(EXIT_EXISTS, "%s: a pool named '%s' exists (metadata on %s): pick another name",
		    command, name, other.meta_path);
}

/* Pool @name (its lock held), inactive, its devices claimed: 0 or EXIT_* (printed). */
static int find_inactive_pool(const char *command, const char *name, struct pool *p)
{
	int r = find_pool(name, p);

	if (r)
		return r;
	if (p->active)
		return fail(EXIT_BUSY, "%s %s: the pool is active: run 'velactl deactivate %s' first",
			    command, name, name);
	r = claim_device("metadata", p->meta_path);
	if (!r && p->data_path[0])
		r = claim_device("data", p->data_path);
	return r;
}

int cmd_rename_pool(int argc, char **argv)
{
	const char *from, *to;
	struct pool p;
	int r;

	if (no_options(argc, argv, "rename-pool"))
		return EXIT_USAGE;
	if (argc - optind != 2) {
		usage_error("rename-pool: want POOL NEW-NAME");
		return EXIT_USAGE;
	}
	from = argv[optind];
	to = argv[optind + 1];
	/* Both locks, in name order: "rename-pool a b" beside "rename-pool b a" cannot deadlock. */
	r = check_kernel();
	if (!r)
		r = lock_name("rename-pool", strcmp(from, to) < 0 ? from : to);
	if (!r && strcmp(from, to))
		r = lock_name("rename-pool", strcmp(from, to) < 0 ? to : from);
	if (!r)
		r = find_inactive_pool("rename-pool", from, &p);
	if (!r)
		r = name_is_free("rename-pool", to, NULL, false);
	if (!r)
		r = set_identity(p.meta_path, to, NULL);
	if (!r)
		printf("pool %s renamed to %s\n", from, to);
	return r;
}

/* The data label on @path: 0 with its pool UUID in @uuid, or -errno. */
static int read_data_label(const char *path, u8 *uuid)
{
	struct block_device *bdev = vela_bdev_open_file(path, true);
	struct vela_data_label label;
	int r;

	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	r = vela_bdev_read(bdev, 0, &label, sizeof(label));
	vela_bdev_close(bdev);
	if (r)
		return r;
	if (le64_to_cpu(label.magic) != VELA_DATA_LABEL_MAGIC ||
	    le32_to_cpu(label.csum) != vela_block_csum(&label, sizeof(label)))
		return -EILSEQ;
	memcpy(uuid, label.pool_uuid, sizeof(label.pool_uuid));
	return 0;
}

int cmd_import_clone(int argc, char **argv)
{
	static const struct option options[] = {
		{ "metadata", required_argument, NULL, 'm' },
		{ "data", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	const char *meta = NULL, *data = NULL, *name;
	struct vela_md_info info;
	u8 uuid[16], label_uuid[16];
	bool force = false;
	int opt, r;

	optind = 0;
	while ((opt = next_option(argc, argv, "m:d:f", options, "import-clone")) != -1) {
		if (opt == 'm')
			meta = optarg;
		else if (opt == 'd')
			data = optarg;
		else if (opt == 'f')
			force = true;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 1 || !meta || !data) {
		usage_error("import-clone: want NEW-NAME --metadata DEV --data DEV");
		return EXIT_USAGE;
	}
	name = argv[optind];
	if (same_file(meta, data)) {
		usage_error("import-clone: --metadata and --data name the same device");
		return EXIT_USAGE;
	}
	r = check_kernel();
	if (!r)
		r = lock_name("import-clone", name);
	if (!r)
		r = name_is_free("import-clone", name, meta, force);
	if (!r)
		r = claim_device("metadata", meta);
	if (!r)
		r = claim_device("data", data);
	if (r)
		return r;
	r = read_pool_info(meta, &info);
	if (r)
		return fail(EXIT_FAILURE, "import-clone: %s holds no pool metadata velactl can open: %s",
			    meta, strerror(-r));
	r = read_data_label(data, label_uuid);
	if (r)
		return fail(EXIT_FAILURE, "import-clone: %s holds no dm-vela data label: %s", data,
			    strerror(-r));
	/* A mismatch is another pool's data device, or an import a crash cut short. */
	if (memcmp(label_uuid, info.uuid, sizeof(label_uuid)) && !force)
		return fail(EXIT_FAILURE, "import-clone: the data label on %s names another pool than the metadata on %s: give the devices of one pool (--force if an import-clone of these very devices was cut short)",
			    data, meta);
	if (getrandom(uuid, sizeof(uuid), 0) != sizeof(uuid))
		return fail(EXIT_FAILURE, "import-clone: no random bytes for a UUID");
	r = set_identity(meta, name, uuid);
	if (r)
		return r;
	test_stop_point("identity-set");
	r = write_data_label_at(data, uuid, info.data_block_sectors);
	if (r)
		return fail(EXIT_FAILURE, "import-clone: the metadata on %s is now pool '%s', but writing the data label on %s failed: %s; fix the device and run the same import-clone with --force",
			    meta, name, data, strerror(-r));
	printf("pool %s: imported from %s (was '%s') and %s, with a new UUID: 'velactl activate %s'\n",
	       name, meta, info.pool_name, data, name);
	return 0;
}

/* Zero @len bytes at offset 0 of @path: 0 or -errno. */
static int erase_start(const char *path, size_t len)
{
	struct block_device *bdev = vela_bdev_open_file(path, false);
	u8 zero[VELA_BLOCK_SIZE] = { 0 };
	int r;

	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	r = vela_bdev_write(bdev, 0, zero, len);
	if (!r)
		r = vela_bdev_flush(bdev);
	vela_bdev_close(bdev);
	return r;
}

int cmd_remove_pool(int argc, char **argv)
{
	static const struct option options[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "yes", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 }
	};
	char what[2 * PATH_MAX + 160];
	bool force = false, yes = false;
	struct vela_md_info info;
	struct pool p;
	int opt, r;

	optind = 0;
	while ((opt = next_option(argc, argv, "fy", options, "remove-pool")) != -1) {
		if (opt == 'f')
			force = true;
		else if (opt == 'y')
			yes = true;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 1) {
		usage_error("remove-pool: want POOL");
		return EXIT_USAGE;
	}
	r = check_kernel();
	if (!r)
		r = lock_name("remove-pool", argv[optind]);
	if (!r)
		r = find_inactive_pool("remove-pool", argv[optind], &p);
	if (r)
		return r;
	r = read_pool_info(p.meta_path, &info);
	if (r)
		return fail(EXIT_FAILURE, "remove-pool %s: cannot read its metadata: %s", p.name,
			    strerror(-r));
	if (info.nr_branches && !force)
		return fail(EXIT_BUSY, "remove-pool %s: it holds %llu volume%s and branch%s: delete them first, or add --force to destroy them with the pool",
			    p.name, (unsigned long long)info.nr_branches, info.nr_branches == 1 ? "" : "s",
			    info.nr_branches == 1 ? "" : "es");
	snprintf(what, sizeof(what), "remove pool %s (metadata %s, data %s), destroying its %llu volumes and branches",
		 p.name, p.meta_path, p.data_path[0] ? p.data_path : "missing",
		 (unsigned long long)info.nr_branches);
	r = confirm_destruction(yes, what);
	if (r)
		return r;
	/* The label first: until the superblock goes, scan still finds what is left. */
	r = p.data_path[0] ? erase_start(p.data_path, sizeof(struct vela_data_label)) : 0;
	if (!r)
		test_stop_point("data-label-erased");
	if (!r)
		r = erase_start(p.meta_path, VELA_BLOCK_SIZE);
	if (r)
		return fail(EXIT_FAILURE, "remove-pool %s: erasing its signatures failed: %s; run it again",
			    p.name, strerror(-r));
	if (p.data_path[0])
		printf("pool %s removed: %s and %s hold no dm-vela signature now\n", p.name,
		       p.meta_path, p.data_path);
	else
		printf("pool %s removed: %s holds no dm-vela signature now (no data device carried its label)\n",
		       p.name, p.meta_path);
	return 0;
}
