// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vela: the pool's modes, commits, faults, background reclaim and
 * no-space handling.
 *
 * Contract:
 * - A commit makes durable everything the data path acknowledged before
 *   it; REQ_PREFLUSH, REQ_FUA and discard bios complete only after one.
 * - share_lock is held shared by each slow-path metadata update, and
 *   exclusively by every commit and admin change (vela_pool_commit_locked()
 *   expects it so).
 * - After a metadata fault the pool never writes its metadata again but to
 *   record needs_check: read-only mode (fail mode if even that write
 *   fails), and every later flush fails.
 * - Modes change by compare-and-swap steps, and only get worse by
 *   themselves (see enum pool_mode).
 * - The work items here run on the pool's ordered commit_wq.
 *
 * Commit
 * ------
 * share_lock orders the data path against commits and admin changes.  A
 * slow-path metadata update (lookup, allocate, write the data, map) holds
 * it shared, so an allocation and its mapping always land in one
 * transaction.  A commit holds it exclusively: drain if needed, flush the
 * data device, commit the metadata (which writes and flushes the metadata
 * blocks, then the superblock), then pass down the discards of blocks the
 * transaction freed, before anything can allocate them again.
 * REQ_PREFLUSH, REQ_FUA and discard bios complete after the next commit;
 * all that are waiting share it (group commit).  A periodic commit bounds
 * what a crash can lose.  Admin messages commit what the data path did
 * first, so a failing message's abort never drops an acknowledged write.
 *
 * Faults
 * ------
 * A failed metadata update or commit aborts to the last commit and puts the
 * pool in read-only mode with needs_check set; if even that cannot be
 * written, fail mode.  Out of data space, writes that need a new block wait
 * (queue_if_no_space, with a timeout) or fail at once (error_if_no_space).
 * Growing the data device and resuming the pool returns it to write mode.
 */

#include <linux/delay.h>
#include <linux/module.h>
#include <linux/sched/mm.h>

#include "vela-target.h"

#define COMMIT_PERIOD		HZ
/* Mappings one reclaim step releases; share_lock is held meanwhile. */
#define RECLAIM_BATCH		2048
#define DEGRADE_TRIES		5
#define DEGRADE_RETRY_MS	500

static unsigned int no_space_timeout_secs = 60;
module_param(no_space_timeout_secs, uint, 0644);
MODULE_PARM_DESC(no_space_timeout_secs,
		 "Seconds a write waits for data space before it fails (queue_if_no_space)");

/*
 * Mode changes are compare-and-swap steps from one named mode to another,
 * so two of them racing cannot undo each other: a recovery (out of data
 * space back to write, say) tried after a fault was recorded fails instead
 * of putting a read-only pool back in write mode.
 */
static bool change_mode(struct vela_pool *pool, enum pool_mode from, enum pool_mode to)
{
	const char *dev = dm_device_name(pool->pool_md);

	if (from == to || cmpxchg(&pool->mode, from, to) != from)
		return false;
	if (to == POOL_WRITE)
		DMINFO("%s: switching pool to write mode", dev);
	else if (to == POOL_OUT_OF_DATA_SPACE)
		DMWARN("%s: no free data space: writes that need a new block %s", dev,
		       pool->features.error_if_no_space ? "fail" : "wait");
	else if (to == POOL_OUT_OF_METADATA_SPACE)
		DMWARN("%s: metadata space is down to its reserve: writes that need a new block fail; delete branches or grow the metadata device",
		       dev);
	schedule_work(&pool->event_work);
	return true;
}

/* Make the mode at least as bad as @mode; true if this call changed it. */
bool vela_worsen_mode(struct vela_pool *pool, enum pool_mode mode)
{
	enum pool_mode old;

	do {
		old = pool_mode(pool);
		if (old >= mode)
			return false;
	} while (!change_mode(pool, old, mode));
	return true;
}

/*
 * A metadata update or commit failed (@r).  The open transaction may hold
 * half an operation, so the pool stops writing at once and degrade_work
 * aborts to the last commit once no update is in flight.  What the data
 * path acknowledged since the last commit is lost with it: from here on
 * every flush fails, as a disk's would after losing its write cache.
 */
