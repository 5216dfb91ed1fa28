// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the copy-on-write B-tree, over the real block manager,
 * transaction manager and metadata space map on a memory device.
 */
#include "unit.h"
#include "vela-sm.h"
#include "bufio-user.h"

#define DEV_BLOCKS 4096

struct env {
	struct block_device *bdev;
	struct vela_bm *bm;
	struct vela_tm tm;
	struct vela_sm sm;
	struct vela_btree_info info;
	u64 seed;
};

static u64 rnd(struct env *e)
{
	/* xorshift64*: reproducible from the run's seed. */
	e->seed ^= e->seed >> 12;
	e->seed ^= e->seed << 25;
	e->seed ^= e->seed >> 27;
	return e->seed * 0x2545f4914f6cdd1dULL;
}

static void env_init(struct env *e)
{
	e->bdev = vela_bdev_create_mem((u64)DEV_BLOCKS * VELA_BLOCK_SIZE);
	ASSERT_NOT_ERR(e->bdev);
	e->bm = vela_bm_create(e->bdev, 64);
	ASSERT_NOT_ERR(e->bm);
	vela_tm_init(&e->tm, e->bm, 0);
	vela_sm_init_new(&e->sm, &e->tm, DEV_BLOCKS);
	vela_tm_set_sm(&e->tm, &e->sm);
	ASSERT_EQ(vela_sm_inc(&e->sm, 0), 0);
	e->info.tm = &e->tm;
	e->info.value_type = (struct vela_btree_value_type) { .size = sizeof(__le64) };
	e->seed = unit_seed() | 1;
}

static void env_exit(struct env *e)
{
	vela_sm_exit(&e->sm);
	vela_tm_exit(&e->tm);
	vela_bm_destroy(e->bm);
	vela_bdev_close(e->bdev);
}

/* Commit the space map and the blocks, without a superblock. */
static void env_commit(struct env *e)
{
	bool changed = true;

	while (changed)
		ASSERT_EQ(vela_sm_apply(&e->sm, &changed), 0);
	ASSERT_EQ(vela_tm_flush(&e->tm), 0);
	vela_sm_committed(&e->sm);
	vela_tm_end(&e->tm, true);
}

/* A second block manager on the same device: a cold cache. */
struct cold_view {
	struct vela_bm *bm;
	struct vela_tm tm;
	struct vela_btree_info info;
};

static void cold_open(struct env *e, struct cold_view *v)
{
	v->bm = vela_bm_create(e->bdev, 64);
	ASSERT_NOT_ERR(v->bm);
	vela_tm_init(&v->tm, v->bm, e->tm.generation);
	vela_tm_set_sm(&v->tm, &e->sm);
	v->info = e->info;
	v->info.tm = &v->tm;
}

static void cold_close(struct cold_view *v)
{
	vela_tm_exit(&v->tm);
	vela_bm_destroy(v->bm);
}

static u64 insert(struct env *e, u64 root, u64 key, u64 value)
{
	__le64 v = cpu_to_le64(value);
	u64 new_root;

	ASSERT_EQ(vela_btree_insert(&e->info, root, key, &v, &new_root, NULL, NULL), 0);
	return new_root;
}

static u64 lookup(struct env *e, u64 root, u64 key, int *r)
{
	__le64 v = 0;

	*r = vela_btree_lookup(&e->info, root, key, &v);
	return le64_to_cpu(v);
}

static u32 count_of(struct env *e, u64 b)
{
	u32 c = ~0u;

	EXPECT_EQ(vela_sm_get_count(&e->sm, b, &c), 0);
	return c;
}

static const struct vela_block_type test_block_type = {
	.name = "test block", .type = 0x54455354, .csum_len = VELA_BLOCK_SIZE,
};

/* Byte 100 of metadata block @b as the device holds it. */
static u8 byte_on_disk(struct env *e, u64 b)
{
	static u8 sector[512];

	ASSERT_EQ(vela_bdev_read(e->bdev, b * VELA_BLOCK_SIZE, sector, sizeof(sector)), 0);
	return sector[100];
}

/*
 * The writer may read-lock a block it holds for write (the space map does,
 * through the index tree it updates).  The nested read's unlock must not
 * end the write lock: a change the writer makes after it, even after a
 * writeback in between, still reaches the disk.
 */
