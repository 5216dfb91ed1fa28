// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vela: the data path of a branch device, and the I/O epochs.
 *
 * Contract:
 * - Each bio covers at most one data block (max_io_len).  map() remaps a
 *   read it can serve from cached metadata and a plain write to a block
 *   the device owns outright; every other bio goes to the slow path.
 * - A write to a block that is shared, or not mapped, never lands in place:
 *   it gets a new block, filled and written before it is mapped.
 * - Every bio remapped to a block a tree maps holds an epoch reference
 *   until it completes; vela_pool_drain_io() waits for all of them.
 * - Slow-path metadata updates hold share_lock shared; REQ_PREFLUSH, REQ_FUA
 *   and discards complete after the next commit (vela-commit.c).
 *
 * The data path
 * -------------
 * A branch device splits I/O at data block boundaries (max_io_len).  For a
 * block it owns outright, a write is remapped in map(): no lock, no worker
 * hop.  "Owns outright" is the per-device exclusive bitmap: a bit is set
 * only by the slow path, after it saw (or made) a mapping that no other
 * tree shares, and every bit of a branch is cleared before a branch is
 * taken from it.  Reads are remapped in map() whenever the lookup can be
 * served from cached metadata without sleeping; an unmapped block reads as
 * zeros.
 *
 * Everything else goes to the slow path, a work item per bio on an unbound
 * workqueue, so several blocks are worked on at once.  A hashed mutex per
 * (branch, block) orders concurrent bios to one block.  A write to a shared
 * or unmapped block allocates a new block, fills it (a copy of the shared
 * block, or zeros, under the part the bio does not cover; a bio covering
 * the whole block is written as it is), writes it, and only then maps it.
 * The unwritten part of a new block is therefore never stale data.
 *
 * Epochs
 * ------
 * Every bio remapped to a block that a tree maps holds a reference on the
 * pool's current I/O epoch (a percpu_ref) until it completes.  Draining
 * swaps in a fresh epoch and waits for the old one to empty.  Two things
 * drain:
 *   - A message that changes what a branch's devices may do (creating a
 *     branch from it, protecting, limiting or merging it: update_devices()
 *     in vela-msg.c), after clearing their exclusive bits, so no write that
 *     judged a block exclusive can land in it once it is shared.
 *   - A commit that frees data blocks (a discard, a reclaim step), and the
 *     release of the held metadata view, so no read or write still in
 *     flight to a freed block can meet its next owner; the space map never
 *     hands out a block freed in the open transaction.
 *   - A degrade, before it aborts the transaction the fast path wrote
 *     against (vela-commit.c).
 */

#include <linux/hash.h>
#include <linux/sched/mm.h>
#include <linux/vmalloc.h>

#include "vela-target.h"

/* --- epochs ---------------------------------------------------------- */

static void epoch_release(struct percpu_ref *ref)
{
	complete(&container_of(ref, struct vela_epoch, ref)->drained);
}

/*
 * A reference on the current epoch.  It counts only if the epoch is still
 * current after it was taken: a drain that swapped it out after our
 * tryget may otherwise have stopped waiting for it.  The acquire pairs with
 * the release in vela_pool_drain_io(), so what the drainer did before the swap
 * (clearing exclusive bits) is seen by the caller.
 */
static struct vela_epoch *epoch_get(struct vela_pool *pool)
{
	struct vela_epoch *e;

	for (;;) {
		e = READ_ONCE(pool->epoch);
		if (percpu_ref_tryget_live(&e->ref)) {
			/* Pairs with the release in vela_pool_drain_io(). */
			if (smp_load_acquire(&pool->epoch) == e)
				return e;
			percpu_ref_put(&e->ref);
		}
		cpu_relax();
	}
}

/* Wait for every bio that took an epoch reference before this call. */
void vela_pool_drain_io(struct vela_pool *pool)
{
	struct vela_epoch *old, *next;

	mutex_lock(&pool->drain_lock);
	old = pool->epoch;
	next = old == &pool->epochs[0] ? &pool->epochs[1] : &pool->epochs[0];
	reinit_completion(&next->drained);
	percpu_ref_reinit(&next->ref);
	/* Publishes what the caller did (cleared bits) with the new epoch. */
	smp_store_release(&pool->epoch, next);
	percpu_ref_kill(&old->ref);
	wait_for_completion(&old->drained);
	mutex_unlock(&pool->drain_lock);
}

