// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-list.c: velactl list, the volumes and branches of the active
 * pools as a table, a tree or JSON.  A field table names what can be shown;
 * each row (a branch, in id order or depth first under each volume with
 * --tree) is filled cell by cell, then printed with its columns aligned.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vela-format.h"
#include "velactl.h"

enum field_kind { F_TEXT, F_NUMBER, F_BYTES, F_BOOL, F_TIME };

struct field {
	const char *name;
	const char *heading;
	enum field_kind kind;
};

static const struct field fields[] = {
	{ "pool", "POOL", F_TEXT },
	{ "name", "NAME", F_TEXT },
	{ "id", "ID", F_NUMBER },
	{ "parent", "PARENT", F_TEXT },
	{ "depth", "DEPTH", F_NUMBER },
	{ "size", "SIZE", F_BYTES },
	{ "path", "PATH", F_TEXT },
	{ "active", "ACTIVE", F_BOOL },
	{ "mapped", "MAPPED", F_BYTES },
	{ "exclusive", "EXCLUSIVE", F_BYTES },
	{ "shared", "SHARED", F_BYTES },
	{ "usage_gen", "USAGE_GEN", F_NUMBER },
	{ "limit", "LIMIT", F_BYTES },
	{ "ctime", "CREATED", F_TIME },
	{ "open", "OPEN", F_NUMBER },
	{ "fstype", "FSTYPE", F_TEXT },
	{ "origin", "ORIGIN", F_TEXT },
	{ "protected", "PROTECTED", F_BOOL },
	{ "autoactivate", "AUTOACTIVATE", F_BOOL },
};

#define NR_FIELDS	ARRAY_SIZE(fields)
static const char *const default_fields = "pool,name,parent,size,exclusive,shared,open,path";

struct list_opts {
	bool tree, json, headerless, exact;
	int selected[NR_FIELDS];
	size_t nr_selected;
};

static int select_fields(const char *spec, struct list_opts *o)
{
	char *copy = strdup(spec), *tok, *save;
	size_t i;

	if (!copy)
		return -ENOMEM;
	o->nr_selected = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < NR_FIELDS; i++)
			if (!strcmp(tok, fields[i].name))
				break;
		if (i == NR_FIELDS) {
			usage_error("list: unknown field '%s' (see 'velactl help list')", tok);
			free(copy);
			return -EINVAL;
		}
		if (o->nr_selected == NR_FIELDS) {
			usage_error("list: at most %zu fields", NR_FIELDS);
			free(copy);
			return -EINVAL;
		}
		o->selected[o->nr_selected++] = i;
	}
	free(copy);
	if (!o->nr_selected)
		usage_error("list: -o wants a comma-separated list of fields");
	return o->nr_selected ? 0 : -EINVAL;
}

/* One cell: @text for text output, @number and @is_null for JSON. */
struct cell {
	char text[PATH_MAX];
	uint64_t number;
	bool is_number, is_bool, is_null;
};