TEST(a_nested_read_keeps_the_write_lock)
{
	struct vela_block *w, *r;
	struct env e;

	env_init(&e);
	ASSERT_EQ(vela_bm_write_lock_zero(e.bm, 1, &test_block_type, &w), 0);
	((u8 *)vela_block_data(w))[100] = 1;
	vela_bm_unlock(w);
	ASSERT_EQ(vela_bm_flush(e.bm), 0);
	ASSERT_EQ(vela_bm_write_lock(e.bm, 1, &test_block_type, &w), 0);
	ASSERT_EQ(vela_bm_read_lock(e.bm, 1, &test_block_type, &r), 0);
	((u8 *)vela_block_data(w))[100] = 2;
	vela_bm_unlock(r);
	ASSERT_EQ(vela_bm_flush(e.bm), 0);
	((u8 *)vela_block_data(w))[100] = 3;
	vela_bm_unlock(w);
	ASSERT_EQ(vela_bm_flush(e.bm), 0);
	EXPECT_EQ(byte_on_disk(&e, 1), 3);
	env_exit(&e);
}

/*
 * Block locks exclude nothing themselves (the metadata lock does); the
 * debug build checks that discipline: a writer meeting another holder
 * warns.  The writer's own nested reads do not.
 */
TEST(debug_block_locks_report_a_writer_meeting_a_holder)
{
	struct vela_block *a, *b;
	unsigned long before;
	struct env e;

#ifndef VELA_DEBUG_BLOCK_LOCKS
	UNIT_SKIP("built without VELA_DEBUG_BLOCK_LOCKS (the sanitizer build has it)");
#endif
	env_init(&e);
	unit_allow_warnings();
	before = vela_warn_count();
	ASSERT_EQ(vela_bm_write_lock_zero(e.bm, 1, &test_block_type, &a), 0);
	vela_bm_unlock(a);
	/* Readers share; the writer reads its own block; nothing is left held. */
	ASSERT_EQ(vela_bm_read_lock(e.bm, 1, &test_block_type, &a), 0);
	ASSERT_EQ(vela_bm_read_lock(e.bm, 1, &test_block_type, &b), 0);
	vela_bm_unlock(b);
	vela_bm_unlock(a);
	ASSERT_EQ(vela_bm_write_lock(e.bm, 1, &test_block_type, &a), 0);
	ASSERT_EQ(vela_bm_read_lock(e.bm, 1, &test_block_type, &b), 0);
	vela_bm_unlock(b);
	vela_bm_unlock(a);
	ASSERT_EQ(vela_bm_write_lock(e.bm, 1, &test_block_type, &a), 0);
	vela_bm_unlock(a);
	EXPECT_EQ(vela_warn_count(), before);
	/* A writer while read, then a second writer. */
	ASSERT_EQ(vela_bm_read_lock(e.bm, 1, &test_block_type, &a), 0);
	ASSERT_EQ(vela_bm_write_lock(e.bm, 1, &test_block_type, &b), 0);
	EXPECT_EQ(vela_warn_count(), before + 1);
	vela_bm_unlock(b);
	vela_bm_unlock(a);
	env_exit(&e);
}

TEST(empty_tree_is_root_zero)
{
	struct env e;
	u64 root = 0, k;
	int r;

	env_init(&e);
	lookup(&e, 0, 5, &r);
	EXPECT_EQ(r, -ENODATA);
	EXPECT_EQ(vela_btree_lookup_next(&e.info, 0, 0, &k, NULL), -ENODATA);
	EXPECT_EQ(vela_btree_remove(&e.info, 0, 5, &root), -ENODATA);
	EXPECT_EQ(vela_btree_delete(&e.info, 0), 0);
	env_exit(&e);
}

struct walk_state {
	u64 prev, n;
	bool ordered;
};

static int walk_fn(void *context, u64 key, const void *value)
{
	struct walk_state *w = context;

	if (w->n && key <= w->prev)
		w->ordered = false;
	if (le64_to_cpu(*(const __le64 *)value) != key * 3)
		w->ordered = false;
	w->prev = key;
	w->n++;
	return 0;
}

TEST(insert_lookup_walk_many)
{
	struct walk_state w = { .ordered = true };
	struct env e;
	u64 root = 0, i, key;
	int r;

	env_init(&e);
	/* 20000 keys spread over the key space: several levels of nodes. */
	for (i = 0; i < 20000; i++) {
		key = (i * 7919) % 20000 * 1000;
		root = insert(&e, root, key, key * 3);
	}
	for (i = 0; i < 20000; i++)
		ASSERT_EQ(lookup(&e, root, i * 1000, &r), i * 3000);
	lookup(&e, root, 1, &r);
	EXPECT_EQ(r, -ENODATA);
	lookup(&e, root, 20000 * 1000, &r);
	EXPECT_EQ(r, -ENODATA);
	ASSERT_EQ(vela_btree_walk(&e.info, root, walk_fn, &w), 0);
	EXPECT_EQ(w.n, 20000);
	EXPECT_TRUE(w.ordered);
	env_exit(&e);
}

