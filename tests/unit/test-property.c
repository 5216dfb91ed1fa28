// SPDX-License-Identifier: GPL-2.0-only
/*
 * Model-based property test of the exception store.
 *
 * Random sequences of map, unmap, lookup, diff, merge (every strategy),
 * create-branch, delete-branch,
 * reclaim, commit, abort, power cut, and commit interrupted by a failing
 * device, run against the real metadata code on a memory device with a
 * volatile write cache, and against an in-memory model.  A power cut drops
 * unflushed writes (all, or a random subset, optionally tearing one at
 * 512-byte granularity); the store then reopens and must equal the model as
 * of the last commit, and the checker must find it clean.  An interrupted
 * commit may land or not: the superblock's generation says which, and the
 * store must equal the matching model.
 *
 * Shapes: a chain of branches 60 deep and a fan of 1000 branches of one
 * volume are built first, then the random phase runs.  Operations per seed:
 * $VELA_PROP_OPS (default 50000) over two fixed seeds and the run's seed,
 * which is printed so a failure can be replayed with --seed.
 */
#include "unit.h"
#include "vela-check.h"
#include "bufio-user.h"

#define META_BLOCKS	16384
#define DATA_BLOCKS	(1u << 17)
#define LBLOCKS		64
#define MAX_SLOTS	1200
#define CHAIN_DEPTH	60
#define FAN_WIDTH	1000

struct mbranch {
	bool live;
	u64 id;
	int parent;		/* slot, or -1 */
	u32 map[LBLOCKS];	/* data block, 0 when unmapped */
	u32 base[LBLOCKS];	/* the map at the branch point (the last merge) */
};

struct model {
	struct mbranch b[MAX_SLOTS];
	u64 change_id;
};

struct prop {
	struct block_device *bdev;
	struct vela_md *md;
	struct model cur, committed;
	u64 rng;
	u64 ops, cuts, torn, commits, interrupted, reopen_checks;
	u64 merges, refused_merges;
};

static u64 rnd(struct prop *p)
{
	p->rng ^= p->rng >> 12;
	p->rng ^= p->rng << 25;
	p->rng ^= p->rng >> 27;
	return p->rng * 0x2545f4914f6cdd1dULL;
}

static u64 ops_per_seed(void)
{
	const char *s = getenv("VELA_PROP_OPS");

	return s ? strtoull(s, NULL, 10) : 50000;
}

static void check_clean(struct prop *p)
{
	struct vela_check_report rep = { 0 };

	ASSERT_EQ(vela_check(p->bdev, &rep), 0);
	ASSERT_EQ(rep.nr_problems, 0);
	p->reopen_checks++;
}

static void reopen(struct prop *p)
{
	p->md = vela_md_open(p->bdev, false);
	ASSERT_NOT_ERR(p->md);
}

/* Every live branch of @m, or a sample of them, equals the store. */
static void verify(struct prop *p, struct model *m, bool all)
{
	struct vela_disk_branch rec;
	u64 pblock;
	bool shared;
	int s, l, r, checked = 0;

	for (s = 0; s < MAX_SLOTS; s++) {
		if (!m->b[s].live || (!all && rnd(p) % 50))
			continue;
		ASSERT_EQ(vela_md_get_branch(p->md, m->b[s].id, &rec), 0);
		for (l = 0; l < LBLOCKS; l++) {
			r = vela_md_lookup(p->md, m->b[s].id, l, &pblock, &shared);
			if (!m->b[s].map[l]) {
				ASSERT_EQ(r, -ENODATA);
			} else {
				ASSERT_EQ(r, 0);
				ASSERT_EQ(pblock, m->b[s].map[l]);
			}
		}
		checked++;
	}
	(void)checked;
}

/* The store's O(1) branch count equals the model's. */
static void verify_counts(struct prop *p, struct model *m)
{
	struct vela_md_info info;
	u64 live = 0;
	int s;

	for (s = 0; s < MAX_SLOTS; s++)
		live += m->b[s].live;
	ASSERT_EQ(vela_md_info(p->md, &info), 0);
	ASSERT_EQ(info.nr_branches, live);
	ASSERT_EQ(info.change_id, m->change_id);
}

static int free_slot(struct model *m)
{
	int s;

	for (s = 0; s < MAX_SLOTS; s++)
		if (!m->b[s].live)
			return s;
	return -1;
}

