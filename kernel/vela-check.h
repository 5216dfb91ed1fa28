/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The metadata checker, shared by `velactl check`, the tests and the
 * fuzzers.
 *
 * Contract: vela_check() opens the metadata read-only and verifies, with a
 * full walk from the superblock:
 * - every block's checksum, type and own block number, and node structure
 *   (entry counts, key order within a node and against the parent's keys,
 *   bounded depth)
 * - that every reference count in both space maps equals the references
 *   the walk found, so no block is both free and used, and none leaks
 * - the branch table: parents exist, depths follow them, names are valid,
 *   unique and indexed, ids are below next_branch_id, flags are known, and
 *   each branch's mapped-block count matches its tree
 * Each problem is reported through @report->problem with the block numbers
 * involved.  Returns 0 when the walk completed (problems or not; see
 * @report->nr_problems), or a negative errno when the metadata could not be
 * opened or read at all.
 */
#ifndef VELA_CHECK_H
#define VELA_CHECK_H

#include "vela-meta.h"

struct vela_check_report {
	void (*problem)(void *context, const char *msg);
	void *context;
	u64 nr_problems;
	/* Filled in for the caller's summary. */
	u64 nr_branches;
	u64 nr_metadata_blocks_used;
	u64 nr_data_blocks_used;
	bool needs_check;	/* the superblock's flag, as found */
};

int vela_check(struct block_device *bdev, struct vela_check_report *report);

/*
 * Repair: rebuild the space maps from a full walk, onto a new device.
 * Walks @src's trees as vela_check() does, without reading its space maps
 * (they may be what is damaged), then writes @dst: the same trees at the
 * same block numbers, space maps holding exactly the references found,
 * needs_check cleared.  @src is never written.  Damage in the trees
 * themselves (a bad node, a broken branch table) cannot be rebuilt from a
 * walk: it is reported through @report and the result is -EUCLEAN, with
 * @dst untouched.  Other errors: -ENOSPC (@dst smaller than @src's
 * metadata), or the I/O error.
 */
int vela_repair(struct block_device *src, struct block_device *dst,
		struct vela_check_report *report);

#endif
