// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-merge.c: merge and diff, the commands that compare two branches
 * or a branch with its branch point.
 *
 * diff reads the metadata trees (libvela) through a view an active pool
 * holds for the duration.  merge asks the kernel for a dry run first,
 * refuses what would change blocks under a user of the parent, and then
 * merges with the parent's device suspended; a refused three-way merge
 * lists its conflicts as diff lists ranges, from the same view.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vela-meta.h"
#include "bufio-user.h"
#include "velactl.h"

/* --- diff ------------------------------------------------------------------ */

struct name_lookup {
	const char *name;
	u64 id;
	bool found;
};

static int match_name(void *context, u64 id, const struct vela_branch_info *info)
{
	struct name_lookup *nl = context;

	if (!strcmp(info->name, nl->name)) {
		nl->id = id;
		nl->found = true;
	}
	return 0;
}

/* The id of branch @name; a held view has no name index, so walk the table. */
static int branch_id_by_name(struct vela_md *md, const char *pool, const char *name, u64 *id)
{
	struct name_lookup nl = { .name = name };
	int r = vela_md_walk_branches(md, match_name, &nl);

	if (r)
		return fail(EXIT_FAILURE, "%s: cannot read the branch table: %s", pool, strerror(-r));
	if (!nl.found)
		return fail(EXIT_NOT_FOUND, "%s/%s: no such volume or branch: 'velactl list %s' shows them",
			    pool, name, pool);
	*id = nl.id;
	return 0;
}

struct diff_output {
	u64 block_bytes;
	u64 bytes;
	u64 ranges;
	bool json;
	bool exact;
};

static int print_range(void *context, u64 begin, u64 end)
{
	struct diff_output *o = context;
	char a[32], b[32];
	u64 offset = begin * o->block_bytes, length = (end - begin) * o->block_bytes;

	if (o->json)
		printf("%s\n    {\"offset\": %llu, \"length\": %llu}", o->ranges ? "," : "",
		       offset, length);
	else
		printf("%s\t%s\n", format_size(offset, o->exact, a, sizeof(a)),
		       format_size(length, o->exact, b, sizeof(b)));
	o->ranges++;
	o->bytes += length;
	return 0;
}

/* The ranges in which two branches differ, or a branch and its branch point. */
static int diff_pool(const struct pool_metadata *m, const char *a_name, const char *b_name,
		     struct diff_output *o)
{
	struct vela_branch_info a_info;
	struct vela_md_info info;
	struct block_device *bdev;
	struct vela_md *md;
	u64 a, b = 0, nodes = 0;
	char total[32];
	int r;

