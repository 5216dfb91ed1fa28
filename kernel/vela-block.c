// SPDX-License-Identifier: GPL-2.0-only
/*
 * Block manager over dm-bufio.  See vela-block.h for the contract.
 *
 * Each cached buffer carries a small aux area: the type the block was last
 * validated (or created) as, so a block is checksummed once per read from
 * disk, not once per lock, and whether it is write-locked.
 *
 * Block locks take no lock.  The metadata lock (vela-meta.h) already
 * admits one updater or many readers, so a per-block rw_semaphore would
 * add two atomics per node to every lookup and exclude nothing.  The one
 * reader outside that lock, the committed usage walk, reads only blocks of
 * a pinned commit (vela-sm.h), which no writer locks or reuses while the
 * pin lasts; and since
 * a B-tree walk holds a node while it locks its child (the diff holds two
 * stacks of 16), lockdep, which tracks one class for them all and allows
 * eight subclasses, could not follow them.  dm-bufio keeps a held buffer
 * cached, which is all a lock must guarantee here.
 *
 * The one writer may read-lock a block it holds for write: the space map
 * looks counts up through an index tree it is updating (a shadow inside
 * set_tree_count() asks for a count).  Those nested reads are counted, so
 * that their unlocks are told from the writer's, which alone marks the
 * block dirty.  With
 * VELA_DEBUG_BLOCK_LOCKS (the sanitizer build of the unit tests, or
 * `make VELA_DEBUG_BLOCK_LOCKS=1`) each block counts its holders and
 * warns when a writer meets anyone else: a breach of that discipline.
 */
#include "vela-block.h"
#include "vela-format.h"

struct vela_bm {
	struct dm_bufio_client *bufio;
	u64 max_valid_generation;
	u64 stamp_generation;
};

struct vela_block_aux {
	const struct vela_block_type *validated;
	bool write_locked;		/* only writers change it */
	unsigned int nested_reads;	/* by the writer, while write-locked */
	struct vela_bm *bm;
#ifdef VELA_DEBUG_BLOCK_LOCKS
	atomic_t holders;		/* readers, or -1 for the writer */
#endif
};

static void init_aux(struct dm_buffer *buf)
{
	struct vela_block_aux *aux = dm_bufio_get_aux_data(buf);

	aux->validated = NULL;
	aux->write_locked = false;
	aux->nested_reads = 0;
	aux->bm = NULL;
#ifdef VELA_DEBUG_BLOCK_LOCKS
	atomic_set(&aux->holders, 0);
#endif
}

#ifdef VELA_DEBUG_BLOCK_LOCKS
static void debug_lock(struct vela_block_aux *aux, u64 b, bool write)
{
	int old;

	/* A read while write-locked is the writer's own (nested_reads). */
	if (!write && aux->write_locked)
		return;
	old = write ? atomic_cmpxchg(&aux->holders, 0, -1) : atomic_fetch_inc(&aux->holders);
	if (WARN_ON(old && (write || old < 0)))
		pr_err("vela: metadata block %llu %s-locked while %s\n", b,
		       write ? "write" : "read", old < 0 ? "write-locked" : "read-locked");
}

static void debug_unlock(struct vela_block_aux *aux, bool write)
{
	if (write)
		atomic_set(&aux->holders, 0);
	else
		atomic_dec(&aux->holders);
}
#else
static inline void debug_lock(struct vela_block_aux *aux, u64 b, bool write) {}
static inline void debug_unlock(struct vela_block_aux *aux, bool write) {}
#endif

/*
 * dm-bufio calls this just before it writes a dirty block: the header is
 * stamped and checksummed once per write, not once per unlock.
 */
static void stamp_for_write(struct dm_buffer *buf)
{
	struct vela_block_aux *aux = dm_bufio_get_aux_data(buf);
	struct vela_block_header *hdr = dm_bufio_get_block_data(buf);
	const struct vela_block_type *type = aux->validated;

	hdr->type = cpu_to_le32(type->type);
	hdr->blocknr = cpu_to_le64(dm_bufio_get_block_number(buf));
	hdr->generation = cpu_to_le64(aux->bm->stamp_generation);
	hdr->reserved = 0;
	hdr->csum = cpu_to_le32(vela_block_csum(hdr, type->csum_len));
}