TEST(replace_hands_back_the_old_value)
{
	__le64 v = cpu_to_le64(2), old = 0;
	struct env e;
	bool replaced;
	u64 root;
	int r;

	env_init(&e);
	root = insert(&e, 0, 10, 1);
	ASSERT_EQ(vela_btree_insert(&e.info, root, 10, &v, &root, &replaced, &old), 0);
	EXPECT_TRUE(replaced);
	EXPECT_EQ(le64_to_cpu(old), 1);
	EXPECT_EQ(lookup(&e, root, 10, &r), 2);
	ASSERT_EQ(vela_btree_insert(&e.info, root, 11, &v, &root, &replaced, &old), 0);
	EXPECT_FALSE(replaced);
	env_exit(&e);
}

TEST(lookup_next_finds_the_next_key)
{
	struct env e;
	u64 root = 0, i, k;
	__le64 v;

	env_init(&e);
	for (i = 1; i <= 3000; i++)
		root = insert(&e, root, i * 10, i);
	ASSERT_EQ(vela_btree_lookup_next(&e.info, root, 0, &k, &v), 0);
	EXPECT_EQ(k, 10);
	ASSERT_EQ(vela_btree_lookup_next(&e.info, root, 10, &k, &v), 0);
	EXPECT_EQ(k, 10);
	ASSERT_EQ(vela_btree_lookup_next(&e.info, root, 11, &k, &v), 0);
	EXPECT_EQ(k, 20);
	EXPECT_EQ(le64_to_cpu(v), 2);
	ASSERT_EQ(vela_btree_lookup_next(&e.info, root, 29991, &k, &v), 0);
	EXPECT_EQ(k, 30000);
	EXPECT_EQ(vela_btree_lookup_next(&e.info, root, 30001, &k, &v), -ENODATA);
	env_exit(&e);
}

TEST(remove_everything_frees_every_node)
{
	struct env e;
	u64 root = 0, i, n = 5000, free_before;
	int r;

	env_init(&e);
	env_commit(&e);
	free_before = vela_sm_nr_free(&e.sm);
	for (i = 0; i < n; i++)
		root = insert(&e, root, (i * 31) % n, i);
	env_commit(&e);
	EXPECT_LT(vela_sm_nr_free(&e.sm), free_before);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(vela_btree_remove(&e.info, root, (i * 17) % n, &root), 0);
		lookup(&e, root, (i * 17) % n, &r);
		ASSERT_EQ(r, -ENODATA);
	}
	EXPECT_EQ(root, 0);
	EXPECT_EQ(vela_btree_remove(&e.info, root, 1, &root), -ENODATA);
	env_commit(&e);
	EXPECT_EQ(vela_sm_nr_free(&e.sm), free_before);
	env_exit(&e);
}

TEST(remove_range_is_bounded)
{
	struct env e;
	u64 root = 0, i, removed;
	int r;

	env_init(&e);
	for (i = 0; i < 1000; i++)
		root = insert(&e, root, i, i);
	ASSERT_EQ(vela_btree_remove_range(&e.info, root, 100, 900, 50, &root, &removed), 0);
	EXPECT_EQ(removed, 50);
	lookup(&e, root, 149, &r);
	EXPECT_EQ(r, -ENODATA);
	EXPECT_EQ(lookup(&e, root, 150, &r), 150);
	ASSERT_EQ(vela_btree_remove_range(&e.info, root, 100, 900, 10000, &root, &removed), 0);
	EXPECT_EQ(removed, 750);
	EXPECT_EQ(lookup(&e, root, 99, &r), 99);
	EXPECT_EQ(lookup(&e, root, 900, &r), 900);
	lookup(&e, root, 899, &r);
	EXPECT_EQ(r, -ENODATA);
	env_exit(&e);
}

