// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace dm-bufio over simulated block devices.  See bufio-user.h for
 * the semantics kept from the kernel and for the device model.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vela-compat.h"

#define SECTOR_BYTES		(1u << SECTOR_SHIFT)
/* The kernel writes back when dirty buffers outnumber clean ones 3:1. */
#define WRITEBACK_RATIO		3
#define MIN_BUCKETS		64

/* Simulated block devices */

enum bdev_kind { BDEV_FILE, BDEV_MEM };

/* A completed write sitting in a memory device's volatile cache. */
struct pending_write {
	struct list_head list;
	u64 offset;
	size_t len;
	u8 data[];
};

struct injection {
	bool armed;
	u64 remaining;		/* operations still allowed through */
	int error;
};

struct block_device {
	struct mutex lock;
	enum bdev_kind kind;
	bool read_only;
	int fd;			/* BDEV_FILE */
	u64 size;
	u8 *current;		/* BDEV_MEM: what reads see */
	u8 *durable;		/* BDEV_MEM: what survives a power cut */
	struct list_head pending;	/* BDEV_MEM: unflushed writes, oldest first */
	struct injection inject[3];
	struct vela_bdev_stats stats;
	unsigned int epoch;	/* power cuts so far: older clients are stale */
	unsigned int nr_clients;
};

static struct block_device *bdev_alloc(enum bdev_kind kind, u64 size)
{
	struct block_device *bdev = kzalloc(sizeof(*bdev), GFP_KERNEL);

	if (!bdev)
		return NULL;
	mutex_init(&bdev->lock);
	bdev->kind = kind;
	bdev->fd = -1;
	bdev->size = round_down(size, (u64)SECTOR_BYTES);
	INIT_LIST_HEAD(&bdev->pending);
	return bdev;
}

static void bdev_free(struct block_device *bdev)
{
	mutex_destroy(&bdev->lock);
	kfree(bdev);
}

struct block_device *vela_bdev_open_file(const char *path, bool read_only)
{
	struct block_device *bdev;
	struct stat st;
	u64 size;
	int fd, err;

	fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return ERR_PTR(-errno);
	if (fstat(fd, &st) < 0)
		goto fail_errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			goto fail_errno;
		/*
		 * The kernel target writes the device with bios, past the page
		 * cache: drop what an earlier reader left there (needs
		 * CAP_SYS_ADMIN; without it, the device is not live anyway).
		 */
		if (read_only)
			ioctl(fd, BLKFLSBUF, 0);
	} else if (S_ISREG(st.st_mode)) {
		size = st.st_size;
	} else {
		close(fd);
		return ERR_PTR(-ENOTBLK);
	}
	bdev = bdev_alloc(BDEV_FILE, size);
	if (!bdev) {
		close(fd);
		return ERR_PTR(-ENOMEM);
	}
	bdev->fd = fd;
	bdev->read_only = read_only;
	return bdev;

fail_errno:
	err = -errno;
	close(fd);
	return ERR_PTR(err);
}