void vela_metadata_error(struct vela_pool *pool, const char *op, int r)
{
	if (!vela_worsen_mode(pool, POOL_READ_ONLY))
		return;
	WRITE_ONCE(pool->lost_writes, true);
	DMERR("%s: metadata %s failed (%d): pool is read-only and needs_check is set; deactivate it and run velactl check",
	      dm_device_name(pool->pool_md), op, r);
	queue_work(pool->commit_wq, &pool->degrade_work);
}

void vela_fail_bios(struct bio_list *bios, blk_status_t status)
{
	struct bio *bio;

	while ((bio = bio_list_pop(bios))) {
		bio->bi_status = status;
		bio_endio(bio);
	}
}

/* Complete every write that waits for data space with @status. */
void vela_fail_no_space_bios(struct vela_pool *pool, blk_status_t status)
{
	struct bio_list held;

	spin_lock_irq(&pool->lock);
	held = pool->no_space_bios;
	bio_list_init(&pool->no_space_bios);
	spin_unlock_irq(&pool->lock);
	vela_fail_bios(&held, status);
}

/* Forget the discards the open transaction queued: it will not commit. */
static void drop_passdowns(struct vela_pool *pool)
{
	struct passdown *pd, *tmp;
	LIST_HEAD(dropped);

	spin_lock_irq(&pool->lock);
	list_splice_init(&pool->passdowns, &dropped);
	spin_unlock_irq(&pool->lock);
	list_for_each_entry_safe(pd, tmp, &dropped, list)
		kfree(pd);
}

/*
 * After vela_metadata_error(): the mode is read-only, so no new fast-path write
 * passes its mode test and the slow path changes nothing.  Drain the
 * fast-path writes already past it, and clear every exclusive bit: they
 * were set against the transaction about to be aborted, in which a block
 * may be owned that the last commit still shares with another branch.
 * Then abort.  The queued discards name blocks the last commit still
 * maps, so none of them is issued.
 */
static void degrade_work_fn(struct work_struct *work)
{
	struct vela_pool *pool = container_of(work, struct vela_pool, degrade_work);
	unsigned int noio = memalloc_noio_save();
	struct branch_c *bc;
	unsigned int tries;
	int r;

	down_write(&pool->share_lock);
	vela_pool_drain_io(pool);
	mutex_lock(&pool->devs_lock);
	list_for_each_entry(bc, &pool->branch_devs, list)
		vela_excl_clear_all(bc);
	mutex_unlock(&pool->devs_lock);
	vela_md_abort(pool->md);
	drop_passdowns(pool);
	pool->dirty = false;
	pool->need_drain = false;
	/* A transient fault may pass: try a few times to record needs_check. */
	for (tries = 0; tries < DEGRADE_TRIES; tries++) {
		if (tries)
			msleep(DEGRADE_RETRY_MS);
		r = vela_md_set_needs_check(pool->md, true);
		if (!r)
			r = vela_md_commit(pool->md);
		if (!r)
			break;
		vela_md_abort(pool->md);
	}
	if (r) {
		DMERR("%s: cannot record needs_check (%d): pool is in fail mode",
		      dm_device_name(pool->pool_md), r);
		vela_worsen_mode(pool, POOL_FAIL);
	}
	up_write(&pool->share_lock);
	vela_fail_no_space_bios(pool, BLK_STS_IOERR);
	memalloc_noio_restore(noio);
}

static void issue_passdowns(struct vela_pool *pool, struct list_head *list)
{
	struct passdown *pd, *tmp;
	bool passdown = pool->features.discard_passdown &&
			bdev_max_discard_sectors(pool->data_bdev);
	sector_t bs = pool->block_sectors;

	list_for_each_entry_safe(pd, tmp, list, list) {
		/* Advisory: a failed passdown loses nothing. */
		if (passdown)
			blkdev_issue_discard(pool->data_bdev, pd->begin * bs,
					     (pd->end - pd->begin) * bs, GFP_NOIO);
		list_del(&pd->list);
		kfree(pd);
	}
}

/*
 * Make everything the data path did durable.  With share_lock held
 * exclusively: no slow-path update is half done.  Order: drain I/O to
 * blocks this transaction freed, flush the data device (so no committed
 * mapping can point at unwritten data), commit the metadata, then discard
 * the freed blocks before the space map can hand them out again.  With
 * nothing to commit, only @flush_data (a flush a bio asked for) does work.
 */