static int random_live(struct prop *p, struct model *m)
{
	int tries, s;

	for (tries = 0; tries < 64; tries++) {
		s = rnd(p) % MAX_SLOTS;
		if (m->b[s].live)
			return s;
	}
	for (s = 0; s < MAX_SLOTS; s++)
		if (m->b[s].live)
			return s;
	return -1;
}

static bool has_children(struct model *m, int slot)
{
	int s;

	for (s = 0; s < MAX_SLOTS; s++)
		if (m->b[s].live && m->b[s].parent == slot)
			return true;
	return false;
}

static int create(struct prop *p, int parent)
{
	int s = free_slot(&p->cur);
	char name[32];
	u64 id;

	if (s < 0)
		return -1;
	snprintf(name, sizeof(name), "b%llu", (unsigned long long)p->ops);
	if (parent < 0) {
		ASSERT_EQ(vela_md_create_volume(p->md, name, LBLOCKS * 128, 0, p->ops, &id), 0);
		memset(p->cur.b[s].map, 0, sizeof(p->cur.b[s].map));
		memset(p->cur.b[s].base, 0, sizeof(p->cur.b[s].base));
	} else {
		ASSERT_EQ(vela_md_create_branch(p->md, p->cur.b[parent].id, name, 0, p->ops,
						&id), 0);
		memcpy(p->cur.b[s].map, p->cur.b[parent].map, sizeof(p->cur.b[s].map));
		memcpy(p->cur.b[s].base, p->cur.b[parent].map, sizeof(p->cur.b[s].base));
	}
	p->cur.b[s].live = true;
	p->cur.b[s].id = id;
	p->cur.b[s].parent = parent;
	p->cur.change_id++;
	p->ops++;
	return s;
}

static void do_map(struct prop *p, int s)
{
	u64 pblock, l = rnd(p) % LBLOCKS;
	int r = vela_md_alloc_data_block(p->md, &pblock);

	p->ops++;
	if (r == -ENOSPC)
		return;
	ASSERT_EQ(r, 0);
	ASSERT_NE(pblock, 0);
	ASSERT_EQ(vela_md_map(p->md, p->cur.b[s].id, l, pblock), 0);
	p->cur.b[s].map[l] = pblock;
}

static void do_unmap(struct prop *p, int s)
{
	u64 freed, l = rnd(p) % LBLOCKS;
	u32 old = p->cur.b[s].map[l];
	int r = vela_md_unmap(p->md, p->cur.b[s].id, l, &freed);
	int i, j;

	p->ops++;
	ASSERT_EQ(r, old ? 0 : -ENODATA);
	p->cur.b[s].map[l] = 0;
	if (freed == VELA_NO_BLOCK)
		return;
	/* Reported free: it was this mapping's, and no live branch maps it. */
	ASSERT_EQ(freed, old);
	for (i = 0; i < MAX_SLOTS; i++)
		for (j = 0; p->cur.b[i].live && j < LBLOCKS; j++)
			ASSERT_NE(p->cur.b[i].map[j], old);
}

static void do_lookup(struct prop *p, int s)
{
	u64 pblock, l = rnd(p) % LBLOCKS;
	bool shared;
	int r = vela_md_lookup(p->md, p->cur.b[s].id, l, &pblock, &shared);

	p->ops++;
	if (!p->cur.b[s].map[l]) {
		ASSERT_EQ(r, -ENODATA);
	} else {
		ASSERT_EQ(r, 0);
		ASSERT_EQ(pblock, p->cur.b[s].map[l]);
	}
}

/* A diff's ranges, checked against the model's maps as they come. */
struct diff_against_model {
	const u32 *a, *b;
	u64 next;		/* every block before it was checked */
};

static int diff_range(void *context, u64 begin, u64 end)
{
	struct diff_against_model *d = context;
	u64 l;

	ASSERT_TRUE(begin >= d->next && begin < end && end <= LBLOCKS);
	for (l = d->next; l < begin; l++)
		ASSERT_EQ(d->a[l], d->b[l]);
	for (l = begin; l < end; l++)
		ASSERT_NE(d->a[l], d->b[l]);
	d->next = end;
	return 0;
}

