// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vela's KUnit suites.  `make kunit` (scripts/kunit) runs them in a UML
 * kernel built from Debian's linux-source-6.1 with brd ramdisks built in;
 * this file is linked into dm-vela when CONFIG_DM_VELA_KUNIT_TEST is set,
 * so the suites can call dm-vela's internal functions.
 *
 * vela_kunit guards the kernel APIs the block manager is built on: dm-bufio
 * over a real block device (a write that reaches the device and reads back
 * through a fresh client; dm_bufio_get() as a lookup that never does I/O)
 * and crc32c.
 *
 * Adding a suite (block manager, transaction manager, B-tree, space maps):
 * a case gets a zeroed ramdisk from vela_kunit_ramdisk() (a suite whose
 * cases all need one can call it from its .init and keep it in test->priv)
 * and opens dm-bufio clients on it with vela_kunit_bufio_create().  List the
 * suite in kunit_test_suites() at the end of this file.  The ramdisk and the
 * clients are test-managed: they are released when the case ends, even
 * after a failed assertion, clients first.  Release every dm_buffer before
 * an assertion can abort the case.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/blkdev.h>
#include <linux/crc32c.h>
#include <linux/dm-bufio.h>
#include <linux/major.h>
#include <linux/random.h>
#include <linux/string.h>

#include "vela-check.h"

#define VELA_KUNIT_BLOCK_SIZE	4096
#define VELA_KUNIT_BLOCK_SHIFT	12
#define VELA_KUNIT_DISK_MODE	(FMODE_READ | FMODE_WRITE | FMODE_EXCL)

/* brd's first ramdisk (/dev/ram0, opened by number: UML has no /dev). */
struct vela_kunit_disk {
	struct block_device *bdev;
	u64 nr_blocks;		/* whole 4 KiB blocks */
};

static void vela_kunit_disk_close(struct kunit_resource *res)
{
	struct vela_kunit_disk *disk = res->data;

	blkdev_put(disk->bdev, VELA_KUNIT_DISK_MODE);
}

/*
 * Open the ramdisk exclusively for the current case, which is skipped when
 * the kernel has no brd, and zero it: brd keeps its contents between cases.
 */
static struct vela_kunit_disk *vela_kunit_ramdisk(struct kunit *test)
{
	struct vela_kunit_disk *disk;
	struct block_device *bdev;
	int r;

	disk = kunit_kzalloc(test, sizeof(*disk), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, disk);

	bdev = blkdev_get_by_dev(MKDEV(RAMDISK_MAJOR, 0), VELA_KUNIT_DISK_MODE, disk);
	if (bdev == ERR_PTR(-ENXIO))
		kunit_skip(test, "no brd ramdisk: needs CONFIG_BLK_DEV_RAM=y");
	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, bdev, "cannot open the ramdisk");

	disk->bdev = bdev;
	disk->nr_blocks = bdev_nr_sectors(bdev) >> (VELA_KUNIT_BLOCK_SHIFT - SECTOR_SHIFT);
	if (!kunit_alloc_resource(test, NULL, vela_kunit_disk_close, GFP_KERNEL, disk)) {
		blkdev_put(bdev, VELA_KUNIT_DISK_MODE);
		KUNIT_ASSERT_FAILURE(test, "out of memory");
	}

	KUNIT_ASSERT_GE(test, disk->nr_blocks, 16);
	r = blkdev_issue_zeroout(bdev, 0, bdev_nr_sectors(bdev), GFP_KERNEL, 0);
	KUNIT_ASSERT_EQ_MSG(test, r, 0, "cannot zero the ramdisk");
	return disk;
}

static void vela_kunit_bufio_free(struct kunit_resource *res)
{
	dm_bufio_client_destroy(res->data);
}

static bool vela_kunit_resource_is(struct kunit *test, struct kunit_resource *res, void *data)
{
	return res->data == data;
}

/* A dm-bufio client of 4 KiB blocks over @disk, like the block manager's. */
static struct dm_bufio_client *vela_kunit_bufio_create(struct kunit *test,
						       struct vela_kunit_disk *disk)
{
	struct dm_bufio_client *c;

	c = dm_bufio_client_create(disk->bdev, VELA_KUNIT_BLOCK_SIZE, 1, 0, NULL, NULL, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, c);
	if (!kunit_alloc_resource(test, NULL, vela_kunit_bufio_free, GFP_KERNEL, c)) {
		dm_bufio_client_destroy(c);
		KUNIT_ASSERT_FAILURE(test, "out of memory");
	}
	return c;
}

