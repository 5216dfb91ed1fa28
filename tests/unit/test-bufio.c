// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace dm-bufio and the simulated block devices: the kernel's bufio
 * semantics, durability only after a flush, power cuts and I/O errors.
 */
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "unit.h"

#define BS		4096
#define SECTORS		(BS / 512)
#define DEV_BYTES	(1 << 20)

/* Fill a block with a pattern that names @tag and each byte's position. */
static void fill(void *data, u32 tag)
{
	u32 *w = data;
	size_t i;

	for (i = 0; i < BS / 4; i++)
		w[i] = tag * 0x10001u + (u32)i;
}

static bool is_filled(const void *data, u32 tag)
{
	u8 want[BS];

	fill(want, tag);
	return !memcmp(data, want, BS);
}

static bool is_zero(const void *data, size_t len)
{
	const u8 *p = data;

	while (len--)
		if (*p++)
			return false;
	return true;
}

static struct dm_bufio_client *client(struct block_device *bdev)
{
	return dm_bufio_client_create(bdev, BS, 1, 16, NULL, NULL, 0);
}

/* dm_bufio_new() a block, fill it with @tag, mark it dirty, release it. */
static void put_block(struct dm_bufio_client *c, sector_t block, u32 tag)
{
	struct dm_buffer *b;
	void *data = dm_bufio_new(c, block, &b);

	if (!EXPECT_NOT_ERR(data))
		unit_end_test();
	fill(data, tag);
	dm_bufio_mark_buffer_dirty(b);
	dm_bufio_release(b);
}

/* Read @block through @c and check it holds @tag (or zeroes, for tag 0). */
static bool block_holds(struct dm_bufio_client *c, sector_t block, u32 tag)
{
	struct dm_buffer *b;
	void *data = dm_bufio_read(c, block, &b);
	bool ok;

	if (IS_ERR(data))
		return false;
	ok = tag ? is_filled(data, tag) : is_zero(data, BS);
	dm_bufio_release(b);
	return ok;
}

static struct vela_bdev_stats stats(struct block_device *bdev)
{
	struct vela_bdev_stats st;

	vela_bdev_get_stats(bdev, &st);
	return st;
}

/* A sparse temporary file of @size bytes; its path in @path. */
static void make_file(char *path, size_t path_size, u64 size)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, path_size, "%s/vela-unit-XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static void round_trip(struct block_device *bdev)
{
	struct dm_bufio_client *c = client(bdev);
	struct vela_bdev_stats st;

	ASSERT_NOT_ERR(c);
	EXPECT_EQ(dm_bufio_get_device_size(c), vela_bdev_size(bdev) / BS);
	EXPECT_EQ(dm_bufio_get_block_size(c), BS);
	put_block(c, 3, 33);
	EXPECT_EQ(stats(bdev).writes, 0);
	put_block(c, 7, 77);
	EXPECT_EQ(dm_bufio_write_dirty_buffers(c), 0);
	st = stats(bdev);
	EXPECT_EQ(st.writes, 2);
	EXPECT_EQ(st.write_bytes, 2 * BS);
	EXPECT_GE(st.flushes, 1);
	EXPECT_EQ(st.unflushed_writes, 0);

	/* Evicted, then read back from the device. */
	dm_bufio_user_drop_clean(c);
	EXPECT_EQ(dm_bufio_user_nr_cached(c, NULL), 0);
	EXPECT_TRUE(block_holds(c, 3, 33));
	EXPECT_TRUE(block_holds(c, 7, 77));
	EXPECT_TRUE(block_holds(c, 4, 0));
	EXPECT_EQ(stats(bdev).reads, st.reads + 3);
	EXPECT_EQ(dm_bufio_issue_flush(c), 0);
	EXPECT_EQ(stats(bdev).flushes, st.flushes + 1);
	dm_bufio_client_destroy(c);
}

TEST(mem_round_trip)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);

	ASSERT_NOT_ERR(bdev);
	EXPECT_EQ(vela_bdev_size(bdev), DEV_BYTES);
	round_trip(bdev);
	vela_bdev_close(bdev);
}