static u8 *map_zeroed(u64 size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

struct block_device *vela_bdev_create_mem(u64 size_bytes)
{
	struct block_device *bdev;

	if (size_bytes < SECTOR_BYTES || size_bytes > (u64)SIZE_MAX)
		return ERR_PTR(-EINVAL);
	bdev = bdev_alloc(BDEV_MEM, size_bytes);
	if (!bdev)
		return ERR_PTR(-ENOMEM);
	bdev->current = map_zeroed(bdev->size);
	bdev->durable = map_zeroed(bdev->size);
	if (!bdev->current || !bdev->durable) {
		if (bdev->current)
			munmap(bdev->current, bdev->size);
		if (bdev->durable)
			munmap(bdev->durable, bdev->size);
		bdev_free(bdev);
		return ERR_PTR(-ENOMEM);
	}
	return bdev;
}

static void drop_pending(struct block_device *bdev)
{
	struct pending_write *w, *tmp;

	list_for_each_entry_safe(w, tmp, &bdev->pending, list) {
		list_del(&w->list);
		kfree(w);
	}
	bdev->stats.unflushed_writes = 0;
}

void vela_bdev_close(struct block_device *bdev)
{
	if (!bdev)
		return;
	BUG_ON(bdev->nr_clients);
	if (bdev->kind == BDEV_FILE) {
		close(bdev->fd);
	} else {
		drop_pending(bdev);
		munmap(bdev->current, bdev->size);
		munmap(bdev->durable, bdev->size);
	}
	bdev_free(bdev);
}

u64 vela_bdev_size(struct block_device *bdev)
{
	return bdev->size;
}

void vela_bdev_inject_error(struct block_device *bdev, int op, u64 after_nr_ops, int error)
{
	struct injection *inj;

	BUG_ON(op < VELA_IO_READ || op > VELA_IO_FLUSH);
	inj = &bdev->inject[op];
	mutex_lock(&bdev->lock);
	inj->armed = error != 0;
	inj->remaining = after_nr_ops;
	inj->error = error > 0 ? -error : error;
	mutex_unlock(&bdev->lock);
}

void vela_bdev_get_stats(struct block_device *bdev, struct vela_bdev_stats *stats)
{
	mutex_lock(&bdev->lock);
	*stats = bdev->stats;
	mutex_unlock(&bdev->lock);
}

static bool (*interrupted)(void);
static void (*io_done)(size_t bytes);

void vela_bdev_set_interrupt(bool (*stop)(void))
{
	interrupted = stop;
}

void vela_bdev_set_progress(void (*done)(size_t bytes))
{
	io_done = done;
}

/* pread()/pwrite() the whole range, or -errno (-EINTR once interrupted). */
static int file_rw(int fd, bool write, u64 offset, u8 *buf, size_t len)
{
	ssize_t n;

	while (len) {
		if (interrupted && interrupted())
			return -EINTR;
		if (write)
			n = pwrite(fd, buf, len, (off_t)offset);
		else
			n = pread(fd, buf, len, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;	/* the file shrank under us */
		buf += n;
		offset += (u64)n;
		len -= (size_t)n;
		if (io_done)
			io_done((size_t)n);
	}
	return 0;
}

static int mem_write(struct block_device *bdev, u64 offset, const void *buf, size_t len)
{
	struct pending_write *w = kmalloc(sizeof(*w) + len, GFP_KERNEL);

	if (!w)
		return -ENOMEM;
	w->offset = offset;
	w->len = len;
	memcpy(w->data, buf, len);
	list_add_tail(&w->list, &bdev->pending);
	bdev->stats.unflushed_writes++;
	memcpy(bdev->current + offset, buf, len);
	return 0;
}

static void mem_flush(struct block_device *bdev)
{
	struct pending_write *w;

	list_for_each_entry(w, &bdev->pending, list)
		memcpy(bdev->durable + w->offset, w->data, w->len);
	drop_pending(bdev);
}

/*
 * One operation on @bdev on behalf of a client of power-cut epoch @epoch:
 * 0 or -errno.  @offset and @len are ignored for a flush.
 */
static int bdev_io(struct block_device *bdev, unsigned int epoch, int op,
		   u64 offset, void *buf, size_t len)
{
	struct injection *inj = &bdev->inject[op];
	int r = 0;

	mutex_lock(&bdev->lock);
	if (epoch != bdev->epoch) {
		r = -EIO;	/* a client from before a power cut */
		goto out;
	}
	if (op != VELA_IO_FLUSH &&
	    ((offset | len) & (SECTOR_BYTES - 1) || !len ||
	     offset > bdev->size || len > bdev->size - offset)) {
		pr_err("vela_bdev: %s of %zu bytes at %llu: beyond the end (%llu) or unaligned\n",
		       op == VELA_IO_READ ? "read" : "write", len, offset, bdev->size);
		r = -EIO;
		goto out;
	}
	if (inj->armed) {
		if (!inj->remaining) {
			r = inj->error;
			goto out;
		}
		inj->remaining--;
	}
	if (op == VELA_IO_WRITE && bdev->read_only) {
		r = -EROFS;
		goto out;
	}

	switch (op) {
	case VELA_IO_READ:
		if (bdev->kind == BDEV_FILE)
			r = file_rw(bdev->fd, false, offset, buf, len);
		else
			memcpy(buf, bdev->current + offset, len);
		break;
	case VELA_IO_WRITE:
		if (bdev->kind == BDEV_FILE)
			r = file_rw(bdev->fd, true, offset, buf, len);
		else
			r = mem_write(bdev, offset, buf, len);
		break;
	case VELA_IO_FLUSH:
		if (bdev->kind == BDEV_FILE)
			r = fdatasync(bdev->fd) < 0 ? -errno : 0;
		else
			mem_flush(bdev);
		break;
	}
	if (r)
		goto out;
	switch (op) {
	case VELA_IO_READ:
		bdev->stats.reads++;
		bdev->stats.read_bytes += len;
		break;
	case VELA_IO_WRITE:
		bdev->stats.writes++;
		bdev->stats.write_bytes += len;
		break;
	case VELA_IO_FLUSH:
		bdev->stats.flushes++;
		break;
	}
out:
	if (r)
		bdev->stats.errors++;
	mutex_unlock(&bdev->lock);
	return r;
}

static unsigned int bdev_epoch(struct block_device *bdev)
{
	unsigned int epoch;

	mutex_lock(&bdev->lock);
	epoch = bdev->epoch;
	mutex_unlock(&bdev->lock);
	return epoch;
}

int vela_bdev_read(struct block_device *bdev, u64 offset, void *buf, size_t len)
{
	return bdev_io(bdev, bdev_epoch(bdev), VELA_IO_READ, offset, buf, len);
}

int vela_bdev_write(struct block_device *bdev, u64 offset, const void *buf, size_t len)
{
	return bdev_io(bdev, bdev_epoch(bdev), VELA_IO_WRITE, offset, (void *)buf, len);
}

int vela_bdev_flush(struct block_device *bdev)
{
	return bdev_io(bdev, bdev_epoch(bdev), VELA_IO_FLUSH, 0, NULL, 0);
}

/* splitmix64: a small, well-mixed generator for the power-cut choices. */
static u64 cut_random(u64 *state)
{
	u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void vela_bdev_power_cut(struct block_device *bdev, u64 seed, unsigned int flags)
{
	struct pending_write *w, *torn = NULL;
	u64 state = seed, nr_pending = 0, nr_tearable = 0, pick = 0;
	u64 persisted = 0, torn_sectors = 0;
	bool random_subset = flags & VELA_CUT_RANDOM_SUBSET;

	BUG_ON(bdev->kind != BDEV_MEM);
	BUG_ON((flags & VELA_CUT_DROP_ALL) && random_subset);
	BUG_ON(flags & ~(VELA_CUT_DROP_ALL | VELA_CUT_RANDOM_SUBSET | VELA_CUT_TEAR));

	mutex_lock(&bdev->lock);
	list_for_each_entry(w, &bdev->pending, list) {
		nr_pending++;
		if (w->len > SECTOR_BYTES)
			nr_tearable++;
	}
	if ((flags & VELA_CUT_TEAR) && nr_tearable) {
		pick = cut_random(&state) % nr_tearable;
		list_for_each_entry(w, &bdev->pending, list) {
			if (w->len > SECTOR_BYTES && !pick--) {
				torn = w;
				break;
			}
		}
		torn_sectors = 1 + cut_random(&state) % (torn->len / SECTOR_BYTES - 1);
	}

	/* Resolve the cache in submission order, then forget it. */
	list_for_each_entry(w, &bdev->pending, list) {
		bool keep = random_subset && (cut_random(&state) & 1);

		if (w == torn) {
			memcpy(bdev->durable + w->offset, w->data,
			       torn_sectors * SECTOR_BYTES);
		} else if (keep) {
			memcpy(bdev->durable + w->offset, w->data, w->len);
			persisted++;
		}
	}
	list_for_each_entry(w, &bdev->pending, list)
		memcpy(bdev->current + w->offset, bdev->durable + w->offset, w->len);
	drop_pending(bdev);

	bdev->epoch++;
	bdev->stats.power_cuts++;
	bdev->stats.cut_pending = nr_pending;
	bdev->stats.cut_persisted = persisted;
	bdev->stats.cut_torn = torn ? 1 : 0;
	mutex_unlock(&bdev->lock);
}

/* dm-bufio */

struct dm_bufio_client {
	struct mutex lock;
	struct block_device *bdev;
	unsigned int block_size;
	unsigned int aux_size;
	unsigned int epoch;
	void (*alloc_callback)(struct dm_buffer *b);
	void (*write_callback)(struct dm_buffer *b);
	struct list_head *buckets;
	unsigned int bucket_bits;
	struct list_head lru;		/* most recently used first */
	unsigned long nr_buffers;
	unsigned long nr_dirty;
	unsigned long max_buffers;	/* 0: no limit */
	int async_write_error;		/* first write error since the last sync */
};

struct dm_buffer {
	struct list_head hash_list;
	struct list_head lru_list;
	struct dm_bufio_client *c;
	sector_t block;
	void *data;
	unsigned int hold_count;
	bool dirty;
	int write_error;
	/* The client's aux_size bytes, aligned for any lock type. */
	_Alignas(16) u8 aux[];
};

static struct list_head *bucket(struct dm_bufio_client *c, sector_t block)
{
	return &c->buckets[(block * 0x9e3779b97f4a7c15ULL) >> (64 - c->bucket_bits)];
}

static struct dm_buffer *find_buffer(struct dm_bufio_client *c, sector_t block)
{
	struct dm_buffer *b;

	list_for_each_entry(b, bucket(c, block), hash_list)
		if (b->block == block)
			return b;
	return NULL;
}

static struct list_head *alloc_buckets(unsigned int bits)
{
	struct list_head *buckets = kmalloc_array(1UL << bits, sizeof(*buckets), GFP_KERNEL);
	unsigned long i;

	if (buckets)
		for (i = 0; i < 1UL << bits; i++)
			INIT_LIST_HEAD(&buckets[i]);
	return buckets;
}

/* Double the hash table when chains grow long; keep the old one on ENOMEM. */
static void maybe_grow_buckets(struct dm_bufio_client *c)
{
	struct list_head *old = c->buckets;
	unsigned long i, nr_old = 1UL << c->bucket_bits;
	struct dm_buffer *b, *tmp;
	struct list_head *buckets;

	if (c->nr_buffers <= 2 * nr_old)
		return;
	buckets = alloc_buckets(c->bucket_bits + 1);
	if (!buckets)
		return;
	c->buckets = buckets;
	c->bucket_bits++;
	for (i = 0; i < nr_old; i++)
		list_for_each_entry_safe(b, tmp, &old[i], hash_list)
			list_add(&b->hash_list, bucket(c, b->block));
	kfree(old);
}

static void free_buffer(struct dm_buffer *b)
{
	struct dm_bufio_client *c = b->c;

	BUG_ON(b->hold_count);
	list_del(&b->hash_list);
	list_del(&b->lru_list);
	c->nr_buffers--;
	if (b->dirty)
		c->nr_dirty--;
	kfree(b->data);
	kfree(b);
}

/* Write @b out now; it is clean afterwards even if the write failed. */
static int write_buffer(struct dm_buffer *b)
{
	struct dm_bufio_client *c = b->c;
	int r;

	if (c->write_callback)
		c->write_callback(b);
	r = bdev_io(c->bdev, c->epoch, VELA_IO_WRITE, b->block * c->block_size,
		    b->data, c->block_size);
	b->dirty = false;
	c->nr_dirty--;
	b->write_error = r;
	if (r && !c->async_write_error)
		c->async_write_error = r;
	return r;
}

static void write_all_dirty_lru(struct dm_bufio_client *c)
{
	struct dm_buffer *b;

	list_for_each_entry(b, &c->lru, lru_list)
		if (b->dirty)
			write_buffer(b);
}

/*
 * Evict unreferenced buffers until at most @target are cached: the least
 * recently used clean one first, else the least recently used dirty one,
 * written back first.
 */
static void evict_to(struct dm_bufio_client *c, unsigned long target)
{
	struct dm_buffer *b, *victim;

	while (c->nr_buffers > target) {
		victim = NULL;
		/* The list runs newest to oldest: the last match is the oldest. */
		list_for_each_entry(b, &c->lru, lru_list) {
			if (b->hold_count)
				continue;
			if (!b->dirty || !victim || victim->dirty)
				victim = b;
		}
		if (!victim)
			return;		/* everything is referenced */
		if (victim->dirty)
			write_buffer(victim);
		free_buffer(victim);
	}
}

/* Before caching another buffer: writeback watermark, then the cache limit. */
static void make_room(struct dm_bufio_client *c)
{
	if (c->nr_dirty > (c->nr_buffers - c->nr_dirty) * WRITEBACK_RATIO)
		write_all_dirty_lru(c);
	if (c->max_buffers)
		evict_to(c, c->max_buffers - 1);
}

enum new_mode { MODE_READ, MODE_GET, MODE_NEW, MODE_PREFETCH };

static struct dm_buffer *alloc_buffer(struct dm_bufio_client *c, sector_t block)
{
	struct dm_buffer *b = kzalloc(sizeof(*b) + c->aux_size, GFP_KERNEL);

	if (!b)
		return NULL;
	b->data = kzalloc(c->block_size, GFP_KERNEL);
	if (!b->data) {
		kfree(b);
		return NULL;
	}
	b->c = c;
	b->block = block;
	return b;
}

static void *new_read(struct dm_bufio_client *c, sector_t block, enum new_mode mode,
		      struct dm_buffer **bp)
{
	struct dm_buffer *b;
	int r;

	mutex_lock(&c->lock);
	b = find_buffer(c, block);
	if (b) {
		if (mode == MODE_PREFETCH) {
			mutex_unlock(&c->lock);
			return NULL;
		}
		b->hold_count++;
		list_del(&b->lru_list);
		list_add(&b->lru_list, &c->lru);
		goto found;
	}
	if (mode == MODE_GET) {
		mutex_unlock(&c->lock);
		return NULL;
	}

	make_room(c);
	b = alloc_buffer(c, block);
	if (!b) {
		mutex_unlock(&c->lock);
		return ERR_PTR(-ENOMEM);
	}
	if (c->alloc_callback)
		c->alloc_callback(b);
	if (mode != MODE_NEW) {
		r = bdev_io(c->bdev, c->epoch, VELA_IO_READ, block * c->block_size,
			    b->data, c->block_size);
		if (r) {
			kfree(b->data);
			kfree(b);
			mutex_unlock(&c->lock);
			return mode == MODE_PREFETCH ? NULL : ERR_PTR(r);
		}
	}
	list_add(&b->hash_list, bucket(c, block));
	list_add(&b->lru_list, &c->lru);
	c->nr_buffers++;
	maybe_grow_buckets(c);
	if (mode == MODE_PREFETCH) {
		mutex_unlock(&c->lock);
		return NULL;
	}
	b->hold_count = 1;
found:
	mutex_unlock(&c->lock);
	*bp = b;
	return b->data;
}

struct dm_bufio_client *
dm_bufio_client_create(struct block_device *bdev, unsigned int block_size,
		       unsigned int reserved_buffers, unsigned int aux_size,
		       void (*alloc_callback)(struct dm_buffer *),
		       void (*write_callback)(struct dm_buffer *),
		       unsigned int flags)
{
	struct dm_bufio_client *c;

	(void)reserved_buffers;	/* buffers are allocated on demand */
	(void)flags;
	if (!block_size || block_size & (SECTOR_BYTES - 1)) {
		pr_err("%s: block size not specified or is not multiple of 512b\n",
		       __func__);
		return ERR_PTR(-EINVAL);
	}
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);
	c->bucket_bits = ilog2(MIN_BUCKETS);
	c->buckets = alloc_buckets(c->bucket_bits);
	if (!c->buckets) {
		kfree(c);
		return ERR_PTR(-ENOMEM);
	}
	mutex_init(&c->lock);
	c->bdev = bdev;
	c->block_size = block_size;
	c->aux_size = aux_size;
	c->alloc_callback = alloc_callback;
	c->write_callback = write_callback;
	INIT_LIST_HEAD(&c->lru);

	mutex_lock(&bdev->lock);
	c->epoch = bdev->epoch;
	bdev->nr_clients++;
	mutex_unlock(&bdev->lock);
	return c;
}

void dm_bufio_client_destroy(struct dm_bufio_client *c)
{
	struct dm_buffer *b, *tmp;
	unsigned long leaked = 0;

	mutex_lock(&c->lock);
	write_all_dirty_lru(c);
	list_for_each_entry(b, &c->lru, lru_list) {
		if (b->hold_count) {
			pr_err("%s: leaked buffer %llx, hold count %u\n",
			       __func__, b->block, b->hold_count);
			leaked++;
		}
	}
	WARN_ON(leaked);
	BUG_ON(leaked);
	list_for_each_entry_safe(b, tmp, &c->lru, lru_list)
		free_buffer(b);
	mutex_unlock(&c->lock);

	mutex_lock(&c->bdev->lock);
	c->bdev->nr_clients--;
	mutex_unlock(&c->bdev->lock);
	mutex_destroy(&c->lock);
	kfree(c->buckets);
	kfree(c);
}

void *dm_bufio_read(struct dm_bufio_client *c, sector_t block, struct dm_buffer **bp)
{
	return new_read(c, block, MODE_READ, bp);
}

void *dm_bufio_get(struct dm_bufio_client *c, sector_t block, struct dm_buffer **bp)
{
	return new_read(c, block, MODE_GET, bp);
}

void *dm_bufio_new(struct dm_bufio_client *c, sector_t block, struct dm_buffer **bp)
{
	return new_read(c, block, MODE_NEW, bp);
}

void dm_bufio_prefetch(struct dm_bufio_client *c, sector_t block, unsigned int n_blocks)
{
	for (; n_blocks; n_blocks--, block++)
		new_read(c, block, MODE_PREFETCH, NULL);
}

void dm_bufio_release(struct dm_buffer *b)
{
	struct dm_bufio_client *c = b->c;

	mutex_lock(&c->lock);
	BUG_ON(!b->hold_count);
	b->hold_count--;
	/* A buffer whose write failed is not worth caching. */
	if (!b->hold_count && b->write_error && !b->dirty)
		free_buffer(b);
	mutex_unlock(&c->lock);
}

void dm_bufio_mark_buffer_dirty(struct dm_buffer *b)
{
	struct dm_bufio_client *c = b->c;

	mutex_lock(&c->lock);
	/* Not a kernel check, but a buffer without a reference may be gone. */
	WARN_ON_ONCE(!b->hold_count);
	if (!b->dirty) {
		b->dirty = true;
		c->nr_dirty++;
	}
	mutex_unlock(&c->lock);
}

static int cmp_block(const void *a, const void *b)
{
	const struct dm_buffer *x = *(struct dm_buffer * const *)a;
	const struct dm_buffer *y = *(struct dm_buffer * const *)b;

	return x->block < y->block ? -1 : x->block > y->block;
}

int dm_bufio_write_dirty_buffers(struct dm_bufio_client *c)
{
	struct dm_buffer **dirty, *b;
	unsigned long i, n = 0;
	int a, f;

	mutex_lock(&c->lock);
	dirty = kmalloc_array(c->nr_dirty, sizeof(*dirty), GFP_KERNEL);
	if (dirty) {
		/* In block order, as the block layer would merge and sort them. */
		list_for_each_entry(b, &c->lru, lru_list)
			if (b->dirty)
				dirty[n++] = b;
		sort(dirty, n, sizeof(*dirty), cmp_block, NULL);
		for (i = 0; i < n; i++)
			write_buffer(dirty[i]);
		kfree(dirty);
	} else {
		write_all_dirty_lru(c);
	}
	a = c->async_write_error;
	c->async_write_error = 0;
	f = bdev_io(c->bdev, c->epoch, VELA_IO_FLUSH, 0, NULL, 0);
	mutex_unlock(&c->lock);
	return a ? a : f;
}

int dm_bufio_issue_flush(struct dm_bufio_client *c)
{
	int r;

	mutex_lock(&c->lock);
	r = bdev_io(c->bdev, c->epoch, VELA_IO_FLUSH, 0, NULL, 0);
	mutex_unlock(&c->lock);
	return r;
}

void dm_bufio_forget(struct dm_bufio_client *c, sector_t block)
{
	struct dm_buffer *b;

	mutex_lock(&c->lock);
	b = find_buffer(c, block);
	if (b && !b->hold_count && !b->dirty)
		free_buffer(b);
	mutex_unlock(&c->lock);
}

unsigned int dm_bufio_get_block_size(struct dm_bufio_client *c)
{
	return c->block_size;
}

sector_t dm_bufio_get_device_size(struct dm_bufio_client *c)
{
	return vela_bdev_size(c->bdev) / c->block_size;
}

sector_t dm_bufio_get_block_number(struct dm_buffer *b)
{
	return b->block;
}

void *dm_bufio_get_block_data(struct dm_buffer *b)
{
	return b->data;
}

void *dm_bufio_get_aux_data(struct dm_buffer *b)
{
	return b->aux;
}

struct dm_bufio_client *dm_bufio_get_client(struct dm_buffer *b)
{
	return b->c;
}

void dm_bufio_user_drop_clean(struct dm_bufio_client *c)
{
	struct dm_buffer *b, *tmp;

	mutex_lock(&c->lock);
	list_for_each_entry_safe(b, tmp, &c->lru, lru_list)
		if (!b->hold_count && !b->dirty)
			free_buffer(b);
	mutex_unlock(&c->lock);
}

void dm_bufio_user_set_cache_limit(struct dm_bufio_client *c, unsigned long max_buffers)
{
	mutex_lock(&c->lock);
	c->max_buffers = max_buffers;
	if (max_buffers)
		evict_to(c, max_buffers);
	mutex_unlock(&c->lock);
}

unsigned long dm_bufio_user_nr_cached(struct dm_bufio_client *c, unsigned long *nr_dirty)
{
	unsigned long n;

	mutex_lock(&c->lock);
	n = c->nr_buffers;
	if (nr_dirty)
		*nr_dirty = c->nr_dirty;
	mutex_unlock(&c->lock);
	return n;
}
