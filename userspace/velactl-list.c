// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-list.c: velactl list, the volumes and branches of the active
 * pools, of one pool or one branch, as a table, a tree or JSON.  The
 * fields are described once, in fields[]; rows come in the default order
 * (pools by name, then branch ids, or depth first under each volume with
 * --tree) and velactl-report.c sorts (-O), selects (-S) and prints them.
 *
 * A row is three pointers and a depth.  Each pool's branches are indexed
 * once, by id and by parent, so finding a parent or a branch's children is
 * a binary search: listing n branches costs O(n log n), not O(n^2).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vela-format.h"
#include "velactl.h"

enum {
	F_POOL, F_NAME, F_ID, F_PARENT, F_DEPTH, F_SIZE, F_PATH, F_ACTIVE, F_MAPPED,
	F_EXCLUSIVE, F_SHARED, F_USAGE_GEN, F_LIMIT, F_CTIME, F_OPEN, F_FSTYPE, F_ORIGIN,
	F_PROTECTED, F_AUTOACTIVATE, NR_FIELDS
};

static const struct report_field fields[] = {
	[F_POOL] = { "pool", "POOL", RT_STRING, "the pool" },
	[F_NAME] = { "name", "NAME", RT_STRING, "the volume's or branch's name" },
	[F_ID] = { "id", "ID", RT_NUMBER, "its id in the pool" },
	[F_PARENT] = { "parent", "PARENT", RT_STRING, "its parent (- for a volume)" },
	[F_DEPTH] = { "depth", "DEPTH", RT_NUMBER, "generations below its volume" },
	[F_SIZE] = { "size", "SIZE", RT_SIZE, "its size" },
	[F_PATH] = { "path", "PATH", RT_STRING, "its device, when active" },
	[F_ACTIVE] = { "active", "ACTIVE", RT_BOOL, "whether its device exists" },
	[F_MAPPED] = { "mapped", "MAPPED", RT_SIZE, "data it maps, now" },
	[F_EXCLUSIVE] = { "exclusive", "EXCLUSIVE", RT_SIZE,
			  "data it alone maps: what deleting it frees" },
	[F_SHARED] = { "shared", "SHARED", RT_SIZE, "data it shares with other branches" },
	[F_USAGE_GEN] = { "usage_gen", "USAGE_GEN", RT_NUMBER,
			  "the commit that exclusive and shared describe" },
	[F_LIMIT] = { "limit", "LIMIT", RT_SIZE, "the cap on its exclusive data" },
	[F_CTIME] = { "ctime", "CREATED", RT_TIME, "when it was created" },
	[F_OPEN] = { "open", "OPEN", RT_NUMBER, "how many hold its device open" },
	[F_FSTYPE] = { "fstype", "FSTYPE", RT_STRING, "the filesystem on it (libblkid)" },
	[F_ORIGIN] = { "origin", "ORIGIN", RT_STRING, "its external origin" },
	[F_PROTECTED] = { "protected", "PROTECTED", RT_BOOL, "whether it is read-only" },
	[F_AUTOACTIVATE] = { "autoactivate", "AUTOACTIVATE", RT_BOOL,
			     "whether activating the pool activates it" },
};

static const char *const default_fields = "pool,name,parent,size,exclusive,shared,open,path";

struct row {
	const struct pool *pool;
	const struct branch *b;
	const struct branch *parent;	/* NULL for a volume */
	unsigned int indent;		/* --tree */
};

struct rows {
	struct row *v;
	size_t n, cap;
};

/* --tree draws the lineage into the name column of text output. */
struct list_ctx {
	bool draw_tree;
};