TEST(file_round_trip_persists)
{
	struct block_device *bdev;
	struct dm_bufio_client *c;
	char path[256];
	u8 buf[BS];
	int fd;

	make_file(path, sizeof(path), DEV_BYTES + 100);	/* a partial sector is cut off */
	bdev = vela_bdev_open_file(path, false);
	ASSERT_NOT_ERR(bdev);
	EXPECT_EQ(vela_bdev_size(bdev), DEV_BYTES);
	round_trip(bdev);
	vela_bdev_close(bdev);

	/* The bytes are in the file, where a new device finds them. */
	fd = open(path, O_RDONLY);
	ASSERT_TRUE(fd >= 0);
	EXPECT_EQ(pread(fd, buf, BS, 7 * BS), BS);
	EXPECT_TRUE(is_filled(buf, 77));
	close(fd);
	bdev = vela_bdev_open_file(path, true);
	ASSERT_NOT_ERR(bdev);
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	EXPECT_TRUE(block_holds(c, 3, 33));
	/* Read-only: the write fails, and the error comes back. */
	put_block(c, 5, 55);
	EXPECT_EQ(dm_bufio_write_dirty_buffers(c), -EROFS);
	dm_bufio_client_destroy(c);
	vela_bdev_close(bdev);
	unlink(path);
	EXPECT_EQ(PTR_ERR(vela_bdev_open_file(path, false)), -ENOENT);
}

TEST(get_returns_null_unless_cached)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	struct dm_bufio_client *c;
	struct dm_buffer *b, *b2, *held, *dirty;
	void *data, *data2;

	ASSERT_NOT_ERR(bdev);
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	EXPECT_NULL(dm_bufio_get(c, 9, &b));
	EXPECT_EQ(stats(bdev).reads, 0);		/* get never reads */

	data = dm_bufio_read(c, 9, &b);
	ASSERT_NOT_ERR(data);
	dm_bufio_release(b);
	data2 = dm_bufio_get(c, 9, &b2);
	EXPECT_PTR_EQ(data2, data);
	EXPECT_PTR_EQ(b2, b);
	EXPECT_EQ(dm_bufio_get_block_number(b2), 9);
	EXPECT_PTR_EQ(dm_bufio_get_block_data(b2), data);
	EXPECT_PTR_EQ(dm_bufio_get_client(b2), c);
	dm_bufio_release(b2);

	/* Dropping clean buffers spares referenced and dirty ones. */
	ASSERT_NOT_ERR(dm_bufio_read(c, 10, &held));
	ASSERT_NOT_ERR(dm_bufio_new(c, 11, &dirty));
	dm_bufio_mark_buffer_dirty(dirty);
	dm_bufio_release(dirty);
	dm_bufio_user_drop_clean(c);
	EXPECT_NULL(dm_bufio_get(c, 9, &b));
	EXPECT_NOT_NULL(dm_bufio_get(c, 10, &b));
	dm_bufio_release(b);
	EXPECT_NOT_NULL(dm_bufio_get(c, 11, &b));
	dm_bufio_release(b);
	dm_bufio_release(held);

	/* Forget drops a clean unreferenced buffer only. */
	dm_bufio_forget(c, 10);
	EXPECT_NULL(dm_bufio_get(c, 10, &b));
	dm_bufio_forget(c, 11);
	EXPECT_NOT_NULL(dm_bufio_get(c, 11, &b));
	dm_bufio_release(b);

	/* Prefetch caches without a reference. */
	dm_bufio_prefetch(c, 20, 3);
	EXPECT_EQ(dm_bufio_user_nr_cached(c, NULL), 4);	/* 11 and 20-22 */
	EXPECT_NOT_NULL(dm_bufio_get(c, 22, &b));
	dm_bufio_release(b);
	dm_bufio_client_destroy(c);
	vela_bdev_close(bdev);
}

TEST(referenced_block_is_one_buffer)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	struct dm_bufio_client *c;
	struct dm_buffer *b1, *b2, *b3;
	void *d1, *d2, *d3;

	ASSERT_NOT_ERR(bdev);
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	d1 = dm_bufio_read(c, 1, &b1);
	d2 = dm_bufio_read(c, 1, &b2);
	ASSERT_NOT_ERR(d1);
	ASSERT_NOT_ERR(d2);
	EXPECT_PTR_EQ(b1, b2);
	EXPECT_PTR_EQ(d1, d2);
	EXPECT_EQ(stats(bdev).reads, 1);
	/* dm_bufio_new() of a cached block is that buffer, contents kept. */
	memset(d1, 0x5a, BS);
	d3 = dm_bufio_new(c, 1, &b3);
	EXPECT_PTR_EQ(d3, d1);
	EXPECT_EQ(((u8 *)d3)[100], 0x5a);
	dm_bufio_release(b3);
	dm_bufio_release(b2);
	dm_bufio_release(b1);
	EXPECT_BUG(dm_bufio_release(b1));	/* one release too many */
	dm_bufio_client_destroy(c);
	vela_bdev_close(bdev);
}

