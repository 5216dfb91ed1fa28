/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The two dm targets' private header: the pool, the per-device and per-bio
 * state, and what the target's files call across each other.  Only the
 * target's files include it; the metadata layers never do.
 *
 * Contract:
 * - The target is in rooms, one concern each:
 *     vela-pool.c    the pool's lifetime, its table and registration
 *     vela-commit.c  modes, faults, commit, reclaim and no-space handling
 *     vela-io.c      epochs and the data path
 *     vela-branch.c  the branch target
 *     vela-origin.c  external origins (the only kernel-version #ifdef)
 *     vela-msg.c     the admin messages
 * - Every function declared here carries the vela_ prefix (but the
 *   pool_mode() inline); everything else in the rooms is static.
 * - A helper whose comment says it runs with a lock held asserts it with
 *   lockdep; a __ prefix marks those that run under pools_lock.
 * - The lock order is next to the locks, in struct vela_pool.
 * - The metadata is reached only through vela-meta.h.
 */
#ifndef VELA_TARGET_H
#define VELA_TARGET_H

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/mutex.h>
#include <linux/percpu-refcount.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "vela-meta.h"

#define DM_MSG_PREFIX "vela"

/*
 * The targets' interface version (docs/dm-vela.rst).  The major number can
 * be set at build time for one purpose only: the mismatched module that the
 * version check's test loads (make test-tools).
 */
#ifndef VELA_TARGET_MAJOR
#define VELA_TARGET_MAJOR	0
#endif
#define VELA_TARGET_MINOR	10
#define VELA_TARGET_PATCH	0

#define BLOCK_LOCK_BITS		8

struct vela_pool_features {
	bool read_only;
	bool error_if_no_space;
	bool discard_passdown;
	/* Free blocks below which a dm event fires (U64_MAX: the default). */
	u64 low_water_data;
	u64 low_water_metadata;
};

/*
 * Pool modes, from best to worst.  The mode only ever gets worse by
 * itself; growing the data device (out of data space) or reloading the
 * pool on a checked device (read-only, fail) brings it back.
 */
enum pool_mode {
	POOL_WRITE,		/* normal */
	POOL_OUT_OF_DATA_SPACE,	/* writes needing a new block wait or fail */
	POOL_OUT_OF_METADATA_SPACE, /* in the reserve: no new mappings */
	POOL_READ_ONLY,		/* reads only; the metadata is not written */
	POOL_FAIL,		/* reads only, from the last commit */
};

/* See "Epochs" in vela-io.c. */
struct vela_epoch {
	struct percpu_ref ref;
	struct completion drained;
};

/* A data-device range whose discard waits for the commit that freed it. */
struct passdown {
	struct list_head list;
	u64 begin, end;		/* data blocks */
};

/* The open exception store, shared by every table on one metadata device. */
struct vela_pool {
	struct list_head list;
	struct mapped_device *pool_md;	/* the pool device that opened it */
	struct mutex ti_lock;
	struct dm_target *ti;		/* the live pool table, for dm events */
	struct work_struct event_work;
	struct block_device *metadata_bdev;
	struct block_device *data_bdev;
	u8 uuid[16];			/* the superblock's: one store per pool */
	unsigned int block_sectors;
	unsigned int refs;		/* pool and branch tables; pools_lock */
	struct mutex devs_lock;
	struct list_head branch_devs;	/* active branch tables; devs_lock */
	struct vela_md *md;
	struct vela_pool_features features;
	struct mutex admin_lock;	/* one admin message at a time */

	/*
	 * See "Commit" in vela-commit.c.  Lock order: pools_lock, admin_lock,
	 * block_locks, share_lock, devs_lock, the metadata's own lock.
	 * drain_lock is taken under share_lock (never with devs_lock held),
	 * ti_lock under pools_lock at most, and the spinlock lock is innermost.
	 */
	struct rw_semaphore share_lock;
	bool dirty;			/* the data path changed the metadata */
	/*
	 * A metadata fault aborted a transaction: writes acknowledged since
	 * the last commit are gone, so every later flush and FUA fails.
	 */
	bool lost_writes;
	bool need_drain;		/* this transaction freed data blocks */
	bool data_low, metadata_low;	/* below the low water marks */
	/* The pool table is suspended: no periodic commit, no reclaim. */
	bool suspended;
	enum pool_mode mode;		/* see change_mode(), vela-commit.c */

	struct mutex drain_lock;
	struct vela_epoch epochs[2];
	struct vela_epoch *epoch;	/* current; see epoch_get(), vela-io.c */

	struct mutex block_locks[1 << BLOCK_LOCK_BITS];

	struct workqueue_struct *wq;	/* the slow path, unbound */
	struct workqueue_struct *commit_wq;	/* ordered */
	struct work_struct commit_work;
	struct delayed_work periodic_commit;
	struct delayed_work no_space_timeout;
	struct work_struct degrade_work;
	struct work_struct reclaim_work;
	struct bio_set bs;

	spinlock_t lock;		/* the lists below */
	struct bio_list commit_bios;	/* complete after the next commit */
	struct bio_list no_space_bios;	/* wait for data space */
	struct list_head passdowns;
};

/* Per-bio data of a branch device. */
struct vela_io {
	struct vela_epoch *epoch;	/* held while remapped in place */
	struct branch_c *bc;
	struct work_struct work;
	unsigned long held_since;	/* jiffies, waiting for data space */
};

/* One table instance of the branch target. */
struct branch_c {
	struct list_head list;		/* in pool->branch_devs */
	struct dm_target *ti;
	struct dm_dev *pool_dev;
	struct dm_dev *origin_dev;	/* the external origin, or NULL */
	/*
	 * The pool's own devices, held for as long as this table sends I/O
	 * to them: the pool table may be replaced (even by the error
	 * target, which dm lets replace any target) while branches live.
	 */
	struct dm_dev *metadata_dev, *data_dev;
	/* Resumed and not suspended since; under the pool's admin_lock. */
	bool live;
	/*
	 * Set from presuspend to the next resume (under the pool's lock):
	 * how a write that finds no data space completes meanwhile, instead
	 * of waiting through the suspend (see branch_presuspend()).
	 */
	blk_status_t suspend_status;
	sector_t origin_sectors;
	struct vela_pool *pool;
	u64 id;
	bool read_only;
	/*
	 * The allocation limit (0: none) and the blocks the branch owns
	 * alone: counted by a walk at activation, then kept up as the device
	 * allocates and frees; zero once a branch is taken from it.
	 */
	u64 limit;
	atomic64_t owned;
	/* Exclusive bitmap, in page-sized chunks allocated on first use. */
	unsigned long **excl;
	unsigned long nr_excl_chunks;
};

#define EXCL_BITS_PER_CHUNK	(PAGE_SIZE * BITS_PER_BYTE)
/* kvmalloc() refuses (and warns about) arrays above INT_MAX bytes. */
#define MAX_EXCL_CHUNKS		(INT_MAX / sizeof(unsigned long *))
/* One table instance of the pool target. */
struct pool_c {
	struct dm_dev *metadata_dev;
	struct dm_dev *data_dev;
	unsigned int block_sectors;
	struct vela_pool_features features;
	struct vela_pool *pool;
};

static inline enum pool_mode pool_mode(struct vela_pool *pool)
{
	return READ_ONCE(pool->mode);
}

/* vela-pool.c */
struct vela_pool *vela_pool_get_by_dev(struct dm_dev *pool_dev);
void vela_pool_put(struct vela_pool *pool);

/* vela-commit.c */
void vela_commit_init(struct vela_pool *pool);
void vela_commit_start(struct vela_pool *pool);
void vela_commit_stop(struct vela_pool *pool);
void vela_metadata_error(struct vela_pool *pool, const char *op, int r);
bool vela_worsen_mode(struct vela_pool *pool, enum pool_mode mode);
void vela_fail_bios(struct bio_list *bios, blk_status_t status);
void vela_fail_no_space_bios(struct vela_pool *pool, blk_status_t status);
int vela_pool_commit_locked(struct vela_pool *pool, bool flush_data);
int vela_pool_commit(struct vela_pool *pool);
int vela_pool_commit_retrying(struct vela_pool *pool, unsigned int tries);
bool vela_discards_may_spend_metadata(struct vela_pool *pool);
void vela_check_free_space(struct vela_pool *pool);
void vela_retry_no_space_bios(struct vela_pool *pool);
void vela_commit_then_complete(struct vela_pool *pool, struct bio *bio);
void vela_no_data_space(struct vela_pool *pool, struct bio *bio);

/* vela-io.c */
int vela_epochs_init(struct vela_pool *pool);
void vela_epochs_exit(struct vela_pool *pool);
void vela_pool_drain_io(struct vela_pool *pool);
void vela_excl_clear_all(struct branch_c *bc);
void vela_defer_bio(struct vela_pool *pool, struct bio *bio);
int vela_branch_map(struct dm_target *ti, struct bio *bio);
int vela_branch_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error);

/* vela-branch.c */
extern struct target_type vela_branch_target;

/* vela-origin.c */
int vela_origin_sample_path(const char *path, struct vela_md_origin *origin);
int vela_open_origin(struct dm_target *ti, struct branch_c *bc,
		     const struct vela_branch_info *rec, const char *path);

/* vela-msg.c */
int vela_pool_message(struct dm_target *ti, unsigned int argc, char **argv, char *result,
		      unsigned int maxlen);

#endif
