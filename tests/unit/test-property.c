// SPDX-License-Identifier: GPL-2.0-only
/*
 * Model-based property test of the exception store.
 *
 * Random sequences of the metadata operations the target and velactl use
 * run against the real metadata code on a memory device with a volatile
 * write cache, and against an in-memory model:
 * - mappings: alloc_data_block, map (new and overwrite), unmap,
 *   release_data_block, lookup, lookup_try, walk_mappings, diff,
 *   diff_since_branch_point (both sides), branch_usage, and the committed
 *   usage walk (usage_begin, then any operations and commits, then
 *   usage_walk and usage_end);
 * - branches: create_volume, create_origin_volume, create_branch (with
 *   flags, and set_new_branch_limit), delete_branch, reclaim, merge (every
 *   strategy, and dry runs), rename_branch, set_branch_flags,
 *   set_branch_limit, resize_branch (growth; a shrink is -EINVAL),
 *   find_branch, get_branch, next_branch, walk_branches, valid_name;
 * - the pool: hold, release_hold, open_held, resize_data (growth; a shrink
 *   is -EINVAL), resize_metadata, set_needs_check, info, commit, abort;
 * - power cuts (all unflushed writes dropped, or a random subset, optionally
 *   tearing one at 512-byte granularity) and commits interrupted by a
 *   failing device.  The store then reopens and must equal the model as of
 *   the last commit; an interrupted commit may land or not, the
 *   superblock's generation says which.
 *
 * Contracts asserted (vela-meta.h, vela-sm.h, vela-tm.h):
 * - every branch's mappings, record (parent, depth, name, flags, size,
 *   limit, ctime, origin, mapped-block count) and name equal the model;
 *   the branch table lists exactly the model's branches, in id order;
 * - change_id moves only with admin changes (create, delete, rename, flags,
 *   resize, limit, merge; not set_new_branch_limit, hold or release); the
 *   generation moves with every commit, and only with a commit;
 * - abort and a power cut return to the last commit; an update refused
 *   with an error is followed by an abort, as the contract asks;
 * - vela_md_unmap's *freed names the block exactly when its last reference
 *   went (exact when no deleted tree is pending), and a reported block is
 *   mapped nowhere;
 * - a data block freed in a transaction (by unmap, an overwrite, a merge,
 *   a release, or allocated and dropped) is never handed out again in it,
 *   nor is one referenced at the last commit or now: checked on every
 *   allocation, together with "data_nr_free is what alloc can still hand
 *   out": -ENOSPC exactly when it is 0, and each allocation takes one;
 * - the held view: its branch table, records and mappings stay those of
 *   the moment of the hold however the pool moves on (checked with
 *   open_held after commits and mid-transaction, when the hold is
 *   committed; the hold belongs to the open transaction like any change),
 *   -EBUSY for a second hold, -ENOENT for a release or open_held without
 *   one;
 * - branch_usage and lookup's shared flag: exclusive + shared is the
 *   mapped count, and exclusive is exactly the blocks only this branch
 *   maps when nothing is held and no deleted tree is pending;
 * - the committed usage walk (vela-sm.h's pin): begun right after a
 *   commit or in the middle of a later transaction, and walked after up to
 *   hundreds of further operations and commits (and after a failed
 *   commit), it reports exactly what branch_usage reported at that commit:
 *   no block of the pinned commit was reused meanwhile.  While pinned, a
 *   second pin is -EBUSY, and info's metadata blocks in use are exactly
 *   what the checker counts plus the blocks used at the pinned commit and
 *   free now; a second call at the same generation is served from the
 *   cache with the same figures;
 * - grow: data_nr_blocks, data_nr_free and the device size move as asked;
 *   resize_metadata to the device's size changes nothing.  The memory
 *   device cannot grow (bufio-user.h has no resize), so metadata growth
 *   itself is not exercised here; a file device could grow but cannot lose
 *   power;
 * - the checker finds the device clean (every reference count exact) after
 *   every reopen (power cut, interrupted commit) and after every
 *   CHECK_EVERY-th commit, and its walk agrees with info's free counts of
 *   both space maps; when no deleted tree is pending, the data blocks in
 *   use are exactly data block 0 and the blocks the model's branches and
 *   held view map.  Checking while the store is open is valid: after a
 *   commit every dirty buffer is written and the device holds exactly the
 *   committed state, which the checker opens read-only from the device.  A
 *   check after every commit would add some 50 s to the sanitizer build's
 *   run, so CHECK_EVERY is 64: with the power cuts, about one commit in
 *   ten is checked.  At the end, everything is released, deleted and
 *   reclaimed, and only data block 0 stays in use.
 *
 * The data device of the first fixed seed and of the run's seed starts
 * tight (DATA_TIGHT blocks) and grows little (when an allocation finds it
 * full, and at random), so the allocator often works on a full pool and
 * wraps within a transaction.  The second fixed seed's starts loose, just
 * below the end of the first reference-count block's range, and grows past
 * it.  A view is held for about half of the run.
 *
 * A failure prints the seed's last operations (an atexit() handler: the
 * harness ends a test process with exit()).
 *
 * Shapes: a chain of branches 60 deep and a fan of 1000 branches of one
 * volume are built first, then the random phase runs.  Operations per seed:
 * $VELA_PROP_OPS (default 50000) over two fixed seeds and the run's seed,
 * which is printed so a failure can be replayed with --seed.
 */
#include "unit.h"
#include "vela-check.h"
#include "vela-meta-internal.h"
#include "bufio-user.h"

#define META_BLOCKS	16384
/* A tight pool, which the allocator fills and wraps around. */
#define DATA_TIGHT	1024
/* A loose one, just below the end of the first reference-count block's range. */
#define DATA_LOOSE	(VELA_RC_ENTRIES_PER_BLOCK - 300)
#define DATA_MAX	(1u << 17)
#define LBLOCKS		64
#define MAX_SLOTS	1200
#define CHAIN_DEPTH	60
#define FAN_WIDTH	1000
#define NAME_LEN	24
#define CHECK_EVERY	64

struct mbranch {
	bool live;
	u64 id;
	int parent;		/* slot, or -1 */
	u32 flags;
	u64 size, limit, ctime;
	u64 origin_size;	/* 0: no origin */
	u32 origin_csum;
	char origin_id[VELA_ORIGIN_ID_LEN];
	char name[NAME_LEN];
	u32 map[LBLOCKS];	/* data block, 0 when unmapped */
	u32 base[LBLOCKS];	/* the map at the branch point (the last merge) */
};

struct model {
	struct mbranch b[MAX_SLOTS];
	u64 change_id;
	u64 data_nr_blocks;
	bool needs_check;
	int held;		/* the held view's snapshot, or -1 */
};

/* The branch table as of a hold. */
struct snapshot {
	u64 root;
	char holder[VELA_HOLDER_LEN];	/* its tag, kept with it across power cuts */
	struct mbranch b[MAX_SLOTS];
};

struct prop {
	struct block_device *bdev;
	struct vela_md *md;
	struct model cur, committed;
	struct snapshot snap[2];	/* cur's and the last commit's views */
	/*
	 * References to each data block in the model's trees (every live
	 * branch's map and base, and the held view's), now and at the last
	 * commit; and the transaction in which a block was last allocated and
	 * last lost its last model reference.
	 */
	u32 mref[DATA_MAX], mref_committed[DATA_MAX];
	u64 nr_referenced, nr_referenced_committed;
	u32 alloc_txn[DATA_MAX], freed_txn[DATA_MAX];
	u32 txn;
	u64 freed_in_txn;
	u64 pool_max;		/* the largest data_nr_blocks so far */
	u64 rng;
	u64 ops, cuts, torn, commits, interrupted, checks;
	u64 merges, refused_merges, dry_runs;
	u64 holds, releases, view_checks, held_ops;
	u64 allocs, enospc, full_with_freed, renames, grows, refused, would_block;
	u64 exact_sharing;
	/* A committed usage walk begun and not yet walked (see do_usage_begin()). */
	bool usage_pending, usage_armed;
	struct vela_md_usage_walk usage_walk;
	u64 usage_want_exclusive, usage_want_mapped, usage_commits_at_begin;
	u64 usage_armed_id, usage_armed_generation;
	u64 usage_walks, usage_commits_pinned, usage_mid_transaction, usage_failed_commits;
	u64 usage_unpinnable;
};

