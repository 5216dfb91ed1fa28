// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the pool metadata API (branches, mappings, commit, abort,
 * reopen after a power cut), with the checker run after every reopen.
 */
#include "unit.h"
#include "vela-check.h"
#include "vela-meta-internal.h"
#include "bufio-user.h"

#define META_BLOCKS	2048
#define DATA_BLOCKS	100000

struct pool {
	struct block_device *bdev;
	struct vela_md *md;
};

static void check_clean(struct block_device *bdev)
{
	struct vela_check_report rep = { 0 };

	ASSERT_EQ(vela_check(bdev, &rep), 0);
	EXPECT_EQ(rep.nr_problems, 0);
}

static void pool_open(struct pool *p)
{
	p->md = vela_md_open(p->bdev, false);
	ASSERT_NOT_ERR(p->md);
}

/* A new pool on a memory device of @meta_blocks metadata blocks. */
static void pool_create_sized(struct pool *p, u64 meta_blocks)
{
	struct vela_md_format_params fp = {
		.pool_name = "test", .data_block_sectors = 128,
		.data_nr_blocks = DATA_BLOCKS, .now = 1,
	};

	p->bdev = vela_bdev_create_mem(meta_blocks * VELA_BLOCK_SIZE);
	ASSERT_NOT_ERR(p->bdev);
	ASSERT_EQ(vela_md_format(p->bdev, &fp), 0);
	check_clean(p->bdev);
	pool_open(p);
}

static void pool_create(struct pool *p)
{
	pool_create_sized(p, META_BLOCKS);
}

/* Power cut: what was not flushed is lost; reopen and check. */
static void pool_cut(struct pool *p, unsigned int flags)
{
	vela_md_close(p->md);
	vela_bdev_power_cut(p->bdev, unit_seed(), flags);
	check_clean(p->bdev);
	pool_open(p);
}

static void pool_destroy(struct pool *p)
{
	vela_md_close(p->md);
	check_clean(p->bdev);
	vela_bdev_close(p->bdev);
}

static u64 map_new(struct pool *p, u64 id, u64 lblock)
{
	u64 pblock;

	ASSERT_EQ(vela_md_alloc_data_block(p->md, &pblock), 0);
	ASSERT_EQ(vela_md_map(p->md, id, lblock, pblock), 0);
	return pblock;
}

static u64 lookup(struct pool *p, u64 id, u64 lblock, bool *shared, int *r)
{
	u64 pblock = 0;
	bool s = false;

	*r = vela_md_lookup(p->md, id, lblock, &pblock, &s);
	if (shared)
		*shared = s;
	return pblock;
}

TEST(format_open_and_info)
{
	struct vela_md_info info;
	struct pool p;

	pool_create(&p);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_STREQ(info.pool_name, "test");
	EXPECT_EQ(info.generation, 1);
	EXPECT_EQ(info.change_id, 0);
	EXPECT_EQ(info.data_nr_blocks, DATA_BLOCKS);
	EXPECT_EQ(info.data_nr_free, DATA_BLOCKS - 1);
	EXPECT_EQ(info.metadata_nr_blocks, META_BLOCKS);
	EXPECT_EQ(info.nr_branches, 0);
	pool_destroy(&p);
}

TEST(a_pool_is_renamed_and_given_a_new_uuid_in_one_commit)
{
	static const u8 uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct vela_md_info before, info;
	u64 vol;
	struct pool p;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	ASSERT_EQ(vela_md_info(p.md, &before), 0);
	EXPECT_EQ(vela_md_set_identity(p.md, "bad/name", NULL), -EINVAL);
	EXPECT_EQ(vela_md_set_identity(p.md, "0123456789012345678901234567890123456789012345678901234567890123",
				       NULL), -EINVAL);
	/* A failed write: the old identity stays, in memory and on disk. */
	vela_bdev_inject_error(p.bdev, VELA_IO_WRITE, 0, -EIO);
	EXPECT_EQ(vela_md_set_identity(p.md, "other", uuid), -EIO);
	vela_bdev_inject_error(p.bdev, VELA_IO_WRITE, 0, 0);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_STREQ(info.pool_name, "test");
	EXPECT_EQ(memcmp(info.uuid, before.uuid, 16), 0);
	pool_cut(&p, VELA_CUT_DROP_ALL);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_STREQ(info.pool_name, "test");
	ASSERT_EQ(vela_md_create_volume(p.md, "w", 1 << 20, 0, 1, &vol), 0);
	/* The name alone, then the UUID alone: each one commit, kept across a cut. */
	ASSERT_EQ(vela_md_set_identity(p.md, "other", NULL), 0);
	pool_cut(&p, VELA_CUT_DROP_ALL);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_STREQ(info.pool_name, "other");
	EXPECT_EQ(memcmp(info.uuid, before.uuid, 16), 0);
	/* "v" went with the failed commit; "w" came with the rename's. */
	EXPECT_EQ(info.nr_branches, 1);
	ASSERT_EQ(vela_md_set_identity(p.md, NULL, uuid), 0);
	pool_cut(&p, VELA_CUT_DROP_ALL);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_STREQ(info.pool_name, "other");
	EXPECT_EQ(memcmp(info.uuid, uuid, 16), 0);
	pool_destroy(&p);
}

TEST(garbage_is_not_a_pool)
{
	struct block_device *bdev = vela_bdev_create_mem(64 * VELA_BLOCK_SIZE);
	struct vela_md *md;

	ASSERT_NOT_ERR(bdev);
	md = vela_md_open(bdev, true);
	EXPECT_TRUE(IS_ERR(md));
	EXPECT_EQ(PTR_ERR(md), -EILSEQ);
	vela_bdev_close(bdev);
}

TEST(branch_isolation_and_sharing)
{
	u64 vol, br, pv, pb;
	bool shared;
	struct pool p;
	int r;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "prod", 1 << 20, 0, 1, &vol), 0);
	pv = map_new(&p, vol, 7);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "ci-1", 0, 2, &br), 0);

	/* The branch reads the parent's block, shared. */
	EXPECT_EQ(lookup(&p, br, 7, &shared, &r), pv);
	EXPECT_EQ(r, 0);
	EXPECT_TRUE(shared);

	/* Breaking sharing on the branch leaves the parent alone. */
	pb = map_new(&p, br, 7);
	EXPECT_EQ(lookup(&p, br, 7, &shared, &r), pb);
	EXPECT_FALSE(shared);
	/*
	 * The parent's block stays shared: the branch's base (its branch
	 * point) holds it, so the parent's next write to it redirects, and a
	 * diff against the branch point sees the change.
	 */
	EXPECT_EQ(lookup(&p, vol, 7, &shared, &r), pv);
	EXPECT_TRUE(shared);
	map_new(&p, vol, 8);
	EXPECT_EQ(lookup(&p, vol, 8, &shared, &r) != 0, 1);
	EXPECT_FALSE(shared);
	lookup(&p, br, 8, NULL, &r);
	EXPECT_EQ(r, -ENODATA);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_cut(&p, VELA_CUT_RANDOM_SUBSET | VELA_CUT_TEAR);
	EXPECT_EQ(lookup(&p, br, 7, NULL, &r), pb);
	EXPECT_EQ(lookup(&p, vol, 7, NULL, &r), pv);
	pool_destroy(&p);
}

TEST(uncommitted_changes_vanish_at_a_power_cut)
{
	struct vela_branch_info rec;
	u64 vol, id;
	struct pool p;
	int r;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	map_new(&p, vol, 1);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	map_new(&p, vol, 2);
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "b", 0, 1, &id), 0);
	pool_cut(&p, VELA_CUT_RANDOM_SUBSET | VELA_CUT_TEAR);
	lookup(&p, vol, 1, NULL, &r);
	EXPECT_EQ(r, 0);
	lookup(&p, vol, 2, NULL, &r);
	EXPECT_EQ(r, -ENODATA);
	EXPECT_EQ(vela_md_get_branch(p.md, id, &rec), -ENOENT);
	EXPECT_EQ(vela_md_find_branch(p.md, "b", &id), -ENOENT);
	pool_destroy(&p);
}

TEST(abort_returns_to_the_last_commit)
{
	struct vela_md_info before, after;
	u64 vol, id;
	struct pool p;
	int r;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_info(p.md, &before), 0);
	map_new(&p, vol, 1);
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "b", 0, 1, &id), 0);
	ASSERT_EQ(vela_md_abort(p.md), 0);
	ASSERT_EQ(vela_md_info(p.md, &after), 0);
	EXPECT_EQ(after.change_id, before.change_id);
	EXPECT_EQ(after.nr_branches, 1);
	EXPECT_EQ(after.data_nr_free, before.data_nr_free);
	lookup(&p, vol, 1, NULL, &r);
	EXPECT_EQ(r, -ENODATA);
	/* The pool works on after an abort. */
	map_new(&p, vol, 1);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_destroy(&p);
}