/* Destroy a client before the end of the case: it writes its dirty blocks. */
static void vela_kunit_bufio_destroy(struct kunit *test, struct dm_bufio_client *c)
{
	KUNIT_EXPECT_EQ(test, kunit_destroy_resource(test, vela_kunit_resource_is, c), 0);
}

/* A pattern that differs per run (a seed) and per block. */
static void fill_pattern(void *data, u64 block, u32 seed)
{
	u32 *word = data;
	unsigned int i;

	for (i = 0; i < VELA_KUNIT_BLOCK_SIZE / sizeof(*word); i++)
		word[i] = seed ^ (u32)(block * 0x9e3779b9u) ^ (i * 0x01000193u);
}

/* Offset of the first byte of @data that breaks the pattern, or -1. */
static int pattern_mismatch(const void *data, u64 block, u32 seed)
{
	const u32 *word = data;
	unsigned int i;

	for (i = 0; i < VELA_KUNIT_BLOCK_SIZE / sizeof(*word); i++)
		if (word[i] != (seed ^ (u32)(block * 0x9e3779b9u) ^ (i * 0x01000193u)))
			return i * sizeof(*word);
	return -1;
}

/*
 * Expect block @b of @c not to be cached: dm_bufio_get() returns NULL and
 * does no I/O.  The block manager's non-blocking lookup relies on this.
 */
static void expect_uncached(struct kunit *test, struct dm_bufio_client *c, u64 b)
{
	struct dm_buffer *buf;
	void *data = dm_bufio_get(c, b, &buf);

	KUNIT_EXPECT_NULL_MSG(test, data, "block %llu is cached", b);
	if (data && !IS_ERR(data))
		dm_bufio_release(buf);
}

/*
 * A block written with dm_bufio_new() + mark dirty + write_dirty_buffers +
 * issue_flush is on the device: a fresh client reads it back.  The first
 * and last blocks of the device are written; one in between is not, and
 * reads back as zeroes.
 */
static void vela_kunit_bufio_write_read_back(struct kunit *test)
{
	struct vela_kunit_disk *disk = vela_kunit_ramdisk(test);
	u64 blocks[] = { 0, disk->nr_blocks - 1 };
	u64 untouched = disk->nr_blocks / 2;
	u32 seed = get_random_u32();
	struct dm_bufio_client *c;
	struct dm_buffer *buf;
	unsigned int i;
	void *data;
	int off;

	c = vela_kunit_bufio_create(test, disk);
	KUNIT_EXPECT_EQ(test, (u64)dm_bufio_get_device_size(c), disk->nr_blocks);
	for (i = 0; i < ARRAY_SIZE(blocks); i++) {
		data = dm_bufio_new(c, blocks[i], &buf);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, data);
		fill_pattern(data, blocks[i], seed);
		dm_bufio_mark_buffer_dirty(buf);
		dm_bufio_release(buf);
	}
	KUNIT_ASSERT_EQ(test, dm_bufio_write_dirty_buffers(c), 0);
	KUNIT_ASSERT_EQ(test, dm_bufio_issue_flush(c), 0);
	vela_kunit_bufio_destroy(test, c);

	c = vela_kunit_bufio_create(test, disk);
	for (i = 0; i < ARRAY_SIZE(blocks); i++) {
		expect_uncached(test, c, blocks[i]);
		data = dm_bufio_read(c, blocks[i], &buf);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, data);
		off = pattern_mismatch(data, blocks[i], seed);
		dm_bufio_release(buf);
		KUNIT_EXPECT_EQ_MSG(test, off, -1, "block %llu differs at byte %d",
				    blocks[i], off);
	}
	data = dm_bufio_read(c, untouched, &buf);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, data);
	KUNIT_EXPECT_NULL_MSG(test, memchr_inv(data, 0, VELA_KUNIT_BLOCK_SIZE),
			      "unwritten block %llu is not zero", untouched);
	dm_bufio_release(buf);
	vela_kunit_bufio_destroy(test, c);
}

/*
 * dm_bufio_get() finds only cached blocks: NULL before a read, the cached
 * data after it, NULL again once the block is forgotten.
 */
static void vela_kunit_bufio_get_uncached(struct kunit *test)
{
	struct dm_bufio_client *c = vela_kunit_bufio_create(test, vela_kunit_ramdisk(test));
	struct dm_buffer *buf;
	void *data, *got;

	expect_uncached(test, c, 3);

	data = dm_bufio_read(c, 3, &buf);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, data);
	dm_bufio_release(buf);

	got = dm_bufio_get(c, 3, &buf);
	KUNIT_EXPECT_PTR_EQ(test, got, data);
	if (got && !IS_ERR(got))
		dm_bufio_release(buf);
	expect_uncached(test, c, 4);

	dm_bufio_forget(c, 3);
	expect_uncached(test, c, 3);
}