static void get_field(const void *obj, unsigned int field, struct report_value *v, char *buf,
		      size_t len, void *arg)
{
	const struct list_ctx *ctx = arg;
	const struct row *row = obj;
	const struct branch *b = row->b;
	uint64_t block = (uint64_t)row->pool->block_sectors << 9;
	char path[PATH_MAX];

	switch (field) {
	case F_POOL:
		v->s = row->pool->name;
		break;
	case F_NAME:
		v->s = b->name;
		if (ctx->draw_tree) {
			snprintf(buf, len, "%*s%s%s", 2 * row->indent, "",
				 b->parent != VELA_NO_PARENT ? "`- " : "", b->name);
			v->s = buf;
			v->key = b->name;
		}
		break;
	case F_ID:
		v->n = b->id;
		break;
	case F_PARENT:
		v->null = !row->parent;
		v->s = row->parent ? row->parent->name : NULL;
		break;
	case F_DEPTH:
		v->n = b->depth;
		break;
	case F_SIZE:
		v->n = b->size_sectors << 9;
		break;
	case F_PATH:
		v->null = !b->active;
		if (b->active)
			branch_path(row->pool, b->name, buf, len);
		v->s = buf;
		break;
	case F_ACTIVE:
		v->n = b->active;
		break;
	case F_MAPPED:
		v->n = b->mapped * block;
		break;
	case F_EXCLUSIVE:
		v->n = b->exclusive * block;
		break;
	case F_SHARED:
		v->n = b->shared * block;
		break;
	case F_USAGE_GEN:
		v->n = b->usage_generation;
		break;
	case F_LIMIT:
		v->n = b->limit * block;
		v->null = !b->limit;
		break;
	case F_CTIME:
		v->n = b->ctime;
		break;
	case F_OPEN:
		v->n = b->active ? (uint64_t)b->open_count : 0;
		v->null = !b->active;
		break;
	case F_FSTYPE:
		if (b->active) {
			branch_path(row->pool, b->name, path, sizeof(path));
			probe_fs_type(path, buf, len);
		}
		v->s = buf;
		v->null = !buf[0];
		break;
	case F_ORIGIN:
		v->s = b->origin_id;
		v->null = !b->origin_id[0];
		break;
	case F_PROTECTED:
		v->n = !!(b->flags & VELA_BRANCH_READ_ONLY);
		break;
	case F_AUTOACTIVATE:
		v->n = !(b->flags & VELA_BRANCH_NO_AUTOACTIVATE);
		break;
	}
}

/* --- one pool's branches, indexed ----------------------------------------- */

struct index {
	const struct branch **by_id;		/* by id */
	const struct branch **by_parent;	/* by parent, then id */
	size_t n;
};