struct vela_bm *vela_bm_create(struct block_device *bdev, unsigned int cache_blocks)
{
	struct vela_bm *bm = kzalloc(sizeof(*bm), GFP_KERNEL);

	if (!bm)
		return ERR_PTR(-ENOMEM);
	bm->bufio = dm_bufio_client_create(bdev, VELA_BLOCK_SIZE, cache_blocks,
					   sizeof(struct vela_block_aux),
					   init_aux, stamp_for_write, 0);
	if (IS_ERR(bm->bufio)) {
		struct vela_bm *err = ERR_CAST(bm->bufio);

		kfree(bm);
		return err;
	}
	bm->max_valid_generation = U64_MAX;
	return bm;
}

void vela_bm_destroy(struct vela_bm *bm)
{
	dm_bufio_client_destroy(bm->bufio);
	kfree(bm);
}

u64 vela_bm_nr_blocks(struct vela_bm *bm)
{
	return dm_bufio_get_device_size(bm->bufio);
}

void vela_bm_set_generations(struct vela_bm *bm, u64 max_valid, u64 stamp)
{
	/* Read by usage walks, which hold no metadata lock. */
	WRITE_ONCE(bm->max_valid_generation, max_valid);
	bm->stamp_generation = stamp;
}

u32 vela_block_csum(const void *data, unsigned int len)
{
	return ~crc32c(~0u, (const u8 *)data + sizeof(__le32), len - sizeof(__le32));
}

static int validate(struct vela_bm *bm, const void *data, u64 b,
		    const struct vela_block_type *type)
{
	const struct vela_block_header *hdr = data;

	if (le32_to_cpu(hdr->csum) != vela_block_csum(data, type->csum_len)) {
		pr_err("vela: metadata block %llu (%s): checksum mismatch\n",
		       b, type->name);
		return -EILSEQ;
	}
	if (le32_to_cpu(hdr->type) != type->type) {
		pr_err("vela: metadata block %llu: type %#x, expected %s\n",
		       b, le32_to_cpu(hdr->type), type->name);
		return -EILSEQ;
	}
	if (le64_to_cpu(hdr->blocknr) != b) {
		pr_err("vela: metadata block %llu (%s) claims to be block %llu\n",
		       b, type->name, le64_to_cpu(hdr->blocknr));
		return -EILSEQ;
	}
	if (le64_to_cpu(hdr->generation) > READ_ONCE(bm->max_valid_generation)) {
		pr_err("vela: metadata block %llu (%s) is from generation %llu, after the last commit %llu\n",
		       b, type->name, le64_to_cpu(hdr->generation),
		       READ_ONCE(bm->max_valid_generation));
		return -EILSEQ;
	}
	return type->check ? type->check(data, b) : 0;
}

/* Check @buf's contents against @type unless that was done already. */
static int ensure_valid(struct vela_bm *bm, struct dm_buffer *buf, u64 b,
			const struct vela_block_type *type)
{
	struct vela_block_aux *aux = dm_bufio_get_aux_data(buf);
	const struct vela_block_type *validated = READ_ONCE(aux->validated);
	int r;

	if (validated == type)
		return 0;
	if (validated) {
		pr_err("vela: metadata block %llu is a %s, expected a %s\n",
		       b, validated->name, type->name);
		return -EILSEQ;
	}
	/* Two readers may both validate a fresh block: they store the same. */
	r = validate(bm, dm_bufio_get_block_data(buf), b, type);
	if (r)
		return r;
	WRITE_ONCE(aux->bm, bm);
	WRITE_ONCE(aux->validated, type);
	return 0;
}