static void fill_cell(const struct pool *p, const struct branch_list *list,
		      const struct branch *b, const struct field *f, const struct list_opts *o,
		      unsigned int indent, struct cell *c)
{
	uint64_t block = (uint64_t)p->block_sectors << 9;
	char path[PATH_MAX];
	const struct branch *parent;
	struct tm tm;
	time_t t;

	memset(c, 0, sizeof(*c));
	c->is_number = f->kind == F_NUMBER || f->kind == F_BYTES || f->kind == F_TIME;
	c->is_bool = f->kind == F_BOOL;
	if (!strcmp(f->name, "pool")) {
		snprintf(c->text, sizeof(c->text), "%s", p->name);
	} else if (!strcmp(f->name, "name")) {
		snprintf(c->text, sizeof(c->text), "%*s%s%s", o->tree ? 2 * indent : 0, "",
			 o->tree && b->parent != VELA_NO_PARENT ? "`- " : "", b->name);
		if (o->json)
			snprintf(c->text, sizeof(c->text), "%s", b->name);
	} else if (!strcmp(f->name, "id")) {
		c->number = b->id;
	} else if (!strcmp(f->name, "parent")) {
		parent = branch_by_id(list, b->parent);
		c->is_null = !parent;
		snprintf(c->text, sizeof(c->text), "%s", parent ? parent->name : "-");
	} else if (!strcmp(f->name, "depth")) {
		c->number = b->depth;
	} else if (!strcmp(f->name, "size")) {
		c->number = b->size_sectors << 9;
	} else if (!strcmp(f->name, "path")) {
		c->is_null = !b->active;
		if (b->active)
			branch_path(p, b->name, c->text, sizeof(c->text));
	} else if (!strcmp(f->name, "active")) {
		c->number = b->active;
	} else if (!strcmp(f->name, "mapped")) {
		c->number = b->mapped * block;
	} else if (!strcmp(f->name, "exclusive")) {
		c->number = b->exclusive * block;
	} else if (!strcmp(f->name, "shared")) {
		c->number = b->shared * block;
	} else if (!strcmp(f->name, "usage_gen")) {
		c->number = b->usage_generation;
	} else if (!strcmp(f->name, "limit")) {
		c->number = b->limit * block;
		c->is_null = !b->limit;
	} else if (!strcmp(f->name, "ctime")) {
		c->number = b->ctime;
		t = (time_t)b->ctime;
		gmtime_r(&t, &tm);
		strftime(c->text, sizeof(c->text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	} else if (!strcmp(f->name, "open")) {
		c->number = b->active ? (uint64_t)b->open_count : 0;
		c->is_null = !b->active;
	} else if (!strcmp(f->name, "fstype")) {
		if (b->active) {
			branch_path(p, b->name, path, sizeof(path));
			probe_fs_type(path, c->text, sizeof(c->text));
		}
		c->is_null = !c->text[0];
	} else if (!strcmp(f->name, "origin")) {
		snprintf(c->text, sizeof(c->text), "%s", b->origin_id);
		c->is_null = !c->text[0];
	} else if (!strcmp(f->name, "protected")) {
		c->number = !!(b->flags & VELA_BRANCH_READ_ONLY);
	} else if (!strcmp(f->name, "autoactivate")) {
		c->number = !(b->flags & VELA_BRANCH_NO_AUTOACTIVATE);
	}
	if (c->is_bool)
		snprintf(c->text, sizeof(c->text), "%s", c->number ? "yes" : "no");
	else if (f->kind == F_NUMBER && !c->is_null)
		snprintf(c->text, sizeof(c->text), "%" PRIu64, c->number);
	else if (f->kind == F_BYTES && !c->is_null)
		format_size(c->number, o->exact, c->text, sizeof(c->text));
	if (c->is_null && !o->json && !c->text[0])
		snprintf(c->text, sizeof(c->text), "-");
}

/* Rows in display order: by id, or depth first under each volume with --tree. */
struct row {
	const struct pool *pool;
	const struct branch_list *list;
	const struct branch *b;
	unsigned int indent;
};

struct rows {
	struct row *v;
	size_t n;
};

static int add_row(struct rows *rows, const struct pool *p, const struct branch_list *list,
		   const struct branch *b, unsigned int indent)
{
	struct row *v = realloc(rows->v, (rows->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	rows->v = v;
	v[rows->n++] = (struct row){ p, list, b, indent };
	return 0;
}

static int add_subtree(struct rows *rows, const struct pool *p, const struct branch_list *list,
		       const struct branch *b, unsigned int indent)
{
	size_t i;
	int r = add_row(rows, p, list, b, indent);

	for (i = 0; !r && i < list->n; i++)
		if (list->v[i].parent == b->id)
			r = add_subtree(rows, p, list, &list->v[i], indent + 1);
	return r;
}

static int add_pool_rows(struct rows *rows, const struct pool *p, const struct branch_list *list,
			 bool tree)
{
	size_t i;
	int r = 0;

	for (i = 0; !r && i < list->n; i++) {
		if (!tree)
			r = add_row(rows, p, list, &list->v[i], 0);
		else if (!branch_by_id(list, list->v[i].parent))
			r = add_subtree(rows, p, list, &list->v[i], 0);
	}
	return r;
}

static void print_rows(const struct rows *rows, const struct list_opts *o)
{
	size_t i, j, width[NR_FIELDS] = { 0 }, len;
	struct cell *cells = calloc(rows->n * o->nr_selected + 1, sizeof(*cells));
	const struct field *f;
	struct cell *c;

	if (!cells) {
		fail(EXIT_FAILURE, "out of memory");
		return;
	}
	for (i = 0; i < rows->n; i++)
		for (j = 0; j < o->nr_selected; j++)
			fill_cell(rows->v[i].pool, rows->v[i].list, rows->v[i].b,
				  &fields[o->selected[j]], o, rows->v[i].indent,
				  &cells[i * o->nr_selected + j]);
	if (o->json) {
		printf("{\"schema\": %d, \"branches\": [", JSON_SCHEMA);
		for (i = 0; i < rows->n; i++) {
			printf("%s\n  {", i ? "," : "");
			for (j = 0; j < o->nr_selected; j++) {
				f = &fields[o->selected[j]];
				c = &cells[i * o->nr_selected + j];
				printf("%s\"%s\": ", j ? ", " : "", f->name);
				if (c->is_null)
					printf("null");
				else if (c->is_bool)
					printf("%s", c->number ? "true" : "false");
				else if (c->is_number)
					printf("%" PRIu64, c->number);
				else
					json_string(c->text);
			}
			putchar('}');
		}
		printf("%s]}\n", rows->n ? "\n" : "");
		free(cells);
		return;
	}
	for (j = 0; j < o->nr_selected; j++) {
		width[j] = strlen(fields[o->selected[j]].heading);
		for (i = 0; i < rows->n; i++) {
			len = strlen(cells[i * o->nr_selected + j].text);
			if (len > width[j])
				width[j] = len;
		}
	}
	if (!o->headerless) {
		for (j = 0; j < o->nr_selected; j++)
			printf("%s%-*s", j ? "  " : "",
			       j + 1 < o->nr_selected ? (int)width[j] : 0,
			       fields[o->selected[j]].heading);
		putchar('\n');
	}
	for (i = 0; i < rows->n; i++) {
		for (j = 0; j < o->nr_selected; j++) {
			c = &cells[i * o->nr_selected + j];
			if (o->headerless)
				printf("%s%s", j ? "\t" : "", c->text);
			else
				printf("%s%-*s", j ? "  " : "",
				       j + 1 < o->nr_selected ? (int)width[j] : 0, c->text);
		}
		putchar('\n');
	}
	free(cells);
}

int cmd_list(int argc, char **argv)
{
	static const struct option options[] = {
		{ "tree", no_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "headerless", no_argument, NULL, 'H' },
		{ "bytes", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 }
	};
	struct list_opts o = { 0 };
	struct branch_list *lists = NULL;
	struct pool *pools = NULL;
	struct rows rows = { 0 };
	size_t n = 0, i;
	int opt, r;

	select_fields(default_fields, &o);
	optind = 0;
	while ((opt = next_option(argc, argv, "to:jHb", options, "list")) != -1) {
		switch (opt) {
		case 't':
			o.tree = true;
			break;
		case 'o':
			if (select_fields(optarg, &o))
				return EXIT_USAGE;
			break;
		case 'j':
			o.json = true;
			break;
		case 'H':
			o.headerless = true;
			break;
		case 'b':
			o.exact = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (o.json)
		o.exact = true;
	if (argc - optind > 1) {
		usage_error("list: at most one POOL");
		return EXIT_USAGE;
	}
	if (optind < argc && !valid_pool_name(argv[optind])) {
		usage_error("list: invalid pool name '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	r = check_kernel();
	if (r)
		return r;
	if (optind < argc) {
		pools = calloc(1, sizeof(*pools));
		if (!pools)
			return fail(EXIT_FAILURE, "out of memory");
		r = find_pool(argv[optind], pools);
		if (r) {
			free(pools);
			return r;
		}
		n = 1;
		if (!pools->active) {
			free(pools);
			return fail(EXIT_FAILURE, "pool '%s' is not active: run 'velactl activate %s'",
				    argv[optind], argv[optind]);
		}
	} else if (scan_pools(&pools, &n, NULL, NULL)) {
		return fail(EXIT_FAILURE, "cannot scan block devices for pools");
	}
	lists = calloc(n + 1, sizeof(*lists));
	if (!lists) {
		free(pools);
		return fail(EXIT_FAILURE, "out of memory");
	}
	for (i = 0; !r && i < n; i++) {
		if (!pools[i].active)
			continue;
		r = load_branches(&pools[i], &lists[i]);
		if (!r)
			r = add_pool_rows(&rows, &pools[i], &lists[i], o.tree);
	}
	if (!r)
		print_rows(&rows, &o);
	for (i = 0; i < n; i++) {
		if (!pools[i].active && !o.json)
			fprintf(stderr, "velactl: pool '%s' is not active: 'velactl activate %s' lists its branches\n",
				pools[i].name, pools[i].name);
		free_branch_list(&lists[i]);
	}
	free(rows.v);
	free(lists);
	free(pools);
	return r;
}