static int id_order(const void *a, const void *b)
{
	const struct branch *x = *(const struct branch *const *)a;
	const struct branch *y = *(const struct branch *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int parent_order(const void *a, const void *b)
{
	const struct branch *x = *(const struct branch *const *)a;
	const struct branch *y = *(const struct branch *const *)b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return id_order(a, b);
}

static int build_index(const struct branch_list *list, struct index *ix)
{
	size_t i;

	ix->n = list->n;
	ix->by_id = calloc(list->n + 1, sizeof(*ix->by_id));
	ix->by_parent = calloc(list->n + 1, sizeof(*ix->by_parent));
	if (!ix->by_id || !ix->by_parent)
		return -ENOMEM;
	for (i = 0; i < list->n; i++)
		ix->by_id[i] = ix->by_parent[i] = &list->v[i];
	qsort(ix->by_id, ix->n, sizeof(*ix->by_id), id_order);
	qsort(ix->by_parent, ix->n, sizeof(*ix->by_parent), parent_order);
	return 0;
}

static void free_index(struct index *ix)
{
	free(ix->by_id);
	free(ix->by_parent);
}

static const struct branch *lookup(const struct index *ix, uint64_t id)
{
	size_t lo = 0, hi = ix->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ix->by_id[mid]->id == id)
			return ix->by_id[mid];
		if (ix->by_id[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The first of @id's children in by_parent (the end when it has none). */
static size_t first_child(const struct index *ix, uint64_t id)
{
	size_t lo = 0, hi = ix->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ix->by_parent[mid]->parent < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* --- rows in the default order ------------------------------------------- */

static int add_row(struct rows *rows, const struct pool *p, const struct index *ix,
		   const struct branch *b, unsigned int indent)
{
	struct row *v = rows->v;

	if (rows->n == rows->cap) {
		v = reallocarray(v, rows->cap ? 2 * rows->cap : 256, sizeof(*v));
		if (!v)
			return -ENOMEM;
		rows->v = v;
		rows->cap = rows->cap ? 2 * rows->cap : 256;
	}
	v[rows->n++] = (struct row){ p, b, lookup(ix, b->parent), indent };
	return 0;
}

/* @root and its descendants, depth first, children in id order. */
static int add_subtree(struct rows *rows, const struct pool *p, const struct index *ix,
		       const struct branch *root)
{
	struct row *stack = calloc(ix->n + 1, sizeof(*stack));
	size_t depth = 0, i, first;
	struct row top;
	int r = 0;

	if (!stack)
		return -ENOMEM;
	stack[depth++] = (struct row){ p, root, NULL, 0 };
	while (!r && depth) {
		top = stack[--depth];
		r = add_row(rows, p, ix, top.b, top.indent);
		first = first_child(ix, top.b->id);
		/* pushed last to first, so the first child comes out first */
		for (i = first; i < ix->n && ix->by_parent[i]->parent == top.b->id; i++)
			;
		while (i > first && depth <= ix->n)
			stack[depth++] = (struct row){ p, ix->by_parent[--i], NULL, top.indent + 1 };
	}
	free(stack);
	return r;
}

/* Pool @p's rows, or those of branch @only (its subtree with --tree). */
static int add_pool_rows(struct rows *rows, const struct pool *p, const struct branch_list *list,
			 const struct index *ix, const char *only, bool tree)
{
	const struct branch *b;
	size_t i;
	int r = 0;

	if (only) {
		r = find_branch(p, list, only, &b);
		if (!r)
			r = tree ? add_subtree(rows, p, ix, b) : add_row(rows, p, ix, b, 0);
		return r < 0 ? fail(EXIT_FAILURE, "out of memory") : r;
	}
	for (i = 0; !r && i < ix->n; i++) {
		b = ix->by_id[i];
		if (!tree)
			r = add_row(rows, p, ix, b, 0);
		else if (b->parent == VELA_NO_PARENT || !lookup(ix, b->parent))
			r = add_subtree(rows, p, ix, b);
	}
	return r < 0 ? fail(EXIT_FAILURE, "out of memory") : r;
}

/* --- the command ----------------------------------------------------------- */

struct list_args {
	struct report_opts ro;
	bool tree;
	char pool[VELA_MAX_POOL_NAME + 1];
	const char *only;		/* POOL/NAME: the branch */
};

static int parse_list_args(int argc, char **argv, struct list_args *a)
{
	static const struct option options[] = {
		{ "tree", no_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "sort", required_argument, NULL, 'O' },
		{ "select", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "headerless", no_argument, NULL, 'H' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "units", required_argument, NULL, 'u' },
		{ "separator", required_argument, NULL, 's' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "nameprefixes", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	optind = 0;
	while ((opt = next_option(argc, argv, "to:O:S:jHb", options, "list")) != -1) {
		switch (opt) {
		case 't':
			a->tree = true;
			break;
		case 'o':
			a->ro.fields = optarg;
			break;
		case 'O':
			a->ro.sort = optarg;
			break;
		case 'S':
			a->ro.select = optarg;
			break;
		case 'j':
			a->ro.json = true;
			break;
		case 'H':
			a->ro.tabs = true;
			break;
		case 'b':
			a->ro.exact = true;
			break;
		case 'u':
			a->ro.units = optarg;
			break;
		case 's':
			a->ro.separator = optarg;
			break;
		case 'n':
			a->ro.noheadings = true;
			break;
		case 'p':
			a->ro.nameprefixes = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		usage_error("list: at most one POOL or POOL/NAME");
		return EXIT_USAGE;
	}
	if (a->tree && a->ro.sort) {
		usage_error("list: --tree keeps each branch under its parent: -O does not apply");
		return EXIT_USAGE;
	}
	if (optind < argc && strchr(argv[optind], '/'))
		return split_pool_branch(argv[optind], a->pool, sizeof(a->pool), &a->only);
	if (optind < argc && !valid_pool_name(argv[optind])) {
		usage_error("list: invalid pool name '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (optind < argc)
		snprintf(a->pool, sizeof(a->pool), "%s", argv[optind]);
	return 0;
}

/* The pools to list: POOL (it must be active), or every pool, by name. */
static int list_pools(const struct list_args *a, struct pool **pools, size_t *n)
{
	int r;

	*n = 0;
	if (!a->pool[0]) {
		if (scan_pools(pools, n, NULL, NULL))
			return fail(EXIT_FAILURE, "cannot scan block devices for pools");
		report_sort_pools(*pools, *n);
		return 0;
	}
	*pools = calloc(1, sizeof(**pools));
	if (!*pools)
		return fail(EXIT_FAILURE, "out of memory");
	r = find_pool(a->pool, *pools);
	if (!r && !(*pools)->active)
		r = fail(EXIT_FAILURE, "pool '%s' is not active: run 'velactl activate %s'",
			 a->pool, a->pool);
	*n = !r;
	return r;
}

static int output(struct report *rep, bool json)
{
	int r;

	if (!json)
		return report_print(rep);
	printf("{\"schema\": %d, \"branches\": ", JSON_SCHEMA);
	r = report_json(rep);
	printf("}\n");
	return r;
}

int cmd_list(int argc, char **argv)
{
	struct list_args a = { 0 };
	struct list_ctx ctx = { false };
	struct branch_list *lists = NULL;
	struct index *ix = NULL;
	struct pool *pools = NULL;
	struct report *rep = NULL;
	struct rows rows = { 0 };
	size_t n = 0, i;
	int r, unreadable, failed = 0;

	r = parse_list_args(argc, argv, &a);
	if (r)
		return r;
	ctx.draw_tree = a.tree && !a.ro.json && !a.ro.nameprefixes;
	r = report_open(&rep, "list", fields, NR_FIELDS, default_fields, &a.ro, get_field, &ctx);
	if (r || !rep)
		return r;
	r = check_kernel();
	if (!r)
		r = list_pools(&a, &pools, &n);
	lists = calloc(n + 1, sizeof(*lists));
	ix = calloc(n + 1, sizeof(*ix));
	if (!r && (!lists || !ix))
		r = fail(EXIT_FAILURE, "out of memory");
	for (i = 0; !r && i < n; i++) {
		if (!pools[i].active)
			continue;
		/*
		 * A pool whose table cannot be read is reported (printed) and
		 * sets the exit status; the other pools are still listed.
		 */
		unreadable = load_branches(&pools[i], &lists[i]);
		if (unreadable) {
			failed = failed ? failed : unreadable;
			continue;
		}
		if (build_index(&lists[i], &ix[i]))
			r = fail(EXIT_FAILURE, "out of memory");
		if (!r)
			r = add_pool_rows(&rows, &pools[i], &lists[i], &ix[i], a.only, a.tree);
	}
	/* the rows stay put from here on: the report may keep pointers to them */
	for (i = 0; !r && i < rows.n; i++)
		r = report_add(rep, &rows.v[i]);
	if (!r)
		r = output(rep, a.ro.json);
	for (i = 0; i < n; i++) {
		if (!pools[i].active && !a.ro.json)
			fprintf(stderr, "velactl: pool '%s' is not active: 'velactl activate %s' lists its branches\n",
				pools[i].name, pools[i].name);
		if (lists)
			free_branch_list(&lists[i]);
		if (ix)
			free_index(&ix[i]);
	}
	report_close(rep);
	free(rows.v);
	free(ix);
	free(lists);
	free(pools);
	return r ? r : failed;
}
