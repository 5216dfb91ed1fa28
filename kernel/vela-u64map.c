// SPDX-License-Identifier: GPL-2.0-only
#include "vela-u64map.h"

#define EMPTY_KEY U64_MAX

void vela_u64map_init(struct vela_u64map *map)
{
	map->slots = NULL;
	map->nr_slots = 0;
	map->nr_used = 0;
}

void vela_u64map_exit(struct vela_u64map *map)
{
	kvfree(map->slots);
	vela_u64map_init(map);
}

void vela_u64map_clear(struct vela_u64map *map)
{
	u64 i;

	for (i = 0; i < map->nr_slots; i++)
		map->slots[i].key = EMPTY_KEY;
	map->nr_used = 0;
}

/* Fibonacci hashing spreads sequential block numbers over the table. */
static u64 slot_of(const struct vela_u64map *map, u64 key)
{
	return (key * 0x9e3779b97f4a7c15ULL) & (map->nr_slots - 1);
}

static struct vela_u64map_entry *find(const struct vela_u64map *map, u64 key)
{
	u64 i;

	if (!map->nr_slots)
		return NULL;
	for (i = slot_of(map, key);; i = (i + 1) & (map->nr_slots - 1)) {
		if (map->slots[i].key == key)
			return &map->slots[i];
		if (map->slots[i].key == EMPTY_KEY)
			return NULL;
	}
}

s64 vela_u64map_get(const struct vela_u64map *map, u64 key)
{
	struct vela_u64map_entry *e = find(map, key);

	return e ? e->value : 0;
}

bool vela_u64map_contains(const struct vela_u64map *map, u64 key)
{
	return find(map, key) != NULL;
}

static struct vela_u64map_entry *insert_new(struct vela_u64map *map, u64 key, s64 value)
{
	u64 i;

	for (i = slot_of(map, key); map->slots[i].key != EMPTY_KEY;
	     i = (i + 1) & (map->nr_slots - 1))
		;
	map->slots[i].key = key;
	map->slots[i].value = value;
	map->nr_used++;
	return &map->slots[i];
}

/* Rehash into @n slots (a power of two, more than in use). */
static int grow_to(struct vela_u64map *map, u64 n)
{
	struct vela_u64map old = *map;
	u64 i;

	/* kvmalloc() warns above INT_MAX bytes: fail the operation instead. */
	if (n > INT_MAX / sizeof(*map->slots))
		return -ENOMEM;
	map->slots = kvmalloc_array(n, sizeof(*map->slots), GFP_KERNEL);
	if (!map->slots) {
		*map = old;
		return -ENOMEM;
	}
	map->nr_slots = n;
	map->nr_used = 0;
	for (i = 0; i < n; i++)
		map->slots[i].key = EMPTY_KEY;
	for (i = 0; i < old.nr_slots; i++)
		if (old.slots[i].key != EMPTY_KEY)
			insert_new(map, old.slots[i].key, old.slots[i].value);
	kvfree(old.slots);
	return 0;
}

/* Keep the load factor at or under 1/2 so probes stay short. */
int vela_u64map_reserve(struct vela_u64map *map, u64 extra)
{
	u64 n = map->nr_slots ? map->nr_slots : 64;

	while ((map->nr_used + extra) * 2 > n)
		n *= 2;
	return n > map->nr_slots ? grow_to(map, n) : 0;
}

/* @key's entry, inserted at 0 if absent; NULL when there is no memory for it. */
static struct vela_u64map_entry *entry_of(struct vela_u64map *map, u64 key)
{
	struct vela_u64map_entry *e = find(map, key);

	if (e || vela_u64map_reserve(map, 1))
		return e;
	return insert_new(map, key, 0);
}

int vela_u64map_add(struct vela_u64map *map, u64 key, s64 delta)
{
	struct vela_u64map_entry *e = entry_of(map, key);

	if (!e)
		return -ENOMEM;
	e->value += delta;
	return 0;
}

int vela_u64map_set(struct vela_u64map *map, u64 key, s64 value)
{
	struct vela_u64map_entry *e = entry_of(map, key);

	if (!e)
		return -ENOMEM;
	e->value = value;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	u64 ka = ((const struct vela_u64map_entry *)a)->key;
	u64 kb = ((const struct vela_u64map_entry *)b)->key;

	return ka < kb ? -1 : ka > kb;
}

int vela_u64map_sorted(const struct vela_u64map *map, struct vela_u64map_entry **entries,
		       u64 *nr)
{
	struct vela_u64map_entry *out = NULL;
	u64 i, n = 0;

	if (map->nr_used) {
		out = kvmalloc_array(map->nr_used, sizeof(*out), GFP_KERNEL);
		if (!out)
			return -ENOMEM;
	}
	for (i = 0; i < map->nr_slots; i++)
		if (map->slots[i].key != EMPTY_KEY && map->slots[i].value)
			out[n++] = map->slots[i];
	sort(out, n, sizeof(*out), cmp_entry, NULL);
	*entries = out;
	*nr = n;
	return 0;
}