int vela_epochs_init(struct vela_pool *pool)
{
	int r;

	init_completion(&pool->epochs[0].drained);
	init_completion(&pool->epochs[1].drained);
	r = percpu_ref_init(&pool->epochs[0].ref, epoch_release, PERCPU_REF_ALLOW_REINIT,
			    GFP_KERNEL);
	if (r)
		return r;
	r = percpu_ref_init(&pool->epochs[1].ref, epoch_release, PERCPU_REF_INIT_DEAD,
			    GFP_KERNEL);
	if (r) {
		percpu_ref_exit(&pool->epochs[0].ref);
		return r;
	}
	pool->epoch = &pool->epochs[0];
	return 0;
}

void vela_epochs_exit(struct vela_pool *pool)
{
	/* No bio is in flight: the live epoch only holds its initial ref. */
	percpu_ref_kill(&pool->epoch->ref);
	wait_for_completion(&pool->epoch->drained);
	percpu_ref_exit(&pool->epochs[0].ref);
	percpu_ref_exit(&pool->epochs[1].ref);
}

/* --- the data path --------------------------------------------------- */

static bool excl_test(struct branch_c *bc, u64 lblock)
{
	unsigned long *chunk;

	if (lblock / EXCL_BITS_PER_CHUNK >= bc->nr_excl_chunks)
		return false;
	chunk = READ_ONCE(bc->excl[lblock / EXCL_BITS_PER_CHUNK]);
	return chunk && test_bit(lblock % EXCL_BITS_PER_CHUNK, chunk);
}

/* Slow path only, with share_lock held shared. */
static void excl_set(struct branch_c *bc, u64 lblock)
{
	unsigned long **slot, *chunk;

	lockdep_assert_held(&bc->pool->share_lock);
	if (lblock / EXCL_BITS_PER_CHUNK >= bc->nr_excl_chunks)
		return;
	slot = &bc->excl[lblock / EXCL_BITS_PER_CHUNK];
	chunk = READ_ONCE(*slot);
	if (!chunk) {
		chunk = (unsigned long *)get_zeroed_page(GFP_NOIO);
		if (!chunk)
			return;		/* this block keeps using the slow path */
		if (cmpxchg(slot, NULL, chunk)) {
			free_page((unsigned long)chunk);
			chunk = READ_ONCE(*slot);
		}
	}
	set_bit(lblock % EXCL_BITS_PER_CHUNK, chunk);
}

static void excl_clear(struct branch_c *bc, u64 lblock)
{
	unsigned long *chunk;

	if (lblock / EXCL_BITS_PER_CHUNK >= bc->nr_excl_chunks)
		return;
	chunk = READ_ONCE(bc->excl[lblock / EXCL_BITS_PER_CHUNK]);
	if (chunk)
		clear_bit(lblock % EXCL_BITS_PER_CHUNK, chunk);
}

/* With share_lock held exclusively, before the branch is shared. */
void vela_excl_clear_all(struct branch_c *bc)
{
	unsigned long i;

	lockdep_assert_held_write(&bc->pool->share_lock);
	for (i = 0; i < bc->nr_excl_chunks; i++)
		if (bc->excl[i])
			bitmap_zero(bc->excl[i], EXCL_BITS_PER_CHUNK);
}

static u64 bio_lblock(struct vela_pool *pool, struct bio *bio)
{
	return bio->bi_iter.bi_sector >> ilog2(pool->block_sectors);
}

static sector_t block_offset(struct vela_pool *pool, sector_t sector)
{
	return sector & (pool->block_sectors - 1);
}

static void remap(struct vela_pool *pool, struct bio *bio, u64 pblock)
{
	bio_set_dev(bio, pool->data_bdev);
	bio->bi_iter.bi_sector = pblock * pool->block_sectors +
				 block_offset(pool, bio->bi_iter.bi_sector);
}

