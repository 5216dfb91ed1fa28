/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Block manager: the bottom layer of dm-vela's metadata.
 *
 * Contract:
 * - Metadata is read and written in 4096-byte blocks, cached (dm-bufio in
 *   the kernel, its userspace twin elsewhere).
 * - A block is only touched while locked, and stays cached while locked.
 *   The caller (the metadata lock, vela-meta.h) admits many readers or
 *   one writer; block locks do not exclude anything themselves.  Built
 *   with VELA_DEBUG_BLOCK_LOCKS, a writer meeting another holder warns.
 * - Every block has a type.  Reading a block validates it once, against the
 *   type the caller expects: checksum, type, own block number and a
 *   generation no newer than the one allowed.  Failure is -EILSEQ; an I/O
 *   error is -EIO.  A written block is stamped as it goes to disk: type,
 *   block number, generation, checksum.
 * - vela_bm_read_try_lock() never waits for I/O: -EWOULDBLOCK when the
 *   block is not cached.  The I/O fast path uses it.
 * - Nothing here knows about transactions: vela-tm.c decides which blocks
 *   may be written.
 */
#ifndef VELA_BLOCK_H
#define VELA_BLOCK_H

#include "vela-compat.h"

struct vela_bm;
struct vela_block;

struct vela_block_type {
	const char *name;
	u32 type;
	/* Bytes from the start covered by the checksum. */
	unsigned int csum_len;
	/* Structural checks beyond the header, or NULL.  0 or -EILSEQ. */
	int (*check)(const void *data, u64 blocknr);
};

struct vela_bm *vela_bm_create(struct block_device *bdev, unsigned int cache_blocks);
void vela_bm_destroy(struct vela_bm *bm);
u64 vela_bm_nr_blocks(struct vela_bm *bm);

/*
 * Blocks with a generation above @max_valid fail validation; unlocked
 * write-locked blocks are stamped with @stamp.
 */
void vela_bm_set_generations(struct vela_bm *bm, u64 max_valid, u64 stamp);

int vela_bm_read_lock(struct vela_bm *bm, u64 b, const struct vela_block_type *type,
		      struct vela_block **result);
int vela_bm_read_try_lock(struct vela_bm *bm, u64 b, const struct vela_block_type *type,
			  struct vela_block **result);
int vela_bm_write_lock(struct vela_bm *bm, u64 b, const struct vela_block_type *type,
		       struct vela_block **result);
/* Write-lock a block without reading it; its contents start zeroed. */
int vela_bm_write_lock_zero(struct vela_bm *bm, u64 b, const struct vela_block_type *type,
			    struct vela_block **result);
void vela_bm_unlock(struct vela_block *blk);

void *vela_block_data(struct vela_block *blk);
u64 vela_block_location(struct vela_block *blk);

/* Write every dirty block, then flush the device's volatile cache. */
int vela_bm_flush(struct vela_bm *bm);

#endif