TEST(names_are_validated_and_unique)
{
	char long_name[VELA_NAME_LEN + 1];
	struct pool p;
	u64 id, other;

	pool_create(&p);
	EXPECT_FALSE(vela_md_valid_name(""));
	EXPECT_FALSE(vela_md_valid_name("a/b"));
	EXPECT_FALSE(vela_md_valid_name("-x"));
	EXPECT_FALSE(vela_md_valid_name(".."));
	EXPECT_TRUE(vela_md_valid_name("ci-job_42.x+y"));
	memset(long_name, 'a', VELA_NAME_LEN);
	long_name[VELA_NAME_LEN] = '\0';
	EXPECT_FALSE(vela_md_valid_name(long_name));
	long_name[VELA_NAME_LEN - 1] = '\0';
	EXPECT_TRUE(vela_md_valid_name(long_name));

	ASSERT_EQ(vela_md_create_volume(p.md, "prod", 1 << 20, 0, 1, &id), 0);
	EXPECT_EQ(vela_md_create_volume(p.md, "prod", 1 << 20, 0, 1, &other), -EEXIST);
	EXPECT_EQ(vela_md_create_branch(p.md, id, "prod", 0, 1, &other), -EEXIST);
	EXPECT_EQ(vela_md_create_volume(p.md, "bad/name", 1 << 20, 0, 1, &other), -EINVAL);
	EXPECT_EQ(vela_md_create_branch(p.md, 999, "x", 0, 1, &other), -ENOENT);
	ASSERT_EQ(vela_md_rename_branch(p.md, id, "production"), 0);
	EXPECT_EQ(vela_md_find_branch(p.md, "prod", &other), -ENOENT);
	ASSERT_EQ(vela_md_find_branch(p.md, "production", &other), 0);
	EXPECT_EQ(other, id);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_destroy(&p);
}

TEST(delete_refuses_a_parent_and_reclaims_everything)
{
	struct vela_md_info base, info, after;
	u64 vol, br, i, pending;
	struct pool p;

	pool_create(&p);
	ASSERT_EQ(vela_md_info(p.md, &base), 0);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	for (i = 0; i < 3000; i++)
		map_new(&p, vol, i);
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "b", 0, 1, &br), 0);
	for (i = 0; i < 3000; i += 3)
		map_new(&p, br, i);
	ASSERT_EQ(vela_md_commit(p.md), 0);

	EXPECT_EQ(vela_md_delete_branch(p.md, vol), -ENOTEMPTY);
	/* Protected is kept: refused until unprotected, with nothing changed. */
	ASSERT_EQ(vela_md_set_branch_flags(p.md, br, VELA_BRANCH_READ_ONLY, 0), 0);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_EQ(vela_md_delete_branch(p.md, br), -EPERM);
	ASSERT_EQ(vela_md_info(p.md, &after), 0);
	EXPECT_EQ(after.change_id, info.change_id);
	EXPECT_EQ(after.nr_branches, 2);
	ASSERT_EQ(vela_md_set_branch_flags(p.md, br, 0, VELA_BRANCH_READ_ONLY), 0);
	ASSERT_EQ(vela_md_delete_branch(p.md, br), 0);
	ASSERT_EQ(vela_md_delete_branch(p.md, vol), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_EQ(info.nr_branches, 0);
	EXPECT_GT(info.pending_deletes, 0);

	/* Drain the queue in bounded steps, with a power cut halfway. */
	for (i = 0; i < 1000; i++) {
		ASSERT_EQ(vela_md_reclaim(p.md, 500, &pending), 0);
		ASSERT_EQ(vela_md_commit(p.md), 0);
		if (i == 2)
			pool_cut(&p, VELA_CUT_DROP_ALL);
		if (!pending)
			break;
	}
	EXPECT_EQ(pending, 0);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_EQ(info.data_nr_free, base.data_nr_free);
	EXPECT_EQ(info.metadata_nr_free, base.metadata_nr_free);
	pool_destroy(&p);
}

TEST(usage_is_exact)
{
	u64 vol, br, i, excl, shared;
	struct pool p;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	for (i = 0; i < 1000; i++)
		map_new(&p, vol, i);
	ASSERT_EQ(vela_md_branch_usage(p.md, vol, &excl, &shared), 0);
	EXPECT_EQ(excl, 1000);
	EXPECT_EQ(shared, 0);
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "b", 0, 1, &br), 0);
	for (i = 0; i < 100; i++)
		map_new(&p, br, i * 10);
	ASSERT_EQ(vela_md_branch_usage(p.md, br, &excl, &shared), 0);
	EXPECT_EQ(excl, 100);
	EXPECT_EQ(shared, 900);
	/* The parent's blocks are all held by the branch point too. */
	ASSERT_EQ(vela_md_branch_usage(p.md, vol, &excl, &shared), 0);
	EXPECT_EQ(excl, 0);
	EXPECT_EQ(shared, 1000);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_destroy(&p);
}

/*
 * K7: the committed usage walk reads the last commit with no metadata lock
 * held, while transactions commit beside it.  Here both trees are
 * rewritten whole between the start and the walk, over many commits, so
 * every metadata block of the walked commit is freed, and the allocator
 * would reuse it but for the pin.
 */
TEST(committed_usage_walk_survives_commits)
{
	struct vela_md_info before, pinned, after;
	struct vela_md_usage_walk w;
	struct vela_md_usage usage;
	u64 vol, br, i, round, excl, shared, gen;
	struct pool p;

	/* A small metadata device, which the allocator wraps around often. */
	pool_create_sized(&p, 512);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	for (i = 0; i < 3000; i++)
		map_new(&p, vol, i);
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "b", 0, 1, &br), 0);
	for (i = 0; i < 500; i++)
		map_new(&p, br, i * 3);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_branch_usage(p.md, br, &excl, &shared), 0);
	EXPECT_EQ(excl, 500);
	EXPECT_EQ(shared, 2500);
	ASSERT_EQ(vela_md_info(p.md, &before), 0);
	gen = before.generation;

	mutex_lock(&p.md->usage_lock);
	ASSERT_EQ(vela_md_usage_begin(p.md, br, &w), 0);
	ASSERT_TRUE(w.pinned);
	/* Both trees are rewritten whole, a commit every 150 blocks, thrice. */
	for (round = 0; round < 120; round++) {
		for (i = 0; i < 150; i++)
			map_new(&p, round % 40 < 20 ? br : vol, (round % 20) * 150 + i);
		ASSERT_EQ(vela_md_commit(p.md), 0);
	}
	ASSERT_EQ(vela_md_info(p.md, &pinned), 0);
	ASSERT_EQ(vela_md_usage_walk(&w), 0);
	ASSERT_EQ(vela_md_usage_end(&w, 0), 0);
	mutex_unlock(&p.md->usage_lock);
	EXPECT_EQ(w.usage.generation, gen);
	EXPECT_EQ(w.usage.mapped, 3000);
	EXPECT_EQ(w.usage.exclusive, 500);

	/* Freed blocks were counted in use while pinned, and are free again. */
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_info(p.md, &after), 0);
	EXPECT_GT(after.metadata_nr_free, pinned.metadata_nr_free);
	check_clean(p.bdev);

	/* Now: the branch owns all it maps; once, then from the cache. */
	ASSERT_EQ(vela_md_committed_usage(p.md, br, &usage), 0);
	EXPECT_EQ(usage.generation, after.generation);
	EXPECT_EQ(usage.exclusive, 3000);
	EXPECT_EQ(usage.shared, 0);
	ASSERT_EQ(vela_md_committed_usage(p.md, br, &usage), 0);
	EXPECT_EQ(usage.exclusive, 3000);
	/* A branch made since the last commit mapped nothing then. */
	ASSERT_EQ(vela_md_create_branch(p.md, br, "c", 0, 1, &vol), 0);
	ASSERT_EQ(vela_md_committed_usage(p.md, vol, &usage), 0);
	EXPECT_EQ(usage.mapped, 0);
	EXPECT_EQ(usage.exclusive, 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_destroy(&p);
}

/*
 * A pin may hold back an eighth of the free metadata: past that it is
 * broken, the walk gives up with -EAGAIN, and the unpin gives the space
 * back.  The metadata device here is small, so rewriting a 20000-block
 * volume frees more of the pinned commit's blocks than that.
 */
TEST(committed_usage_walk_gives_up_before_holding_back_too_much)
{
	struct vela_md_info pinned, after;
	struct vela_md_usage_walk w;
	struct vela_md_usage usage;
	u64 vol, i;
	struct pool p;

	pool_create_sized(&p, 640);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 30, 0, 1, &vol), 0);
	for (i = 0; i < 20000; i++)
		map_new(&p, vol, i);
	ASSERT_EQ(vela_md_commit(p.md), 0);

	mutex_lock(&p.md->usage_lock);
	ASSERT_EQ(vela_md_usage_begin(p.md, vol, &w), 0);
	for (i = 0; i < 20000; i++) {
		map_new(&p, vol, i);
		if (i % 500 == 499)
			ASSERT_EQ(vela_md_commit(p.md), 0);
	}
	ASSERT_EQ(vela_md_info(p.md, &pinned), 0);
	EXPECT_EQ(vela_md_usage_walk(&w), -EAGAIN);
	EXPECT_EQ(vela_md_usage_end(&w, -EAGAIN), -EAGAIN);
	mutex_unlock(&p.md->usage_lock);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_info(p.md, &after), 0);
	EXPECT_GT(after.metadata_nr_free, pinned.metadata_nr_free);
	check_clean(p.bdev);

	/* Unpinned, the next walk completes. */
	ASSERT_EQ(vela_md_committed_usage(p.md, vol, &usage), 0);
	EXPECT_EQ(usage.exclusive, 20000);
	pool_destroy(&p);
}

