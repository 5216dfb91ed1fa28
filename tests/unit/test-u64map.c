// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of vela-u64map, the hash map under every transaction (the
 * shadow set, the space maps' deltas), the checker and the usage cache:
 * random operations against a model, with every allocation made to fail
 * now and then, checking each promise of vela-u64map.h.
 */
#include "unit.h"
#include "vela-u64map.h"

#define MODEL_KEYS	512

struct model {
	u64 key[MODEL_KEYS];
	s64 value[MODEL_KEYS];
	bool present[MODEL_KEYS];
	u64 seed;
};

static u64 rnd(struct model *m)
{
	m->seed ^= m->seed >> 12;
	m->seed ^= m->seed << 25;
	m->seed ^= m->seed >> 27;
	return m->seed * 0x2545f4914f6cdd1dULL;
}

/* Keys that collide in a small table and keys anywhere below U64_MAX. */
static void model_init(struct model *m, u64 seed)
{
	int i;

	memset(m, 0, sizeof(*m));
	m->seed = seed | 1;
	for (i = 0; i < MODEL_KEYS; i++)
		m->key[i] = i % 2 ? (u64)i << 20 : rnd(m) % (U64_MAX - 1);
}

static void check_all(struct vela_u64map *map, struct model *m)
{
	u64 nr = 0, i, used = 0;
	struct vela_u64map_entry *e;
	int k;

	for (k = 0; k < MODEL_KEYS; k++) {
		ASSERT_EQ(vela_u64map_get(map, m->key[k]), m->present[k] ? m->value[k] : 0);
		ASSERT_EQ(vela_u64map_contains(map, m->key[k]), m->present[k]);
		used += m->present[k];
	}
	ASSERT_EQ(map->nr_used, used);
	/* sorted(): exactly the non-zero values, in key order. */
	ASSERT_EQ(vela_u64map_sorted(map, &e, &nr), 0);
	for (i = 0; i < nr; i++) {
		ASSERT_NE(e[i].value, 0);
		ASSERT_TRUE(!i || e[i - 1].key < e[i].key);
		for (k = 0; k < MODEL_KEYS && m->key[k] != e[i].key; k++)
			;
		ASSERT_LT(k, MODEL_KEYS);
		ASSERT_EQ(e[i].value, m->value[k]);
	}
	for (k = 0, used = 0; k < MODEL_KEYS; k++)
		used += m->present[k] && m->value[k];
	ASSERT_EQ(nr, used);
	kvfree(e);
}

TEST(u64map_matches_a_model_through_growth_failures_and_clears)
{
	struct vela_u64map map;
	struct model m;
	int op, k, reserved = 0;
	bool is_set;
	s64 v;
	int r;

	model_init(&m, unit_seed());
	vela_u64map_init(&map);
	for (op = 0; op < 20000; op++) {
		k = rnd(&m) % MODEL_KEYS;
		v = (s64)(rnd(&m) % 2001) - 1000;
		switch (rnd(&m) % 16) {
		case 0 ... 11:
			/*
			 * Now and then the next allocation fails, as failslab
			 * would; and always while a reservation lasts, which
			 * promises that as many new keys need none.
			 */
			vela_fail_kvmalloc(reserved || rnd(&m) % 8 == 0 ? 1 : 0);
			is_set = rnd(&m) % 2;
			r = is_set ? vela_u64map_set(&map, m.key[k], v) :
				     vela_u64map_add(&map, m.key[k], v);
			break;
		case 12 ... 13:
			/* After a reservation of n, n new keys cannot fail. */
			r = vela_u64map_reserve(&map, 8);
			if (!r)
				reserved = 8;
			continue;
		case 14:
			if (rnd(&m) % 64 == 0) {
				vela_u64map_clear(&map);
				memset(m.present, 0, sizeof(m.present));
				reserved = 0;
			}
			continue;
		default:
			check_all(&map, &m);
			continue;
		}
		vela_fail_kvmalloc(0);
		if (r) {
			/* A failed add or set changed nothing, and only a new key fails. */
			ASSERT_EQ(r, -ENOMEM);
			ASSERT_FALSE(m.present[k]);
			ASSERT_EQ(reserved, 0);
			continue;
		}
		if (!m.present[k] && reserved)
			reserved--;
		m.value[k] = is_set ? v : (m.present[k] ? m.value[k] : 0) + v;
		m.present[k] = true;
	}
	check_all(&map, &m);
	vela_u64map_exit(&map);
}