static struct mutex *block_lock(struct vela_pool *pool, u64 id, u64 lblock)
{
	return &pool->block_locks[hash_64(lblock ^ (id << 40) ^ id, BLOCK_LOCK_BITS)];
}

/* Write @bio's data to @pblock and wait; @bio itself is not completed. */
static int write_bio_sync(struct vela_pool *pool, struct bio *bio, u64 pblock)
{
	struct bio *clone;
	int r;

	clone = bio_alloc_clone(pool->data_bdev, bio, GFP_NOIO, &pool->bs);
	if (!clone)
		return -ENOMEM;
	clone->bi_opf &= ~(REQ_PREFLUSH | REQ_FUA);
	remap(pool, clone, pblock);
	r = submit_bio_wait(clone);
	bio_put(clone);
	return r;
}

/* Read or write @sectors at @sector of @bdev from or to @buf (vmalloc'd). */
static int rw_sync(struct block_device *bdev, blk_opf_t opf, sector_t sector,
		   unsigned int sectors, void *buf)
{
	unsigned int bytes = sectors << SECTOR_SHIFT, done, len;
	struct bio *bio;
	int r;

	bio = bio_alloc(bdev, DIV_ROUND_UP(bytes, PAGE_SIZE), opf, GFP_NOIO);
	bio->bi_iter.bi_sector = sector;
	for (done = 0; done < bytes; done += len) {
		len = min_t(unsigned int, bytes - done, PAGE_SIZE);
		__bio_add_page(bio, vmalloc_to_page(buf + done), len, 0);
	}
	if (op_is_write(opf))
		flush_kernel_vmap_range(buf, bytes);
	r = submit_bio_wait(bio);
	if (!op_is_write(opf))
		invalidate_kernel_vmap_range(buf, bytes);
	bio_put(bio);
	return r;
}

static int block_rw_sync(struct vela_pool *pool, blk_opf_t opf, u64 pblock, void *buf)
{
	return rw_sync(pool->data_bdev, opf, pblock * pool->block_sectors, pool->block_sectors,
		       buf);
}

/*
 * What an unmapped block holds: the external origin's data (zeros past its
 * end), or zeros.
 */
static int read_unmapped_block(struct branch_c *bc, u64 lblock, void *buf)
{
	unsigned int bs = bc->pool->block_sectors;
	sector_t start = lblock * bs;
	unsigned int sectors = 0;

	if (bc->origin_dev && start < bc->origin_sectors)
		sectors = min_t(sector_t, bs, bc->origin_sectors - start);
	memset(buf + (sectors << SECTOR_SHIFT), 0, (bs - sectors) << SECTOR_SHIFT);
	return sectors ? rw_sync(bc->origin_dev->bdev, REQ_OP_READ, start, sectors, buf) : 0;
}

static bool covers_block(struct vela_pool *pool, struct bio *bio)
{
	return !block_offset(pool, bio->bi_iter.bi_sector) &&
	       bio_sectors(bio) == pool->block_sectors;
}

/*
 * Write @bio into the new block @to: the bio's data over a copy of @from,
 * or over what the unmapped block reads as when @from is VELA_NO_BLOCK.  The whole block is written,
 * so no byte of @to's previous owner survives.
 */
static int write_new_block(struct branch_c *bc, struct bio *bio, u64 from, u64 to)
{
	struct vela_pool *pool = bc->pool;
	unsigned int bytes = pool->block_sectors << SECTOR_SHIFT;
	struct bvec_iter iter;
	struct bio_vec bv;
	size_t offset;
	void *buf;
	int r;

	if (covers_block(pool, bio))
		return write_bio_sync(pool, bio, to);
	buf = vmalloc(bytes);	/* NOIO: process_bio_work()'s scope */
	if (!buf)
		return -ENOMEM;
	if (from == VELA_NO_BLOCK)
		r = read_unmapped_block(bc, bio_lblock(pool, bio), buf);
	else
		r = block_rw_sync(pool, REQ_OP_READ, from, buf);
	if (!r) {
		offset = block_offset(pool, bio->bi_iter.bi_sector) << SECTOR_SHIFT;
		bio_for_each_segment(bv, bio, iter) {
			memcpy_from_bvec(buf + offset, &bv);
			offset += bv.bv_len;
		}
		r = block_rw_sync(pool, REQ_OP_WRITE, to, buf);
	}
	vfree(buf);
	return r;
}