static u64 rnd(struct prop *p)
{
	p->rng ^= p->rng >> 12;
	p->rng ^= p->rng << 25;
	p->rng ^= p->rng >> 27;
	return p->rng * 0x2545f4914f6cdd1dULL;
}

static bool chance(struct prop *p, u64 one_in)
{
	return !(rnd(p) % one_in);
}

/*
 * The last operations, printed when a seed's run ends early (a failed
 * assertion ends the test process through exit(), which runs atexit()).
 */
#define TRACE_LEN	32

struct trace_entry {
	u64 op;
	const char *what;
	u64 id, arg;
};

static struct trace_entry trace[TRACE_LEN];
static u64 trace_n, trace_seed, trace_last_hold;
static bool seed_running, trace_registered;
static bool trace_held;	/* at the last commit */

static void note(struct prop *p, const char *what, u64 id, u64 arg)
{
	struct trace_entry *t = &trace[trace_n++ % TRACE_LEN];

	t->op = p->ops;
	t->what = what;
	t->id = id;
	t->arg = arg;
	trace_held = p->committed.held >= 0;
}

static void print_trace(void)
{
	u64 i;

	if (!seed_running)
		return;
	unit_diag("seed %llu ended early; its last operations (number, what, branch id, argument):",
		  (unsigned long long)trace_seed);
	for (i = trace_n > TRACE_LEN ? trace_n - TRACE_LEN : 0; i < trace_n; i++)
		unit_diag("  %llu %s %lld %lld", (unsigned long long)trace[i % TRACE_LEN].op,
			  trace[i % TRACE_LEN].what, (long long)trace[i % TRACE_LEN].id,
			  (long long)trace[i % TRACE_LEN].arg);
	unit_diag("a view held at the last commit: %s; the last hold: operation %llu",
		  trace_held ? "yes" : "no", (unsigned long long)trace_last_hold);
}

static u64 ops_per_seed(void)
{
	const char *s = getenv("VELA_PROP_OPS");

	return s ? strtoull(s, NULL, 10) : 50000;
}

static void reopen(struct prop *p)
{
	p->md = vela_md_open(p->bdev, false);
	ASSERT_NOT_ERR(p->md);
}

static void ref_add(struct prop *p, u32 b, int delta)
{
	if (!b)
		return;
	ASSERT_LT(b, DATA_MAX);
	if (delta > 0) {
		if (!p->mref[b]++)
			p->nr_referenced++;
		return;
	}
	ASSERT_GT(p->mref[b], 0);
	if (!--p->mref[b]) {
		p->nr_referenced--;
		p->freed_txn[b] = p->txn;
		p->freed_in_txn++;
	}
}

static void ref_branch(struct prop *p, const struct mbranch *mb, int delta)
{
	int l;

	for (l = 0; l < LBLOCKS; l++) {
		ref_add(p, mb->map[l], delta);
		ref_add(p, mb->base[l], delta);
	}
}

/* The open transaction ended: the model's cur became durable, or was dropped. */
static void model_committed(struct prop *p)
{
	p->committed = p->cur;
	memcpy(p->mref_committed, p->mref, p->pool_max * sizeof(p->mref[0]));
	p->nr_referenced_committed = p->nr_referenced;
	p->txn++;
	p->freed_in_txn = 0;
}

static void model_rolled_back(struct prop *p)
{
	p->cur = p->committed;
	memcpy(p->mref, p->mref_committed, p->pool_max * sizeof(p->mref[0]));
	p->nr_referenced = p->nr_referenced_committed;
	p->txn++;
	p->freed_in_txn = 0;
}

static u64 live_count(const struct mbranch *b)
{
	u64 n = 0;
	int s;

	for (s = 0; s < MAX_SLOTS; s++)
		n += b[s].live;
	return n;
}

/* The record of slot @s of @all (the model or a snapshot) as @md has it. */
static void verify_record(struct vela_md *md, const struct mbranch *all, int s)
{
	const struct mbranch *mb = &all[s];
	struct vela_branch_info rec;
	u64 mapped = 0;
	u32 depth = 0;
	int a, l;

	ASSERT_EQ(vela_md_get_branch(md, mb->id, &rec), 0);
	ASSERT_EQ(rec.parent_id, mb->parent < 0 ? VELA_NO_PARENT : all[mb->parent].id);
	for (a = mb->parent; a >= 0; a = all[a].parent)
		depth++;
	ASSERT_EQ(rec.depth, depth);
	ASSERT_STREQ(rec.name, mb->name);
	ASSERT_EQ(rec.flags, mb->flags);
	ASSERT_EQ(rec.size_sectors, mb->size);
	ASSERT_EQ(rec.alloc_limit_blocks, mb->limit);
	ASSERT_EQ(rec.ctime, mb->ctime);
	ASSERT_EQ(rec.origin_size_sectors, mb->origin_size);
	ASSERT_EQ(rec.origin_sample_csum, mb->origin_csum);
	ASSERT_STREQ(rec.origin_id, mb->origin_id);
	ASSERT_EQ(rec.origin_sample_count, mb->origin_size ? VELA_ORIGIN_SAMPLES : 0);
	for (l = 0; l < LBLOCKS; l++)
		mapped += !!mb->map[l];
	ASSERT_EQ(rec.mapped_blocks, mapped);
}

/* A walk of a branch's mappings, checked against the model's map as it goes. */
struct walk_against_model {
	const u32 *map;
	u64 n;
	s64 last;
};

static int walk_mapping(void *context, u64 lblock, u64 pblock)
{
	struct walk_against_model *w = context;

	ASSERT_TRUE((s64)lblock > w->last && lblock < LBLOCKS);
	ASSERT_EQ(pblock, w->map[lblock]);
	w->last = lblock;
	w->n++;
	return 0;
}

static void verify_walk(struct vela_md *md, const struct mbranch *mb)
{
	struct walk_against_model w = { .map = mb->map, .last = -1 };
	u64 mapped = 0;
	int l;

	ASSERT_EQ(vela_md_walk_mappings(md, mb->id, walk_mapping, &w), 0);
	for (l = 0; l < LBLOCKS; l++)
		mapped += !!mb->map[l];
	ASSERT_EQ(w.n, mapped);
}

struct id_list {
	u64 id[MAX_SLOTS];
	u64 n;
};