static int lock_block(struct vela_bm *bm, u64 b, const struct vela_block_type *type,
		      bool write, struct vela_block **result)
{
	struct vela_block_aux *aux;
	struct dm_buffer *buf;
	void *data;
	int r;

	if (b >= vela_bm_nr_blocks(bm)) {
		pr_err("vela: metadata block %llu (%s) is beyond the device (%llu blocks)\n",
		       b, type->name, vela_bm_nr_blocks(bm));
		return -EILSEQ;
	}
	data = dm_bufio_read(bm->bufio, b, &buf);
	if (IS_ERR(data))
		return PTR_ERR(data);
	aux = dm_bufio_get_aux_data(buf);
	r = ensure_valid(bm, buf, b, type);
	if (r) {
		dm_bufio_release(buf);
		return r;
	}
	debug_lock(aux, b, write);
	if (write)
		aux->write_locked = true;
	else if (aux->write_locked)
		aux->nested_reads++;
	*result = (struct vela_block *)buf;
	return 0;
}

int vela_bm_read_lock(struct vela_bm *bm, u64 b, const struct vela_block_type *type,
		      struct vela_block **result)
{
	return lock_block(bm, b, type, false, result);
}

int vela_bm_write_lock(struct vela_bm *bm, u64 b, const struct vela_block_type *type,
		       struct vela_block **result)
{
	return lock_block(bm, b, type, true, result);
}

int vela_bm_read_try_lock(struct vela_bm *bm, u64 b, const struct vela_block_type *type,
			  struct vela_block **result)
{
	struct vela_block_aux *aux;
	struct dm_buffer *buf;
	void *data;
	int r;

	if (b >= vela_bm_nr_blocks(bm))
		return -EILSEQ;
	data = dm_bufio_get(bm->bufio, b, &buf);
	if (!data)
		return -EWOULDBLOCK;
	if (IS_ERR(data))
		return PTR_ERR(data);
	aux = dm_bufio_get_aux_data(buf);
	r = ensure_valid(bm, buf, b, type);
	if (r) {
		dm_bufio_release(buf);
		return r;
	}
	debug_lock(aux, b, false);
	*result = (struct vela_block *)buf;
	return 0;
}

int vela_bm_write_lock_zero(struct vela_bm *bm, u64 b, const struct vela_block_type *type,
			    struct vela_block **result)
{
	struct vela_block_aux *aux;
	struct dm_buffer *buf;
	void *data;

	if (b >= vela_bm_nr_blocks(bm))
		return -EINVAL;
	data = dm_bufio_new(bm->bufio, b, &buf);
	if (IS_ERR(data))
		return PTR_ERR(data);
	aux = dm_bufio_get_aux_data(buf);
	debug_lock(aux, b, true);
	memset(data, 0, VELA_BLOCK_SIZE);
	WRITE_ONCE(aux->bm, bm);
	WRITE_ONCE(aux->validated, type);
	aux->write_locked = true;
	*result = (struct vela_block *)buf;
	return 0;
}

void vela_bm_unlock(struct vela_block *blk)
{
	struct dm_buffer *buf = (struct dm_buffer *)blk;
	struct vela_block_aux *aux = dm_bufio_get_aux_data(buf);

	bool write = aux->write_locked && !aux->nested_reads;

	if (aux->nested_reads) {
		aux->nested_reads--;
		dm_bufio_release(buf);
		return;
	}
	if (write) {
		dm_bufio_mark_buffer_dirty(buf);
		aux->write_locked = false;
	}
	debug_unlock(aux, write);
	dm_bufio_release(buf);
}

void *vela_block_data(struct vela_block *blk)
{
	return dm_bufio_get_block_data((struct dm_buffer *)blk);
}

u64 vela_block_location(struct vela_block *blk)
{
	return dm_bufio_get_block_number((struct dm_buffer *)blk);
}

int vela_bm_flush(struct vela_bm *bm)
{
	int r = dm_bufio_write_dirty_buffers(bm->bufio);

	if (r)
		return r;
	return dm_bufio_issue_flush(bm->bufio);
}