/* crc32c() is the raw CRC: callers invert before and after. */
static u32 vela_kunit_crc32c(const void *data, unsigned int len)
{
	return ~crc32c(~0u, data, len);
}

/* The CRC-32C check value and the iSCSI vectors of RFC 3720, B.4. */
static void vela_kunit_crc32c_vectors(struct kunit *test)
{
	static const char check[] = "123456789";
	u8 buf[32];
	unsigned int i;

	KUNIT_EXPECT_EQ(test, vela_kunit_crc32c(check, 9), 0xe3069283u);

	memset(buf, 0, sizeof(buf));
	KUNIT_EXPECT_EQ(test, vela_kunit_crc32c(buf, sizeof(buf)), 0x8a9136aau);
	memset(buf, 0xff, sizeof(buf));
	KUNIT_EXPECT_EQ(test, vela_kunit_crc32c(buf, sizeof(buf)), 0x62a8ab43u);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = i;
	KUNIT_EXPECT_EQ(test, vela_kunit_crc32c(buf, sizeof(buf)), 0x46dd794eu);

	/* A CRC carried across pieces equals the CRC of the whole. */
	KUNIT_EXPECT_EQ(test, ~crc32c(crc32c(~0u, check, 4), check + 4, 5), 0xe3069283u);
}

/*
 * vela_md_kunit: the metadata layers (block manager over dm-bufio,
 * transactions, B-tree, space maps, branch table, checker) in kernel
 * context, on a ramdisk.
 */

struct md_env {
	struct vela_kunit_disk *disk;
	struct vela_md *md;
};

static void md_env_format(struct kunit *test, struct md_env *env)
{
	struct vela_md_format_params fp = {
		.pool_name = "kunit", .data_block_sectors = 128, .data_nr_blocks = 100000,
	};

	env->disk = vela_kunit_ramdisk(test);
	KUNIT_ASSERT_EQ(test, vela_md_format(env->disk->bdev, &fp), 0);
	env->md = vela_md_open(env->disk->bdev, false);
	KUNIT_ASSERT_FALSE(test, IS_ERR(env->md));
}

static void md_env_reopen(struct kunit *test, struct md_env *env)
{
	struct vela_check_report rep = { 0 };

	vela_md_close(env->md);
	env->md = NULL;
	KUNIT_ASSERT_EQ(test, vela_check(env->disk->bdev, &rep), 0);
	KUNIT_EXPECT_EQ(test, rep.nr_problems, 0ULL);
	env->md = vela_md_open(env->disk->bdev, false);
	KUNIT_ASSERT_FALSE(test, IS_ERR(env->md));
}

static u64 md_map_new(struct kunit *test, struct md_env *env, u64 id, u64 lblock)
{
	u64 pblock = 0;

	KUNIT_EXPECT_EQ(test, vela_md_alloc_data_block(env->md, &pblock), 0);
	KUNIT_EXPECT_EQ(test, vela_md_map(env->md, id, lblock, pblock), 0);
	return pblock;
}

/* Branch, diverge, commit, reopen through dm-bufio, look up, check. */
static void vela_md_kunit_branches_survive_reopen(struct kunit *test)
{
	u64 vol, br, i, pblock, want_vol = 0, want_br = 0;
	struct md_env env;
	bool shared;

	md_env_format(test, &env);
	KUNIT_ASSERT_EQ(test, vela_md_create_volume(env.md, "prod", 1 << 24, 0, 1, &vol), 0);
	for (i = 0; i < 3000; i++)
		want_vol = md_map_new(test, &env, vol, i);
	KUNIT_ASSERT_EQ(test, vela_md_create_branch(env.md, vol, "ci", 0, 2, &br), 0);
	want_br = md_map_new(test, &env, br, 2999);
	KUNIT_ASSERT_EQ(test, vela_md_commit(env.md), 0);
	md_env_reopen(test, &env);

	KUNIT_EXPECT_EQ(test, vela_md_lookup(env.md, vol, 2999, &pblock, &shared), 0);
	KUNIT_EXPECT_EQ(test, pblock, want_vol);
	KUNIT_EXPECT_EQ(test, vela_md_lookup(env.md, br, 2999, &pblock, &shared), 0);
	KUNIT_EXPECT_EQ(test, pblock, want_br);
	KUNIT_EXPECT_FALSE(test, shared);
	KUNIT_EXPECT_EQ(test, vela_md_lookup(env.md, br, 5, &pblock, &shared), 0);
	KUNIT_EXPECT_TRUE(test, shared);
	/* Warm after the lookups: the non-blocking path answers. */
	KUNIT_EXPECT_EQ(test, vela_md_lookup_try(env.md, br, 5, &pblock), 0);
	vela_md_close(env.md);
}