TEST(new_does_not_read_and_zeroes)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	struct dm_bufio_client *c;
	struct dm_buffer *b;
	u8 buf[BS];
	void *data;

	ASSERT_NOT_ERR(bdev);
	fill(buf, 5);
	EXPECT_EQ(vela_bdev_write(bdev, 5 * BS, buf, BS), 0);
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	data = dm_bufio_new(c, 5, &b);
	ASSERT_NOT_ERR(data);
	EXPECT_TRUE(is_zero(data, BS));
	EXPECT_EQ(stats(bdev).reads, 0);
	dm_bufio_release(b);
	dm_bufio_client_destroy(c);
	vela_bdev_close(bdev);
}

static unsigned int allocs, writes;

static void count_alloc(struct dm_buffer *b)
{
	u64 *aux = dm_bufio_get_aux_data(b);

	EXPECT_EQ(((unsigned long)aux) % 16, 0);
	*aux = 0xfeedULL;
	allocs++;
}

/* Stamp the block number into the first bytes, as a checksum writer would. */
static void stamp_on_write(struct dm_buffer *b)
{
	__le64 *first = dm_bufio_get_block_data(b);

	*first = cpu_to_le64(dm_bufio_get_block_number(b) | 0xab00);
	writes++;
}

TEST(callbacks)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	struct dm_bufio_client *c;
	struct dm_buffer *b;
	__le64 first[64];

	ASSERT_NOT_ERR(bdev);
	c = dm_bufio_client_create(bdev, BS, 1, sizeof(u64), count_alloc, stamp_on_write, 0);
	ASSERT_NOT_ERR(c);
	allocs = writes = 0;
	ASSERT_NOT_ERR(dm_bufio_read(c, 2, &b));
	EXPECT_EQ(*(u64 *)dm_bufio_get_aux_data(b), 0xfeedULL);
	dm_bufio_mark_buffer_dirty(b);
	dm_bufio_release(b);
	ASSERT_NOT_ERR(dm_bufio_read(c, 2, &b));	/* cached: no new alloc */
	dm_bufio_release(b);
	EXPECT_EQ(allocs, 1);
	EXPECT_EQ(writes, 0);
	EXPECT_EQ(dm_bufio_write_dirty_buffers(c), 0);
	EXPECT_EQ(writes, 1);
	EXPECT_EQ(dm_bufio_write_dirty_buffers(c), 0);	/* clean now */
	EXPECT_EQ(writes, 1);
	EXPECT_EQ(vela_bdev_read(bdev, 2 * BS, first, sizeof(first)), 0);
	EXPECT_EQ(le64_to_cpu(first[0]), 0xab02);
	dm_bufio_client_destroy(c);
	vela_bdev_close(bdev);
}

TEST(dirty_buffers_may_be_written_early)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	struct dm_bufio_client *c;
	unsigned long dirty;

	ASSERT_NOT_ERR(bdev);
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	/* The kernel's watermark: more than 3 dirty per clean buffer. */
	put_block(c, 1, 1);
	EXPECT_EQ(stats(bdev).writes, 0);
	put_block(c, 2, 2);
	EXPECT_EQ(stats(bdev).writes, 1);
	EXPECT_EQ(dm_bufio_user_nr_cached(c, &dirty), 2);
	EXPECT_EQ(dirty, 1);
	EXPECT_EQ(stats(bdev).flushes, 0);	/* written, not made durable */
	dm_bufio_client_destroy(c);		/* writes, does not flush */
	EXPECT_EQ(stats(bdev).writes, 2);
	EXPECT_EQ(stats(bdev).flushes, 0);
	vela_bdev_close(bdev);
}