/*
 * A pool with less free metadata than twice its reserve takes no pin: the
 * walk reads the same commit under the metadata lock, and is exact too.
 */
TEST(committed_usage_without_a_pin_on_a_nearly_full_pool)
{
	struct vela_md_usage_walk w;
	struct vela_md_usage usage;
	struct vela_md_info info;
	u64 vol, br, i;
	struct pool p;

	pool_create_sized(&p, 192);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 30, 0, 1, &vol), 0);
	for (i = 0; i < 12000; i++)
		map_new(&p, vol, i);
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "b", 0, 1, &br), 0);
	for (i = 0; i < 300; i++)
		map_new(&p, br, i * 7);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	ASSERT_LT(info.metadata_nr_free, 2 * vela_md_metadata_reserve(info.metadata_nr_blocks));

	mutex_lock(&p.md->usage_lock);
	EXPECT_EQ(vela_md_usage_begin(p.md, br, &w), -EAGAIN);
	EXPECT_FALSE(w.pinned);
	EXPECT_EQ(vela_md_usage_end(&w, -EAGAIN), -EAGAIN);
	mutex_unlock(&p.md->usage_lock);
	ASSERT_EQ(vela_md_committed_usage(p.md, br, &usage), 0);
	EXPECT_EQ(usage.generation, info.generation);
	EXPECT_EQ(usage.mapped, 12000);
	EXPECT_EQ(usage.exclusive, 300);
	EXPECT_EQ(usage.shared, 11700);
	ASSERT_EQ(vela_md_committed_usage(p.md, vol, &usage), 0);
	EXPECT_EQ(usage.exclusive, 0);
	pool_destroy(&p);
}

TEST(data_space_runs_out_cleanly)
{
	struct vela_md_format_params fp = {
		.pool_name = "small", .data_block_sectors = 8, .data_nr_blocks = 50,
	};
	struct pool p;
	u64 vol, pblock, i;
	int r = 0;

	p.bdev = vela_bdev_create_mem(256 * VELA_BLOCK_SIZE);
	ASSERT_NOT_ERR(p.bdev);
	ASSERT_EQ(vela_md_format(p.bdev, &fp), 0);
	pool_open(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	for (i = 0; i < 100 && !r; i++) {
		r = vela_md_alloc_data_block(p.md, &pblock);
		if (!r)
			ASSERT_EQ(vela_md_map(p.md, vol, i, pblock), 0);
	}
	EXPECT_EQ(r, -ENOSPC);
	EXPECT_EQ(i, 50);	/* 49 usable blocks, then the failure */
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_destroy(&p);
}

TEST(metadata_io_errors_fail_the_commit_not_the_pool)
{
	u64 vol, first, pblock;
	struct pool p;
	int r;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	first = map_new(&p, vol, 1);
	map_new(&p, vol, 2);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	map_new(&p, vol, 1);
	vela_bdev_inject_error(p.bdev, VELA_IO_WRITE, 0, -EIO);
	EXPECT_EQ(vela_md_commit(p.md), -EIO);
	vela_bdev_inject_error(p.bdev, VELA_IO_WRITE, 0, 0);
	/*
	 * The failed commit has aborted: lookups see the last commit at once,
	 * and the lock-free lookup serves nothing until a commit succeeds.
	 */
	EXPECT_EQ(lookup(&p, vol, 1, NULL, &r), first);
	EXPECT_EQ(r, 0);
	EXPECT_EQ(vela_md_lookup_try(p.md, vol, 2, &pblock), -EWOULDBLOCK);
	ASSERT_EQ(vela_md_abort(p.md), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	EXPECT_EQ(vela_md_lookup_try(p.md, vol, 2, &pblock), 0);
	pool_cut(&p, VELA_CUT_DROP_ALL);
	EXPECT_EQ(lookup(&p, vol, 1, NULL, &r), first);
	EXPECT_EQ(r, 0);
	pool_destroy(&p);
}

static void count_problem(void *context, const char *msg)
{
	unit_diag("checker: %s", msg);
	(*(int *)context)++;
}

TEST(checker_finds_wrong_reference_counts)
{
	struct vela_check_report rep = { .problem = count_problem };
	struct pool p;
	u64 vol, leaked;
	int seen = 0;

	rep.context = &seen;
	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	map_new(&p, vol, 1);
	ASSERT_EQ(vela_md_commit(p.md), 0);

	/* A data block counted but referenced by nothing: a leak. */
	ASSERT_EQ(vela_md_alloc_data_block(p.md, &leaked), 0);
	/* A metadata block counted twice. */
	ASSERT_EQ(vela_sm_inc(vela_md_metadata_sm(p.md), 0), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	vela_md_close(p.md);

	ASSERT_EQ(vela_check(p.bdev, &rep), 0);
	EXPECT_EQ(rep.nr_problems, 2);
	EXPECT_EQ(seen, 2);
	vela_bdev_close(p.bdev);
}

/*
 * An origin volume records the fingerprint activation takes, its branches
 * inherit it, and the API gives it back in CPU byte order; a record with a
 * sample count activation would refuse is the checker's problem.
 */
TEST(origin_records_round_trip_and_the_sample_count_is_checked)
{
	struct vela_md_origin origin = {
		.size_sectors = 1 << 20, .sample_csum = 0xdeadbeef,
		.sample_count = VELA_ORIGIN_SAMPLES - 1,
	};
	struct vela_check_report rep = { .problem = count_problem };
	struct vela_branch_info info, child;
	struct vela_disk_branch rec;
	u64 vol, br;
	int seen = 0;
	struct pool p;

	rep.context = &seen;
	pool_create(&p);
	memset(origin.id, 'w', VELA_ORIGIN_ID_LEN - 1);	/* the longest id */
	EXPECT_EQ(vela_md_create_origin_volume(p.md, "o", &origin, 7, &vol), -EINVAL);
	origin.sample_count = VELA_ORIGIN_SAMPLES;
	ASSERT_EQ(vela_md_create_origin_volume(p.md, "o", &origin, 7, &vol), 0);
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "o.b", 0, 8, &br), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);

	ASSERT_EQ(vela_md_get_branch(p.md, vol, &info), 0);
	EXPECT_STREQ(info.name, "o");
	EXPECT_EQ(info.parent_id, VELA_NO_PARENT);
	EXPECT_EQ(info.flags, VELA_BRANCH_HAS_ORIGIN);
	EXPECT_EQ(info.size_sectors, 1 << 20);
	EXPECT_EQ(info.ctime, 7);
	EXPECT_EQ(info.origin_size_sectors, 1 << 20);
	EXPECT_EQ(info.origin_sample_csum, 0xdeadbeef);
	EXPECT_EQ(info.origin_sample_count, VELA_ORIGIN_SAMPLES);
	EXPECT_EQ(strlen(info.origin_id), VELA_ORIGIN_ID_LEN - 1);
	EXPECT_STREQ(info.origin_id, origin.id);
	ASSERT_EQ(vela_md_get_branch(p.md, br, &child), 0);
	EXPECT_EQ(child.parent_id, vol);
	EXPECT_EQ(child.depth, 1);
	EXPECT_EQ(child.base_root, info.mapping_root);
	EXPECT_EQ(child.branch_point_change_id, 2);
	EXPECT_STREQ(child.origin_id, origin.id);
	EXPECT_EQ(child.origin_sample_count, VELA_ORIGIN_SAMPLES);
	EXPECT_NE(memcmp(child.uuid, info.uuid, sizeof(info.uuid)), 0);

	/* What a damaged or foreign record would say: the checker notices. */
	down_write(&p.md->lock);
	ASSERT_EQ(__vela_md_get_branch(p.md, vol, &rec), 0);
	rec.origin_sample_count = cpu_to_le32(VELA_ORIGIN_SAMPLES + 1);
	ASSERT_EQ(__vela_md_put_branch(p.md, vol, &rec), 0);
	up_write(&p.md->lock);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	vela_md_close(p.md);
	ASSERT_EQ(vela_check(p.bdev, &rep), 0);
	EXPECT_EQ(rep.nr_problems, 1);
	EXPECT_EQ(seen, 1);
	vela_bdev_close(p.bdev);
}

/* The pure superblock check judges bytes as an open does. */
TEST(superblock_validation_is_pure_and_says_why)
{
	struct vela_superblock sb;
	struct vela_md *md;
	char why[96];
	struct pool p;

	pool_create(&p);
	vela_md_close(p.md);
	ASSERT_EQ(vela_bdev_read(p.bdev, 0, &sb, sizeof(sb)), 0);
	EXPECT_EQ(vela_sb_validate(&sb, META_BLOCKS, why, sizeof(why)), 0);
	EXPECT_EQ(vela_sb_validate(&sb, META_BLOCKS - 1, why, sizeof(why)), -EILSEQ);
	EXPECT_STREQ(why, "superblock: metadata size 2048 blocks, device has 2047");

	sb.version = cpu_to_le32(VELA_FORMAT_VERSION + 1);
	EXPECT_EQ(vela_sb_validate(&sb, META_BLOCKS, why, sizeof(why)), -EILSEQ);
	EXPECT_STREQ(why, "checksum mismatch");
	sb.hdr.csum = cpu_to_le32(vela_block_csum(&sb, VELA_SUPERBLOCK_BYTES));
	EXPECT_EQ(vela_sb_validate(&sb, META_BLOCKS, why, sizeof(why)), -EOPNOTSUPP);
	EXPECT_STREQ(why, "superblock version 2 is not supported");
	/* An open refuses what the check refuses, with the same error. */
	ASSERT_EQ(vela_bdev_write(p.bdev, 0, &sb, sizeof(sb)), 0);
	md = vela_md_open(p.bdev, true);
	EXPECT_TRUE(IS_ERR(md));
	EXPECT_EQ(PTR_ERR(md), -EOPNOTSUPP);
	vela_bdev_close(p.bdev);
}

TEST(checker_finds_a_corrupt_node)
{
	struct vela_check_report rep = { 0 };
	struct vela_branch_info rec;
	u8 block[VELA_BLOCK_SIZE];
	struct pool p;
	u64 vol, i, root;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	for (i = 0; i < 600; i++)
		map_new(&p, vol, i);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_get_branch(p.md, vol, &rec), 0);
	root = rec.mapping_root;
	vela_md_close(p.md);

	ASSERT_EQ(vela_bdev_read(p.bdev, root * VELA_BLOCK_SIZE, block, sizeof(block)), 0);
	block[200] ^= 1;
	ASSERT_EQ(vela_bdev_write(p.bdev, root * VELA_BLOCK_SIZE, block, sizeof(block)), 0);
	ASSERT_EQ(vela_check(p.bdev, &rep), 0);
	EXPECT_GT(rep.nr_problems, 0);
	vela_bdev_close(p.bdev);
}