int vela_pool_commit_locked(struct vela_pool *pool, bool flush_data)
{
	LIST_HEAD(passdowns);
	int r;

	lockdep_assert_held_write(&pool->share_lock);
	if (READ_ONCE(pool->lost_writes) || (pool->dirty && pool_mode(pool) >= POOL_READ_ONLY)) {
		/* The open transaction will never commit (degrade aborts it). */
		drop_passdowns(pool);
		return -EIO;
	}
	if (!pool->dirty && !flush_data)
		return 0;
	if (pool->need_drain) {
		vela_pool_drain_io(pool);
		pool->need_drain = false;
	}
	r = blkdev_issue_flush(pool->data_bdev);
	if (r) {
		DMERR_LIMIT("%s: flushing the data device failed (%d)",
			    dm_device_name(pool->pool_md), r);
		return r;
	}
	if (pool->dirty) {
		r = vela_md_commit(pool->md);
		if (r == -ENOMEM) {
			/*
			 * Nothing was written and the transaction is whole
			 * (vela-meta.h): the bios waiting for this commit
			 * fail, the next one tries again, and the discards
			 * wait for it.
			 */
			DMERR_LIMIT("%s: no memory for the metadata commit: it will be retried",
				    dm_device_name(pool->pool_md));
			return r;
		}
		if (r) {
			vela_metadata_error(pool, "commit", r);
			drop_passdowns(pool);
			return r;
		}
		pool->dirty = false;
	}
	/* Only now are the freed blocks free on disk: discard them. */
	spin_lock_irq(&pool->lock);
	list_splice_init(&pool->passdowns, &passdowns);
	spin_unlock_irq(&pool->lock);
	issue_passdowns(pool, &passdowns);
	return 0;
}

int vela_pool_commit(struct vela_pool *pool)
{
	unsigned int noio = memalloc_noio_save();
	int r;

	down_write(&pool->share_lock);
	r = vela_pool_commit_locked(pool, true);
	up_write(&pool->share_lock);
	memalloc_noio_restore(noio);
	return r;
}

/*
 * vela_pool_commit(), tried again for up to @tries tenths of a second while it
 * fails for want of memory, which writes nothing and keeps the transaction.
 */
int vela_pool_commit_retrying(struct vela_pool *pool, unsigned int tries)
{
	int r = vela_pool_commit(pool);

	while (r == -ENOMEM && tries--) {
		msleep(100);
		r = vela_pool_commit(pool);
	}
	return r;
}

/* See vela_md_metadata_reserve(). */
static u64 metadata_reserve(u64 nr_blocks)
{
	return vela_md_metadata_reserve(nr_blocks);
}

/*
 * Discards go on in out_of_metadata_space (they give space back at the
 * commit), but each one shadows leaves first: they stop at half the
 * reserve, so the other half is left for deleting and growing.
 */
bool vela_discards_may_spend_metadata(struct vela_pool *pool)
{
	struct vela_md_info info;

	vela_md_info(pool->md, &info);
	return info.metadata_nr_free >= metadata_reserve(info.metadata_nr_blocks) / 2;
}

static u64 low_water(u64 mark, u64 nr_blocks)
{
	return mark == U64_MAX ? nr_blocks / 16 : mark;
}

/* Raise a dm event when free space falls below a low water mark. */
static void check_low_water(struct vela_pool *pool, bool *low, u64 nr_free, u64 mark,
			    const char *what)
{
	if (nr_free >= mark) {
		*low = false;
		return;
	}
	if (*low)
		return;
	*low = true;
	DMWARN("%s: free %s blocks (%llu) are below the low water mark (%llu)",
	       dm_device_name(pool->pool_md), what, nr_free, mark);
	schedule_work(&pool->event_work);
}

/*
 * The free-space watch, after every commit and before every allocation:
 * the low water events, and the metadata reserve (entered below it, left
 * at twice it, so the mode does not flap).
 */
void vela_check_free_space(struct vela_pool *pool)
{
	struct vela_md_info info;
	enum pool_mode mode = pool_mode(pool);
	u64 reserve;

	vela_md_info(pool->md, &info);
	reserve = metadata_reserve(info.metadata_nr_blocks);
	if (mode < POOL_OUT_OF_METADATA_SPACE && info.metadata_nr_free < reserve)
		vela_worsen_mode(pool, POOL_OUT_OF_METADATA_SPACE);
	else if (mode == POOL_OUT_OF_METADATA_SPACE && info.metadata_nr_free >= 2 * reserve)
		change_mode(pool, POOL_OUT_OF_METADATA_SPACE, POOL_WRITE);
	check_low_water(pool, &pool->data_low, info.data_nr_free,
			low_water(pool->features.low_water_data, info.data_nr_blocks), "data");
	check_low_water(pool, &pool->metadata_low, info.metadata_nr_free,
			low_water(pool->features.low_water_metadata, info.metadata_nr_blocks),
			"metadata");
}