TEST(cache_limit_evicts_lru)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	struct dm_bufio_client *c;
	struct dm_buffer *b;
	unsigned long dirty;
	int i;

	ASSERT_NOT_ERR(bdev);
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	for (i = 0; i < 10; i++)
		EXPECT_TRUE(block_holds(c, i, 0));
	EXPECT_EQ(dm_bufio_user_nr_cached(c, NULL), 10);
	dm_bufio_user_set_cache_limit(c, 4);
	EXPECT_EQ(dm_bufio_user_nr_cached(c, NULL), 4);
	/* The most recently used survive. */
	EXPECT_NOT_NULL(dm_bufio_get(c, 9, &b));
	dm_bufio_release(b);
	EXPECT_NULL(dm_bufio_get(c, 5, &b));

	/* Dirty buffers are written back to make room, and read back intact. */
	for (i = 20; i < 30; i++) {
		put_block(c, i, i);
		EXPECT_LE(dm_bufio_user_nr_cached(c, &dirty), 4);
	}
	for (i = 20; i < 30; i++)
		EXPECT_TRUE(block_holds(c, i, i));
	EXPECT_EQ(dm_bufio_write_dirty_buffers(c), 0);

	/* Referenced buffers are never evicted: the limit gives way. */
	for (i = 40; i < 46; i++)
		ASSERT_NOT_ERR(dm_bufio_read(c, i, &b));
	EXPECT_EQ(dm_bufio_user_nr_cached(c, NULL), 6);
	for (i = 40; i < 46; i++) {
		EXPECT_NOT_NULL(dm_bufio_get(c, i, &b));
		dm_bufio_release(b);
		dm_bufio_release(b);
	}
	dm_bufio_client_destroy(c);
	vela_bdev_close(bdev);
}

TEST(power_cut_drop_all)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	struct dm_bufio_client *c;
	struct vela_bdev_stats st;
	struct dm_buffer *b;

	ASSERT_NOT_ERR(bdev);
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	put_block(c, 1, 10);
	EXPECT_EQ(dm_bufio_write_dirty_buffers(c), 0);	/* durable */
	put_block(c, 1, 11);
	put_block(c, 2, 20);
	dm_bufio_client_destroy(c);			/* written, unflushed */
	st = stats(bdev);
	EXPECT_EQ(st.unflushed_writes, 2);

	vela_bdev_power_cut(bdev, unit_seed(), VELA_CUT_DROP_ALL);
	st = stats(bdev);
	EXPECT_EQ(st.power_cuts, 1);
	EXPECT_EQ(st.cut_pending, 2);
	EXPECT_EQ(st.cut_persisted, 0);
	EXPECT_EQ(st.cut_torn, 0);
	EXPECT_EQ(st.unflushed_writes, 0);
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	EXPECT_TRUE(block_holds(c, 1, 10));
	EXPECT_TRUE(block_holds(c, 2, 0));

	/* Flushed by dm_bufio_issue_flush(): survives. */
	put_block(c, 3, 30);
	ASSERT_NOT_ERR(dm_bufio_read(c, 3, &b));
	dm_bufio_release(b);
	dm_bufio_client_destroy(c);
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	EXPECT_EQ(dm_bufio_issue_flush(c), 0);
	dm_bufio_client_destroy(c);
	vela_bdev_power_cut(bdev, unit_seed(), 0);	/* DROP_ALL by default */
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	EXPECT_TRUE(block_holds(c, 3, 30));
	EXPECT_TRUE(block_holds(c, 1, 10));
	dm_bufio_client_destroy(c);
	vela_bdev_close(bdev);
}

TEST(client_from_before_a_cut_is_stale)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	struct dm_bufio_client *old;
	struct dm_buffer *b;

	ASSERT_NOT_ERR(bdev);
	old = client(bdev);
	ASSERT_NOT_ERR(old);
	put_block(old, 4, 40);
	vela_bdev_power_cut(bdev, 1, VELA_CUT_DROP_ALL);
	EXPECT_EQ(PTR_ERR(dm_bufio_read(old, 5, &b)), -EIO);
	EXPECT_EQ(dm_bufio_write_dirty_buffers(old), -EIO);
	dm_bufio_client_destroy(old);
	EXPECT_EQ(stats(bdev).writes, 0);		/* nothing reached the device */
	vela_bdev_close(bdev);
}

#define CUT_WRITES	64

/*
 * Write CUT_WRITES distinct blocks without a flush (block i gets tag i + 1),
 * cut with @flags, and check every block is wholly old or wholly new except
 * at most one torn block, whose new part is a whole-sector prefix.
 * Returns how many blocks came through whole.
 */