TEST(clone_is_one_reference_and_diverges_on_write)
{
	struct env e;
	u64 a = 0, b, i;
	int r;

	env_init(&e);
	for (i = 0; i < 2000; i++)
		a = insert(&e, a, i, i);
	env_commit(&e);
	ASSERT_EQ(vela_btree_clone(&e.info, a), 0);
	b = a;
	EXPECT_EQ(count_of(&e, a), 2);

	/* A write to the clone copies its path; the original sees nothing. */
	b = insert(&e, b, 5, 500);
	EXPECT_NE(b, a);
	EXPECT_EQ(count_of(&e, a), 1);
	EXPECT_EQ(lookup(&e, a, 5, &r), 5);
	EXPECT_EQ(lookup(&e, b, 5, &r), 500);
	ASSERT_EQ(vela_btree_remove(&e.info, a, 7, &a), 0);
	EXPECT_EQ(lookup(&e, b, 7, &r), 7);
	lookup(&e, a, 7, &r);
	EXPECT_EQ(r, -ENODATA);
	env_exit(&e);
}

TEST(delete_drops_only_what_it_stops_sharing)
{
	struct env e;
	u64 a = 0, b, i, free_one_tree, free_start;
	int r;

	env_init(&e);
	env_commit(&e);
	free_start = vela_sm_nr_free(&e.sm);
	for (i = 0; i < 3000; i++)
		a = insert(&e, a, i, i);
	env_commit(&e);
	free_one_tree = vela_sm_nr_free(&e.sm);
	ASSERT_EQ(vela_btree_clone(&e.info, a), 0);
	b = insert(&e, a, 1234, 1);
	env_commit(&e);

	/* Deleting the clone frees its private path, keeps the original. */
	ASSERT_EQ(vela_btree_delete(&e.info, b), 0);
	env_commit(&e);
	EXPECT_EQ(vela_sm_nr_free(&e.sm), free_one_tree);
	for (i = 0; i < 3000; i += 97)
		EXPECT_EQ(lookup(&e, a, i, &r), i);
	ASSERT_EQ(vela_btree_delete(&e.info, a), 0);
	env_commit(&e);
	EXPECT_EQ(vela_sm_nr_free(&e.sm), free_start);
	env_exit(&e);
}

TEST(delete_step_finishes_in_bounded_steps)
{
	struct env e;
	u64 a = 0, b, i, budget, steps = 0, free_start;

	env_init(&e);
	env_commit(&e);
	free_start = vela_sm_nr_free(&e.sm);
	for (i = 0; i < 4000; i++)
		a = insert(&e, a, i, i);
	env_commit(&e);
	/* An exclusive tree: 4000 values take about 40 steps of 100. */
	while (a) {
		budget = 100;
		ASSERT_EQ(vela_btree_delete_step(&e.info, a, &budget, &a), 0);
		env_commit(&e);
		steps++;
		ASSERT_LT(steps, 100);
	}
	EXPECT_GE(steps, 40);
	EXPECT_EQ(vela_sm_nr_free(&e.sm), free_start);

	/* A tree sharing its subtrees: each shared child costs one unit. */
	for (i = 0; i < 4000; i++)
		a = insert(&e, a, i, i);
	ASSERT_EQ(vela_btree_clone(&e.info, a), 0);
	b = insert(&e, a, 3999, 0);
	env_commit(&e);
	/* Only the clone's private path (one leaf of values) costs more. */
	for (steps = 0; b; steps++) {
		budget = 100;
		ASSERT_EQ(vela_btree_delete_step(&e.info, b, &budget, &b), 0);
		env_commit(&e);
		ASSERT_LT(steps, 100);
	}
	EXPECT_LE(steps, 4);
	ASSERT_EQ(vela_btree_delete(&e.info, a), 0);
	env_commit(&e);
	EXPECT_EQ(vela_sm_nr_free(&e.sm), free_start);
	env_exit(&e);
}

TEST(lookup_try_never_waits_for_io)
{
	struct cold_view cold;
	struct env e;
	u64 root = 0, i;
	__le64 v;

	env_init(&e);
	for (i = 0; i < 1000; i++)
		root = insert(&e, root, i, i);
	env_commit(&e);

	cold_open(&e, &cold);
	EXPECT_EQ(vela_btree_lookup_try(&cold.info, root, 5, &v), -EWOULDBLOCK);
	EXPECT_EQ(vela_btree_lookup(&cold.info, root, 5, &v), 0);
	EXPECT_EQ(vela_btree_lookup_try(&cold.info, root, 5, &v), 0);
	EXPECT_EQ(le64_to_cpu(v), 5);
	cold_close(&cold);
	env_exit(&e);
}

