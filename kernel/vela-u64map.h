/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A hash map from u64 keys to s64 values, for per-transaction state: the
 * set of blocks shadowed in this transaction, and the space maps' deferred
 * reference-count deltas.  Open addressing, linear probing; it grows, and
 * it is cleared as a whole at commit or abort.  Key U64_MAX is reserved.
 * Not thread-safe: the metadata lock protects it.
 */
#ifndef VELA_U64MAP_H
#define VELA_U64MAP_H

#include "vela-compat.h"

struct vela_u64map_entry {
	u64 key;
	s64 value;
};

struct vela_u64map {
	struct vela_u64map_entry *slots;
	u64 nr_slots;		/* a power of two, or 0 */
	u64 nr_used;
};

void vela_u64map_init(struct vela_u64map *map);
void vela_u64map_exit(struct vela_u64map *map);
void vela_u64map_clear(struct vela_u64map *map);

/* Value for @key, or 0 when absent. */
s64 vela_u64map_get(const struct vela_u64map *map, u64 key);
/* Whether @key was ever added since the last clear, even if its value is 0. */
bool vela_u64map_contains(const struct vela_u64map *map, u64 key);
/* Add @delta to @key's value (inserting it at 0 first).  0 or -ENOMEM. */
int vela_u64map_add(struct vela_u64map *map, u64 key, s64 delta);
/* Set @key's value to @value.  0 or -ENOMEM. */
int vela_u64map_set(struct vela_u64map *map, u64 key, s64 value);
/*
 * Make room for @extra more keys now, so that as many vela_u64map_add()
 * calls cannot fail for want of memory.  0 or -ENOMEM.
 */
int vela_u64map_reserve(struct vela_u64map *map, u64 extra);

/*
 * Copy every entry with a non-zero value into a new array sorted by key.
 * *nr gets the count; the caller kvfree()s the array.
 */
int vela_u64map_sorted(const struct vela_u64map *map, struct vela_u64map_entry **entries,
		       u64 *nr);

#endif
