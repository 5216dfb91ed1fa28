// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-pool.c: the commands on whole pools: init, activate, deactivate,
 * scan, status and extend.  A pool is found and locked through
 * velactl-dm.c; init formats it through velactl-meta.c first.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vela-format.h"
#include "velactl.h"

static void print_device_path(const struct pool *p, const char *name)
{
	char path[PATH_MAX];

	branch_path(p, name, path, sizeof(path));
	printf("%s\n", path);
}

/* --- init ---------------------------------------------------------------- */

int cmd_init(int argc, char **argv)
{
	static const struct option options[] = {
		{ "metadata", required_argument, NULL, 'm' },
		{ "data", required_argument, NULL, 'd' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	const char *meta = NULL, *data = NULL, *name;
	uint64_t block_bytes = 64 << 10;
	struct claim mc, dc;
	bool force = false;
	struct pool p;
	int opt, r;

	optind = 0;
	while ((opt = next_option(argc, argv, "m:d:b:f", options, "init")) != -1) {
		switch (opt) {
		case 'm':
			meta = optarg;
			break;
		case 'd':
			data = optarg;
			break;
		case 'b':
			if (parse_block_size(optarg, &block_bytes)) {
				usage_error("init: --block-size %s: want a power of two from 4k to 1m",
					    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f':
			force = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !meta || !data) {
		usage_error("init: want POOL --metadata DEV --data DEV");
		return EXIT_USAGE;
	}
	name = argv[optind];
	if (!valid_pool_name(name)) {
		usage_error("init: invalid pool name '%s'\n%s", name, name_rules_help);
		return EXIT_USAGE;
	}
	r = open_claim(&mc, "metadata", meta, false);
	if (!r)
		r = open_claim(&dc, "data", data, false);
	if (!r)
		r = refuse_overlap(&mc, &dc, "a pool needs two devices apart");
	if (r)
		return r;
	r = check_kernel();
	if (r)
		return r;
	/* Two inits of one name queue here, and the second finds the first's pool. */
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name);
	r = lock_pool(&p);
	if (r)
		return r;
	r = lookup_pool(name, &p);
	if (r == 0)
		return fail(EXIT_EXISTS, "init: a pool named '%s' exists (metadata on %s): pick another name",
			    name, p.meta_path);
	if (r != -ENOENT)
		return EXIT_FAILURE;
	/* A device a process has open (a database on a raw device, a dd) is refused too. */
	r = format_pool(&mc, &dc, name, block_bytes, force, true);
	if (r)
		return r;
	r = find_pool(name, &p);
	if (!r)
		r = activate_pool(&p);
	if (r)
		return fail(r, "init: pool '%s' is formatted but not active: fix the above, then run 'velactl activate %s'",
			    name, name);
	printf("pool %s: metadata %s, data %s, %" PRIu64 " KiB blocks: active\n", name, meta, data,
	       block_bytes >> 10);
	return 0;
}

/* --- activate, deactivate ------------------------------------------------ */

/* Activate pool @p and its autoactivating branches (or only @only). */
static int activate_one_pool(struct pool *p, const char *only)
{
	struct branch_list list;
	const struct branch *b;
	int r, failed = 0;
	size_t i, made = 0;

	r = activate_pool(p);
	if (r)
		return r;
	/*
	 * Whatever a killed velactl left half done on this pool, finish it.
	 * A step that fails is reported and does not stop the activation:
	 * a degraded pool's volumes are what a rescue needs.
	 */
	if (resume_left_suspended(p, false) | clear_stale_view(p, false, false))
		failed++;
	clear_left_cookies();
	r = load_branch_table(p, &list);
	if (r)
		return r;
	if (finish_renames(p, &list))
		failed++;
	branch_device_state(p, &list);
	if (only) {
		r = find_branch(p, &list, only, &b);
		if (!r && !b->active) {
			r = activate_branch(p, b);
			r = r == -ENOENT ? EXIT_NOT_FOUND : r ? EXIT_FAILURE : 0;
		}
		if (!r)
			print_device_path(p, only);
		free_branch_list(&list);
		return r;
	}
	for (i = 0; i < list.n; i++) {
		b = &list.v[i];
		if (b->active || (b->flags & (VELA_BRANCH_NO_AUTOACTIVATE | VELA_BRANCH_CREATING |
					      VELA_BRANCH_DELETING)))
			continue;
		if (activate_branch(p, b))
			failed++;
		else
			made++;
	}
	printf("pool %s: active, %zu device%s activated%s\n", p->name, made, made == 1 ? "" : "s",
	       failed ? " (some failed: see above)" : "");
	free_branch_list(&list);
	return failed ? EXIT_FAILURE : 0;
}

static int deactivate_one_pool(struct pool *p, const char *only)
{
	struct branch_list list;
	const struct branch *b;
	size_t i;
	int r;

	if (!p->active)
		return only ? fail(EXIT_FAILURE, "pool '%s' is not active", p->name) : 0;
	r = load_branch_table(p, &list);
	if (r)
		return r;
	if (only) {
		r = find_branch(p, &list, only, &b);
		if (!r && b->active) {
			r = deactivate_branch(p, b);
			r = r == -EBUSY ? EXIT_BUSY : r ? EXIT_FAILURE : 0;
		}
		if (!r)
			printf("%s/%s: inactive\n", p->name, only);
		free_branch_list(&list);
		return r;
	}
	for (i = 0; i < list.n; i++) {
		b = &list.v[i];
		if (branch_is_open(b)) {
			fail(EXIT_BUSY, "deactivate %s: %s/%s is open (mounted or in use): close it first; nothing was deactivated",
			     p->name, p->name, b->name);
			free_branch_list(&list);
			return EXIT_BUSY;
		}
	}
	for (i = 0; !r && i < list.n; i++)
		if (list.v[i].active && deactivate_branch(p, &list.v[i]))
			r = EXIT_BUSY;
	free_branch_list(&list);
	if (!r && deactivate_pool(p))
		r = fail(EXIT_BUSY, "deactivate %s: the pool device %s could not be removed: is something holding it open?",
			 p->name, p->dm_name);
	if (!r)
		printf("pool %s: inactive\n", p->name);
	return r;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Pool @name, locked, then found (so activate sees what a deactivate that
 * held the lock before it left), handed to @one; the lock is dropped after,
 * so --all never holds one pool's lock while it works on another.
 */
static int one_pool_locked(const char *name, const char *only,
			   int (*one)(struct pool *p, const char *only))
{
	struct pool p = { .lock_fd = -1 };
	int r;

	r = open_pool(name, &p, true);
	if (!r)
		r = one(&p, only);
	unlock_pool(&p);
	return r;
}

/*
 * activate and deactivate: "POOL", "POOL/NAME" or "--all" (every pool found
 * by scanning, by name in sorted order), each pool handed to @one with the
 * branch name or NULL.
 */
static int for_pools(int argc, char **argv, const char *command,
		     int (*one)(struct pool *p, const char *only))
{
	static const struct option options[] = {
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	char pool_name[VELA_MAX_POOL_NAME + 1];
	const char *only = NULL;
	struct pool *pools;
	const char **names;
	bool all = false;
	size_t n, i;
	int opt, r, worst = 0;

	optind = 0;
	while ((opt = next_option(argc, argv, "a", options, command)) != -1) {
		if (opt != 'a')
			return EXIT_USAGE;
		all = true;
	}
	if ((all && optind != argc) || (!all && optind != argc - 1)) {
		usage_error("%s: want POOL, POOL/NAME or --all", command);
		return EXIT_USAGE;
	}
	if (!all) {
		if (strchr(argv[optind], '/')) {
			r = split_pool_branch(argv[optind], pool_name, sizeof(pool_name), &only);
		} else if (!valid_pool_name(argv[optind])) {
			usage_error("%s: invalid pool name '%s'", command, argv[optind]);
			r = EXIT_USAGE;
		} else {
			snprintf(pool_name, sizeof(pool_name), "%s", argv[optind]);
			r = 0;
		}
		return r ? r : one_pool_locked(pool_name, only, one);
	}
	r = check_kernel();
	if (r)
		return r;
	if (scan_pools(&pools, &n, NULL, NULL))
		return fail(EXIT_FAILURE, "cannot scan block devices for pools");
	names = calloc(n ? n : 1, sizeof(*names));
	if (!names) {
		free(pools);
		return fail(EXIT_FAILURE, "%s: out of memory", command);
	}
	for (i = 0; i < n; i++)
		names[i] = pools[i].name;
	qsort(names, n, sizeof(*names), compare_names);
	for (i = 0; i < n; i++) {
		/* Two pools of one name: one refusal (find_pool says why), not two. */
		if (i && !strcmp(names[i], names[i - 1]))
			continue;
		r = one_pool_locked(names[i], NULL, one);
		if (r && !worst)
			worst = r;
	}
	if (!n)
		printf("no pools found\n");
	free(names);
	free(pools);
	return worst;
}

int cmd_activate(int argc, char **argv)
{
	return for_pools(argc, argv, "activate", activate_one_pool);
}

int cmd_deactivate(int argc, char **argv)
{
	return for_pools(argc, argv, "deactivate", deactivate_one_pool);
}

/* --- scan, status, extend ------------------------------------------------ */

/* The pool UUID as dump prints it: 8-4-4-4-12 hex digits. */
static const char *dashed_uuid(const char *hex, char *buf, size_t len)
{
	snprintf(buf, len, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
		 hex + 20);
	return buf;
}

static bool json_flag(int argc, char **argv, const char *command, int *r)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	bool json = false;
	int opt;

	*r = 0;
	optind = 0;
	while ((opt = next_option(argc, argv, "", options, command)) != -1) {
		if (opt != 'j') {
			*r = EXIT_USAGE;
			return false;
		}
		json = true;
	}
	return json;
}

/* scan's table: one row a pool, through the report engine. */
enum { S_POOL, S_STATE, S_METADATA, S_DATA, S_UUID, NR_SCAN_FIELDS };

static const struct report_field scan_fields[] = {
	[S_POOL] = { "pool", "POOL", RT_STRING, "the pool's name" },
	[S_STATE] = { "state", "STATE", RT_STRING, "active or inactive" },
	[S_METADATA] = { "metadata", "METADATA", RT_STRING, "its metadata device" },
	[S_DATA] = { "data", "DATA", RT_STRING, "its data device" },
	[S_UUID] = { "uuid", "UUID", RT_STRING, "its UUID" },
};

static void get_scan_field(const void *obj, unsigned int field, struct report_value *v,
			   char *buf, size_t len, void *arg)
{
	const struct pool *p = obj;

	(void)arg;
	switch (field) {
	case S_POOL:
		v->s = p->name;
		break;
	case S_STATE:
		v->s = p->active ? "active" : "inactive";
		break;
	case S_METADATA:
		v->s = p->meta_path;
		break;
	case S_DATA:
		v->s = p->data_path[0] ? p->data_path : "(missing)";
		break;
	case S_UUID:
		v->s = dashed_uuid(p->uuid, buf, len);
		break;
	}
}

static int print_scan_table(const struct pool *pools, size_t n)
{
	struct report_opts ro = { 0 };
	struct report *rep;
	size_t i;
	int r;

	r = report_open(&rep, "scan", scan_fields, NR_SCAN_FIELDS, "pool,state,metadata,data,uuid",
			&ro, get_scan_field, NULL);
	for (i = 0; !r && i < n; i++)
		r = report_add(rep, &pools[i]);
	if (!r)
		r = report_print(rep);
	report_close(rep);
	return r;
}

static void print_scan_json(const struct pool *pools, size_t n, const struct scan_reject *rejects,
			    size_t n_rejects)
{
	char uuid[40];
	size_t i;

	printf("{\"schema\": %d, \"pools\": [", JSON_SCHEMA);
	for (i = 0; i < n; i++) {
		printf("%s\n  {\"name\": ", i ? "," : "");
		json_string(pools[i].name);
		printf(", \"uuid\": ");
		json_string(dashed_uuid(pools[i].uuid, uuid, sizeof(uuid)));
		printf(", \"active\": %s, \"metadata\": ", pools[i].active ? "true" : "false");
		json_string(pools[i].meta_path);
		printf(", \"data\": ");
		if (pools[i].data_path[0])
			json_string(pools[i].data_path);
		else
			printf("null");
		printf(", \"block_size\": %u}", pools[i].block_sectors << 9);
	}
	printf("%s], \"not_pools\": [", n ? "\n" : "");
	for (i = 0; i < n_rejects; i++) {
		printf("%s\n  {\"device\": ", i ? "," : "");
		json_string(rejects[i].path);
		printf(", \"why\": ");
		json_string(rejects[i].why);
		printf("}");
	}
	printf("%s]}\n", n_rejects ? "\n" : "");
}

int cmd_scan(int argc, char **argv)
{
	struct scan_reject *rejects;
	struct pool *pools;
	size_t n, n_rejects, i;
	bool json;
	int r;

	json = json_flag(argc, argv, "scan", &r);
	if (r)
		return r;
	if (optind != argc) {
		usage_error("scan takes no arguments");
		return EXIT_USAGE;
	}
	if (scan_pools(&pools, &n, &rejects, &n_rejects))
		return fail(EXIT_FAILURE, "cannot scan block devices for pools");
	report_sort_pools(pools, n);
	if (json) {
		print_scan_json(pools, n, rejects, n_rejects);
	} else {
		r = print_scan_table(pools, n);
		/* On stderr: the table stays one pool a row for scripts. */
		for (i = 0; i < n_rejects; i++)
			fprintf(stderr, "velactl: %s: not a pool: %s\n", rejects[i].path,
				rejects[i].why);
	}
	free(rejects);
	free(pools);
	return r;
}

/*
 * status: a record, a line a field, through the report engine.  Its values
 * are sentences ("1.0GiB of 2.0GiB (50.0%)"), so they are strings.
 */
enum {
	T_POOL, T_UUID, T_METADATA, T_DATA, T_BLOCK, T_MODE, T_NEEDS_CHECK, T_TRANSACTION,
	T_DATA_USED, T_META_USED, T_BRANCHES, T_WHEN_FULL, T_DISCARDS, T_HELD, NR_STATUS_FIELDS
};

static const struct report_field status_fields[] = {
	[T_POOL] = { "pool", "pool:", RT_STRING, "" },
	[T_UUID] = { "uuid", "uuid:", RT_STRING, "" },
	[T_METADATA] = { "metadata", "metadata device:", RT_STRING, "" },
	[T_DATA] = { "data", "data device:", RT_STRING, "" },
	[T_BLOCK] = { "block_size", "block size:", RT_STRING, "" },
	[T_MODE] = { "mode", "mode:", RT_STRING, "" },
	[T_NEEDS_CHECK] = { "needs_check", "needs_check:", RT_STRING, "" },
	[T_TRANSACTION] = { "transaction_id", "transaction id:", RT_STRING, "" },
	[T_DATA_USED] = { "data_used", "data used:", RT_STRING, "" },
	[T_META_USED] = { "metadata_used", "metadata used:", RT_STRING, "" },
	[T_BRANCHES] = { "branches", "branches:", RT_STRING, "" },
	[T_WHEN_FULL] = { "when_full", "when full:", RT_STRING, "" },
	[T_DISCARDS] = { "discards", "discards:", RT_STRING, "" },
	[T_HELD] = { "held_view", "held view:", RT_STRING, "" },
};

struct status_row {
	const struct pool *p;
	const struct pool_status *st;
};

/* "1.0GiB of 2.0GiB (50.0%)" */
static const char *used_of(char *buf, size_t len, uint64_t used, uint64_t total, uint64_t unit)
{
	char a[32], b[32];

	snprintf(buf, len, "%s of %s (%.1f%%)", format_size(used * unit, false, a, sizeof(a)),
		 format_size(total * unit, false, b, sizeof(b)),
		 total ? 100.0 * used / total : 0.0);
	return buf;
}

static void get_status_field(const void *obj, unsigned int field, struct report_value *v,
			     char *buf, size_t len, void *arg)
{
	const struct status_row *row = obj;
	const struct pool_status *st = row->st;
	const struct pool *p = row->p;
	uint64_t block = (uint64_t)p->block_sectors << 9;

	(void)arg;
	v->s = buf;
	switch (field) {
	case T_POOL:
		v->s = p->name;
		break;
	case T_UUID:
		dashed_uuid(p->uuid, buf, len);
		break;
	case T_METADATA:
		v->s = p->meta_path;
		break;
	case T_DATA:
		v->s = p->data_path[0] ? p->data_path : "(missing)";
		break;
	case T_BLOCK:
		format_size(block, false, buf, len);
		break;
	case T_MODE:
		if (p->active)
			v->s = st->mode;
		else
			snprintf(buf, len, "inactive ('velactl activate %s')", p->name);
		break;
	case T_NEEDS_CHECK:
		v->s = strcmp(st->needs_check, "-") ?
		       "yes: deactivate and run 'velactl check --clear-needs-check'" : "no";
		break;
	case T_TRANSACTION:
		snprintf(buf, len, "%" PRIu64 " (commit generation %" PRIu64 ")", st->change_id,
			 st->generation);
		break;
	case T_DATA_USED:
		used_of(buf, len, st->data_used, st->data_total, block);
		break;
	case T_META_USED:
		used_of(buf, len, st->meta_used, st->meta_total, 4096);
		break;
	case T_BRANCHES:
		snprintf(buf, len, "%" PRIu64 " (%" PRIu64 " deletes pending reclaim)", st->branches,
			 st->pending_deletes);
		break;
	case T_WHEN_FULL:
		v->s = strcmp(st->space_policy, "error_if_no_space") ? "queue writes" : "fail writes";
		break;
	case T_DISCARDS:
		v->s = strcmp(st->discard, "discard_passdown") ? "not passed down" : "passed down";
		break;
	case T_HELD:
		if (strcmp(st->held_root, "-"))
			snprintf(buf, len, "%s (held by %s)", st->held_root, st->held_by);
		else
			v->s = "none";
		break;
	}
}

static int print_status_record(const struct pool *p, const struct pool_status *st)
{
	struct report_opts ro = { .record = true };
	struct status_row row = { p, st };
	struct report *rep;
	int r;

	r = report_open(&rep, "status", status_fields, NR_STATUS_FIELDS,
			p->active ? "pool,uuid,metadata,data,block_size,mode,needs_check,transaction_id,data_used,metadata_used,branches,when_full,discards,held_view" :
			"pool,uuid,metadata,data,block_size,mode", &ro, get_status_field, NULL);
	if (!r)
		r = report_add(rep, &row);
	if (!r)
		r = report_print(rep);
	report_close(rep);
	return r;
}

/* The root block of the held view, when the status line names one. */
static bool held_root(const struct pool_status *st, uint64_t *root)
{
	char *end;

	if (!isdigit((unsigned char)st->held_root[0]))
		return false;
	errno = 0;
	*root = strtoull(st->held_root, &end, 10);
	return !errno && !*end;
}

static int print_status(const struct pool *p, bool json)
{
	struct pool_status st = { 0 };
	uint64_t block = (uint64_t)p->block_sectors << 9, root;
	char uuid[40];
	int r = 0;

	if (p->active) {
		r = pool_status(p, &st);
		if (r)
			return fail(EXIT_FAILURE, "pool '%s': cannot read its status: %s", p->name,
				    strerror(-r));
	}
	if (!json)
		return print_status_record(p, &st);
	printf("{\"schema\": %d, \"name\": ", JSON_SCHEMA);
	json_string(p->name);
	printf(", \"uuid\": ");
	json_string(dashed_uuid(p->uuid, uuid, sizeof(uuid)));
	printf(", \"active\": %s, \"metadata_device\": ", p->active ? "true" : "false");
	json_string(p->meta_path);
	printf(", \"data_device\": ");
	if (p->data_path[0])
		json_string(p->data_path);
	else
		printf("null");
	printf(", \"block_size\": %" PRIu64, block);
	if (p->active) {
		printf(", \"mode\": ");
		json_string(st.mode);
		printf(", \"needs_check\": %s", strcmp(st.needs_check, "-") ? "true" : "false");
		printf(", \"transaction_id\": %" PRIu64 ", \"generation\": %" PRIu64,
		       st.change_id, st.generation);
		printf(", \"metadata_used\": %" PRIu64 ", \"metadata_total\": %" PRIu64,
		       st.meta_used * 4096, st.meta_total * 4096);
		printf(", \"data_used\": %" PRIu64 ", \"data_total\": %" PRIu64,
		       st.data_used * block, st.data_total * block);
		printf(", \"branches\": %" PRIu64 ", \"pending_deletes\": %" PRIu64,
		       st.branches, st.pending_deletes);
		printf(", \"error_if_no_space\": %s, \"discard_passdown\": %s",
		       strcmp(st.space_policy, "error_if_no_space") ? "false" : "true",
		       strcmp(st.discard, "discard_passdown") ? "false" : "true");
		/* a number, or null: nothing else from the status line is copied */
		if (held_root(&st, &root))
			printf(", \"held_metadata_root\": %" PRIu64 ", \"held_by\": ", root);
		else
			printf(", \"held_metadata_root\": null, \"held_by\": ");
		if (strcmp(st.held_root, "-"))
			json_string(st.held_by);
		else
			printf("null");
	}
	printf("}\n");
	return 0;
}

int cmd_status(int argc, char **argv)
{
	struct pool p;
	bool json;
	int r;

	json = json_flag(argc, argv, "status", &r);
	if (r)
		return r;
	if (optind != argc - 1 || !valid_pool_name(argv[optind])) {
		usage_error("status: want one POOL");
		return EXIT_USAGE;
	}
	r = check_kernel();
	if (!r)
		r = find_pool(argv[optind], &p);
	if (r)
		return r;
	/* status waits for nobody: a view is left over only if the lock is free. */
	/* Repairs are reported on their own; the status is printed whatever they did. */
	if (p.active && !try_lock_pool(&p)) {
		resume_left_suspended(&p, false);
		clear_stale_view(&p, false, false);
		clear_left_cookies();
		unlock_pool(&p);
	}
	return print_status(&p, json);
}

int cmd_extend(int argc, char **argv)
{
	static const struct option options[] = {
		{ "data", no_argument, NULL, 'd' },
		{ "metadata", no_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 }
	};
	struct pool_status before = { 0 }, after = { 0 };
	bool data = false, meta = false;
	struct pool p;
	int opt, r;

	optind = 0;
	while ((opt = next_option(argc, argv, "", options, "extend")) != -1) {
		if (opt == 'd')
			data = true;
		else if (opt == 'm')
			meta = true;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 1) {
		usage_error("extend: want POOL [--data] [--metadata]");
		return EXIT_USAGE;
	}
	if (!data && !meta)
		data = meta = true;
	r = open_pool(argv[optind], &p, false);
	if (r)
		return r;
	r = pool_status(&p, &before);
	if (!r)
		r = reload_pool(&p);
	/*
	 * A failed reload can still have grown the pool: the table the
	 * kernel kept reads the devices' sizes when it resumes too.  So what
	 * the pool has now is shown either way.
	 */
	if (pool_status(&p, &after) && !r)
		r = -EIO;
	if (r && (!before.data_total || !after.data_total))
		return fail(EXIT_FAILURE, "extend %s: reloading the pool failed: %s; the kernel log (dmesg) says why",
			    p.name, strerror(-r));
	if (data)
		printf("pool %s: data %" PRIu64 " -> %" PRIu64 " blocks\n", p.name,
		       before.data_total, after.data_total);
	if (meta)
		printf("pool %s: metadata %" PRIu64 " -> %" PRIu64 " blocks\n", p.name,
		       before.meta_total, after.meta_total);
	if (!r && ((data && after.data_total == before.data_total) ||
		   (meta && after.meta_total == before.meta_total)))
		fprintf(stderr, "velactl: nothing grew: grow the underlying device first (lvextend, a larger partition, ...)\n");
	printf("mode: %s\n", after.mode);
	if (r)
		return fail(EXIT_FAILURE, "extend %s: reloading the pool failed: %s; the kernel log (dmesg) says why",
			    p.name, strerror(-r));
	return 0;
}