	bdev = open_dev(m->path, true);
	if (IS_ERR(bdev))
		return EXIT_FAILURE;	/* 3 (unreadable) is check's alone */
	md = m->held ? vela_md_open_held(bdev) : vela_md_open(bdev, true);
	if (IS_ERR(md)) {
		vela_bdev_close(bdev);
		return fail(EXIT_FAILURE, "%s: cannot read the metadata on %s: %s", m->pool.name,
			    m->path, strerror(-PTR_ERR(md)));
	}
	r = vela_md_info(md, &info);
	o->block_bytes = (u64)info.data_block_sectors << SECTOR_SHIFT;
	if (!r)
		r = branch_id_by_name(md, m->pool.name, a_name, &a);
	if (!r && b_name)
		r = branch_id_by_name(md, m->pool.name, b_name, &b);
	if (r)
		goto out;
	/* A volume has no branch point: refused before any output. */
	if (!b_name && !vela_md_get_branch(md, a, &a_info) && a_info.parent_id == VELA_NO_PARENT) {
		r = fail(EXIT_USAGE, "%s/%s is a volume: it has no branch point; name two branches",
			 m->pool.name, a_name);
		goto out;
	}
	if (o->json) {
		printf("{\"schema\": %d, \"pool\": ", JSON_SCHEMA);
		json_string(m->pool.name);
		printf(", \"a\": ");
		json_string(a_name);
		printf(", \"b\": ");
		if (b_name)
			json_string(b_name);
		else
			printf("null");
		printf(", \"ranges\": [");
	}
	r = b_name ? vela_md_diff(md, a, b, print_range, o, &nodes) :
		     vela_md_diff_since_branch_point(md, a, false, print_range, o, &nodes);
	if (r) {
		/* The document the header opened still closes, saying why. */
		if (o->json) {
			printf("], \"error\": ");
			json_string(strerror(-r));
			printf("}\n");
		}
		r = fail(EXIT_FAILURE, "diff failed: %s", strerror(-r));
		goto out;
	}
	if (o->json)
		printf("%s], \"bytes\": %llu, \"block_size\": %llu, \"nodes_read\": %llu}\n",
		       o->ranges ? "\n  " : "", o->bytes, o->block_bytes, nodes);
	else
		printf("total\t%s in %llu range(s)\n", format_size(o->bytes, o->exact, total,
								    sizeof(total)), o->ranges);
out:
	vela_md_close(md);
	vela_bdev_close(bdev);
	return r;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "bytes", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 }
	};
	char pool_a[VELA_MAX_POOL_NAME + 1], pool_b[VELA_MAX_POOL_NAME + 1];
	struct diff_output o = { 0 };
	const char *a, *b = NULL;
	/* Zeroed: a usage error must not release a view it never held. */
	struct pool_metadata m = { 0 };
	int opt, r;

	optind = 0;
	while ((opt = next_option(argc, argv, "", options, "diff")) != -1) {
		if (opt == 'j')
			o.json = o.exact = true;
		else if (opt == 'b')
			o.exact = true;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 1 && optind != argc - 2) {
		usage_error("diff takes POOL/A POOL/B, or POOL/BRANCH for its branch point");
		return EXIT_USAGE;
	}
	r = split_pool_branch(argv[optind], pool_a, sizeof(pool_a), &a);
	if (!r && optind == argc - 2) {
		r = split_pool_branch(argv[optind + 1], pool_b, sizeof(pool_b), &b);
		if (!r && strcmp(pool_a, pool_b)) {
			usage_error("diff: %s and %s are in different pools", argv[optind],
				    argv[optind + 1]);
			r = EXIT_USAGE;
		}
	}
	if (!r)
		r = open_pool_metadata(pool_a, &m, false, false, false);	/* POOL/ is never a file */
	/* Ranges print as they are found: progress only when they go elsewhere. */
	if (!r && !o.json && !isatty(STDOUT_FILENO))
		metadata_progress_begin("comparing", m.path, 1);
	if (!r)
		r = diff_pool(&m, a, b, &o);
	metadata_progress_end();
	close_pool_metadata(&m);
	return r;
}

/* --- merge ------------------------------------------------------------------ */

/* The ranges a three-way merge of @child_name would conflict on (pool locked). */
static int print_merge_conflicts(const struct pool *p, const char *child_name, bool json)
{
	struct diff_output o = { .json = json, .exact = true };
	struct vela_merge_result res;
	struct block_device *bdev;
	struct vela_md_info info;
	struct vela_md *md;
	u64 id;
	int r;

	/* Opened and closed on every path, so that the document stays whole. */
	if (json)
		printf("\"conflict_ranges\": [");
	/* The pool is locked by the caller: hold its view directly. */
	r = clear_stale_view(p, false, false);
	if (!r)
		r = hold_view(p);
	if (r) {
		if (json)
			printf("]");
		return fail(EXIT_FAILURE, "pool '%s': cannot hold a view of its metadata: %s",
			    p->name, strerror(-r));
	}
	bdev = open_dev(p->meta_path, true);
	md = IS_ERR(bdev) ? ERR_CAST(bdev) : vela_md_open_held(bdev);
	r = IS_ERR(md) ? PTR_ERR(md) : vela_md_info(md, &info);
	if (!r) {
		o.block_bytes = (u64)info.data_block_sectors << SECTOR_SHIFT;
		r = branch_id_by_name(md, p->name, child_name, &id);
		if (!r)
			r = vela_md_merge(md, id, VELA_MERGE_THREE_WAY, true, print_range, &o,
					  &res);
	}
	if (json)
		printf("%s]", o.ranges ? "\n  " : "");
	if (!IS_ERR(md))
		vela_md_close(md);
	if (!IS_ERR(bdev))
		vela_bdev_close(bdev);
	release_view(p);
	return r > 0 ? r : r ? fail(EXIT_FAILURE, "reading the conflicts failed: %s", strerror(-r)) : 0;
}

static const char *const merge_strategies[][2] = {
	{ "three-way", "three_way" },
	{ "child-wins", "child_wins" },
	{ "replace", "replace" },
};

/*
 * Why the parent's device must not have its blocks changed under it.  The
 * kernel cannot see open counts, so velactl looks three ways: dm's open
 * count, the mount table, and an exclusive open (a stacked device or an
 * O_EXCL user).  "" when it is free.
 */