static unsigned int cut_and_check(u64 seed, unsigned int flags, unsigned int *torn)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	struct vela_bdev_stats st;
	unsigned int i, s, kept = 0, new_sectors;
	u8 buf[BS], want[BS];

	*torn = 0;
	if (!EXPECT_NOT_ERR(bdev))
		return 0;
	for (i = 0; i < CUT_WRITES; i++) {
		fill(buf, i + 1);
		EXPECT_EQ(vela_bdev_write(bdev, (u64)i * BS, buf, BS), 0);
	}
	vela_bdev_power_cut(bdev, seed, flags);
	for (i = 0; i < CUT_WRITES; i++) {
		EXPECT_EQ(vela_bdev_read(bdev, (u64)i * BS, buf, BS), 0);
		fill(want, i + 1);
		new_sectors = 0;
		for (s = 0; s < SECTORS; s++) {
			const u8 *got = buf + s * 512;

			if (!memcmp(got, want + s * 512, 512)) {
				/* New sectors only ever follow new sectors. */
				EXPECT_EQ(new_sectors, s);
				new_sectors++;
			} else {
				EXPECT_TRUE(is_zero(got, 512));
			}
		}
		if (new_sectors == SECTORS)
			kept++;
		else if (new_sectors)
			(*torn)++;
	}
	st = stats(bdev);
	EXPECT_EQ(st.cut_pending, CUT_WRITES);
	EXPECT_EQ(st.cut_persisted, kept);
	EXPECT_EQ(st.cut_torn, *torn);
	vela_bdev_close(bdev);
	return kept;
}

TEST(power_cut_random_subset_and_tear)
{
	unsigned int run, kept, torn, min_kept = CUT_WRITES, max_kept = 0;

	for (run = 0; run < 20; run++) {
		kept = cut_and_check(unit_seed() + run, VELA_CUT_RANDOM_SUBSET | VELA_CUT_TEAR,
				     &torn);
		EXPECT_EQ(torn, 1);
		min_kept = min(min_kept, kept);
		max_kept = max(max_kept, kept);
	}
	/* A real subset: some writes kept, some lost (2^-63 odds otherwise). */
	EXPECT_GT(max_kept, 0);
	EXPECT_LT(min_kept, CUT_WRITES - 1);

	for (run = 0; run < 5; run++) {
		kept = cut_and_check(unit_seed() + run, VELA_CUT_RANDOM_SUBSET, &torn);
		EXPECT_EQ(torn, 0);
		EXPECT_GT(kept, 0);
	}
}

TEST(power_cut_tear_alone)
{
	unsigned int torn;

	/* DROP_ALL plus one torn write: only that write's prefix survives. */
	EXPECT_EQ(cut_and_check(unit_seed(), VELA_CUT_TEAR, &torn), 0);
	EXPECT_EQ(torn, 1);
	EXPECT_EQ(cut_and_check(unit_seed(), VELA_CUT_DROP_ALL | VELA_CUT_TEAR, &torn), 0);
	EXPECT_EQ(torn, 1);
}

TEST(power_cut_is_deterministic_and_sector_atomic)
{
	struct block_device *dev[2];
	u8 buf[2][BS];
	int d, i;

	for (d = 0; d < 2; d++) {
		dev[d] = vela_bdev_create_mem(DEV_BYTES);
		ASSERT_NOT_ERR(dev[d]);
		/* Single-sector writes, some over the same sector twice. */
		for (i = 0; i < 64; i++) {
			memset(buf[0], i + 1, 512);
			EXPECT_EQ(vela_bdev_write(dev[d], (u64)(i % 40) * 512, buf[0], 512), 0);
		}
		vela_bdev_power_cut(dev[d], unit_seed(), VELA_CUT_RANDOM_SUBSET | VELA_CUT_TEAR);
		EXPECT_EQ(stats(dev[d]).cut_torn, 0);	/* a sector never tears */
	}
	for (i = 0; i < 40; i++) {
		EXPECT_EQ(vela_bdev_read(dev[0], (u64)i * 512, buf[0], 512), 0);
		EXPECT_EQ(vela_bdev_read(dev[1], (u64)i * 512, buf[1], 512), 0);
		EXPECT_MEMEQ(buf[0], buf[1], 512);
		/* Old (zero), or one of the writes to it, whole. */
		EXPECT_TRUE(buf[0][0] == 0 || buf[0][0] == i + 1 || buf[0][0] == i + 41);
		EXPECT_EQ(buf[0][511], buf[0][0]);
	}
	vela_bdev_close(dev[0]);
	vela_bdev_close(dev[1]);
}

