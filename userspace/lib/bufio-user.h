/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace dm-bufio and the simulated block devices it runs on.
 *
 * The dm_bufio_*() functions have the signatures and semantics of Linux
 * 6.1's <linux/dm-bufio.h>; shared metadata code uses only those.  What
 * follows them (dm_bufio_user_*() and vela_bdev_*()) is for userspace tools
 * and tests.
 *
 * dm-bufio semantics kept from the kernel:
 * - dm_bufio_read(), dm_bufio_get() and dm_bufio_new() take a reference that
 *   dm_bufio_release() drops; releasing more than was taken is a BUG().  A
 *   block with a cached buffer always gets that same buffer.
 * - dm_bufio_get() never does I/O: NULL when the block is not cached.
 * - dm_bufio_new() does not read; a newly cached buffer starts zeroed.
 * - Dirty buffers may be written at any time before
 *   dm_bufio_write_dirty_buffers(): when a new buffer is cached while dirty
 *   buffers outnumber clean ones three to one, every dirty buffer is written
 *   (no flush), as the kernel's writeback watermark does, and a cache limit
 *   (dm_bufio_user_set_cache_limit()) writes back to evict.
 * - dm_bufio_write_dirty_buffers() writes every dirty buffer, then issues a
 *   flush, as the kernel's does; it returns the first write error (since the
 *   last call) or the flush's.  A buffer whose write failed is clean
 *   afterwards, still cached, and is dropped when its last reference goes.
 * - dm_bufio_client_destroy() writes dirty buffers without a flush; a
 *   buffer still referenced then is a WARN and a BUG().
 * - write_callback runs just before each buffer write, alloc_callback when a
 *   buffer is set up for a block, before it is read.
 * One mutex per client serialises everything, I/O included.
 */
#ifndef VELA_BUFIO_USER_H
#define VELA_BUFIO_USER_H

struct block_device;
struct dm_bufio_client;
struct dm_buffer;

#define DM_BUFIO_CLIENT_NO_SLEEP 0x1

struct dm_bufio_client *
dm_bufio_client_create(struct block_device *bdev, unsigned int block_size,
		       unsigned int reserved_buffers, unsigned int aux_size,
		       void (*alloc_callback)(struct dm_buffer *),
		       void (*write_callback)(struct dm_buffer *),
		       unsigned int flags);
void dm_bufio_client_destroy(struct dm_bufio_client *c);

void *dm_bufio_read(struct dm_bufio_client *c, sector_t block, struct dm_buffer **bp);
void *dm_bufio_get(struct dm_bufio_client *c, sector_t block, struct dm_buffer **bp);
void *dm_bufio_new(struct dm_bufio_client *c, sector_t block, struct dm_buffer **bp);
void dm_bufio_prefetch(struct dm_bufio_client *c, sector_t block, unsigned int n_blocks);
void dm_bufio_release(struct dm_buffer *b);
void dm_bufio_mark_buffer_dirty(struct dm_buffer *b);
int dm_bufio_write_dirty_buffers(struct dm_bufio_client *c);
int dm_bufio_issue_flush(struct dm_bufio_client *c);
void dm_bufio_forget(struct dm_bufio_client *c, sector_t block);

unsigned int dm_bufio_get_block_size(struct dm_bufio_client *c);
sector_t dm_bufio_get_device_size(struct dm_bufio_client *c);
sector_t dm_bufio_get_block_number(struct dm_buffer *b);
void *dm_bufio_get_block_data(struct dm_buffer *b);
void *dm_bufio_get_aux_data(struct dm_buffer *b);
struct dm_bufio_client *dm_bufio_get_client(struct dm_buffer *b);

/* Userspace only: drop every cached buffer that is clean and unreferenced. */
void dm_bufio_user_drop_clean(struct dm_bufio_client *c);
/*
 * Userspace only: keep at most @max_buffers cached (0, the default: no
 * limit).  Caching one more first evicts the least recently used clean
 * unreferenced buffer, else writes back and evicts the least recently used
 * dirty unreferenced one; referenced buffers are never evicted.
 */
void dm_bufio_user_set_cache_limit(struct dm_bufio_client *c, unsigned long max_buffers);
/* Userspace only: buffers cached now, and how many of them are dirty. */
unsigned long dm_bufio_user_nr_cached(struct dm_bufio_client *c, unsigned long *nr_dirty);