TEST(corrupt_node_is_rejected)
{
	u8 junk[VELA_BLOCK_SIZE];
	struct cold_view cold;
	struct env e;
	u64 root = 0, i;
	__le64 v;

	env_init(&e);
	for (i = 0; i < 100; i++)
		root = insert(&e, root, i, i);
	env_commit(&e);

	/* Flip one byte of the root node on the device. */
	ASSERT_EQ(vela_bdev_read(e.bdev, root * VELA_BLOCK_SIZE, junk, sizeof(junk)), 0);
	junk[100] ^= 0x40;
	ASSERT_EQ(vela_bdev_write(e.bdev, root * VELA_BLOCK_SIZE, junk, sizeof(junk)), 0);

	cold_open(&e, &cold);
	EXPECT_EQ(vela_btree_lookup(&cold.info, root, 5, &v), -EILSEQ);
	cold_close(&cold);
	env_exit(&e);
}

TEST(space_map_never_reuses_a_block_freed_in_the_transaction)
{
	struct env e;
	u64 b, again, i;

	env_init(&e);
	ASSERT_EQ(vela_sm_alloc(&e.sm, &b), 0);
	env_commit(&e);
	ASSERT_EQ(vela_sm_dec(&e.sm, b), 0);
	EXPECT_EQ(count_of(&e, b), 0);
	for (i = 0; i < DEV_BLOCKS; i++) {
		if (vela_sm_alloc(&e.sm, &again))
			break;
		ASSERT_NE(again, b);
	}
	EXPECT_EQ(vela_sm_alloc(&e.sm, &again), -ENOSPC);
	env_exit(&e);
}

TEST(space_map_counts_past_the_two_bit_range)
{
	struct env e;
	u64 b;
	int i;

	env_init(&e);
	ASSERT_EQ(vela_sm_alloc(&e.sm, &b), 0);
	for (i = 0; i < 9; i++)
		ASSERT_EQ(vela_sm_inc(&e.sm, b), 0);
	env_commit(&e);
	EXPECT_EQ(count_of(&e, b), 10);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(vela_sm_dec(&e.sm, b), 0);
	env_commit(&e);
	EXPECT_EQ(count_of(&e, b), 2);
	ASSERT_EQ(vela_sm_dec(&e.sm, b), 0);
	ASSERT_EQ(vela_sm_dec(&e.sm, b), 0);
	env_commit(&e);
	EXPECT_EQ(count_of(&e, b), 0);
	/* Below zero is corruption, caught when the change is applied. */
	ASSERT_EQ(vela_sm_dec(&e.sm, b), 0);
	{
		bool changed;

		EXPECT_EQ(vela_sm_apply(&e.sm, &changed), -EILSEQ);
	}
	env_exit(&e);
}

TEST(random_operations_match_a_model)
{
	static u64 model[4096];
	struct env e;
	u64 root = 0, i, key, k;
	int r;

	env_init(&e);
	memset(model, 0xff, sizeof(model));
	for (i = 0; i < 30000; i++) {
		key = rnd(&e) % 4096;
		switch (rnd(&e) % 4) {
		case 0:
		case 1:
			root = insert(&e, root, key, i);
			model[key] = i;
			break;
		case 2:
			r = vela_btree_remove(&e.info, root, key, &root);
			ASSERT_EQ(r, model[key] == ~0ULL ? -ENODATA : 0);
			model[key] = ~0ULL;
			break;
		default:
			k = lookup(&e, root, key, &r);
			if (model[key] == ~0ULL)
				ASSERT_EQ(r, -ENODATA);
			else
				ASSERT_EQ(k, model[key]);
		}
		if (i % 5000 == 4999)
			env_commit(&e);
	}
	for (key = 0; key < 4096; key++) {
		k = lookup(&e, root, key, &r);
		if (model[key] == ~0ULL)
			ASSERT_EQ(r, -ENODATA);
		else
			ASSERT_EQ(k, model[key]);
	}
	env_exit(&e);
}

/* What vela_btree_diff() reported, checked against two models. */
struct diff_check {
	const u64 *model_a, *model_b;	/* ~0: absent */
	u64 reported, last_key;
	bool ordered;
	int wrong;
};

static int diff_entry(void *context, u64 key, const void *va, const void *vb)
{
	struct diff_check *d = context;
	u64 a = va ? le64_to_cpu(*(const __le64 *)va) : ~0ULL;
	u64 b = vb ? le64_to_cpu(*(const __le64 *)vb) : ~0ULL;

	if (d->reported && key <= d->last_key)
		d->ordered = false;
	d->last_key = key;
	d->reported++;
	if (a != d->model_a[key] || b != d->model_b[key] || a == b)
		d->wrong++;
	return 0;
}