/* The branch owns as many blocks alone as its allocation limit allows. */
static bool over_limit(struct branch_c *bc)
{
	u64 limit = READ_ONCE(bc->limit);

	return limit && atomic64_read(&bc->owned) >= limit;
}

static void complete_write(struct vela_pool *pool, struct bio *bio, int r)
{
	if (r) {
		bio->bi_status = errno_to_blk_status(r);
		bio_endio(bio);
	} else if (bio->bi_opf & REQ_FUA) {
		vela_commit_then_complete(pool, bio);
	} else {
		bio_endio(bio);
	}
}

/*
 * The slow path of a write: with the block's lock, under share_lock.  An
 * exclusive block is written in place; anything else gets a new block,
 * filled and written before it is mapped.
 */
static void process_write(struct branch_c *bc, struct bio *bio)
{
	struct vela_io *io = dm_per_bio_data(bio, sizeof(*io));
	struct vela_pool *pool = bc->pool;
	u64 lblock = bio_lblock(pool, bio), pblock, new_block;
	struct mutex *lock = block_lock(pool, bc->id, lblock);
	bool shared;
	int r;

	mutex_lock(lock);
	down_read(&pool->share_lock);
	/*
	 * Tested under share_lock: once degrade_work has aborted, no write
	 * may change the metadata or land in a block the abort took back.
	 */
	if (bc->read_only || pool_mode(pool) >= POOL_READ_ONLY) {
		up_read(&pool->share_lock);
		mutex_unlock(lock);
		complete_write(pool, bio, -EIO);
		return;
	}
	/* Taken before the lookup: see "Epochs". */
	io->epoch = epoch_get(pool);
	r = vela_md_lookup(pool->md, bc->id, lblock, &pblock, &shared);
	if (!r && !shared) {
		excl_set(bc, lblock);
		r = write_bio_sync(pool, bio, pblock);
	} else if (!r || r == -ENODATA) {
		if (r)
			pblock = VELA_NO_BLOCK;
		vela_check_free_space(pool);
		if (pool_mode(pool) == POOL_OUT_OF_METADATA_SPACE)
			r = -ENOSR;
		else if (over_limit(bc))
			r = -EDQUOT;
		else
			r = vela_md_alloc_data_block(pool->md, &new_block);
		if (r == -ENOSPC) {
			percpu_ref_put(&io->epoch->ref);
			io->epoch = NULL;
			up_read(&pool->share_lock);
			mutex_unlock(lock);
			vela_no_data_space(pool, bio);
			return;
		}
		if (!r) {
			r = write_new_block(bc, bio, pblock, new_block);
			if (r) {
				if (vela_md_release_data_block(pool->md, new_block))
					vela_metadata_error(pool, "release", -EIO);
			} else {
				r = vela_md_map(pool->md, bc->id, lblock, new_block);
				if (r == -ENOMEM) {
					/* Refused before any change: this write fails alone. */
					if (vela_md_release_data_block(pool->md, new_block))
						vela_metadata_error(pool, "release", -EIO);
				} else if (r) {
					vela_metadata_error(pool, "map", r);
				} else {
					excl_set(bc, lblock);
					atomic64_inc(&bc->owned);
				}
			}
			WRITE_ONCE(pool->dirty, true);
		}
	} else {
		vela_metadata_error(pool, "lookup", r);
	}
	if (r == -EDQUOT) {
		DMERR_LIMIT("%s: branch %llu reached its allocation limit of %llu blocks",
			    dm_device_name(dm_table_get_md(bc->ti->table)), bc->id,
			    READ_ONCE(bc->limit));
		r = -ENOSPC;
	} else if (r == -ENOSR) {
		r = -ENOSPC;	/* change_mode() said why */
	}
	percpu_ref_put(&io->epoch->ref);
	io->epoch = NULL;
	up_read(&pool->share_lock);
	mutex_unlock(lock);
	complete_write(pool, bio, r);
}