/* Diff two random live branches: exactly the blocks the model says differ. */
static void do_diff(struct prop *p, int s)
{
	struct diff_against_model d = { .a = p->cur.b[s].map };
	int t = random_live(p, &p->cur);
	u64 l;

	p->ops++;
	d.b = p->cur.b[t].map;
	ASSERT_EQ(vela_md_diff(p->md, p->cur.b[s].id, p->cur.b[t].id, diff_range, &d, NULL), 0);
	for (l = d.next; l < LBLOCKS; l++)
		ASSERT_EQ(d.a[l], d.b[l]);
}

/* Merge a branch into its parent with a random strategy, as the model says. */
static void do_merge(struct prop *p, int s)
{
	struct mbranch *child = &p->cur.b[s], *parent;
	enum vela_merge_strategy strategy = rnd(p) % 3;
	u64 taken = 0, conflicts = 0;
	struct vela_merge_result res;
	bool ff = true, cc, pc;
	int l, r;

	if (child->parent < 0)
		return;
	parent = &p->cur.b[child->parent];
	p->ops++;
	for (l = 0; l < LBLOCKS; l++) {
		cc = child->map[l] != child->base[l];
		pc = parent->map[l] != child->base[l];
		taken += cc;
		conflicts += cc && pc;
		ff &= !pc;
	}
	r = vela_md_merge(p->md, child->id, strategy, false, NULL, NULL, &res);
	EXPECT_EQ(res.conflicts, conflicts);
	if (strategy == VELA_MERGE_THREE_WAY && conflicts) {
		ASSERT_EQ(r, -ECANCELED);
		p->refused_merges++;
		return;
	}
	ASSERT_EQ(r, 0);
	p->merges++;
	EXPECT_EQ(res.taken, taken);
	EXPECT_EQ(res.fast_forward, ff);
	for (l = 0; l < LBLOCKS; l++)
		if (strategy == VELA_MERGE_REPLACE || ff || child->map[l] != child->base[l])
			parent->map[l] = child->map[l];
	memcpy(child->base, child->map, sizeof(child->base));
	p->cur.change_id++;
}

static void do_delete(struct prop *p, int s)
{
	int r = vela_md_delete_branch(p->md, p->cur.b[s].id);

	p->ops++;
	if (has_children(&p->cur, s)) {
		ASSERT_EQ(r, -ENOTEMPTY);
		return;
	}
	ASSERT_EQ(r, 0);
	p->cur.b[s].live = false;
	p->cur.change_id++;
}

static void do_commit(struct prop *p)
{
	ASSERT_EQ(vela_md_commit(p->md), 0);
	p->committed = p->cur;
	p->commits++;
	p->ops++;
}

static void do_abort(struct prop *p)
{
	ASSERT_EQ(vela_md_abort(p->md), 0);
	p->cur = p->committed;
	p->ops++;
	verify_counts(p, &p->cur);
}

static unsigned int cut_flags(struct prop *p)
{
	static const unsigned int flags[] = {
		VELA_CUT_DROP_ALL, VELA_CUT_RANDOM_SUBSET,
		VELA_CUT_RANDOM_SUBSET | VELA_CUT_TEAR, VELA_CUT_DROP_ALL | VELA_CUT_TEAR,
	};

	return flags[rnd(p) % ARRAY_SIZE(flags)];
}

static void do_power_cut(struct prop *p)
{
	struct vela_bdev_stats st;

	vela_md_close(p->md);
	vela_bdev_power_cut(p->bdev, rnd(p), cut_flags(p));
	vela_bdev_get_stats(p->bdev, &st);
	p->torn += st.cut_torn;
	p->cuts++;
	p->ops++;
	check_clean(p);
	reopen(p);
	p->cur = p->committed;
	verify(p, &p->committed, false);
	verify_counts(p, &p->committed);
}

/*
 * The device starts failing writes partway through a commit, then loses
 * power.  Either the new superblock made it or it did not; anything else is
 * a bug.
 */