static void parent_in_use(const struct pool *p, const struct branch *b, char *why, size_t len)
{
	char path[PATH_MAX], where[PATH_MAX];

	why[0] = '\0';
	if (!b->active)
		return;
	if (branch_is_open(b)) {
		snprintf(why, len, "open %d time(s)", b->open_count);
		return;
	}
	if (mounted_at(b->major, b->minor, where, sizeof(where))) {
		snprintf(why, len, "mounted at %s", where);
		return;
	}
	branch_path(p, b->name, path, sizeof(path));
	if (device_claimed(path) == -EBUSY)
		snprintf(why, len, "held by another device or program");
}

/* --delete-child: the child went into its parent; remove it too. */
static int delete_merged_child(struct target *t, bool json)
{
	int r;

	if (branch_is_open(t->b))
		return fail(EXIT_BUSY, "%s/%s is open: merged, but not deleted", t->pool.name,
			    t->name);
	if (t->b->active && deactivate_branch(&t->pool, t->b))
		return EXIT_BUSY;
	r = pool_admin(&t->pool, NULL, 0, "delete %" PRIu64, t->b->id);
	if (r)
		return admin_error(&t->pool, "delete", t->name, r);
	if (!json)
		printf("deleted %s/%s\n", t->pool.name, t->name);
	return 0;
}

/*
 * --delete-child deletes the child once the merge is done: refuse before
 * the merge what would refuse that delete, so that a merge with
 * --delete-child does both or neither (but for a failure of the delete
 * itself).
 */
static int refuse_child_delete(const struct target *t)
{
	size_t i;

	if (branch_is_open(t->b))
		return fail(EXIT_BUSY, "merge %s/%s --delete-child: the child is open (mounted or in use): close it first; nothing changed",
			    t->pool.name, t->name);
	if (t->b->flags & VELA_BRANCH_READ_ONLY)
		return fail(EXIT_BUSY, "merge %s/%s --delete-child: the child is protected: 'velactl unprotect %s/%s' first, or merge without --delete-child; nothing changed",
			    t->pool.name, t->name, t->pool.name, t->name);
	for (i = 0; i < t->list.n; i++)
		if (t->list.v[i].parent == t->b->id)
			return fail(EXIT_BUSY, "merge %s/%s --delete-child: the child has branches of its own (%s/%s): delete them first, or merge without --delete-child; nothing changed",
				    t->pool.name, t->name, t->pool.name, t->list.v[i].name);
	return 0;
}

/* merge's command line. */
struct merge_args {
	const char *into;
	const char *strategy;		/* the kernel's name: three_way, ... */
	const char *label;		/* the command line's: three-way, ... */
	bool dry_run, delete_child, force, json, yes;
};

/* The parent, and what the kernel's dry run said a merge into it would do. */
struct merge_plan {
	const struct branch *parent;
	unsigned long long taken, conflicts;
	bool ff;
};