TEST(growing_the_devices_gives_room)
{
	struct vela_md_format_params fp = {
		.pool_name = "grow", .data_block_sectors = 8, .data_nr_blocks = 20,
	};
	struct vela_md_info info;
	struct pool p;
	u64 vol, pblock, i;
	int r = 0;

	p.bdev = vela_bdev_create_mem(64 * VELA_BLOCK_SIZE);
	ASSERT_NOT_ERR(p.bdev);
	ASSERT_EQ(vela_md_format(p.bdev, &fp), 0);
	pool_open(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	for (i = 0; !r; i++) {
		r = vela_md_alloc_data_block(p.md, &pblock);
		if (!r)
			ASSERT_EQ(vela_md_map(p.md, vol, i, pblock), 0);
	}
	EXPECT_EQ(r, -ENOSPC);
	EXPECT_EQ(vela_md_resize_data(p.md, 10, 80), -EINVAL);
	ASSERT_EQ(vela_md_resize_data(p.md, 40000, 40000 * 8), 0);
	for (i = 19; i < 39; i++)
		map_new(&p, vol, i);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_cut(&p, VELA_CUT_DROP_ALL);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_EQ(info.data_nr_blocks, 40000);
	EXPECT_EQ(info.data_nr_free, 40000 - 1 - 39);
	EXPECT_EQ(info.data_dev_size_sectors, 40000 * 8);
	EXPECT_EQ(info.metadata_nr_blocks, 64);
	vela_md_close(p.md);
	check_clean(p.bdev);
	vela_bdev_close(p.bdev);
}

TEST(commits_move_the_generation_admin_changes_the_change_id)
{
	struct vela_md_info a, b;
	struct pool p;
	u64 vol, br;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_info(p.md, &a), 0);
	/* I/O and the commits that flush it leave the admin counter alone. */
	map_new(&p, vol, 1);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_info(p.md, &b), 0);
	EXPECT_EQ(b.generation, a.generation + 2);
	EXPECT_EQ(b.change_id, a.change_id);
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "b", 0, 1, &br), 0);
	/* A limit set with the create is part of that one change. */
	ASSERT_EQ(vela_md_set_new_branch_limit(p.md, br, 16), 0);
	ASSERT_EQ(vela_md_rename_branch(p.md, br, "c"), 0);
	ASSERT_EQ(vela_md_info(p.md, &b), 0);
	EXPECT_EQ(b.change_id, a.change_id + 2);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_destroy(&p);
}

/* vela_md_next_branch pages through the branch table in id order. */
TEST(next_branch_walks_the_table_in_id_order)
{
	struct vela_branch_info rec;
	u64 ids[3], id, from = 0;
	struct pool p;
	int n = 0;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, VELA_BRANCH_NO_AUTOACTIVATE, 1,
					&ids[0]), 0);
	ASSERT_EQ(vela_md_create_branch(p.md, ids[0], "b", 0, 1, &ids[1]), 0);
	ASSERT_EQ(vela_md_create_branch(p.md, ids[1], "c", 0, 1, &ids[2]), 0);
	ASSERT_EQ(vela_md_delete_branch(p.md, ids[1]), -ENOTEMPTY);
	ASSERT_EQ(vela_md_delete_branch(p.md, ids[2]), 0);
	while (!vela_md_next_branch(p.md, from, &id, &rec)) {
		ASSERT_TRUE(n < 2);
		EXPECT_EQ(id, ids[n]);
		EXPECT_EQ(rec.parent_id, n ? ids[0] : VELA_NO_PARENT);
		EXPECT_EQ(rec.depth, (u32)n);
		n++;
		from = id + 1;
	}
	EXPECT_EQ(n, 2);
	EXPECT_EQ(vela_md_next_branch(p.md, ids[2], &id, &rec), -ENODATA);
	ASSERT_EQ(vela_md_get_branch(p.md, ids[0], &rec), 0);
	EXPECT_EQ(rec.flags, VELA_BRANCH_NO_AUTOACTIVATE);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_destroy(&p);
}

TEST(cached_usage_follows_changes)
{
	u64 vol, br, i, excl, shared;
	struct pool p;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	for (i = 0; i < 500; i++)
		map_new(&p, vol, i);
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "b", 0, 1, &br), 0);
	ASSERT_EQ(vela_md_branch_usage(p.md, br, &excl, &shared), 0);
	EXPECT_EQ(excl, 0);
	ASSERT_EQ(vela_md_branch_usage(p.md, br, &excl, &shared), 0);
	EXPECT_EQ(shared, 500);
	map_new(&p, br, 3);
	ASSERT_EQ(vela_md_branch_usage(p.md, br, &excl, &shared), 0);
	EXPECT_EQ(excl, 1);
	EXPECT_EQ(shared, 499);
	ASSERT_EQ(vela_md_abort(p.md), 0);
	pool_destroy(&p);
}

TEST(flags_and_released_blocks)
{
	struct vela_branch_info rec;
	struct vela_md_info a, b;
	struct pool p;
	u64 vol, pblock;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	ASSERT_EQ(vela_md_set_branch_flags(p.md, vol, VELA_BRANCH_READ_ONLY, 0), 0);
	ASSERT_EQ(vela_md_get_branch(p.md, vol, &rec), 0);
	EXPECT_EQ(rec.flags, VELA_BRANCH_READ_ONLY);
	ASSERT_EQ(vela_md_set_branch_flags(p.md, vol, 0, VELA_BRANCH_READ_ONLY), 0);
	ASSERT_EQ(vela_md_get_branch(p.md, vol, &rec), 0);
	EXPECT_EQ(rec.flags, 0);
	EXPECT_EQ(vela_md_set_branch_flags(p.md, vol, 1u << 30, 0), -EINVAL);
	EXPECT_EQ(vela_md_set_branch_flags(p.md, 77, VELA_BRANCH_READ_ONLY, 0), -ENOENT);

	/* A block allocated for a copy that failed goes back. */
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_info(p.md, &a), 0);
	ASSERT_EQ(vela_md_alloc_data_block(p.md, &pblock), 0);
	ASSERT_EQ(vela_md_release_data_block(p.md, pblock), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_info(p.md, &b), 0);
	EXPECT_EQ(b.data_nr_free, a.data_nr_free);
	pool_destroy(&p);
}

TEST(resize_grows_only_and_limits_persist)
{
	struct vela_branch_info rec;
	struct pool p;
	u64 vol;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1000, 0, 1, &vol), 0);
	EXPECT_EQ(vela_md_resize_branch(p.md, vol, 999), -EINVAL);
	ASSERT_EQ(vela_md_resize_branch(p.md, vol, 5000), 0);
	ASSERT_EQ(vela_md_set_branch_limit(p.md, vol, 77), 0);
	EXPECT_EQ(vela_md_resize_branch(p.md, 42, 5000), -ENOENT);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_cut(&p, VELA_CUT_DROP_ALL);
	ASSERT_EQ(vela_md_get_branch(p.md, vol, &rec), 0);
	EXPECT_EQ(rec.size_sectors, 5000);
	EXPECT_EQ(rec.alloc_limit_blocks, 77);
	pool_destroy(&p);
}

static int count_branch(void *context, u64 id, const struct vela_branch_info *info)
{
	(*(u64 *)context)++;
	return 0;
}

static int count_mapping(void *context, u64 lblock, u64 pblock)
{
	(*(u64 *)context)++;
	return 0;
}

/*
 * The held view: a read-only view of the branch table that a second
 * opener reads consistently while the pool moves on (branches deleted and
 * reclaimed, mappings changed), and whose release gives back exactly what
 * only it kept.
 */