/*
 * A read of an unmapped block: remapped to the external origin (map()
 * split bios at its end) and true, or completed with zeros and false.
 */
static bool read_unmapped(struct branch_c *bc, struct bio *bio)
{
	if (bc->origin_dev && bio->bi_iter.bi_sector < bc->origin_sectors) {
		bio_set_dev(bio, bc->origin_dev->bdev);
		return true;
	}
	zero_fill_bio(bio);
	bio_endio(bio);
	return false;
}

static void process_read(struct branch_c *bc, struct bio *bio)
{
	struct vela_io *io = dm_per_bio_data(bio, sizeof(*io));
	struct vela_pool *pool = bc->pool;
	bool shared;
	u64 pblock;
	int r;

	io->epoch = epoch_get(pool);
	r = vela_md_lookup(pool->md, bc->id, bio_lblock(pool, bio), &pblock, &shared);
	if (r == -ENODATA) {
		if (read_unmapped(bc, bio))
			dm_submit_bio_remap(bio, NULL);
	} else if (r) {
		/* A bad metadata block: this read fails, the pool stops writing. */
		vela_metadata_error(pool, "lookup", r);
		bio_io_error(bio);
	} else {
		remap(pool, bio, pblock);
		dm_submit_bio_remap(bio, NULL);
	}
}

/*
 * Queue @freed for discard after the commit that frees it.  Advisory: with
 * no memory, the block is simply not discarded.
 */
static void add_passdown(struct vela_pool *pool, u64 freed)
{
	struct passdown *pd, *last;
	unsigned long flags;

	pd = kmalloc(sizeof(*pd), GFP_NOIO);
	spin_lock_irqsave(&pool->lock, flags);
	last = list_empty(&pool->passdowns) ? NULL :
	       list_last_entry(&pool->passdowns, struct passdown, list);
	if (last && last->end == freed) {
		last->end++;
	} else if (pd) {
		pd->begin = freed;
		pd->end = freed + 1;
		list_add_tail(&pd->list, &pool->passdowns);
		pd = NULL;
	}
	spin_unlock_irqrestore(&pool->lock, flags);
	kfree(pd);
}

/*
 * Unmap every block the discard covers whole, then complete it after the
 * commit.  A block freed by the unmap is discarded on the data device only
 * after that commit: before it, a crash would bring the mapping back.
 */
static void process_discard(struct branch_c *bc, struct bio *bio)
{
	struct vela_pool *pool = bc->pool;
	sector_t begin = bio->bi_iter.bi_sector, end = bio_end_sector(bio);
	u64 lblock = DIV_ROUND_UP_ULL(begin, pool->block_sectors);
	u64 lend = end >> ilog2(pool->block_sectors), freed;
	struct mutex *lock;
	int r = 0;

	if (bc->read_only) {
		bio_io_error(bio);
		return;
	}
	for (; !r && lblock < lend; lblock++) {
		lock = block_lock(pool, bc->id, lblock);
		mutex_lock(lock);
		down_read(&pool->share_lock);
		excl_clear(bc, lblock);
		/* Under share_lock, as in process_write(). */
		if (pool_mode(pool) >= POOL_READ_ONLY) {
			r = -EIO;
		} else if (!vela_discards_may_spend_metadata(pool)) {
			r = -ENOSPC;
		} else {
			r = vela_md_unmap(pool->md, bc->id, lblock, &freed);
			if (r == -ENODATA) {
				r = 0;
			} else if (r && r != -ENOMEM) {
				/* -ENOMEM changed nothing: the discard fails alone. */
				vela_metadata_error(pool, "unmap", r);
			} else {
				WRITE_ONCE(pool->dirty, true);
				if (freed != VELA_NO_BLOCK) {
					atomic64_dec_if_positive(&bc->owned);
					WRITE_ONCE(pool->need_drain, true);
					add_passdown(pool, freed);
				}
			}
		}
		up_read(&pool->share_lock);
		mutex_unlock(lock);
	}
	if (r) {
		bio->bi_status = errno_to_blk_status(r);
		bio_endio(bio);
	} else {
		vela_commit_then_complete(pool, bio);
	}
}