/*
 * Userspace only: once @stop returns true (a signal came), every read and
 * write of a device or image file fails with -EINTR, so a long walk stops
 * at its next block and its caller can clean up (release a held view,
 * remove a half-written target).  NULL: never.  @stop must be cheap.
 */
void vela_bdev_set_interrupt(bool (*stop)(void));
/* Userspace only: @done hears of every read or write of a device or image file, in bytes. */
void vela_bdev_set_progress(void (*done)(size_t bytes));

/*
 * Simulated block devices.  I/O is in whole, aligned 512-byte sectors;
 * anything else, or anything past the end, fails with -EIO.
 *
 * A write that completed is durable only after a later flush.  A file
 * device (a regular file or a block device) does pwrite() and fdatasync().
 * A memory device keeps completed writes in a volatile write cache (reads
 * see them) until a flush makes them durable, so vela_bdev_power_cut() can
 * drop or keep them as a real disk might.  A single 512-byte sector is
 * written atomically (the superblock relies on that): cuts tear writes at
 * sector granularity only, never inside a sector.
 *
 * The constructors return ERR_PTR(-errno) on failure.
 */
struct block_device *vela_bdev_open_file(const char *path, bool read_only);
/* @size_bytes is rounded down to whole sectors; the device starts zeroed. */
struct block_device *vela_bdev_create_mem(u64 size_bytes);
/* Every dm-bufio client on @bdev must be destroyed first. */
void vela_bdev_close(struct block_device *bdev);
u64 vela_bdev_size(struct block_device *bdev);

/*
 * Power cut flags.  The base policy is VELA_CUT_DROP_ALL (also when neither
 * base flag is given) or VELA_CUT_RANDOM_SUBSET; VELA_CUT_TEAR adds a torn
 * write to either.
 */
#define VELA_CUT_DROP_ALL	0x1u	/* no unflushed write persists */
#define VELA_CUT_RANDOM_SUBSET	0x2u	/* each persists or not, independently */
#define VELA_CUT_TEAR		0x4u	/* one multi-sector write persists a prefix */

/*
 * Memory devices only: lose power.  The volatile cache is resolved by
 * @flags, deterministically from @seed, and the device keeps only durable
 * content.  Unflushed writes that persist are applied in submission order.
 * The torn write (if any multi-sector write is unflushed) persists its first
 * k sectors, 0 < k < its length, and nothing more.
 *
 * Clients created before the cut are stale: their reads and writes fail
 * with -EIO without touching the device (so destroying them drops their
 * dirty buffers, which the cut lost anyway).  Create new clients.
 */
void vela_bdev_power_cut(struct block_device *bdev, u64 seed, unsigned int flags);

/* Operations for vela_bdev_inject_error(). */
#define VELA_IO_READ		0
#define VELA_IO_WRITE		1
#define VELA_IO_FLUSH		2

/*
 * Make @op fail: after @after_nr_ops more successful operations of that
 * kind, every later one fails with @error (a negative errno, e.g. -EIO)
 * until the injection is cleared with @error 0.  A failed write changes
 * nothing; a failed flush leaves the volatile cache as it was.
 */
void vela_bdev_inject_error(struct block_device *bdev, int op, u64 after_nr_ops, int error);

struct vela_bdev_stats {
	u64 reads;		/* successful operations */
	u64 writes;
	u64 flushes;
	u64 read_bytes;
	u64 write_bytes;
	u64 errors;		/* failed operations, injected or not */
	u64 unflushed_writes;	/* memory devices: writes in the volatile cache */
	u64 power_cuts;
	/* The last power cut: unflushed writes, how many persisted whole, torn. */
	u64 cut_pending;
	u64 cut_persisted;
	u64 cut_torn;		/* 0 or 1 */
};

void vela_bdev_get_stats(struct block_device *bdev, struct vela_bdev_stats *stats);

/*
 * Direct device access for tests and tools, bypassing any cache: whole
 * aligned sectors, 0 or -errno.  They count as operations and can fail by
 * injection like dm-bufio's own.
 */
int vela_bdev_read(struct block_device *bdev, u64 offset, void *buf, size_t len);
int vela_bdev_write(struct block_device *bdev, u64 offset, const void *buf, size_t len);
int vela_bdev_flush(struct block_device *bdev);

#endif