/* Space may have come back: retry the writes that wait for it. */
void vela_retry_no_space_bios(struct vela_pool *pool)
{
	struct vela_md_info info;
	struct bio_list held;
	struct bio *bio;

	if (pool_mode(pool) != POOL_OUT_OF_DATA_SPACE)
		return;
	vela_md_info(pool->md, &info);
	if (!info.data_nr_free || !change_mode(pool, POOL_OUT_OF_DATA_SPACE, POOL_WRITE))
		return;
	cancel_delayed_work(&pool->no_space_timeout);
	spin_lock_irq(&pool->lock);
	held = pool->no_space_bios;
	bio_list_init(&pool->no_space_bios);
	spin_unlock_irq(&pool->lock);
	while ((bio = bio_list_pop(&held)))
		vela_defer_bio(pool, bio);
}

/* Group commit: every bio queued before this ran shares its commit. */
static void commit_work_fn(struct work_struct *work)
{
	struct vela_pool *pool = container_of(work, struct vela_pool, commit_work);
	struct bio_list bios;
	int r;

	spin_lock_irq(&pool->lock);
	bios = pool->commit_bios;
	bio_list_init(&pool->commit_bios);
	spin_unlock_irq(&pool->lock);

	/*
	 * A flush failed at once would make a journal give up on the device:
	 * after ten seconds the waiting bios fail all the same.
	 */
	r = vela_pool_commit_retrying(pool, 100);
	vela_fail_bios(&bios, errno_to_blk_status(r));
	vela_retry_no_space_bios(pool);
}

static void periodic_commit_fn(struct work_struct *work)
{
	struct vela_pool *pool = container_of(to_delayed_work(work), struct vela_pool,
					      periodic_commit);

	if (!READ_ONCE(pool->suspended)) {
		if (READ_ONCE(pool->dirty))
			vela_pool_commit(pool);
		if (pool_mode(pool) < POOL_READ_ONLY)
			vela_check_free_space(pool);
		vela_retry_no_space_bios(pool);
		queue_work(pool->commit_wq, &pool->reclaim_work);
	}
	queue_delayed_work(pool->commit_wq, &pool->periodic_commit, COMMIT_PERIOD);
}

/*
 * Background delete: release what deleted branches stop sharing, a
 * bounded step at a time, each step committed, so a big delete never holds
 * up I/O for long and a crash resumes from the persistent delete queue.
 * The step requeues itself behind the other commit-queue work until the
 * queue is empty.
 */
static void reclaim_work_fn(struct work_struct *work)
{
	struct vela_pool *pool = container_of(work, struct vela_pool, reclaim_work);
	struct vela_md_info info;
	u64 pending;
	int r;

	unsigned int noio;

	vela_md_info(pool->md, &info);
	if (!info.pending_deletes || pool_mode(pool) >= POOL_READ_ONLY ||
	    READ_ONCE(pool->suspended))
		return;
	noio = memalloc_noio_save();
	down_write(&pool->share_lock);
	r = vela_md_reclaim(pool->md, RECLAIM_BATCH, &pending);
	if (r) {
		vela_metadata_error(pool, "reclaim", r);
	} else {
		/*
		 * Reclaim frees data blocks a live branch may still be
		 * reading (it shared them before it copied away): drain
		 * before the commit lets them be allocated, as for discards.
		 */
		pool->dirty = true;
		pool->need_drain = true;
		r = vela_pool_commit_locked(pool, false);
	}
	up_write(&pool->share_lock);
	memalloc_noio_restore(noio);
	if (!r && pending)
		queue_work(pool->commit_wq, &pool->reclaim_work);
	else if (!r)
		schedule_work(&pool->event_work);
	vela_retry_no_space_bios(pool);
}