TEST(held_view_is_stable_and_releases_everything)
{
	struct vela_md_info base, info;
	u64 vol, br, held, i, n, pending;
	struct vela_md *view;
	struct pool p;

	pool_create(&p);
	ASSERT_EQ(vela_md_info(p.md, &base), 0);
	EXPECT_EQ(PTR_ERR(vela_md_open_held(p.bdev)), -ENOENT);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	for (i = 0; i < 2000; i++)
		map_new(&p, vol, i);
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "b", 0, 1, &br), 0);
	ASSERT_EQ(vela_md_hold(p.md, NULL, &held), 0);
	EXPECT_EQ(vela_md_hold(p.md, NULL, &held), -EBUSY);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_EQ(info.held_root, held);

	/* The live pool moves on: the branch goes, the volume changes. */
	ASSERT_EQ(vela_md_delete_branch(p.md, br), 0);
	for (i = 0; i < 2000; i += 2)
		map_new(&p, vol, i + 5000);
	do {
		ASSERT_EQ(vela_md_reclaim(p.md, 300, &pending), 0);
		ASSERT_EQ(vela_md_commit(p.md), 0);
	} while (pending);

	view = vela_md_open_held(p.bdev);
	ASSERT_NOT_ERR(view);
	n = 0;
	ASSERT_EQ(vela_md_walk_branches(view, count_branch, &n), 0);
	EXPECT_EQ(n, 2);
	n = 0;
	ASSERT_EQ(vela_md_walk_mappings(view, br, count_mapping, &n), 0);
	EXPECT_EQ(n, 2000);
	n = 0;
	ASSERT_EQ(vela_md_walk_mappings(view, vol, count_mapping, &n), 0);
	EXPECT_EQ(n, 2000);
	vela_md_close(view);
	check_clean(p.bdev);

	ASSERT_EQ(vela_md_release_hold(p.md), 0);
	EXPECT_EQ(vela_md_release_hold(p.md), -ENOENT);
	ASSERT_EQ(vela_md_delete_branch(p.md, vol), 0);
	do {
		ASSERT_EQ(vela_md_reclaim(p.md, 300, &pending), 0);
		ASSERT_EQ(vela_md_commit(p.md), 0);
	} while (pending);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_EQ(info.held_root, 0);
	EXPECT_EQ(info.data_nr_free, base.data_nr_free);
	EXPECT_EQ(info.metadata_nr_free, base.metadata_nr_free);
	pool_destroy(&p);
}

struct mapping_list {
	u64 n;
	u64 sum;	/* of lblock * 1000003 + pblock: order-independent */
};

static int note_mapping(void *context, u64 lblock, u64 pblock)
{
	struct mapping_list *m = context;

	m->n++;
	m->sum += lblock * 1000003 + pblock;
	return 0;
}

/* Branch @id maps the same blocks in @a and @b. */
static void same_mappings(struct vela_md *a, struct vela_md *b, u64 id)
{
	struct mapping_list ma = { 0 }, mb = { 0 };

	ASSERT_EQ(vela_md_walk_mappings(a, id, note_mapping, &ma), 0);
	ASSERT_EQ(vela_md_walk_mappings(b, id, note_mapping, &mb), 0);
	EXPECT_EQ(ma.n, mb.n);
	EXPECT_EQ(ma.sum, mb.sum);
}

/* Commit, close, check the device, reopen: counts must be exact at every step. */
static void commit_and_check(struct pool *p)
{
	ASSERT_EQ(vela_md_commit(p->md), 0);
	vela_md_close(p->md);
	check_clean(p->bdev);
	pool_open(p);
}

/*
 * K1 of the review: a view held over a volume with no branches, whose
 * mapping root has a single reference.  Every operation that changes a
 * tree the view also reaches must leave the counts exact, the view must
 * keep reading what it held, and the release must give back exactly what
 * only the view kept.
 */
TEST(the_holder_tag_is_kept_with_the_view_across_a_power_cut)
{
	struct vela_md_info info;
	struct pool p;
	u64 held, vol;
	char raw[VELA_SUPERBLOCK_BYTES];
	struct vela_superblock *sb = (void *)raw;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	EXPECT_FALSE(vela_md_valid_holder(""));
	EXPECT_FALSE(vela_md_valid_holder("has space"));
	EXPECT_FALSE(vela_md_valid_holder("0123456789abcdef0123456789abcdef"));
	EXPECT_TRUE(vela_md_valid_holder("0123456789abcdef0123456789abcde"));
	EXPECT_EQ(vela_md_hold(p.md, "bad\ttag", &held), -EINVAL);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_EQ(info.held_root, 0);
	ASSERT_EQ(vela_md_hold(p.md, "velactl:check:4242", &held), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_cut(&p, 0);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_EQ(info.held_root, held);
	EXPECT_STREQ(info.held_by, "velactl:check:4242");
	ASSERT_EQ(vela_md_release_hold(p.md), 0);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_STREQ(info.held_by, "");
	/* An untagged view; then one whose tag another tool scribbled over. */
	ASSERT_EQ(vela_md_hold(p.md, NULL, &held), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_cut(&p, 0);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_EQ(info.held_root, held);
	EXPECT_STREQ(info.held_by, "");
	vela_md_close(p.md);
	ASSERT_EQ(vela_bdev_read(p.bdev, 0, raw, sizeof(raw)), 0);
	memset(sb->held_by, 0xff, sizeof(sb->held_by));
	sb->hdr.csum = cpu_to_le32(vela_block_csum(raw, sizeof(raw)));
	ASSERT_EQ(vela_bdev_write(p.bdev, 0, raw, sizeof(raw)), 0);
	pool_open(&p);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_EQ(info.held_root, held);
	EXPECT_STREQ(info.held_by, "?");
	pool_destroy(&p);
}

TEST(held_view_over_unshared_trees_keeps_counts_exact)
{
	struct vela_merge_result mr;
	struct vela_md_info base, info;
	struct mapping_list before = { 0 }, seen = { 0 };
	u64 vol, br, br2, held, i, pending, freed;
	struct vela_md *view;
	struct pool p;

	pool_create(&p);
	ASSERT_EQ(vela_md_info(p.md, &base), 0);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 24, 0, 1, &vol), 0);
	for (i = 0; i < 2000; i++)
		map_new(&p, vol, i);
	commit_and_check(&p);
	ASSERT_EQ(vela_md_walk_mappings(p.md, vol, note_mapping, &before), 0);
	ASSERT_EQ(vela_md_hold(p.md, NULL, &held), 0);
	commit_and_check(&p);

	/* A write maps a new block; an overwrite replaces one. */
	map_new(&p, vol, 100000);
	commit_and_check(&p);
	for (i = 0; i < 2000; i += 7)
		map_new(&p, vol, i);
	commit_and_check(&p);
	/* Discards. */
	for (i = 1; i < 2000; i += 11)
		ASSERT_EQ(vela_md_unmap(p.md, vol, i, &freed), 0);
	commit_and_check(&p);
	/* A branch changed and merged back, three-way then replace. */
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "b", 0, 1, &br), 0);
	for (i = 3; i < 2000; i += 13)
		map_new(&p, br, i);
	commit_and_check(&p);
	ASSERT_EQ(vela_md_merge(p.md, br, VELA_MERGE_THREE_WAY, false, NULL, NULL, &mr), 0);
	commit_and_check(&p);
	map_new(&p, br, 5);
	map_new(&p, vol, 6);
	ASSERT_EQ(vela_md_merge(p.md, br, VELA_MERGE_REPLACE, false, NULL, NULL, &mr), 0);
	commit_and_check(&p);
	/* A branch deleted and reclaimed. */
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "c", 0, 1, &br2), 0);
	map_new(&p, br2, 9);
	ASSERT_EQ(vela_md_delete_branch(p.md, br2), 0);
	ASSERT_EQ(vela_md_delete_branch(p.md, br), 0);
	do {
		ASSERT_EQ(vela_md_reclaim(p.md, 100, &pending), 0);
		commit_and_check(&p);
	} while (pending);

	/* The view still reads the volume as it was when it was held. */
	view = vela_md_open_held(p.bdev);
	ASSERT_NOT_ERR(view);
	ASSERT_EQ(vela_md_walk_mappings(view, vol, note_mapping, &seen), 0);
	EXPECT_EQ(seen.n, before.n);
	EXPECT_EQ(seen.sum, before.sum);
	vela_md_close(view);

	ASSERT_EQ(vela_md_release_hold(p.md), 0);
	commit_and_check(&p);
	ASSERT_EQ(vela_md_delete_branch(p.md, vol), 0);
	do {
		ASSERT_EQ(vela_md_reclaim(p.md, 500, &pending), 0);
		commit_and_check(&p);
	} while (pending);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	EXPECT_EQ(info.data_nr_free, base.data_nr_free);
	EXPECT_EQ(info.metadata_nr_free, base.metadata_nr_free);
	pool_destroy(&p);
}

/*
 * K2 of the review, and vela-sm.h's contract: a block freed in a
 * transaction is never handed out again before the next commit, whether
 * it was committed or allocated in the same transaction.  A pool of 8
 * data blocks makes the allocator wrap at once.
 */