static int list_branch(void *context, u64 id, const struct vela_branch_info *info)
{
	struct id_list *ids = context;

	ASSERT_LT(ids->n, MAX_SLOTS);
	ASSERT_TRUE(!ids->n || id > ids->id[ids->n - 1]);
	ids->id[ids->n++] = id;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* walk_branches and next_branch list exactly the live branches of @all. */
static void verify_listing(struct vela_md *md, const struct mbranch *all)
{
	static struct id_list want, got;
	struct vela_branch_info rec;
	u64 from = 0, id, i = 0;
	int s, r;

	want.n = 0;
	got.n = 0;
	for (s = 0; s < MAX_SLOTS; s++)
		if (all[s].live)
			want.id[want.n++] = all[s].id;
	qsort(want.id, want.n, sizeof(want.id[0]), cmp_u64);
	ASSERT_EQ(vela_md_walk_branches(md, list_branch, &got), 0);
	ASSERT_EQ(got.n, want.n);
	ASSERT_MEMEQ(got.id, want.id, want.n * sizeof(want.id[0]));
	while (!(r = vela_md_next_branch(md, from, &id, &rec))) {
		ASSERT_LT(i, want.n);
		ASSERT_EQ(id, want.id[i]);
		i++;
		from = id + 1;
	}
	ASSERT_EQ(r, -ENODATA);
	ASSERT_EQ(i, want.n);
}

/* Every live branch of @m, or a sample of them, equals the store. */
static void verify(struct prop *p, struct model *m, bool all)
{
	u64 pblock, id;
	bool shared;
	int s, l, r;

	for (s = 0; s < MAX_SLOTS; s++) {
		if (!m->b[s].live || (!all && rnd(p) % 50))
			continue;
		verify_record(p->md, m->b, s);
		ASSERT_EQ(vela_md_find_branch(p->md, m->b[s].name, &id), 0);
		ASSERT_EQ(id, m->b[s].id);
		for (l = 0; l < LBLOCKS; l++) {
			r = vela_md_lookup(p->md, m->b[s].id, l, &pblock, &shared);
			if (!m->b[s].map[l]) {
				ASSERT_EQ(r, -ENODATA);
			} else {
				ASSERT_EQ(r, 0);
				ASSERT_EQ(pblock, m->b[s].map[l]);
			}
		}
		verify_walk(p->md, &m->b[s]);
	}
	if (all || chance(p, 4))
		verify_listing(p->md, m->b);
}

/* The store's O(1) counters equal the model's. */
static void verify_counts(struct prop *p, struct model *m)
{
	struct vela_md_info info;

	ASSERT_EQ(vela_md_info(p->md, &info), 0);
	ASSERT_EQ(info.nr_branches, live_count(m->b));
	ASSERT_EQ(info.change_id, m->change_id);
	ASSERT_EQ(info.data_nr_blocks, m->data_nr_blocks);
	ASSERT_EQ(info.data_dev_size_sectors, m->data_nr_blocks * 8);
	ASSERT_EQ(info.metadata_nr_blocks, META_BLOCKS);
	ASSERT_EQ(!!(info.flags & VELA_SB_FLAG_NEEDS_CHECK), m->needs_check);
	ASSERT_EQ(info.held_root, m->held < 0 ? 0 : p->snap[m->held].root);
	ASSERT_STREQ(info.held_by, m->held < 0 ? "" : p->snap[m->held].holder);
}

static void print_problem(void *context, const char *msg)
{
	u64 *n = context;

	if ((*n)++ < 10)
		unit_diag("checker: %s", msg);
}

static void check_device(struct prop *p, struct vela_check_report *rep)
{
	static u64 nr_printed;

	memset(rep, 0, sizeof(*rep));
	rep->problem = print_problem;
	rep->context = &nr_printed;
	ASSERT_EQ(vela_check(p->bdev, rep), 0);
	ASSERT_EQ(rep->nr_problems, 0);
	p->checks++;
}

/*
 * While a usage walk is pinned: the metadata blocks in use at the pinned
 * commit that are free now (right after a commit, so no delta is pending),
 * which is what the pin must hold back.
 */
static u64 pinned_and_free(struct prop *p)
{
	struct vela_sm *sm = vela_md_metadata_sm(p->md);
	struct vela_sm_view view;
	u32 then, now;
	u64 b, n = 0;

	if (!p->usage_pending)
		return 0;
	view = p->usage_walk.metadata_view;
	view.range = U64_MAX;
	view.range_blk = NULL;
	for (b = 0; b < view.nr_blocks; b++) {
		ASSERT_EQ(vela_sm_view_count(sm, &view, b, &then), 0);
		ASSERT_EQ(vela_sm_get_count(sm, b, &now), 0);
		n += then && !now;
	}
	vela_sm_view_put(sm, &view);
	return n;
}

/*
 * The checker's walk of the committed state (@rep) against the open store
 * and the model: both space maps' free counts, the branches, the flag, and
 * the data blocks in use.
 */
static void compare_report(struct prop *p, const struct vela_check_report *rep)
{
	struct vela_md_info info;

	ASSERT_EQ(vela_md_info(p->md, &info), 0);
	ASSERT_EQ(rep->nr_branches, live_count(p->committed.b));
	ASSERT_EQ(rep->needs_check, p->committed.needs_check);
	ASSERT_EQ(info.data_nr_blocks - info.data_nr_free, rep->nr_data_blocks_used);
	/* A pin counts exactly the blocks it holds back as in use. */
	ASSERT_EQ(info.metadata_nr_blocks - info.metadata_nr_free,
		  rep->nr_metadata_blocks_used + pinned_and_free(p));
	/* Data block 0 is the label; deleted trees may still hold more. */
	ASSERT_GE(rep->nr_data_blocks_used, 1 + p->nr_referenced_committed);
	if (!info.pending_deletes)
		ASSERT_EQ(rep->nr_data_blocks_used, 1 + p->nr_referenced_committed);
}

/* Checked while open: after a commit, the device is exactly the commit. */
static void check_committed(struct prop *p)
{
	struct vela_check_report rep;

	check_device(p, &rep);
	compare_report(p, &rep);
}

/*
 * The held view, as the device's last commit has it, reads exactly what
 * was held: the branch table, each record and each branch's mappings.
 */
static void check_view(struct prop *p)
{
	const struct snapshot *sn;
	struct vela_md_info info;
	struct vela_md *view;
	int s;

	view = vela_md_open_held(p->bdev);
	p->view_checks++;
	note(p, "view-check", -1, p->committed.held);
	if (p->committed.held < 0) {
		ASSERT_TRUE(IS_ERR(view));
		ASSERT_EQ(PTR_ERR(view), -ENOENT);
		return;
	}
	ASSERT_NOT_ERR(view);
	sn = &p->snap[p->committed.held];
	ASSERT_EQ(vela_md_info(view, &info), 0);
	ASSERT_EQ(info.held_root, sn->root);
	ASSERT_TRUE(info.read_only);
	verify_listing(view, sn->b);
	for (s = 0; s < MAX_SLOTS; s++) {
		if (!sn->b[s].live)
			continue;
		verify_record(view, sn->b, s);
		verify_walk(view, &sn->b[s]);
	}
	vela_md_close(view);
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

static void do_abort(struct prop *p)
{
	struct vela_md_info before, after;

	note(p, "abort", -1, 0);
	ASSERT_EQ(vela_md_info(p->md, &before), 0);
	ASSERT_EQ(vela_md_abort(p->md), 0);
	ASSERT_EQ(vela_md_info(p->md, &after), 0);
	ASSERT_EQ(after.generation, before.generation);
	model_rolled_back(p);
	p->ops++;
	verify_counts(p, &p->cur);
	if (chance(p, 16))
		verify(p, &p->cur, false);
}

/* An update refused as the model says: abort, as after any failed update. */
static void refused(struct prop *p)
{
	p->refused++;
	do_abort(p);
}

static int create(struct prop *p, int parent)
{
	int s = free_slot(&p->cur);
	u32 flags = chance(p, 4) ? rnd(p) & VELA_BRANCH_KNOWN_FLAGS & ~VELA_BRANCH_HAS_ORIGIN : 0;
	struct vela_md_origin origin = { 0 };
	struct mbranch *mb;
	char name[NAME_LEN];
	u64 id, limit = 0;

	if (s < 0)
		return -1;
	snprintf(name, sizeof(name), "b%llu", (unsigned long long)p->ops);
	note(p, "create", parent < 0 ? -1 : p->cur.b[parent].id, 0);
	if (parent >= 0) {
		ASSERT_EQ(vela_md_create_branch(p->md, p->cur.b[parent].id, name, flags, p->ops,
						&id), 0);
	} else if (chance(p, 4)) {
		origin.size_sectors = LBLOCKS * 128 + (rnd(p) % 64) * 8;
		origin.sample_csum = rnd(p);
		origin.sample_count = VELA_ORIGIN_SAMPLES;
		origin.flags = flags;
		/* Now and then as long as an origin id may be: 63 bytes. */
		if (chance(p, 3))
			snprintf(origin.id, sizeof(origin.id), "%-62s%llu", "wwn-0x",
				 (unsigned long long)p->ops % 10);
		else
			snprintf(origin.id, sizeof(origin.id), "origin-%llu",
				 (unsigned long long)p->ops);
		ASSERT_EQ(vela_md_create_origin_volume(p->md, name, &origin, p->ops, &id), 0);
		flags |= VELA_BRANCH_HAS_ORIGIN;
	} else {
		ASSERT_EQ(vela_md_create_volume(p->md, name, LBLOCKS * 128, flags, p->ops, &id), 0);
	}
	if (chance(p, 4)) {
		/* Part of the creation: the change id does not move again. */
		limit = 1 + rnd(p) % 1000;
		ASSERT_EQ(vela_md_set_new_branch_limit(p->md, id, limit), 0);
	}
	note(p, "  created", id, limit);
	mb = &p->cur.b[s];
	memset(mb, 0, sizeof(*mb));
	if (parent >= 0) {
		struct mbranch *pb = &p->cur.b[parent];

		memcpy(mb->map, pb->map, sizeof(mb->map));
		memcpy(mb->base, pb->map, sizeof(mb->base));
		mb->size = pb->size;
		mb->origin_size = pb->origin_size;
		mb->origin_csum = pb->origin_csum;
		memcpy(mb->origin_id, pb->origin_id, sizeof(mb->origin_id));
		flags |= pb->flags & VELA_BRANCH_HAS_ORIGIN;
		ref_branch(p, mb, 1);
	} else if (origin.size_sectors) {
		mb->size = origin.size_sectors;
		mb->origin_size = origin.size_sectors;
		mb->origin_csum = origin.sample_csum;
		strscpy(mb->origin_id, origin.id, sizeof(mb->origin_id));
	} else {
		mb->size = LBLOCKS * 128;
	}
	mb->live = true;
	mb->id = id;
	mb->parent = parent;
	mb->flags = flags;
	mb->limit = limit;
	mb->ctime = p->ops;
	strcpy(mb->name, name);
	p->cur.change_id++;
	p->ops++;
	return s;
}

/* Grow the data device by @by blocks (0: the same size, also fine). */
static void do_grow(struct prop *p, u64 by)
{
	struct vela_md_info before, after;
	u64 n = p->cur.data_nr_blocks + by;

	p->ops++;
	note(p, "grow-data", -1, by);
	if (n > DATA_MAX)
		return;
	ASSERT_EQ(vela_md_info(p->md, &before), 0);
	ASSERT_EQ(vela_md_resize_data(p->md, n, n * 8), 0);
	ASSERT_EQ(vela_md_info(p->md, &after), 0);
	ASSERT_EQ(after.data_nr_blocks, n);
	ASSERT_EQ(after.data_dev_size_sectors, n * 8);
	ASSERT_EQ(after.data_nr_free, before.data_nr_free + by);
	p->cur.data_nr_blocks = n;
	if (n > p->pool_max)
		p->pool_max = n;
	p->grows++;
}

static void do_shrink(struct prop *p)
{
	u64 n = p->cur.data_nr_blocks - 1 - rnd(p) % 16;

	p->ops++;
	note(p, "shrink-data", -1, n);
	ASSERT_EQ(vela_md_resize_data(p->md, n, n * 8), -EINVAL);
	refused(p);
}

/* The memory device cannot grow: resizing to its size changes nothing. */
static void do_resize_metadata(struct prop *p)
{
	struct vela_md_info before, after;

	p->ops++;
	note(p, "resize-metadata", -1, 0);
	ASSERT_EQ(vela_md_info(p->md, &before), 0);
	ASSERT_EQ(vela_md_resize_metadata(p->md), 0);
	ASSERT_EQ(vela_md_info(p->md, &after), 0);
	ASSERT_EQ(after.metadata_nr_blocks, before.metadata_nr_blocks);
	ASSERT_EQ(after.metadata_nr_free, before.metadata_nr_free);
}

/*
 * Allocate a data block: never one freed or allocated in this transaction,
 * nor one the model references now or did at the last commit; -ENOSPC
 * exactly when data_nr_free says nothing is left, and each allocation
 * takes one.
 */
static int alloc_block(struct prop *p, u64 *pblock)
{
	struct vela_md_info before, after;
	int r;

	ASSERT_EQ(vela_md_info(p->md, &before), 0);
	r = vela_md_alloc_data_block(p->md, pblock);
	p->allocs++;
	if (r == -ENOSPC) {
		ASSERT_EQ(before.data_nr_free, 0);
		p->enospc++;
		p->full_with_freed += p->freed_in_txn > 0;
		/* The admin grows the pool, sometimes. */
		if (chance(p, 4))
			do_grow(p, 1 + rnd(p) % 128);
		return r;
	}
	ASSERT_EQ(r, 0);
	ASSERT_NE(*pblock, 0);
	ASSERT_LT(*pblock, p->cur.data_nr_blocks);
	/* A block freed in this transaction is never reused within it. */
	ASSERT_NE(p->freed_txn[*pblock], p->txn);
	ASSERT_NE(p->alloc_txn[*pblock], p->txn);
	ASSERT_EQ(p->mref[*pblock], 0);
	ASSERT_EQ(p->mref_committed[*pblock], 0);
	ASSERT_GT(before.data_nr_free, 0);
	ASSERT_EQ(vela_md_info(p->md, &after), 0);
	ASSERT_EQ(after.data_nr_free, before.data_nr_free - 1);
	p->alloc_txn[*pblock] = p->txn;
	return 0;
}

static void do_map(struct prop *p, int s)
{
	u64 pblock, l = rnd(p) % LBLOCKS;
	u32 old = p->cur.b[s].map[l];

	p->ops++;
	note(p, "map", p->cur.b[s].id, l);
	if (alloc_block(p, &pblock))
		return;
	note(p, "  map-block", p->cur.b[s].id, pblock);
	ASSERT_EQ(vela_md_map(p->md, p->cur.b[s].id, l, pblock), 0);
	p->cur.b[s].map[l] = pblock;
	ref_add(p, pblock, 1);
	ref_add(p, old, -1);
}

/* A failed copy: the target gives the block back. */
static void do_alloc_release(struct prop *p)
{
	u64 pblock;

	p->ops++;
	note(p, "alloc-release", -1, 0);
	if (alloc_block(p, &pblock))
		return;
	note(p, "  released", -1, pblock);
	ASSERT_EQ(vela_md_release_data_block(p->md, pblock), 0);
	p->freed_txn[pblock] = p->txn;
	p->freed_in_txn++;
}

static void do_unmap(struct prop *p, int s)
{
	u64 freed, l = rnd(p) % LBLOCKS;
	u32 old = p->cur.b[s].map[l];
	struct vela_md_info info;
	int r, i, j;

	p->ops++;
	note(p, "unmap", p->cur.b[s].id, l);
	r = vela_md_unmap(p->md, p->cur.b[s].id, l, &freed);
	ASSERT_EQ(r, old ? 0 : -ENODATA);
	if (!old) {
		ASSERT_EQ(freed, VELA_NO_BLOCK);
		return;
	}
	p->cur.b[s].map[l] = 0;
	ref_add(p, old, -1);
	ASSERT_EQ(vela_md_info(p->md, &info), 0);
	/* Freed exactly when the last reference went (deleted trees may hold one). */
	if (p->mref[old] || info.pending_deletes)
		ASSERT_TRUE(freed == VELA_NO_BLOCK || (!p->mref[old] && freed == old));
	else
		ASSERT_EQ(freed, old);
	if (freed == VELA_NO_BLOCK)
		return;
	/* Reported free: it was this mapping's, and no live branch maps it. */
	for (i = 0; i < MAX_SLOTS; i++)
		for (j = 0; p->cur.b[i].live && j < LBLOCKS; j++)
			ASSERT_NE(p->cur.b[i].map[j], old);
}

static void do_reclaim(struct prop *p, u64 max)
{
	struct vela_md_info info;
	u64 pending;

	p->ops++;
	note(p, "reclaim", -1, max);
	ASSERT_EQ(vela_md_reclaim(p->md, max, &pending), 0);
	ASSERT_EQ(vela_md_info(p->md, &info), 0);
	ASSERT_EQ(info.pending_deletes, pending);
}

/* Exact when nothing hidden (a held view, a pending deleted tree) shares. */
static bool sharing_exact(struct prop *p, bool *bounded)
{
	struct vela_md_info info;

	ASSERT_EQ(vela_md_info(p->md, &info), 0);
	*bounded = p->cur.held < 0;
	p->exact_sharing += p->cur.held < 0 && !info.pending_deletes;
	return p->cur.held < 0 && !info.pending_deletes;
}

static void do_lookup(struct prop *p, int s)
{
	u64 pblock, l = rnd(p) % LBLOCKS;
	u32 want = p->cur.b[s].map[l];
	bool shared, bounded, exact;
	int r;

	p->ops++;
	note(p, "lookup", p->cur.b[s].id, l);
	switch (rnd(p) % 4) {
	case 0:
		r = vela_md_lookup_try(p->md, p->cur.b[s].id, l, &pblock);
		if (r == -EWOULDBLOCK) {
			p->would_block++;
			return;
		}
		break;
	case 1:
		verify_walk(p->md, &p->cur.b[s]);
		return;
	default:
		r = vela_md_lookup(p->md, p->cur.b[s].id, l, &pblock, &shared);
		if (r || !want)
			break;
		exact = sharing_exact(p, &bounded);
		if (exact)
			ASSERT_EQ(shared, p->mref[want] > 1);
		else if (bounded && p->mref[want] > 1)
			ASSERT_TRUE(shared);
		break;
	}
	if (!want) {
		ASSERT_EQ(r, -ENODATA);
	} else {
		ASSERT_EQ(r, 0);
		ASSERT_EQ(pblock, want);
	}
}

static void do_usage(struct prop *p, int s)
{
	u64 exclusive, shared, again_e, again_s, mapped = 0, only_here = 0;
	const struct mbranch *mb = &p->cur.b[s];
	bool bounded, exact;
	int l;

	/* Sometimes with the delete queue drained: the count is then exact. */
	if (chance(p, 2))
		do_reclaim(p, 1 << 20);
	p->ops++;
	note(p, "usage", mb->id, 0);
	ASSERT_EQ(vela_md_branch_usage(p->md, mb->id, &exclusive, &shared), 0);
	for (l = 0; l < LBLOCKS; l++) {
		if (!mb->map[l])
			continue;
		mapped++;
		only_here += p->mref[mb->map[l]] == 1;
	}
	ASSERT_EQ(exclusive + shared, mapped);
	exact = sharing_exact(p, &bounded);
	if (exact)
		ASSERT_EQ(exclusive, only_here);
	else if (bounded)
		ASSERT_LE(exclusive, only_here);
	/* Asked again with nothing changed: the same answer. */
	ASSERT_EQ(vela_md_branch_usage(p->md, mb->id, &again_e, &again_s), 0);
	ASSERT_EQ(again_e, exclusive);
	ASSERT_EQ(again_s, shared);
}

static void do_commit(struct prop *p);

/* Pin the last commit for a usage walk of branch @id (figures wanted: p->usage_want_*). */
static void usage_pin(struct prop *p, u64 id)
{
	int r;

	p->ops++;
	note(p, "usage-begin", id, 0);
	mutex_lock(&p->md->usage_lock);
	r = vela_md_usage_begin(p->md, id, &p->usage_walk);
	if (r == -EAGAIN) {	/* no pin: too little free metadata */
		mutex_unlock(&p->md->usage_lock);
		p->usage_unpinnable++;
		return;
	}
	if (r == 1) {		/* cached: no walk needed */
		mutex_unlock(&p->md->usage_lock);
		ASSERT_EQ(p->usage_walk.usage.exclusive, p->usage_want_exclusive);
		ASSERT_EQ(p->usage_walk.usage.mapped, p->usage_want_mapped);
		return;
	}
	ASSERT_EQ(r, 0);
	ASSERT_TRUE(p->usage_walk.pinned);
	ASSERT_EQ(p->usage_walk.usage.mapped, p->usage_want_mapped);
	p->usage_pending = true;
	p->usage_commits_at_begin = p->commits;
}

/*
 * Start a committed usage walk of slot @s: commit, so that the current
 * figures (branch_usage) are the committed ones, then pin at once, or arm
 * and pin at a later call, in the middle of a transaction, if no commit
 * came in between (aborts and power cuts return to the same commit).  The
 * walk itself waits for do_usage_finish(), with random operations and
 * commits in between.
 */
static void do_usage_begin(struct prop *p, int s)
{
	const struct mbranch *mb = &p->cur.b[s];
	struct vela_md_info info;
	u64 exclusive, shared;

	if (p->usage_pending || p->usage_armed)
		return;
	do_commit(p);
	ASSERT_EQ(vela_md_branch_usage(p->md, mb->id, &exclusive, &shared), 0);
	p->usage_want_exclusive = exclusive;
	p->usage_want_mapped = exclusive + shared;
	if (chance(p, 2)) {
		ASSERT_EQ(vela_md_info(p->md, &info), 0);
		p->usage_armed = true;
		p->usage_armed_id = mb->id;
		p->usage_armed_generation = info.generation;
		return;
	}
	usage_pin(p, mb->id);
}

/* The armed pin (see do_usage_begin()), if the commit is still the last. */
static void do_usage_armed(struct prop *p)
{
	struct vela_md_info info;

	p->usage_armed = false;
	ASSERT_EQ(vela_md_info(p->md, &info), 0);
	if (info.generation != p->usage_armed_generation)
		return;
	p->usage_mid_transaction++;
	usage_pin(p, p->usage_armed_id);
}

/* Walk the pinned commit now, and compare with what it held then. */
static void do_usage_finish(struct prop *p)
{
	struct vela_md_usage_walk *w = &p->usage_walk, other;
	struct vela_md_usage again;
	struct vela_md_info info;
	u64 id = w->id;
	int r;

	if (!p->usage_pending)
		return;
	p->ops++;
	note(p, "usage-finish", id, p->commits - p->usage_commits_at_begin);
	/* One pin at a time. */
	r = vela_md_usage_begin(p->md, id + 1, &other);
	ASSERT_TRUE(r == -EBUSY || r == 1);
	ASSERT_EQ(vela_md_usage_walk(w), 0);
	ASSERT_EQ(vela_md_usage_end(w, 0), 0);
	mutex_unlock(&p->md->usage_lock);
	p->usage_pending = false;
	p->usage_walks++;
	p->usage_commits_pinned += p->commits - p->usage_commits_at_begin;
	ASSERT_EQ(w->usage.exclusive, p->usage_want_exclusive);
	ASSERT_EQ(w->usage.mapped, p->usage_want_mapped);
	/* At the same generation, the cache answers the same. */
	ASSERT_EQ(vela_md_info(p->md, &info), 0);
	if (info.generation == w->usage.generation) {
		ASSERT_EQ(vela_md_committed_usage(p->md, id, &again), 0);
		ASSERT_EQ(again.generation, w->usage.generation);
		ASSERT_EQ(again.exclusive, w->usage.exclusive);
		ASSERT_EQ(again.shared, w->usage.mapped - w->usage.exclusive);
	}
}

/* Reported ranges, checked against the blocks the model says are in them. */
struct ranges_against_model {
	u8 want[LBLOCKS];
	u64 next;		/* every block before it was checked */
};

static int check_range(void *context, u64 begin, u64 end)
{
	struct ranges_against_model *d = context;
	u64 l;

	ASSERT_TRUE(begin >= d->next && begin < end && end <= LBLOCKS);
	for (l = d->next; l < begin; l++)
		ASSERT_EQ(d->want[l], 0);
	for (l = begin; l < end; l++)
		ASSERT_EQ(d->want[l], 1);
	d->next = end;
	return 0;
}

static void ranges_done(struct ranges_against_model *d)
{
	u64 l;

	for (l = d->next; l < LBLOCKS; l++)
		ASSERT_EQ(d->want[l], 0);
}

/*
 * Diff two random live branches, or a branch against its branch point on
 * either side: exactly the blocks the model says differ.
 */
static void do_diff(struct prop *p, int s)
{
	struct ranges_against_model d = { 0 };
	const struct mbranch *a = &p->cur.b[s], *b;
	bool parent_side = rnd(p) & 1;
	int t, l, r;

	p->ops++;
	note(p, "diff", a->id, parent_side);
	if (chance(p, 2)) {
		t = random_live(p, &p->cur);
		b = &p->cur.b[t];
		for (l = 0; l < LBLOCKS; l++)
			d.want[l] = a->map[l] != b->map[l];
		ASSERT_EQ(vela_md_diff(p->md, a->id, b->id, check_range, &d, NULL), 0);
		ranges_done(&d);
		return;
	}
	if (a->parent < 0) {
		ASSERT_EQ(vela_md_diff_since_branch_point(p->md, a->id, parent_side, check_range,
							  &d, NULL), -EINVAL);
		return;
	}
	b = parent_side ? &p->cur.b[a->parent] : a;
	for (l = 0; l < LBLOCKS; l++)
		d.want[l] = b->map[l] != a->base[l];
	r = vela_md_diff_since_branch_point(p->md, a->id, parent_side, check_range, &d, NULL);
	ASSERT_EQ(r, 0);
	ranges_done(&d);
}

/*
 * Merge a branch into its parent with a random strategy, or a dry run, as
 * the model says; the conflicts reported are the blocks both changed.
 */
static void do_merge(struct prop *p, int s)
{
	struct mbranch *child = &p->cur.b[s], *parent;
	enum vela_merge_strategy strategy = rnd(p) % 3;
	struct ranges_against_model conflicts = { 0 };
	bool ff = true, cc, pc, dry_run = chance(p, 4);
	u64 taken = 0, nr_conflicts = 0;
	struct vela_merge_result res;
	int l, r;

	note(p, dry_run ? "merge-dry-run" : "merge", child->id, strategy);
	if (child->parent < 0) {
		p->ops++;
		ASSERT_EQ(vela_md_merge(p->md, child->id, strategy, dry_run, NULL, NULL, &res),
			  -EINVAL);
		if (!dry_run)
			refused(p);
		return;
	}
	parent = &p->cur.b[child->parent];
	p->ops++;
	for (l = 0; l < LBLOCKS; l++) {
		cc = child->map[l] != child->base[l];
		pc = parent->map[l] != child->base[l];
		taken += cc;
		nr_conflicts += cc && pc;
		conflicts.want[l] = cc && pc;
		ff &= !pc;
	}
	r = vela_md_merge(p->md, child->id, strategy, dry_run, check_range, &conflicts, &res);
	ranges_done(&conflicts);
	EXPECT_EQ(res.conflicts, nr_conflicts);
	EXPECT_EQ(res.taken, taken);
	EXPECT_EQ(res.fast_forward, ff);
	if (dry_run) {
		ASSERT_EQ(r, 0);
		p->dry_runs++;
		return;
	}
	if (strategy == VELA_MERGE_THREE_WAY && nr_conflicts) {
		ASSERT_EQ(r, -ECANCELED);
		p->refused_merges++;
		return;
	}
	ASSERT_EQ(r, 0);
	p->merges++;
	for (l = 0; l < LBLOCKS; l++) {
		if (strategy == VELA_MERGE_REPLACE || ff || child->map[l] != child->base[l]) {
			ref_add(p, child->map[l], 1);
			ref_add(p, parent->map[l], -1);
			parent->map[l] = child->map[l];
		}
	}
	for (l = 0; l < LBLOCKS; l++) {
		ref_add(p, child->map[l], 1);
		ref_add(p, child->base[l], -1);
	}
	memcpy(child->base, child->map, sizeof(child->base));
	p->cur.change_id++;
}

/* @may_refuse: a protected branch may stay (the refusal aborts the transaction). */
static void do_delete(struct prop *p, int s, bool may_refuse)
{
	int r;

	p->ops++;
	note(p, "delete", p->cur.b[s].id, 0);
	r = vela_md_delete_branch(p->md, p->cur.b[s].id);
	if (p->cur.b[s].flags & VELA_BRANCH_READ_ONLY) {
		/* Protected: refused, children or not; half the time, unprotect and retry. */
		ASSERT_EQ(r, -EPERM);
		if (may_refuse && chance(p, 2)) {
			refused(p);
			return;
		}
		ASSERT_EQ(vela_md_set_branch_flags(p->md, p->cur.b[s].id, 0,
						   VELA_BRANCH_READ_ONLY), 0);
		p->cur.b[s].flags &= ~VELA_BRANCH_READ_ONLY;
		p->cur.change_id++;
		r = vela_md_delete_branch(p->md, p->cur.b[s].id);
	}
	if (has_children(&p->cur, s)) {
		ASSERT_EQ(r, -ENOTEMPTY);
		return;
	}
	ASSERT_EQ(r, 0);
	ref_branch(p, &p->cur.b[s], -1);
	p->cur.b[s].live = false;
	p->cur.change_id++;
}

static void do_rename(struct prop *p, int s)
{
	struct mbranch *mb = &p->cur.b[s];
	char name[NAME_LEN];
	u64 id;
	int t;

	p->ops++;
	note(p, "rename", mb->id, 0);
	if (chance(p, 8)) {
		/* Another branch's name, or an invalid one. */
		t = random_live(p, &p->cur);
		if (t != s) {
			ASSERT_EQ(vela_md_rename_branch(p->md, mb->id, p->cur.b[t].name), -EEXIST);
		} else {
			ASSERT_FALSE(vela_md_valid_name("-x"));
			ASSERT_EQ(vela_md_rename_branch(p->md, mb->id, "-x"), -EINVAL);
		}
		refused(p);
		return;
	}
	snprintf(name, sizeof(name), "r%llu", (unsigned long long)p->ops);
	ASSERT_TRUE(vela_md_valid_name(name));
	ASSERT_EQ(vela_md_rename_branch(p->md, mb->id, name), 0);
	ASSERT_EQ(vela_md_find_branch(p->md, name, &id), 0);
	ASSERT_EQ(id, mb->id);
	ASSERT_EQ(vela_md_find_branch(p->md, mb->name, &id), -ENOENT);
	strcpy(mb->name, name);
	p->cur.change_id++;
	p->renames++;
}

/* Flags, the allocation limit or the size of a branch: an admin change. */
static void do_set_field(struct prop *p, int s)
{
	struct mbranch *mb = &p->cur.b[s];
	u32 set = rnd(p) & VELA_BRANCH_KNOWN_FLAGS & ~VELA_BRANCH_HAS_ORIGIN;
	u32 clear = rnd(p) & VELA_BRANCH_KNOWN_FLAGS & ~VELA_BRANCH_HAS_ORIGIN;
	u64 v;
	int kind = rnd(p) % 3;

	p->ops++;
	note(p, kind == 0 ? "set-flags" : kind == 1 ? "set-limit" : "resize-branch", mb->id, 0);
	switch (kind) {
	case 0:
		if (chance(p, 16)) {
			/* An unknown flag, or the origin's, which only creation sets. */
			ASSERT_EQ(vela_md_set_branch_flags(p->md, mb->id,
							   set | (chance(p, 2) ? 32 : 0),
							   clear | VELA_BRANCH_HAS_ORIGIN),
				  -EINVAL);
			refused(p);
			return;
		}
		ASSERT_EQ(vela_md_set_branch_flags(p->md, mb->id, set, clear), 0);
		mb->flags = (mb->flags | set) & ~clear;
		break;
	case 1:
		v = chance(p, 4) ? 0 : rnd(p) % 100000;
		ASSERT_EQ(vela_md_set_branch_limit(p->md, mb->id, v), 0);
		mb->limit = v;
		break;
	default:
		if (chance(p, 8)) {
			v = mb->size - 8 * (1 + rnd(p) % 4);
			ASSERT_EQ(vela_md_resize_branch(p->md, mb->id, v), -EINVAL);
			refused(p);
			return;
		}
		v = mb->size + 8 * (rnd(p) % 64);
		ASSERT_EQ(vela_md_resize_branch(p->md, mb->id, v), 0);
		mb->size = v;
		break;
	}
	p->cur.change_id++;
}

static void do_needs_check(struct prop *p)
{
	bool v = rnd(p) & 1;

	p->ops++;
	note(p, "set-needs-check", -1, v);
	ASSERT_EQ(vela_md_set_needs_check(p->md, v), 0);
	p->cur.needs_check = v;
}

/* Hold a view of the branch table as it is now, in the open transaction. */
static void do_hold(struct prop *p)
{
	char tag[VELA_HOLDER_LEN];
	struct vela_md_info info;
	struct snapshot *sn;
	u64 root;
	int k, s, r;

	p->ops++;
	note(p, "hold", -1, p->cur.held);
	/* A holder tag, none, or (refused, changing nothing) one too long or with a space. */
	if (chance(p, 8)) {
		ASSERT_FALSE(vela_md_valid_holder("a b"));
		ASSERT_FALSE(vela_md_valid_holder("0123456789abcdef0123456789abcdef"));
		ASSERT_EQ(vela_md_hold(p->md, chance(p, 2) ? "a b" : "0123456789abcdef0123456789abcdef",
				       &root), -EINVAL);
		return;
	}
	if (chance(p, 4))
		tag[0] = '\0';
	else
		snprintf(tag, sizeof(tag), "prop:hold:%llu", (unsigned long long)p->ops);
	r = vela_md_hold(p->md, chance(p, 2) && !tag[0] ? NULL : tag, &root);
	if (p->cur.held >= 0) {
		ASSERT_EQ(r, -EBUSY);
		return;
	}
	ASSERT_EQ(r, 0);
	trace_last_hold = p->ops;
	ASSERT_NE(root, 0);
	ASSERT_EQ(vela_md_info(p->md, &info), 0);
	ASSERT_EQ(info.held_root, root);
	ASSERT_STREQ(info.held_by, tag);
	/* The last commit's view, if any, stays as it is. */
	k = p->committed.held == 0;
	sn = &p->snap[k];
	sn->root = root;
	strcpy(sn->holder, tag);
	memcpy(sn->b, p->cur.b, sizeof(sn->b));
	for (s = 0; s < MAX_SLOTS; s++)
		if (sn->b[s].live)
			ref_branch(p, &sn->b[s], 1);
	p->cur.held = k;
	p->holds++;
}

static void do_release(struct prop *p)
{
	const struct snapshot *sn;
	int s, r;

	p->ops++;
	note(p, "release", -1, p->cur.held);
	r = vela_md_release_hold(p->md);
	if (p->cur.held < 0) {
		ASSERT_EQ(r, -ENOENT);
		return;
	}
	ASSERT_EQ(r, 0);
	sn = &p->snap[p->cur.held];
	for (s = 0; s < MAX_SLOTS; s++)
		if (sn->b[s].live)
			ref_branch(p, &sn->b[s], -1);
	p->cur.held = -1;
	p->releases++;
}

static void do_commit(struct prop *p)
{
	struct vela_md_info before, after;
	bool new_view = p->cur.held >= 0 && (p->committed.held != p->cur.held);

	note(p, "commit", -1, p->commits + 1);
	ASSERT_EQ(vela_md_info(p->md, &before), 0);
	ASSERT_EQ(vela_md_commit(p->md), 0);
	ASSERT_EQ(vela_md_info(p->md, &after), 0);
	ASSERT_EQ(after.generation, before.generation + 1);
	model_committed(p);
	p->commits++;
	p->ops++;
	verify_counts(p, &p->committed);
	if (!(p->commits % CHECK_EVERY))
		check_committed(p);
	if (p->committed.held >= 0 && chance(p, new_view ? 4 : 64))
		check_view(p);
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
	struct vela_check_report rep;
	struct vela_bdev_stats st;

	do_usage_finish(p);
	note(p, "power-cut", -1, 0);
	vela_md_close(p->md);
	vela_bdev_power_cut(p->bdev, rnd(p), cut_flags(p));
	vela_bdev_get_stats(p->bdev, &st);
	p->torn += st.cut_torn;
	p->cuts++;
	p->ops++;
	check_device(p, &rep);
	reopen(p);
	model_rolled_back(p);
	compare_report(p, &rep);
	verify(p, &p->committed, false);
	verify_counts(p, &p->committed);
	if (chance(p, p->committed.held >= 0 ? 8 : 32))
		check_view(p);
}

/*
 * The device starts failing writes partway through a commit, then loses
 * power.  Either the new superblock made it or it did not; anything else is
 * a bug.
 */
static void do_interrupted_commit(struct prop *p)
{
	struct vela_check_report rep;
	struct vela_md_info info;
	u64 gen_before;
	int r;

	note(p, "interrupted-commit", -1, 0);
	ASSERT_EQ(vela_md_info(p->md, &info), 0);
	gen_before = info.generation;
	vela_bdev_inject_error(p->bdev, VELA_IO_WRITE, rnd(p) % 40, -EIO);
	r = vela_md_commit(p->md);
	vela_bdev_inject_error(p->bdev, VELA_IO_WRITE, 0, 0);
	/* A walk pinned across the failed commit still reads its commit. */
	if (p->usage_pending && r)
		p->usage_failed_commits++;
	do_usage_finish(p);
	vela_md_close(p->md);
	vela_bdev_power_cut(p->bdev, rnd(p), cut_flags(p));
	p->cuts++;
	p->interrupted++;
	p->ops++;
	check_device(p, &rep);
	reopen(p);
	ASSERT_EQ(vela_md_info(p->md, &info), 0);
	if (!r)
		ASSERT_EQ(info.generation, gen_before + 1);
	if (info.generation == gen_before + 1) {
		model_committed(p);
	} else {
		ASSERT_EQ(info.generation, gen_before);
		model_rolled_back(p);
	}
	compare_report(p, &rep);
	verify_counts(p, &p->committed);
	verify(p, &p->committed, false);
	if (chance(p, p->committed.held >= 0 ? 8 : 32))
		check_view(p);
}

static int depth_of(const struct model *m, int s)
{
	int d = 0;

	for (s = m->b[s].parent; s >= 0; s = m->b[s].parent)
		d++;
	return d;
}

/*
 * The end: release the view, delete every branch (children first) and
 * reclaim everything.  Only data block 0 stays in use.
 */
static void drain(struct prop *p)
{
	struct vela_check_report rep;
	struct vela_md_info info;
	u64 pending;
	int s, d, max_depth = 0;

	do_usage_finish(p);
	do_release(p);
	for (s = 0; s < MAX_SLOTS; s++)
		if (p->cur.b[s].live && depth_of(&p->cur, s) > max_depth)
			max_depth = depth_of(&p->cur, s);
	for (d = max_depth; d >= 0; d--)
		for (s = 0; s < MAX_SLOTS; s++)
			if (p->cur.b[s].live && depth_of(&p->cur, s) == d)
				do_delete(p, s, false);
	do_commit(p);
	do {
		ASSERT_EQ(vela_md_reclaim(p->md, 1 << 20, &pending), 0);
		do_commit(p);
	} while (pending);
	ASSERT_EQ(vela_md_info(p->md, &info), 0);
	ASSERT_EQ(info.nr_branches, 0);
	ASSERT_EQ(info.held_root, 0);
	ASSERT_EQ(info.data_nr_free, info.data_nr_blocks - 1);
	ASSERT_EQ(p->nr_referenced, 0);
	check_view(p);
	vela_md_close(p->md);
	check_device(p, &rep);
	ASSERT_EQ(rep.nr_data_blocks_used, 1);
	ASSERT_EQ(rep.nr_branches, 0);
}

static void run_seed(u64 seed, u64 nr_ops, u64 data_blocks)
{
	struct vela_md_format_params fp = {
		.pool_name = "prop", .data_block_sectors = 8, .data_nr_blocks = data_blocks,
		.data_dev_size_sectors = data_blocks * 8,
	};
	static struct prop p;
	u64 target, in_use;
	int s, i, parent, max_depth, fan;

	memset(&p, 0, sizeof(p));
	if (!trace_registered)
		atexit(print_trace);
	trace_registered = true;
	trace_n = 0;
	trace_last_hold = 0;
	trace_seed = seed;
	seed_running = true;
	p.rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	p.txn = 1;
	p.cur.held = -1;
	p.cur.data_nr_blocks = data_blocks;
	p.pool_max = data_blocks;
	p.committed = p.cur;
	p.bdev = vela_bdev_create_mem((u64)META_BLOCKS * VELA_BLOCK_SIZE);
	ASSERT_NOT_ERR(p.bdev);
	ASSERT_EQ(vela_md_format(p.bdev, &fp), 0);
	reopen(&p);
	check_view(&p);

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

		p.held_ops += p.committed.held >= 0;
		/* An armed usage pin fires a few operations on, mid-transaction. */
		if (p.usage_armed && chance(&p, 3))
			do_usage_armed(&p);
		s = random_live(&p, &p.cur);
		if (s < 0) {
			create(&p, -1);
			continue;
		}
		if (dice < 350)
			do_map(&p, s);
		else if (dice < 440)
			do_unmap(&p, s);
		else if (dice < 510)
			do_lookup(&p, s);
		else if (dice < 535)
			do_merge(&p, s);
		else if (dice < 565)
			do_diff(&p, s);
		else if (dice < 655)
			create(&p, rnd(&p) % 8 ? s : -1);
		else if (dice < 730)
			do_delete(&p, s, true);
		else if (dice < 780)
			do_reclaim(&p, 1 + rnd(&p) % 200);
		else if (dice < 855)
			do_commit(&p);
		else if (dice < 885)
			do_abort(&p);
		else if (dice < 900)
			do_hold(&p);
		else if (dice < 912)
			do_release(&p);
		else if (dice < 913)
			check_view(&p);
		else if (dice < 934)
			do_alloc_release(&p);
		else if (dice < 937)
			do_grow(&p, rnd(&p) % 64);
		else if (dice < 938)
			do_shrink(&p);
		else if (dice < 939)
			do_resize_metadata(&p);
		else if (dice < 962)
			do_rename(&p, s);
		else if (dice < 975)
			do_set_field(&p, s);
		else if (dice < 978)
			do_needs_check(&p);
		else if (dice < 990)
			do_usage(&p, s);
		else if (dice < 992)
			do_usage_begin(&p, s);
		else if (dice < 993)
			do_usage_finish(&p);
		else if (dice < 997)
			do_power_cut(&p);
		else
			do_interrupted_commit(&p);
	}
	do_commit(&p);
	verify(&p, &p.committed, true);
	if (p.committed.held >= 0)
		check_view(&p);
	in_use = p.nr_referenced;
	drain(&p);
	seed_running = false;
	unit_diag("seed %llu: %llu operations, %llu commits, %llu power cuts (%llu torn writes, %llu interrupted commits), %llu clean checks; chain depth %d, fan of %d branches; %llu merges, %llu refused for conflicts, %llu dry runs",
		  (unsigned long long)seed, (unsigned long long)p.ops,
		  (unsigned long long)p.commits, (unsigned long long)p.cuts,
		  (unsigned long long)p.torn, (unsigned long long)p.interrupted,
		  (unsigned long long)p.checks, max_depth, fan,
		  (unsigned long long)p.merges, (unsigned long long)p.refused_merges,
		  (unsigned long long)p.dry_runs);
	unit_diag("seed %llu: %llu holds, %llu releases, view held at %llu%% of operations, %llu view checks; %llu freed-reuse checks (allocations), %llu -ENOSPC (%llu with blocks freed in the transaction); %llu renames, %llu grows (data pool %llu blocks at most, %llu in use at the end), %llu refused updates, %llu lookups would block, %llu exact sharing checks; %llu committed usage walks over %llu commits (%llu pinned mid-transaction, %llu across a failed commit, %llu refused a pin)",
		  (unsigned long long)seed, (unsigned long long)p.holds,
		  (unsigned long long)p.releases,
		  (unsigned long long)(p.held_ops * 100 / (nr_ops ? nr_ops : 1)),
		  (unsigned long long)p.view_checks, (unsigned long long)p.allocs,
		  (unsigned long long)p.enospc, (unsigned long long)p.full_with_freed,
		  (unsigned long long)p.renames, (unsigned long long)p.grows,
		  (unsigned long long)p.pool_max, (unsigned long long)in_use,
		  (unsigned long long)p.refused,
		  (unsigned long long)p.would_block, (unsigned long long)p.exact_sharing,
		  (unsigned long long)p.usage_walks, (unsigned long long)p.usage_commits_pinned,
		  (unsigned long long)p.usage_mid_transaction,
		  (unsigned long long)p.usage_failed_commits,
		  (unsigned long long)p.usage_unpinnable);
	vela_bdev_close(p.bdev);
}

TEST(property_fixed_seed_1)
{
	run_seed(1, ops_per_seed(), DATA_TIGHT);
}

TEST(property_fixed_seed_2)
{
	run_seed(2, ops_per_seed(), DATA_LOOSE);
}

TEST(property_random_seed)
{
	unit_diag("random seed %llu (replay with --seed %llu)",
		  (unsigned long long)unit_seed(), (unsigned long long)unit_seed());
	run_seed(unit_seed(), ops_per_seed(), DATA_TIGHT);
}