/* Complete @bio after the next commit, and make sure one comes. */
void vela_commit_then_complete(struct vela_pool *pool, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	bio_list_add(&pool->commit_bios, bio);
	spin_unlock_irqrestore(&pool->lock, flags);
	queue_work(pool->commit_wq, &pool->commit_work);
}

/*
 * Fail the writes that have waited no_space_timeout_secs for data space,
 * and come back for the rest.
 */
static void no_space_timeout_fn(struct work_struct *work)
{
	struct vela_pool *pool = container_of(to_delayed_work(work), struct vela_pool,
					      no_space_timeout);
	unsigned long timeout = (unsigned long)no_space_timeout_secs * HZ, next = 0;
	struct bio_list held, expired;
	struct vela_io *io;
	struct bio *bio;

	bio_list_init(&expired);
	spin_lock_irq(&pool->lock);
	held = pool->no_space_bios;
	bio_list_init(&pool->no_space_bios);
	while ((bio = bio_list_pop(&held))) {
		io = dm_per_bio_data(bio, sizeof(*io));
		if (time_after_eq(jiffies, io->held_since + timeout)) {
			bio_list_add(&expired, bio);
		} else {
			bio_list_add(&pool->no_space_bios, bio);
			if (!next)
				next = io->held_since + timeout;
		}
	}
	spin_unlock_irq(&pool->lock);
	if (!bio_list_empty(&expired))
		DMERR_LIMIT("%s: no data space for %u s: failing the writes that waited for it",
			    dm_device_name(pool->pool_md), no_space_timeout_secs);
	vela_fail_bios(&expired, BLK_STS_NOSPC);
	if (next)
		queue_delayed_work(pool->commit_wq, &pool->no_space_timeout,
				   max_t(long, (long)(next - jiffies), 1));
}

/* A write needs a new block and there is none. */
void vela_no_data_space(struct vela_pool *pool, struct bio *bio)
{
	struct vela_io *io = dm_per_bio_data(bio, sizeof(*io));
	unsigned long flags;
	blk_status_t status;

	change_mode(pool, POOL_WRITE, POOL_OUT_OF_DATA_SPACE);
	if (pool->features.error_if_no_space) {
		bio->bi_status = BLK_STS_NOSPC;
		bio_endio(bio);
		return;
	}
	io->held_since = jiffies;
	spin_lock_irqsave(&pool->lock, flags);
	status = io->bc->suspend_status;
	if (!status)
		bio_list_add(&pool->no_space_bios, bio);
	spin_unlock_irqrestore(&pool->lock, flags);
	if (status) {
		bio->bi_status = status;
		bio_endio(bio);
		return;
	}
	queue_delayed_work(pool->commit_wq, &pool->no_space_timeout,
			   (unsigned long)no_space_timeout_secs * HZ);
}

/* The commit machinery's lists and work items, before the pool is used. */
void vela_commit_init(struct vela_pool *pool)
{
	bio_list_init(&pool->commit_bios);
	bio_list_init(&pool->no_space_bios);
	INIT_LIST_HEAD(&pool->passdowns);
	INIT_WORK(&pool->commit_work, commit_work_fn);
	INIT_WORK(&pool->degrade_work, degrade_work_fn);
	INIT_WORK(&pool->reclaim_work, reclaim_work_fn);
	INIT_DELAYED_WORK(&pool->periodic_commit, periodic_commit_fn);
	INIT_DELAYED_WORK(&pool->no_space_timeout, no_space_timeout_fn);
}

/* Once commit_wq exists: start the periodic commit. */
void vela_commit_start(struct vela_pool *pool)
{
	queue_delayed_work(pool->commit_wq, &pool->periodic_commit, COMMIT_PERIOD);
}

/*
 * The last table is gone: stop the background work and commit what is
 * left.  commit_wq is still there, and idle once this returns.
 */
void vela_commit_stop(struct vela_pool *pool)
{
	/* No branch device is left, so no bio is in flight or queued. */
	cancel_delayed_work_sync(&pool->periodic_commit);
	cancel_delayed_work_sync(&pool->no_space_timeout);
	cancel_work_sync(&pool->reclaim_work);
	flush_workqueue(pool->commit_wq);
	if (vela_pool_commit_retrying(pool, 10) == -ENOMEM) {
		DMERR("%s: no memory for the last metadata commit: the writes since the one before are lost",
		      dm_device_name(pool->pool_md));
		drop_passdowns(pool);
	}
	flush_work(&pool->degrade_work);
}