TEST(a_block_freed_in_a_transaction_is_not_reused_in_it)
{
	struct vela_md_format_params fp = {
		.pool_name = "tiny", .data_block_sectors = 128, .data_nr_blocks = 8, .now = 1,
	};
	u64 vol, i, b, fresh, committed, freed;
	struct vela_md_info info;
	struct pool p;
	int r;

	p.bdev = vela_bdev_create_mem((u64)META_BLOCKS * VELA_BLOCK_SIZE);
	ASSERT_NOT_ERR(p.bdev);
	ASSERT_EQ(vela_md_format(p.bdev, &fp), 0);
	pool_open(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 20, 0, 1, &vol), 0);
	for (i = 0; i < 5; i++)
		map_new(&p, vol, i);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_info(p.md, &info), 0);
	ASSERT_GE(info.data_nr_free, 2);

	/* Allocated, mapped and discarded in this transaction. */
	fresh = map_new(&p, vol, 100);
	ASSERT_EQ(vela_md_unmap(p.md, vol, 100, &freed), 0);
	EXPECT_EQ(freed, fresh);
	/* Committed, then discarded in this transaction. */
	committed = lookup(&p, vol, 0, NULL, &r);
	ASSERT_EQ(r, 0);
	ASSERT_EQ(vela_md_unmap(p.md, vol, 0, &freed), 0);
	EXPECT_EQ(freed, committed);

	/* The free blocks left are handed out; the freed ones are not. */
	for (i = 0; i < 8; i++) {
		r = vela_md_alloc_data_block(p.md, &b);
		if (r)
			break;
		EXPECT_NE(b, fresh);
		EXPECT_NE(b, committed);
	}
	EXPECT_EQ(r, -ENOSPC);
	EXPECT_EQ(i, info.data_nr_free - 1);

	/* After the commit both are free for everyone again. */
	ASSERT_EQ(vela_md_abort(p.md), 0);
	ASSERT_EQ(vela_md_unmap(p.md, vol, 0, &freed), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	for (i = 0; i < 8 && !vela_md_alloc_data_block(p.md, &b); i++)
		;
	EXPECT_EQ(i, info.data_nr_free + 1);
	ASSERT_EQ(vela_md_abort(p.md), 0);
	pool_destroy(&p);
}

/*
 * K6 of the review, and vela-meta.h's contract: a mapping update takes
 * the memory it may need before its first change, so an allocation that
 * fails (injected at the next allocation of every other update, which
 * meets growths of the transaction's maps) fails it with -ENOMEM and
 * changes nothing: the transaction goes on.  The trees are shared with a
 * branch and a held view, so updates shadow shared nodes.  A commit that
 * cannot allocate fails with the transaction whole, and a retry commits it.
 */
TEST(enomem_in_a_mapping_update_changes_nothing)
{
	static u64 model[4000];
	struct mapping_list committed = { 0 }, seen = { 0 }, want;
	u64 vol, br, held, i, n, lblock, pblock, freed, refused = 0, before;
	struct vela_md_info info_before, info_after;
	struct pool p;
	int r;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 24, 0, 1, &vol), 0);
	for (i = 0; i < 3000; i++)
		model[i] = map_new(&p, vol, i);
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "b", 0, 1, &br), 0);
	ASSERT_EQ(vela_md_hold(p.md, NULL, &held), 0);
	commit_and_check(&p);
	ASSERT_EQ(vela_md_walk_mappings(p.md, vol, note_mapping, &committed), 0);

	for (i = 0; i < 6000; i++) {
		lblock = (i * 7919) % 4000;
		ASSERT_EQ(vela_md_alloc_data_block(p.md, &pblock), 0);
		/* Every other update meets a failure; the rest let maps grow. */
		vela_fail_kvmalloc(i % 2);
		if (i % 5 == 4)
			r = vela_md_unmap(p.md, vol, lblock, &freed);
		else
			r = vela_md_map(p.md, vol, lblock, pblock);
		vela_fail_kvmalloc(0);
		if (r == -ENOMEM) {
			refused++;
			EXPECT_EQ(lookup(&p, vol, lblock, NULL, &r), model[lblock]);
			if (!model[lblock])
				EXPECT_EQ(r, -ENODATA);
			ASSERT_EQ(vela_md_release_data_block(p.md, pblock), 0);
			continue;
		}
		if (i % 5 == 4) {
			EXPECT_EQ(r, model[lblock] ? 0 : -ENODATA);
			model[lblock] = 0;
			ASSERT_EQ(vela_md_release_data_block(p.md, pblock), 0);
		} else {
			ASSERT_EQ(r, 0);
			model[lblock] = pblock;
		}
	}
	EXPECT_GT(refused, 0);
	unit_diag("%llu of 6000 updates refused for memory", refused);
	/* A refused update that had changed anything would leak or miscount. */
	for (i = 0; i < 4000; i++)
		EXPECT_EQ(lookup(&p, vol, i, NULL, &r), model[i]);
	commit_and_check(&p);
	committed = (struct mapping_list) { 0 };
	ASSERT_EQ(vela_md_walk_mappings(p.md, vol, note_mapping, &committed), 0);
	for (i = 0; i < 500; i++)
		map_new(&p, vol, i);

	/*
	 * A commit that cannot allocate, whichever allocation fails, fails
	 * with nothing written and the transaction whole: updates go on in
	 * it, and the next commit makes all of them durable.
	 */
	for (n = 1; ; n++) {
		model[3000 + n] = map_new(&p, vol, 3000 + n);
		want = (struct mapping_list) { 0 };
		ASSERT_EQ(vela_md_walk_mappings(p.md, vol, note_mapping, &want), 0);
		ASSERT_EQ(vela_md_info(p.md, &info_before), 0);
		before = vela_kvmalloc_failures();
		vela_fail_kvmalloc(n);
		r = vela_md_commit(p.md);
		vela_fail_kvmalloc(0);
		if (vela_kvmalloc_failures() == before) {
			ASSERT_EQ(r, 0);
			break;
		}
		EXPECT_EQ(r, -ENOMEM);
		/*
		 * Counts applied before the failure free nothing yet; the
		 * metadata blocks it shadowed are taken.
		 */
		ASSERT_EQ(vela_md_info(p.md, &info_after), 0);
		EXPECT_EQ(info_after.generation, info_before.generation);
		EXPECT_EQ(info_after.data_nr_free, info_before.data_nr_free);
		EXPECT_LE(info_after.metadata_nr_free, info_before.metadata_nr_free);
		seen = (struct mapping_list) { 0 };
		ASSERT_EQ(vela_md_walk_mappings(p.md, vol, note_mapping, &seen), 0);
		EXPECT_EQ(seen.n, want.n);
		EXPECT_EQ(seen.sum, want.sum);
	}
	unit_diag("a commit failed for want of memory at each of its first %llu allocations",
		  (unsigned long long)n - 1);
	EXPECT_GT(n, 1);
	check_clean(p.bdev);
	pool_cut(&p, VELA_CUT_DROP_ALL);
	seen = (struct mapping_list) { 0 };
	ASSERT_EQ(vela_md_walk_mappings(p.md, vol, note_mapping, &seen), 0);
	EXPECT_EQ(seen.n, want.n);
	EXPECT_EQ(seen.sum, want.sum);
	ASSERT_EQ(vela_md_release_hold(p.md), 0);
	commit_and_check(&p);
	pool_destroy(&p);
}

/* A pool with shared trees, a pending delete and wrong counts, for repair. */
static void damaged_pool(struct pool *p, u64 ids[3])
{
	u64 gone, i, leaked, pending;

	pool_create(p);
	ASSERT_EQ(vela_md_create_volume(p->md, "v", 1 << 24, 0, 1, &ids[0]), 0);
	for (i = 0; i < 1500; i++)
		map_new(p, ids[0], i);
	ASSERT_EQ(vela_md_create_branch(p->md, ids[0], "b", 0, 1, &ids[1]), 0);
	for (i = 0; i < 1500; i += 7)
		map_new(p, ids[1], i);
	ASSERT_EQ(vela_md_create_branch(p->md, ids[1], "c", 0, 1, &ids[2]), 0);
	ASSERT_EQ(vela_md_create_branch(p->md, ids[0], "gone", 0, 1, &gone), 0);
	map_new(p, gone, 3000);
	ASSERT_EQ(vela_md_delete_branch(p->md, gone), 0);
	ASSERT_EQ(vela_md_reclaim(p->md, 1, &pending), 0);
	ASSERT_EQ(vela_md_commit(p->md), 0);
	/* A leaked data block and a metadata block counted twice. */
	ASSERT_EQ(vela_md_alloc_data_block(p->md, &leaked), 0);
	ASSERT_EQ(vela_sm_inc(vela_md_metadata_sm(p->md), 0), 0);
	ASSERT_EQ(vela_md_set_needs_check(p->md, true), 0);
	ASSERT_EQ(vela_md_commit(p->md), 0);
	vela_md_close(p->md);
}