static void process_bio_work(struct work_struct *work)
{
	struct vela_io *io = container_of(work, struct vela_io, work);
	struct bio *bio = dm_bio_from_per_bio_data(io, sizeof(*io));
	/*
	 * The slow path allocates under share_lock and the metadata lock:
	 * reclaim must not wait on I/O that may need this pool.
	 */
	unsigned int noio = memalloc_noio_save();

	switch (bio_op(bio)) {
	case REQ_OP_READ:
		process_read(io->bc, bio);
		break;
	case REQ_OP_WRITE:
		process_write(io->bc, bio);
		break;
	case REQ_OP_DISCARD:
		process_discard(io->bc, bio);
		break;
	default:
		bio_io_error(bio);
	}
	memalloc_noio_restore(noio);
}

void vela_defer_bio(struct vela_pool *pool, struct bio *bio)
{
	struct vela_io *io = dm_per_bio_data(bio, sizeof(*io));

	INIT_WORK(&io->work, process_bio_work);
	queue_work(pool->wq, &io->work);
}
/*
 * The fast path.  A read whose mapping is in cached metadata, and a plain
 * write to a block this device owns outright, are remapped here.
 * Everything else is deferred to the slow path.
 */
int vela_branch_map(struct dm_target *ti, struct bio *bio)
{
	struct vela_io *io = dm_per_bio_data(bio, sizeof(*io));
	struct branch_c *bc = ti->private;
	struct vela_pool *pool = bc->pool;
	u64 lblock, pblock;
	int r;

	io->epoch = NULL;
	io->bc = bc;
	bio->bi_iter.bi_sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	/* A bio across the origin's end: dm sends the part past it again. */
	if (bc->origin_dev && bio_sectors(bio) &&
	    bio->bi_iter.bi_sector < bc->origin_sectors &&
	    bio_end_sector(bio) > bc->origin_sectors)
		dm_accept_partial_bio(bio, bc->origin_sectors - bio->bi_iter.bi_sector);

	if (bio->bi_opf & REQ_PREFLUSH) {
		/* dm sends the data of a flush with data separately. */
		vela_commit_then_complete(pool, bio);
		return DM_MAPIO_SUBMITTED;
	}
	lblock = bio_lblock(pool, bio);
	if (bio_op(bio) == REQ_OP_READ ||
	    (bio_op(bio) == REQ_OP_WRITE && !(bio->bi_opf & REQ_FUA) &&
	     excl_test(bc, lblock))) {
		io->epoch = epoch_get(pool);
		/*
		 * Rechecked under the epoch: a branch-create may have cleared
		 * the bit, and a degrade (which sets the mode, then drains)
		 * forbids every write.
		 */
		if (bio_op(bio) == REQ_OP_READ ||
		    (excl_test(bc, lblock) && pool_mode(pool) < POOL_READ_ONLY)) {
			r = vela_md_lookup_try(pool->md, bc->id, lblock, &pblock);
			if (!r) {
				remap(pool, bio, pblock);
				return DM_MAPIO_REMAPPED;
			}
			if (r == -ENODATA && bio_op(bio) == REQ_OP_READ)
				return read_unmapped(bc, bio) ? DM_MAPIO_REMAPPED :
								DM_MAPIO_SUBMITTED;
		}
		percpu_ref_put(&io->epoch->ref);
		io->epoch = NULL;
	}
	vela_defer_bio(pool, bio);
	return DM_MAPIO_SUBMITTED;
}

int vela_branch_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error)
{
	struct vela_io *io = dm_per_bio_data(bio, sizeof(*io));

	if (io->epoch) {
		percpu_ref_put(&io->epoch->ref);
		io->epoch = NULL;
	}
	return DM_ENDIO_DONE;
}