/* Abort drops the open transaction; commit makes it durable. */
static void vela_md_kunit_commit_and_abort(struct kunit *test)
{
	struct vela_md_info before, after;
	struct md_env env;
	u64 vol, br, pblock;
	bool shared;

	md_env_format(test, &env);
	KUNIT_ASSERT_EQ(test, vela_md_create_volume(env.md, "v", 1 << 24, 0, 1, &vol), 0);
	KUNIT_ASSERT_EQ(test, vela_md_commit(env.md), 0);
	KUNIT_ASSERT_EQ(test, vela_md_info(env.md, &before), 0);
	md_map_new(test, &env, vol, 1);
	KUNIT_ASSERT_EQ(test, vela_md_create_branch(env.md, vol, "b", 0, 1, &br), 0);
	KUNIT_ASSERT_EQ(test, vela_md_abort(env.md), 0);
	KUNIT_ASSERT_EQ(test, vela_md_info(env.md, &after), 0);
	KUNIT_EXPECT_EQ(test, after.change_id, before.change_id);
	KUNIT_EXPECT_EQ(test, after.data_nr_free, before.data_nr_free);
	KUNIT_EXPECT_EQ(test, vela_md_lookup(env.md, vol, 1, &pblock, &shared), -ENODATA);
	md_map_new(test, &env, vol, 1);
	KUNIT_ASSERT_EQ(test, vela_md_commit(env.md), 0);
	md_env_reopen(test, &env);
	KUNIT_EXPECT_EQ(test, vela_md_lookup(env.md, vol, 1, &pblock, &shared), 0);
	vela_md_close(env.md);
}

/* Delete and reclaim give every block back. */
static void vela_md_kunit_delete_reclaims(struct kunit *test)
{
	struct vela_md_info base, info;
	struct md_env env;
	u64 vol, br, i, pending = 1;

	md_env_format(test, &env);
	KUNIT_ASSERT_EQ(test, vela_md_info(env.md, &base), 0);
	KUNIT_ASSERT_EQ(test, vela_md_create_volume(env.md, "v", 1 << 24, 0, 1, &vol), 0);
	for (i = 0; i < 2000; i++)
		md_map_new(test, &env, vol, i);
	KUNIT_ASSERT_EQ(test, vela_md_create_branch(env.md, vol, "b", 0, 1, &br), 0);
	for (i = 0; i < 2000; i += 5)
		md_map_new(test, &env, br, i);
	KUNIT_ASSERT_EQ(test, vela_md_commit(env.md), 0);
	KUNIT_EXPECT_EQ(test, vela_md_delete_branch(env.md, vol), -ENOTEMPTY);
	KUNIT_ASSERT_EQ(test, vela_md_delete_branch(env.md, br), 0);
	KUNIT_ASSERT_EQ(test, vela_md_delete_branch(env.md, vol), 0);
	for (i = 0; i < 100 && pending; i++) {
		KUNIT_ASSERT_EQ(test, vela_md_reclaim(env.md, 300, &pending), 0);
		KUNIT_ASSERT_EQ(test, vela_md_commit(env.md), 0);
	}
	KUNIT_EXPECT_EQ(test, pending, 0ULL);
	md_env_reopen(test, &env);
	KUNIT_ASSERT_EQ(test, vela_md_info(env.md, &info), 0);
	KUNIT_EXPECT_EQ(test, info.data_nr_free, base.data_nr_free);
	KUNIT_EXPECT_EQ(test, info.metadata_nr_free, base.metadata_nr_free);
	vela_md_close(env.md);
}

static struct kunit_case vela_md_kunit_cases[] = {
	KUNIT_CASE(vela_md_kunit_branches_survive_reopen),
	KUNIT_CASE(vela_md_kunit_commit_and_abort),
	KUNIT_CASE(vela_md_kunit_delete_reclaims),
	{}
};

static struct kunit_suite vela_md_kunit_suite = {
	.name = "vela_md_kunit",
	.test_cases = vela_md_kunit_cases,
};

static struct kunit_case vela_kunit_cases[] = {
	KUNIT_CASE(vela_kunit_bufio_write_read_back),
	KUNIT_CASE(vela_kunit_bufio_get_uncached),
	KUNIT_CASE(vela_kunit_crc32c_vectors),
	{}
};

static struct kunit_suite vela_kunit_suite = {
	.name = "vela_kunit",
	.test_cases = vela_kunit_cases,
};

kunit_test_suites(&vela_kunit_suite, &vela_md_kunit_suite);