static void do_interrupted_commit(struct prop *p)
{
	struct vela_md_info info;
	u64 gen_before;
	int r;

	ASSERT_EQ(vela_md_info(p->md, &info), 0);
	gen_before = info.generation;
	vela_bdev_inject_error(p->bdev, VELA_IO_WRITE, rnd(p) % 40, -EIO);
	r = vela_md_commit(p->md);
	vela_bdev_inject_error(p->bdev, VELA_IO_WRITE, 0, 0);
	if (!r)
		p->committed = p->cur;
	vela_md_close(p->md);
	vela_bdev_power_cut(p->bdev, rnd(p), cut_flags(p));
	p->cuts++;
	p->interrupted++;
	p->ops++;
	check_clean(p);
	reopen(p);
	ASSERT_EQ(vela_md_info(p->md, &info), 0);
	if (info.generation == gen_before + 1) {
		p->committed = p->cur;
	} else {
		ASSERT_EQ(info.generation, gen_before);
		p->cur = p->committed;
	}
	ASSERT_EQ(info.change_id, p->committed.change_id);
	verify(p, &p->committed, false);
}

static void run_seed(u64 seed, u64 nr_ops)
{
	struct vela_md_format_params fp = {
		.pool_name = "prop", .data_block_sectors = 8, .data_nr_blocks = DATA_BLOCKS,
	};
	static struct prop p;
	u64 pending, target;
	int s, i, parent, max_depth, fan;

	memset(&p, 0, sizeof(p));
	p.rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	p.bdev = vela_bdev_create_mem((u64)META_BLOCKS * VELA_BLOCK_SIZE);
	ASSERT_NOT_ERR(p.bdev);
	ASSERT_EQ(vela_md_format(p.bdev, &fp), 0);
	reopen(&p);

	/* A chain 60 deep, each link with a change of its own. */
	parent = create(&p, -1);
	for (i = 0; i < CHAIN_DEPTH; i++) {
		do_map(&p, parent);
		parent = create(&p, parent);
	}
	max_depth = CHAIN_DEPTH;
	do_commit(&p);
	/* A fan of 1000 branches of one volume. */
	parent = create(&p, -1);
	do_map(&p, parent);
	for (i = 0, fan = 0; i < FAN_WIDTH; i++)
		fan += create(&p, parent) >= 0;
	ASSERT_EQ(fan, FAN_WIDTH);
	do_commit(&p);
	do_power_cut(&p);
	verify(&p, &p.committed, true);

	target = p.ops + nr_ops;
	while (p.ops < target) {
		u64 dice = rnd(&p) % 1000;

		s = random_live(&p, &p.cur);
		if (s < 0) {
			create(&p, -1);
			continue;
		}
		if (dice < 400)
			do_map(&p, s);
		else if (dice < 500)
			do_unmap(&p, s);
		else if (dice < 600)
			do_lookup(&p, s);
		else if (dice < 620)
			do_merge(&p, s);
		else if (dice < 650)
			do_diff(&p, s);
		else if (dice < 750)
			create(&p, rnd(&p) % 8 ? s : -1);
		else if (dice < 830)
			do_delete(&p, s);
		else if (dice < 880) {
			ASSERT_EQ(vela_md_reclaim(p.md, 1 + rnd(&p) % 200, &pending), 0);
			p.ops++;
		} else if (dice < 960)
			do_commit(&p);
		else if (dice < 993)
			do_abort(&p);
		else if (dice < 997)
			do_power_cut(&p);
		else
			do_interrupted_commit(&p);
	}
	do_commit(&p);
	verify(&p, &p.committed, true);
	vela_md_close(p.md);
	check_clean(&p);
	unit_diag("seed %llu: %llu operations, %llu commits, %llu power cuts (%llu torn writes, %llu interrupted commits), %llu clean checks; chain depth %d, fan of %d branches; %llu merges, %llu refused for conflicts",
		  (unsigned long long)seed, (unsigned long long)p.ops,
		  (unsigned long long)p.commits, (unsigned long long)p.cuts,
		  (unsigned long long)p.torn, (unsigned long long)p.interrupted,
		  (unsigned long long)p.reopen_checks, max_depth, fan,
		  (unsigned long long)p.merges, (unsigned long long)p.refused_merges);
	vela_bdev_close(p.bdev);
}

TEST(property_fixed_seed_1)
{
	run_seed(1, ops_per_seed());
}

TEST(property_fixed_seed_2)
{
	run_seed(2, ops_per_seed());
}

TEST(property_random_seed)
{
	unit_diag("random seed %llu (replay with --seed %llu)",
		  (unsigned long long)unit_seed(), (unsigned long long)unit_seed());
	run_seed(unit_seed(), ops_per_seed());
}