TEST(injected_read_error)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	struct dm_bufio_client *c;
	struct dm_buffer *b;

	ASSERT_NOT_ERR(bdev);
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	vela_bdev_inject_error(bdev, VELA_IO_READ, 2, -EIO);
	EXPECT_TRUE(block_holds(c, 0, 0));
	EXPECT_TRUE(block_holds(c, 1, 0));
	EXPECT_EQ(PTR_ERR(dm_bufio_read(c, 2, &b)), -EIO);
	EXPECT_NULL(dm_bufio_get(c, 2, &b));		/* a failed read caches nothing */
	EXPECT_EQ(PTR_ERR(dm_bufio_read(c, 3, &b)), -EIO);	/* it stays failing */
	EXPECT_TRUE(block_holds(c, 1, 0));		/* cached: no I/O */
	EXPECT_EQ(stats(bdev).errors, 2);
	vela_bdev_inject_error(bdev, VELA_IO_READ, 0, 0);
	EXPECT_TRUE(block_holds(c, 2, 0));
	/* Past the end of the device is an I/O error too. */
	EXPECT_EQ(PTR_ERR(dm_bufio_read(c, DEV_BYTES / BS, &b)), -EIO);
	dm_bufio_client_destroy(c);
	vela_bdev_close(bdev);
}

TEST(injected_write_error)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	struct dm_bufio_client *c;
	struct dm_buffer *b;

	ASSERT_NOT_ERR(bdev);
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	vela_bdev_inject_error(bdev, VELA_IO_WRITE, 1, -EIO);
	ASSERT_NOT_ERR(dm_bufio_read(c, 1, &b));	/* keeps the ratio clean */
	dm_bufio_release(b);
	put_block(c, 2, 2);
	put_block(c, 3, 3);
	EXPECT_EQ(dm_bufio_write_dirty_buffers(c), -EIO);
	EXPECT_EQ(stats(bdev).writes, 1);		/* block 2 made it */
	/* As in the kernel, the failed buffer is clean now: no retry. */
	vela_bdev_inject_error(bdev, VELA_IO_WRITE, 0, 0);
	EXPECT_EQ(dm_bufio_write_dirty_buffers(c), 0);
	EXPECT_EQ(stats(bdev).writes, 1);
	dm_bufio_client_destroy(c);

	c = client(bdev);
	ASSERT_NOT_ERR(c);
	EXPECT_TRUE(block_holds(c, 2, 2));
	EXPECT_TRUE(block_holds(c, 3, 0));
	dm_bufio_client_destroy(c);
	vela_bdev_close(bdev);
}

TEST(injected_flush_error)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	struct dm_bufio_client *c;

	ASSERT_NOT_ERR(bdev);
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	vela_bdev_inject_error(bdev, VELA_IO_FLUSH, 0, -EIO);
	put_block(c, 6, 6);
	EXPECT_EQ(dm_bufio_write_dirty_buffers(c), -EIO);
	EXPECT_EQ(dm_bufio_issue_flush(c), -EIO);
	EXPECT_EQ(stats(bdev).unflushed_writes, 1);	/* still volatile */
	dm_bufio_client_destroy(c);
	vela_bdev_power_cut(bdev, unit_seed(), VELA_CUT_DROP_ALL);
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	EXPECT_TRUE(block_holds(c, 6, 0));
	EXPECT_EQ(dm_bufio_issue_flush(c), -EIO);	/* injection survives the cut */
	vela_bdev_inject_error(bdev, VELA_IO_FLUSH, 0, 0);
	EXPECT_EQ(dm_bufio_issue_flush(c), 0);
	dm_bufio_client_destroy(c);
	vela_bdev_close(bdev);
}