static u64 model_differences(const u64 *a, const u64 *b, u64 n)
{
	u64 i, count = 0;

	for (i = 0; i < n; i++)
		count += a[i] != b[i];
	return count;
}

/*
 * A tree and its clone diverge by random inserts, replacements and removals
 * on both sides (splits and merges included); the diff reports exactly the
 * keys the models differ in, in order, with both values.
 */
TEST(diff_matches_two_models)
{
	static u64 model[2][8192];
	u64 root[2] = { 0, 0 }, i, key, round;
	struct diff_check d;
	struct env e;
	int side;

	env_init(&e);
	for (round = 0; round < 6; round++) {
		memset(model, 0xff, sizeof(model));
		root[0] = 0;
		for (i = 0; i < 6000; i++) {
			key = rnd(&e) % 8192;
			root[0] = insert(&e, root[0], key, i);
			model[0][key] = i;
		}
		ASSERT_EQ(vela_btree_clone(&e.info, root[0]), 0);
		root[1] = root[0];
		memcpy(model[1], model[0], sizeof(model[0]));
		/* More changes each round: from a handful to thousands. */
		for (i = 0; i < (5ULL << (2 * round)); i++) {
			side = rnd(&e) % 2;
			key = rnd(&e) % 8192;
			if (rnd(&e) % 3) {
				root[side] = insert(&e, root[side], key, 100000 + i);
				model[side][key] = 100000 + i;
			} else if (model[side][key] != ~0ULL) {
				ASSERT_EQ(vela_btree_remove(&e.info, root[side], key, &root[side]), 0);
				model[side][key] = ~0ULL;
			}
		}
		memset(&d, 0, sizeof(d));
		d.model_a = model[0];
		d.model_b = model[1];
		d.ordered = true;
		ASSERT_EQ(vela_btree_diff(&e.info, root[0], root[1], diff_entry, &d, NULL), 0);
		EXPECT_EQ(d.wrong, 0);
		EXPECT_TRUE(d.ordered);
		EXPECT_EQ(d.reported, model_differences(model[0], model[1], 8192));
		/* And the other way round, and against the empty tree. */
		memset(&d, 0, sizeof(d));
		d.model_a = model[1];
		d.model_b = model[0];
		d.ordered = true;
		ASSERT_EQ(vela_btree_diff(&e.info, root[1], root[0], diff_entry, &d, NULL), 0);
		EXPECT_EQ(d.wrong, 0);
		EXPECT_EQ(d.reported, model_differences(model[0], model[1], 8192));
		ASSERT_EQ(vela_btree_delete(&e.info, root[0]), 0);
		ASSERT_EQ(vela_btree_delete(&e.info, root[1]), 0);
		env_commit(&e);
	}
	env_exit(&e);
}

static int count_entries(void *context, u64 key, const void *va, const void *vb)
{
	(*(u64 *)context)++;
	return 0;
}

/*
 * The cost follows the differences: after 10 changes to one of two trees
 * sharing 100,000 keys, the diff reads a few nodes per change, not the
 * trees; a diff with the empty tree reads every node.
 */
TEST(diff_reads_only_what_differs)
{
	u64 a = 0, b, i, n = 0, nodes = 0, all_nodes = 0;
	struct env e;

	env_init(&e);
	for (i = 0; i < 100000; i++)
		a = insert(&e, a, i * 3, i);
	env_commit(&e);
	ASSERT_EQ(vela_btree_clone(&e.info, a), 0);
	b = a;
	for (i = 0; i < 10; i++)
		b = insert(&e, b, i * 29989 + 1, i);
	ASSERT_EQ(vela_btree_diff(&e.info, a, b, count_entries, &n, &nodes), 0);
	EXPECT_EQ(n, 10);
	ASSERT_EQ(vela_btree_diff(&e.info, 0, a, count_entries, &n, &all_nodes), 0);
	EXPECT_EQ(n, 100010);
	/* Two root-to-leaf paths per change at the most. */
	EXPECT_TRUE(nodes <= 10 * 2 * 4 + 2);
	EXPECT_TRUE(all_nodes > 10 * nodes);
	unit_diag("diff of 10 changes in 100000 keys read %llu nodes; the whole tree %llu",
		 nodes, all_nodes);
	ASSERT_EQ(vela_btree_diff(&e.info, a, a, count_entries, &n, &nodes), 0);
	EXPECT_EQ(n, 100010);
	env_exit(&e);
}