static int parse_merge_args(int argc, char **argv, struct merge_args *a)
{
	static const struct option options[] = {
		{ "into", required_argument, NULL, 'i' },
		{ "strategy", required_argument, NULL, 's' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "delete-child", no_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "yes", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;
	size_t i;

	*a = (struct merge_args){ .strategy = "three_way", .label = "three-way" };
	optind = 0;
	while ((opt = next_option(argc, argv, "y", options, "merge")) != -1) {
		switch (opt) {
		case 'i':
			a->into = optarg;
			break;
		case 's':
			for (i = 0; i < ARRAY_SIZE(merge_strategies); i++)
				if (!strcmp(optarg, merge_strategies[i][0]))
					break;
			if (i == ARRAY_SIZE(merge_strategies)) {
				usage_error("merge: --strategy %s: want three-way, child-wins or replace",
					    optarg);
				return EXIT_USAGE;
			}
			a->label = merge_strategies[i][0];
			a->strategy = merge_strategies[i][1];
			break;
		case 'n':
			a->dry_run = true;
			break;
		case 'd':
			a->delete_child = true;
			break;
		case 'f':
			a->force = true;
			break;
		case 'j':
			a->json = true;
			break;
		case 'y':
			a->yes = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage_error("merge: want POOL/CHILD");
		return EXIT_USAGE;
	}
	return 0;
}

/* A block-level three-way merge of a filesystem is a state nobody wrote. */
static int refuse_fs_merge(const struct target *t, const struct merge_args *a,
			   const struct merge_plan *m)
{
	char path[PATH_MAX], fs[32] = "";
	size_t i;

	for (i = 0; !m->ff && !a->force && strcmp(a->strategy, "replace") && i < 2 && !fs[0]; i++) {
		const struct branch *b = i ? m->parent : t->b;

		if (!b->active)
			continue;
		branch_path(&t->pool, b->name, path, sizeof(path));
		probe_fs_type(path, fs, sizeof(fs));
	}
	if (fs[0])
		return fail(EXIT_FAILURE, "merge %s/%s: %s holds %s, and both sides changed since the branch point: a block-level %s merge of a filesystem or database is corruption.  Use --strategy replace (the parent becomes the child), or --force if the data is raw blocks and you know it is safe",
			    t->pool.name, t->name, t->pool.name, fs, a->label);
	return 0;
}

/*
 * Everything that refuses a merge before anything changes: the parent
 * (--into, protection, a user of its device), the kernel's dry run, and a
 * filesystem on either side.  Fills @m.
 */
static int merge_preflight(const struct target *t, const struct merge_args *a,
			   struct merge_plan *m)
{
	char reply[64], busy[PATH_MAX + 32];
	int r, ffi;

	m->parent = branch_by_id(&t->list, t->b->parent);
	if (!m->parent)
		return fail(EXIT_USAGE, "merge %s/%s: it is a volume, with no parent to merge into",
			    t->pool.name, t->name);
	if (a->into && strcmp(a->into, m->parent->name))
		return fail(EXIT_USAGE, "merge %s/%s: --into accepts only its parent, %s",
			    t->pool.name, t->name, m->parent->name);
	if (m->parent->flags & VELA_BRANCH_READ_ONLY && !a->dry_run)
		return fail(EXIT_FAILURE, "merge %s/%s: the parent %s/%s is protected: 'velactl unprotect %s/%s' first if it really should change",
			    t->pool.name, t->name, t->pool.name, m->parent->name, t->pool.name,
			    m->parent->name);
	/* The kernel cannot see open counts: refuse a parent in use here. */
	if (!a->json)
		progress_step("checking that nothing uses %s/%s", t->pool.name, m->parent->name);
	parent_in_use(&t->pool, m->parent, busy, sizeof(busy));
	if (busy[0] && !a->dry_run)
		return fail(EXIT_BUSY, "merge %s/%s: the parent %s/%s is %s, and a merge changes its blocks under it: unmount or close it first",
			    t->pool.name, t->name, t->pool.name, m->parent->name, busy);
	if (!a->json)
		progress_step("asking the kernel what a %s merge would do (a dry run)", a->label);
	r = pool_admin(&t->pool, reply, sizeof(reply), "merge %" PRIu64 " %s dry_run", t->b->id,
		       a->strategy);
	if (r || sscanf(reply, "%llu %llu %d", &m->taken, &m->conflicts, &ffi) != 3)
		return admin_error(&t->pool, "merge", t->name, r ? r : -EPROTO);
	m->ff = ffi;
	r = refuse_fs_merge(t, a, m);
	if (!r && a->delete_child && !a->dry_run)
		r = refuse_child_delete(t);
	return r;
}

/* The merge itself, with the parent's device suspended around it. */
static int merge_run(const struct target *t, const struct merge_args *a,
		     const struct merge_plan *m)
{
	char reply[64];
	int r;

	if (m->parent->active && !a->json)
		progress_step("suspending %s/%s's device (its writes wait)", t->pool.name,
			      m->parent->name);
	if (m->parent->active && suspend_branch(&t->pool, m->parent, true))
		return fail(EXIT_FAILURE, "merge %s/%s: cannot suspend the parent's device",
			    t->pool.name, t->name);
	if (!a->json)
		progress_step("merging, in one metadata transaction");
	test_stop_point("parent-suspended");
	r = pool_admin(&t->pool, reply, sizeof(reply), "merge %" PRIu64 " %s", t->b->id,
		       a->strategy);
	test_stop_point("merged");
	if (m->parent->active && suspend_branch(&t->pool, m->parent, false)) {
		char name[VELA_DM_NAME_LEN];

		branch_dm_name(&t->pool, m->parent->name, name, sizeof(name));
		fail(EXIT_FAILURE, "merge %s/%s: resuming the parent's device failed: run 'dmsetup resume %s'",
		     t->pool.name, t->name, name);
	}
	if (r == -ECANCELED)
		return fail(EXIT_CONFLICT, "merge %s/%s: the parent changed meanwhile: conflicts; nothing changed",
			    t->pool.name, t->name);
	return r ? admin_error(&t->pool, "merge", t->name, r) : 0;
}

enum merge_outcome { MERGE_CONFLICTS, MERGE_DRY_RUN, MERGE_DONE };

/*
 * With --json, one object: merge_report_head() prints its members up to
 * "fast_forward" before anything runs, merge_report() the rest.  Without,
 * one line, or the conflicts on stderr.
 */
static void merge_report_head(const struct target *t, const struct merge_args *a,
			      const struct merge_plan *m)
{
	if (!a->json)
		return;
	printf("{\"schema\": %d, \"pool\": ", JSON_SCHEMA);
	json_string(t->pool.name);
	printf(", \"child\": ");
	json_string(t->name);
	printf(", \"parent\": ");
	json_string(m->parent->name);
	printf(", \"strategy\": \"%s\", \"dry_run\": %s, \"taken\": %llu, \"conflicts\": %llu, \"fast_forward\": %s, ",
	       a->label, a->dry_run ? "true" : "false", m->taken, m->conflicts,
	       m->ff ? "true" : "false");
}

/* EXIT_CONFLICT for a refused three-way merge, else 0. */
static int merge_report(const struct target *t, const struct merge_args *a,
			const struct merge_plan *m, enum merge_outcome outcome)
{
	if (outcome == MERGE_CONFLICTS) {
		if (!a->json)
			fprintf(stderr, "velactl: merge %s/%s: refused: %llu block(s) changed on both sides since the branch point (offset, length):\n",
				t->pool.name, t->name, m->conflicts);
		print_merge_conflicts(&t->pool, t->name, a->json);
		if (a->json)
			printf(", \"merged\": false}\n");
		else
			fprintf(stderr, "Nothing changed.  Use --strategy child-wins to take the child's version of these, or replace.\n");
		return EXIT_CONFLICT;
	}
	if (a->json)
		printf("\"merged\": %s}\n", outcome == MERGE_DONE ? "true" : "false");
	else if (outcome == MERGE_DRY_RUN)
		printf("would merge %s/%s into %s: %llu block(s) taken, %llu conflict(s)%s\n",
		       t->pool.name, t->name, m->parent->name, m->taken, m->conflicts,
		       m->ff ? ", fast-forward" : "");
	else
		printf("merged %s/%s into %s: %llu block(s) taken, %llu conflict(s)%s%s\n",
		       t->pool.name, t->name, m->parent->name, m->taken, m->conflicts,
		       m->conflicts ? " (the child's version)" : "", m->ff ? ", fast-forward" : "");
	return 0;
}

int cmd_merge(int argc, char **argv)
{
	char what[4 * VELA_DM_NAME_LEN + 5 * VELA_MAX_POOL_NAME + 128];
	struct merge_args a;
	struct merge_plan m;
	struct target t;
	int r;

	r = parse_merge_args(argc, argv, &a);
	if (r)
		return r;
	r = open_target(argv[optind], &t);
	if (!r)
		r = merge_preflight(&t, &a, &m);
	if (r)
		goto out;
	if (!strcmp(a.strategy, "replace") && !a.dry_run) {
		snprintf(what, sizeof(what), "replace the contents of %s/%s with those of %s/%s, dropping every change made to %s/%s since the branch point",
			 t.pool.name, m.parent->name, t.pool.name, t.name, t.pool.name,
			 m.parent->name);
		r = confirm_destruction(a.yes, what);
		if (r)
			goto out;
	}
	merge_report_head(&t, &a, &m);
	if (!strcmp(a.strategy, "three_way") && m.conflicts) {
		r = merge_report(&t, &a, &m, MERGE_CONFLICTS);
	} else if (a.dry_run) {
		r = merge_report(&t, &a, &m, MERGE_DRY_RUN);
	} else {
		r = merge_run(&t, &a, &m);
		if (!r)
			r = merge_report(&t, &a, &m, MERGE_DONE);
		else if (a.json)
			printf("\"merged\": false}\n");	/* close what the head opened */
		/*
		 * The merge is done and said so: its exit status stands.  The
		 * preflight refused what it could; a delete that still fails
		 * is a warning with the command to finish it.
		 */
		if (!r && a.delete_child && delete_merged_child(&t, a.json))
			fprintf(stderr, "velactl: merge %s/%s: merged, but the child was not deleted (above): 'velactl delete %s/%s' deletes it\n",
				t.pool.name, t.name, t.pool.name, t.name);
	}
out:
	close_target(&t);
	return r;
}