TEST(bad_arguments)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	struct dm_bufio_client *c;
	struct dm_buffer *b;
	u8 buf[BS];

	ASSERT_NOT_ERR(bdev);
	EXPECT_EQ(PTR_ERR(dm_bufio_client_create(bdev, 0, 1, 0, NULL, NULL, 0)), -EINVAL);
	EXPECT_EQ(PTR_ERR(dm_bufio_client_create(bdev, 1000, 1, 0, NULL, NULL, 0)), -EINVAL);
	EXPECT_EQ(PTR_ERR(vela_bdev_create_mem(100)), -EINVAL);
	/* Unaligned or out-of-range device I/O fails. */
	EXPECT_EQ(vela_bdev_read(bdev, 100, buf, 512), -EIO);
	EXPECT_EQ(vela_bdev_write(bdev, 0, buf, 100), -EIO);
	EXPECT_EQ(vela_bdev_read(bdev, DEV_BYTES - 512, buf, 1024), -EIO);
	EXPECT_EQ(vela_bdev_read(bdev, DEV_BYTES - 512, buf, 512), 0);

	/* A block size that is not a power of two still works. */
	c = dm_bufio_client_create(bdev, 1536, 1, 0, NULL, NULL, 0);
	ASSERT_NOT_ERR(c);
	EXPECT_EQ(dm_bufio_get_device_size(c), DEV_BYTES / 1536);
	ASSERT_NOT_ERR(dm_bufio_new(c, 2, &b));
	memset(dm_bufio_get_block_data(b), 0x77, 1536);
	dm_bufio_mark_buffer_dirty(b);
	dm_bufio_release(b);
	EXPECT_EQ(dm_bufio_write_dirty_buffers(c), 0);
	EXPECT_EQ(vela_bdev_read(bdev, 3072, buf, 1536), 0);
	EXPECT_EQ(buf[0], 0x77);
	EXPECT_EQ(buf[1535], 0x77);
	dm_bufio_client_destroy(c);
	vela_bdev_close(bdev);
}

TEST(destroy_with_a_referenced_buffer_is_a_bug)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	struct dm_bufio_client *c;
	struct dm_buffer *b;

	ASSERT_NOT_ERR(bdev);
	c = client(bdev);
	ASSERT_NOT_ERR(c);
	ASSERT_NOT_ERR(dm_bufio_read(c, 0, &b));
	EXPECT_BUG(dm_bufio_client_destroy(c));
	EXPECT_BUG(vela_bdev_close(bdev));		/* a client is still open */
	dm_bufio_release(b);
	dm_bufio_client_destroy(c);
	vela_bdev_close(bdev);
}

/* Threads add to counters in shared blocks under the aux rwsem. */
#define THREADS		4
#define ROUNDS		500
#define COUNTER_BLOCKS	8

static struct dm_bufio_client *shared_client;

static void init_sem(struct dm_buffer *b)
{
	init_rwsem(dm_bufio_get_aux_data(b));
}

static void *hammer(void *arg)
{
	u32 state = (u32)(unsigned long)arg * 2654435761u + 1;
	struct dm_buffer *b;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		u64 *counter;

		state ^= state << 13;
		state ^= state >> 17;
		state ^= state << 5;
		counter = dm_bufio_read(shared_client, state % COUNTER_BLOCKS, &b);
		if (IS_ERR(counter))
			return counter;
		down_write(dm_bufio_get_aux_data(b));
		(*counter)++;
		dm_bufio_mark_buffer_dirty(b);
		up_write(dm_bufio_get_aux_data(b));
		dm_bufio_release(b);
		if (i % 100 == 0 && dm_bufio_write_dirty_buffers(shared_client))
			return ERR_PTR(-EIO);
	}
	return NULL;
}

TEST(threads_share_buffers)
{
	struct block_device *bdev = vela_bdev_create_mem(DEV_BYTES);
	pthread_t t[THREADS];
	u64 total = 0, v;
	long i;
	void *ret;

	ASSERT_NOT_ERR(bdev);
	shared_client = dm_bufio_client_create(bdev, BS, 1, sizeof(struct rw_semaphore),
					       init_sem, NULL, 0);
	ASSERT_NOT_ERR(shared_client);
	dm_bufio_user_set_cache_limit(shared_client, COUNTER_BLOCKS / 2);
	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, hammer, (void *)i), 0);
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], &ret);
		EXPECT_NULL(ret);
	}
	EXPECT_EQ(dm_bufio_write_dirty_buffers(shared_client), 0);
	dm_bufio_client_destroy(shared_client);
	for (i = 0; i < COUNTER_BLOCKS; i++) {
		u8 buf[512];

		EXPECT_EQ(vela_bdev_read(bdev, i * BS, buf, 512), 0);
		memcpy(&v, buf, sizeof(v));
		total += v;
	}
	EXPECT_EQ(total, (u64)THREADS * ROUNDS);
	vela_bdev_close(bdev);
}