TEST(repair_rebuilds_the_space_maps_onto_a_new_device)
{
	struct vela_check_report rep = { 0 };
	struct block_device *dst;
	struct vela_md *a, *b;
	struct vela_md_info ia, ib;
	u64 ids[3], i;
	struct pool p;

	damaged_pool(&p, ids);
	ASSERT_EQ(vela_check(p.bdev, &rep), 0);
	EXPECT_EQ(rep.nr_problems, 2);

	dst = vela_bdev_create_mem((u64)META_BLOCKS * VELA_BLOCK_SIZE);
	ASSERT_NOT_ERR(dst);
	ASSERT_EQ(vela_repair(p.bdev, dst, &rep), 0);
	EXPECT_EQ(rep.nr_problems, 0);
	EXPECT_EQ(rep.nr_branches, 3);
	check_clean(dst);
	/* The source was not written: still damaged. */
	ASSERT_EQ(vela_check(p.bdev, &rep), 0);
	EXPECT_EQ(rep.nr_problems, 2);

	a = vela_md_open(p.bdev, true);
	ASSERT_NOT_ERR(a);
	b = vela_md_open(dst, false);
	ASSERT_NOT_ERR(b);
	ASSERT_EQ(vela_md_info(a, &ia), 0);
	ASSERT_EQ(vela_md_info(b, &ib), 0);
	EXPECT_EQ(memcmp(ia.uuid, ib.uuid, sizeof(ia.uuid)), 0);
	EXPECT_EQ(ib.change_id, ia.change_id);
	EXPECT_EQ(ib.nr_branches, 3);
	EXPECT_EQ(ib.pending_deletes, ia.pending_deletes);
	EXPECT_EQ(ib.flags & VELA_SB_FLAG_NEEDS_CHECK, 0);
	EXPECT_TRUE(ib.generation > ia.generation);
	/* The leaked data block is free again. */
	EXPECT_EQ(ib.data_nr_free, ia.data_nr_free + 1);
	for (i = 0; i < 3; i++)
		same_mappings(a, b, ids[i]);
	vela_md_close(a);

	/* The repaired pool works: writes, deletes, reclaim, a clean check. */
	p.md = b;
	for (i = 0; i < 300; i++)
		map_new(&p, ids[2], 5000 + i);
	ASSERT_EQ(vela_md_delete_branch(b, ids[2]), 0);
	ASSERT_EQ(vela_md_commit(b), 0);
	vela_md_close(b);
	check_clean(dst);
	vela_bdev_close(dst);
	vela_bdev_close(p.bdev);
}

static void flip_byte(struct block_device *bdev, u64 b, unsigned int offset)
{
	u8 block[VELA_BLOCK_SIZE];

	ASSERT_EQ(vela_bdev_read(bdev, b * VELA_BLOCK_SIZE, block, sizeof(block)), 0);
	block[offset] ^= 0xff;
	ASSERT_EQ(vela_bdev_write(bdev, b * VELA_BLOCK_SIZE, block, sizeof(block)), 0);
}

/* Repair reads no space map: broken ones are what it replaces. */
TEST(repair_survives_broken_space_maps)
{
	struct vela_check_report rep = { 0 };
	struct vela_disk_index_entry ie;
	struct block_device *dst;
	u64 ids[3], key, rc, index_root;
	struct vela_md *md;
	struct vela_sm *sm;
	struct pool p;

	damaged_pool(&p, ids);
	md = vela_md_open(p.bdev, true);
	ASSERT_NOT_ERR(md);
	sm = vela_md_data_sm(md);
	index_root = sm->index_root;
	ASSERT_EQ(vela_btree_lookup_next(&sm->index_info, index_root, 0, &key, &ie), 0);
	rc = le64_to_cpu(ie.location);
	vela_md_close(md);

	/* A reference-count block with a bad checksum: check finds it. */
	flip_byte(p.bdev, rc, 100);
	ASSERT_EQ(vela_check(p.bdev, &rep), 0);
	EXPECT_GT(rep.nr_problems, 0);
	/* A bad index node: the pool does not even open. */
	flip_byte(p.bdev, index_root, 100);
	md = vela_md_open(p.bdev, true);
	EXPECT_TRUE(IS_ERR(md));
	if (!IS_ERR(md))
		vela_md_close(md);

	dst = vela_bdev_create_mem((u64)META_BLOCKS * VELA_BLOCK_SIZE);
	ASSERT_NOT_ERR(dst);
	ASSERT_EQ(vela_repair(p.bdev, dst, &rep), 0);
	check_clean(dst);
	vela_bdev_close(dst);
	vela_bdev_close(p.bdev);
}

TEST(repair_refuses_damaged_trees_and_small_devices)
{
	struct vela_check_report rep = { 0 };
	struct vela_branch_info rec;
	struct block_device *dst;
	u64 ids[3], root;
	struct pool p;

	damaged_pool(&p, ids);
	dst = vela_bdev_create_mem((u64)16 * VELA_BLOCK_SIZE);
	ASSERT_NOT_ERR(dst);
	EXPECT_EQ(vela_repair(p.bdev, dst, &rep), -ENOSPC);
	vela_bdev_close(dst);

	p.md = vela_md_open(p.bdev, true);
	ASSERT_NOT_ERR(p.md);
	ASSERT_EQ(vela_md_get_branch(p.md, ids[0], &rec), 0);
	root = rec.mapping_root;
	vela_md_close(p.md);
	flip_byte(p.bdev, root, 200);
	dst = vela_bdev_create_mem((u64)META_BLOCKS * VELA_BLOCK_SIZE);
	ASSERT_NOT_ERR(dst);
	EXPECT_EQ(vela_repair(p.bdev, dst, &rep), -EUCLEAN);
	EXPECT_GT(rep.nr_problems, 0);
	vela_bdev_close(dst);
	vela_bdev_close(p.bdev);
}

/* Ranges reported by a diff, with the blocks they cover. */
struct ranges {
	u64 n, blocks, last_end;
	u64 begin[64], end[64];
	bool ordered;
};

static int note_range(void *context, u64 begin, u64 end)
{
	struct ranges *rs = context;

	if (rs->n && begin <= rs->last_end)
		rs->ordered = false;	/* overlapping, unsorted or not coalesced */
	if (rs->n < ARRAY_SIZE(rs->begin)) {
		rs->begin[rs->n] = begin;
		rs->end[rs->n] = end;
	}
	rs->n++;
	rs->blocks += end - begin;
	rs->last_end = end;
	return 0;
}

static void ranges_init(struct ranges *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->ordered = true;
}

/*
 * diff between branches and against the branch point, on both sides:
 * the child writes 100-109 and 500, discards 700; the parent writes 105
 * (a conflict) and 900-901 after the branch point; a sibling changes
 * nothing.
 */
TEST(diff_reports_ranges_since_the_branch_point_on_both_sides)
{
	u64 vol, child, sibling, i, freed, nodes = 0;
	struct ranges rs;
	struct pool p;

	pool_create(&p);
	ASSERT_EQ(vela_md_create_volume(p.md, "v", 1 << 24, 0, 1, &vol), 0);
	for (i = 0; i < 2000; i++)
		map_new(&p, vol, i);
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "child", 0, 1, &child), 0);
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "sibling", 0, 1, &sibling), 0);
	for (i = 100; i < 110; i++)
		map_new(&p, child, i);
	map_new(&p, child, 500);
	ASSERT_EQ(vela_md_unmap(p.md, child, 700, &freed), 0);
	map_new(&p, vol, 105);
	map_new(&p, vol, 900);
	map_new(&p, vol, 901);
	ASSERT_EQ(vela_md_commit(p.md), 0);

	ranges_init(&rs);
	ASSERT_EQ(vela_md_diff_since_branch_point(p.md, child, false, note_range, &rs, &nodes), 0);
	ASSERT_EQ(rs.n, 3);
	EXPECT_TRUE(rs.ordered);
	EXPECT_EQ(rs.begin[0], 100);
	EXPECT_EQ(rs.end[0], 110);
	EXPECT_EQ(rs.begin[1], 500);
	EXPECT_EQ(rs.end[1], 501);
	EXPECT_EQ(rs.begin[2], 700);
	EXPECT_EQ(rs.end[2], 701);

	ranges_init(&rs);
	ASSERT_EQ(vela_md_diff_since_branch_point(p.md, child, true, note_range, &rs, NULL), 0);
	ASSERT_EQ(rs.n, 2);
	EXPECT_EQ(rs.begin[0], 105);
	EXPECT_EQ(rs.end[0], 106);
	EXPECT_EQ(rs.begin[1], 900);
	EXPECT_EQ(rs.end[1], 902);

	ranges_init(&rs);
	ASSERT_EQ(vela_md_diff_since_branch_point(p.md, sibling, false, note_range, &rs, NULL),
		  0);
	EXPECT_EQ(rs.n, 0);

	/* child against the parent: both sides' changes, coalesced. */
	ranges_init(&rs);
	ASSERT_EQ(vela_md_diff(p.md, vol, child, note_range, &rs, NULL), 0);
	EXPECT_TRUE(rs.ordered);
	EXPECT_EQ(rs.blocks, 10 + 1 + 1 + 2);
	ranges_init(&rs);
	ASSERT_EQ(vela_md_diff(p.md, child, child, note_range, &rs, NULL), 0);
	EXPECT_EQ(rs.n, 0);
	EXPECT_EQ(vela_md_diff_since_branch_point(p.md, vol, false, note_range, &rs, NULL),
		  -EINVAL);
	EXPECT_EQ(vela_md_diff(p.md, vol, 999, note_range, &rs, NULL), -ENOENT);
	pool_destroy(&p);
}

