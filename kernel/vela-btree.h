/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copy-on-write B-tree with reference-counted node sharing (Rodeh).
 *
 * Contract:
 * - Keys are u64; values have a fixed size per tree.  A tree is named by
 *   its root block; root 0 is the empty tree (block 0 is the superblock,
 *   never a node), so an empty tree costs nothing.
 * - Every update shadows the path it changes and returns the new root; the
 *   caller stores it.  Nodes shared with another tree are copied, never
 *   written.
 * - Values may hold references (a mapping holds a data block).  The value
 *   type's inc() runs when a shared leaf is copied (the copy is a new
 *   holder), dec() when the tree lets a value go: removed, or deleted with
 *   the last tree that held it.  An insert that replaces a value hands the
 *   old one back instead: the caller knows whether its references were
 *   already released (a subtree root that was just shadowed) or must be.
 * - vela_btree_clone() is O(1): one reference on the root.
 *   vela_btree_delete() drops one reference and descends only into nodes
 *   whose count falls to zero: it touches what it stops sharing.
 * - Lookups take read locks only; vela_btree_lookup_try() never sleeps on
 *   I/O and returns -EWOULDBLOCK instead.
 * - Absent keys are -ENODATA.  Malformed nodes are -EILSEQ, and the depth
 *   is bounded, so corrupt metadata cannot loop.
 * - Callers serialise updates (the metadata lock); lookups may run
 *   concurrently with each other.
 */
#ifndef VELA_BTREE_H
#define VELA_BTREE_H

#include "vela-tm.h"

#define VELA_BTREE_MAX_DEPTH 16
/* No node holds more entries: keys and values are 8 bytes or more. */
#define VELA_BTREE_MAX_ENTRIES (VELA_BLOCK_SIZE / 16)

/*
 * The most one insert or remove changes: the path is shadowed (a new block
 * and a dropped reference per level), inserting splits at most once per
 * level and may add a root, and where a node was shared every child of it
 * gains a reference.  Callers reserve this much memory before an update
 * (vela_tm_reserve(), vela_sm_reserve()), so that it cannot fail half-way
 * for want of memory.
 */
#define VELA_BTREE_UPDATE_NEW_BLOCKS	(2 * VELA_BTREE_MAX_DEPTH + 2)
#define VELA_BTREE_UPDATE_COUNTS	(VELA_BTREE_MAX_DEPTH * (VELA_BTREE_MAX_ENTRIES + 2) + \
					 VELA_BTREE_UPDATE_NEW_BLOCKS)

struct vela_btree_value_type {
	void *context;
	u32 size;
	/* A copy of the leaf holding @value was made: one more holder. */
	int (*inc)(void *context, const void *value);
	/* A holder of @value went away. */
	int (*dec)(void *context, const void *value);
};

struct vela_btree_info {
	struct vela_tm *tm;
	struct vela_btree_value_type value_type;
};

extern const struct vela_block_type vela_btree_node_type;

int vela_btree_lookup(struct vela_btree_info *info, u64 root, u64 key, void *value);
int vela_btree_lookup_try(struct vela_btree_info *info, u64 root, u64 key, void *value);
/* As vela_btree_lookup(); *shared says whether a node on the path is shared. */
int vela_btree_lookup_shared(struct vela_btree_info *info, u64 root, u64 key, void *value,
			     bool *shared);
/* The first key >= @key: -ENODATA when there is none. */
int vela_btree_lookup_next(struct vela_btree_info *info, u64 root, u64 key,
			   u64 *found_key, void *value);

/*
 * Insert, or replace the value under @key: then *replaced (may be NULL) is
 * set and the old value copied to @old_value (may be NULL).
 */
int vela_btree_insert(struct vela_btree_info *info, u64 root, u64 key, const void *value,
		      u64 *new_root, bool *replaced, void *old_value);
int vela_btree_remove(struct vela_btree_info *info, u64 root, u64 key, u64 *new_root);
/*
 * Remove at most @max keys in [@begin, @end); *nr_removed says how many.
 * Bounded so a caller can spread a big removal over transactions.
 */
int vela_btree_remove_range(struct vela_btree_info *info, u64 root, u64 begin, u64 end,
			    u64 max, u64 *new_root, u64 *nr_removed);

/* In key order; a non-zero return from @fn stops the walk and is returned. */
int vela_btree_walk(struct vela_btree_info *info, u64 root,
		    int (*fn)(void *context, u64 key, const void *value), void *context);

/* The same, skipping every node with more than one reference. */
int vela_btree_walk_exclusive(struct vela_btree_info *info, u64 root,
			      int (*fn)(void *context, u64 key, const void *value), void *context);

/*
 * The same, with each node's reference count from @ref instead of the
 * transaction: a walk of a committed tree outside the metadata lock reads
 * the counts of that commit (see vela_md_committed_usage()).
 */
int vela_btree_walk_exclusive_by(struct vela_btree_info *info, u64 root,
				 int (*ref)(void *ref_context, u64 b, u32 *count),
				 void *ref_context,
				 int (*fn)(void *context, u64 key, const void *value),
				 void *context);

/*
 * For the checker: visit every node reachable from @root.  node() is called
 * for each reference and says whether to descend (1: first visit) or not
 * (0); value() for each value of a visited leaf; bad_node() when a node is
 * unreadable or malformed, or breaks the key order of its parent, and the
 * visit goes on without it.
 */
struct vela_btree_visitor {
	int (*node)(void *context, u64 b);
	int (*value)(void *context, u64 key, const void *value);
	void (*bad_node)(void *context, u64 b, int error, const char *why);
	void *context;
};

int vela_btree_visit(struct vela_btree_info *info, u64 root, struct vela_btree_visitor *v);

/* Number of keys in the tree; @memo caches counts of shared subtrees. */
int vela_btree_count(struct vela_btree_info *info, u64 root, struct vela_u64map *memo,
		     u64 *count);

/*
 * The entries in which two trees of one type differ, in key order:
 * @fn(key, value in @root_a or NULL, value in @root_b or NULL) for every key
 * present in one tree only or with different values.  Subtrees the trees
 * share (the same block) are skipped unread, so the cost grows with the
 * differences, not with the trees; *@nodes_read (may be NULL) is increased
 * by the nodes it read.  A non-zero return from @fn stops it.
 */
typedef int (*vela_btree_diff_fn)(void *context, u64 key, const void *value_a,
				  const void *value_b);
int vela_btree_diff(struct vela_btree_info *info, u64 root_a, u64 root_b,
		    vela_btree_diff_fn fn, void *context, u64 *nodes_read);

int vela_btree_clone(struct vela_btree_info *info, u64 root);
int vela_btree_delete(struct vela_btree_info *info, u64 root);
/*
 * Delete a tree a bounded step at a time: drop at most about *@budget
 * values or shared subtrees (the budget is decreased by what was done) and
 * return the remaining tree in *@new_root, 0 once it is gone.
 */
int vela_btree_delete_step(struct vela_btree_info *info, u64 root, u64 *budget, u64 *new_root);

#endif