/* The data block @id maps at @lblock, or 0 when unmapped. */
static u64 mapped_at(struct vela_md *md, u64 id, u64 lblock)
{
	u64 pblock;
	bool shared;
	int r = vela_md_lookup(md, id, lblock, &pblock, &shared);

	if (r == -ENODATA)
		return 0;
	EXPECT_EQ(r, 0);
	return pblock;
}

static u64 nr_differences(struct vela_md *md, u64 a, u64 b)
{
	struct ranges rs;

	ranges_init(&rs);
	EXPECT_EQ(vela_md_diff(md, a, b, note_range, &rs, NULL), 0);
	return rs.blocks;
}

/* A volume of 1000 mapped blocks with a child and a sibling. */
static void merge_setup(struct pool *p, u64 *vol, u64 *child, u64 *sibling)
{
	u64 i;

	pool_create(p);
	ASSERT_EQ(vela_md_create_volume(p->md, "v", 1 << 24, 0, 1, vol), 0);
	for (i = 0; i < 1000; i++)
		map_new(p, *vol, i);
	ASSERT_EQ(vela_md_create_branch(p->md, *vol, "child", 0, 1, child), 0);
	ASSERT_EQ(vela_md_create_branch(p->md, *vol, "sibling", 0, 1, sibling), 0);
	ASSERT_EQ(vela_md_commit(p->md), 0);
}

TEST(merge_three_way_takes_the_childs_changes_and_keeps_the_parents)
{
	u64 vol, child, sibling, freed, c10, c11, p20, s10, i;
	static u64 sibling_map[1000];
	struct vela_merge_result res;
	struct vela_md_info before, after;
	struct ranges rs;
	struct pool p;

	merge_setup(&p, &vol, &child, &sibling);
	s10 = mapped_at(p.md, sibling, 10);
	for (i = 0; i < 1000; i++)
		sibling_map[i] = mapped_at(p.md, sibling, i);
	c10 = map_new(&p, child, 10);
	c11 = map_new(&p, child, 11);
	map_new(&p, child, 2000);		/* beyond what the parent maps */
	ASSERT_EQ(vela_md_unmap(p.md, child, 12, &freed), 0);
	p20 = map_new(&p, vol, 20);		/* the parent's own change */
	ASSERT_EQ(vela_md_commit(p.md), 0);
	ASSERT_EQ(vela_md_info(p.md, &before), 0);

	/* A dry run reports and changes nothing. */
	ASSERT_EQ(vela_md_merge(p.md, child, VELA_MERGE_THREE_WAY, true, NULL, NULL, &res), 0);
	EXPECT_EQ(res.taken, 4);
	EXPECT_EQ(res.conflicts, 0);
	EXPECT_FALSE(res.fast_forward);
	ASSERT_EQ(vela_md_info(p.md, &after), 0);
	EXPECT_EQ(after.change_id, before.change_id);
	EXPECT_EQ(mapped_at(p.md, vol, 10), s10);

	ranges_init(&rs);
	ASSERT_EQ(vela_md_merge(p.md, child, VELA_MERGE_THREE_WAY, false, note_range, &rs, &res),
		  0);
	EXPECT_EQ(rs.n, 0);
	EXPECT_EQ(mapped_at(p.md, vol, 10), c10);
	EXPECT_EQ(mapped_at(p.md, vol, 11), c11);
	EXPECT_EQ(mapped_at(p.md, vol, 12), 0);
	EXPECT_NE(mapped_at(p.md, vol, 2000), 0);
	EXPECT_EQ(mapped_at(p.md, vol, 20), p20);	/* kept */
	for (i = 0; i < 1000; i++)			/* the sibling saw nothing */
		EXPECT_EQ(mapped_at(p.md, sibling, i), sibling_map[i]);
	EXPECT_EQ(nr_differences(p.md, vol, child), 1);	/* block 20 only */
	ASSERT_EQ(vela_md_info(p.md, &after), 0);
	EXPECT_EQ(after.change_id, before.change_id + 1);

	/* The branch point moved: nothing left to take; new work is taken alone. */
	ASSERT_EQ(vela_md_merge(p.md, child, VELA_MERGE_THREE_WAY, true, NULL, NULL, &res), 0);
	EXPECT_EQ(res.taken, 0);
	map_new(&p, child, 30);
	ASSERT_EQ(vela_md_merge(p.md, child, VELA_MERGE_THREE_WAY, false, NULL, NULL, &res), 0);
	EXPECT_EQ(res.taken, 1);
	EXPECT_EQ(mapped_at(p.md, vol, 30), mapped_at(p.md, child, 30));
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_destroy(&p);
}

TEST(merge_conflicts_refuse_three_way_and_child_wins_takes_them)
{
	u64 vol, child, sibling, c5, c6, p6;
	struct vela_merge_result res;
	struct ranges rs;
	struct pool p;

	merge_setup(&p, &vol, &child, &sibling);
	c5 = map_new(&p, child, 5);
	c6 = map_new(&p, child, 6);
	map_new(&p, child, 7);
	p6 = map_new(&p, vol, 6);
	map_new(&p, vol, 7);
	ASSERT_EQ(vela_md_commit(p.md), 0);

	/* A dry run counts the conflicts and succeeds. */
	ASSERT_EQ(vela_md_merge(p.md, child, VELA_MERGE_THREE_WAY, true, NULL, NULL, &res), 0);
	EXPECT_EQ(res.conflicts, 2);
	ranges_init(&rs);
	EXPECT_EQ(vela_md_merge(p.md, child, VELA_MERGE_THREE_WAY, false, note_range, &rs, &res),
		  -ECANCELED);
	EXPECT_EQ(res.conflicts, 2);
	ASSERT_EQ(rs.n, 1);
	EXPECT_EQ(rs.begin[0], 6);
	EXPECT_EQ(rs.end[0], 8);
	/* Refused: nothing changed. */
	EXPECT_EQ(mapped_at(p.md, vol, 6), p6);
	EXPECT_NE(mapped_at(p.md, vol, 5), c5);

	ASSERT_EQ(vela_md_merge(p.md, child, VELA_MERGE_CHILD_WINS, false, NULL, NULL, &res), 0);
	EXPECT_EQ(res.conflicts, 2);
	EXPECT_EQ(mapped_at(p.md, vol, 5), c5);
	EXPECT_EQ(mapped_at(p.md, vol, 6), c6);
	EXPECT_EQ(nr_differences(p.md, vol, child), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_destroy(&p);
}

TEST(merge_replace_rolls_back_and_fast_forward_promotes)
{
	u64 vol, child, sibling, snap, s3;
	struct vela_merge_result res;
	struct pool p;

	merge_setup(&p, &vol, &child, &sibling);
	/* Fast-forward: the parent did not change since the branch point. */
	map_new(&p, child, 3);
	ASSERT_EQ(vela_md_merge(p.md, child, VELA_MERGE_THREE_WAY, false, NULL, NULL, &res), 0);
	EXPECT_TRUE(res.fast_forward);
	EXPECT_EQ(nr_differences(p.md, vol, child), 0);

	/* Rollback: a snapshot of the volume, changes, then replace. */
	ASSERT_EQ(vela_md_create_branch(p.md, vol, "snap", 0, 1, &snap), 0);
	s3 = mapped_at(p.md, sibling, 3);
	map_new(&p, vol, 1);
	map_new(&p, vol, 500);
	ASSERT_EQ(vela_md_merge(p.md, snap, VELA_MERGE_REPLACE, false, NULL, NULL, &res), 0);
	EXPECT_EQ(nr_differences(p.md, vol, snap), 0);
	EXPECT_EQ(mapped_at(p.md, sibling, 3), s3);	/* other children untouched */
	EXPECT_EQ(vela_md_merge(p.md, vol, VELA_MERGE_REPLACE, false, NULL, NULL, &res), -EINVAL);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	/* Deleting everything frees everything: no reference was lost. */
	ASSERT_EQ(vela_md_delete_branch(p.md, snap), 0);
	ASSERT_EQ(vela_md_delete_branch(p.md, child), 0);
	ASSERT_EQ(vela_md_delete_branch(p.md, sibling), 0);
	ASSERT_EQ(vela_md_delete_branch(p.md, vol), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_destroy(&p);
}

/* A merge is one change: a power cut before its commit leaves no trace. */
TEST(merge_is_atomic_across_a_power_cut)
{
	u64 vol, child, sibling, before10, c10;
	struct vela_merge_result res;
	struct pool p;

	merge_setup(&p, &vol, &child, &sibling);
	c10 = map_new(&p, child, 10);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	before10 = mapped_at(p.md, vol, 10);
	ASSERT_EQ(vela_md_merge(p.md, child, VELA_MERGE_THREE_WAY, false, NULL, NULL, &res), 0);
	pool_cut(&p, 0);
	EXPECT_EQ(mapped_at(p.md, vol, 10), before10);
	ASSERT_EQ(vela_md_merge(p.md, child, VELA_MERGE_THREE_WAY, false, NULL, NULL, &res), 0);
	ASSERT_EQ(vela_md_commit(p.md), 0);
	pool_cut(&p, 0);
	EXPECT_EQ(mapped_at(p.md, vol, 10), c10);
	pool_destroy(&p);
}
