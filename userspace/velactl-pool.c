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

int cmd_scan(int argc, char **argv)
{
	struct scan_reject *rejects;
	struct pool *pools;
	size_t n, n_rejects, i;
	char uuid[40];
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
	if (json)
		printf("{\"schema\": %d, \"pools\": [", JSON_SCHEMA);
	else
		printf("%-20s %-8s %-20s %-20s %s\n", "POOL", "STATE", "METADATA", "DATA", "UUID");
	for (i = 0; i < n; i++) {
		if (json) {
			printf("%s\n  {\"name\": ", i ? "," : "");
			json_string(pools[i].name);
			printf(", \"uuid\": \"%s\", \"active\": %s, \"metadata\": ",
			       dashed_uuid(pools[i].uuid, uuid, sizeof(uuid)),
			       pools[i].active ? "true" : "false");
			json_string(pools[i].meta_path);
			printf(", \"data\": ");
			if (pools[i].data_path[0])
				json_string(pools[i].data_path);
			else
				printf("null");
			printf(", \"block_size\": %u}", pools[i].block_sectors << 9);
		} else {
			printf("%-20s %-8s %-20s %-20s %s\n", pools[i].name,
			       pools[i].active ? "active" : "inactive", pools[i].meta_path,
			       pools[i].data_path[0] ? pools[i].data_path : "(missing)",
			       dashed_uuid(pools[i].uuid, uuid, sizeof(uuid)));
		}
	}
	if (json) {
		printf("%s], \"not_pools\": [", n ? "\n" : "");
		for (i = 0; i < n_rejects; i++) {
			printf("%s\n  {\"device\": ", i ? "," : "");
			json_string(rejects[i].path);
			printf(", \"why\": ");
			json_string(rejects[i].why);
			printf("}");
		}
		printf("%s]}\n", n_rejects ? "\n" : "");
	} else {
		/* On stderr: the table stays one pool a row for scripts. */
		for (i = 0; i < n_rejects; i++)
			fprintf(stderr, "velactl: %s: not a pool: %s\n", rejects[i].path,
				rejects[i].why);
	}
	free(rejects);
	free(pools);
	return 0;
}

static int print_status(const struct pool *p, bool json)
{
	struct pool_status st = { 0 };
	uint64_t block = (uint64_t)p->block_sectors << 9;
	char a[32], b[32], uuid[40];
	int r = 0;

	if (p->active) {
		r = pool_status(p, &st);
		if (r)
			return fail(EXIT_FAILURE, "pool '%s': cannot read its status: %s", p->name,
				    strerror(-r));
	}
	if (json) {
		printf("{\"schema\": %d, \"name\": ", JSON_SCHEMA);
		json_string(p->name);
		printf(", \"uuid\": \"%s\", \"active\": %s, \"metadata_device\": ",
		       dashed_uuid(p->uuid, uuid, sizeof(uuid)), p->active ? "true" : "false");
		json_string(p->meta_path);
		printf(", \"data_device\": ");
		if (p->data_path[0])
			json_string(p->data_path);
		else
			printf("null");
		printf(", \"block_size\": %" PRIu64, block);
		if (p->active) {
			printf(", \"mode\": \"%s\", \"needs_check\": %s", st.mode,
			       strcmp(st.needs_check, "-") ? "true" : "false");
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
			printf(", \"held_metadata_root\": %s, \"held_by\": ",
			       strcmp(st.held_root, "-") ? st.held_root : "null");
			if (strcmp(st.held_root, "-"))
				json_string(st.held_by);
			else
				printf("null");
		}
		printf("}\n");
		return 0;
	}
	printf("pool:            %s\nuuid:            %s\nmetadata device: %s\ndata device:     %s\n"
	       "block size:      %s\n", p->name, dashed_uuid(p->uuid, uuid, sizeof(uuid)),
	       p->meta_path, p->data_path[0] ? p->data_path : "(missing)",
	       format_size(block, false, a, sizeof(a)));
	if (!p->active) {
		printf("mode:            inactive ('velactl activate %s')\n", p->name);
		return 0;
	}
	printf("mode:            %s\nneeds_check:     %s\ntransaction id:  %" PRIu64
	       " (commit generation %" PRIu64 ")\n", st.mode,
	       strcmp(st.needs_check, "-") ? "yes: deactivate and run 'velactl check --clear-needs-check'" : "no",
	       st.change_id, st.generation);
	printf("data used:       %s of %s (%.1f%%)\n",
	       format_size(st.data_used * block, false, a, sizeof(a)),
	       format_size(st.data_total * block, false, b, sizeof(b)),
	       st.data_total ? 100.0 * st.data_used / st.data_total : 0.0);
	printf("metadata used:   %s of %s (%.1f%%)\n",
	       format_size(st.meta_used * 4096, false, a, sizeof(a)),
	       format_size(st.meta_total * 4096, false, b, sizeof(b)),
	       st.meta_total ? 100.0 * st.meta_used / st.meta_total : 0.0);
	printf("branches:        %" PRIu64 " (%" PRIu64 " deletes pending reclaim)\n", st.branches,
	       st.pending_deletes);
	printf("when full:       %s\ndiscards:        %s\n",
	       strcmp(st.space_policy, "error_if_no_space") ? "queue writes" : "fail writes",
	       strcmp(st.discard, "discard_passdown") ? "not passed down" : "passed down");
	if (strcmp(st.held_root, "-"))
		printf("held view:       %s (held by %s)\n", st.held_root, st.held_by);
	else
		printf("held view:       none\n");
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
	struct pool_status before, after;
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
	if (!r)
		r = pool_status(&p, &after);
	if (r)
		return fail(EXIT_FAILURE, "extend %s: reloading the pool failed: %s; the kernel log (dmesg) says why",
			    p.name, strerror(-r));
	if (data)
		printf("pool %s: data %" PRIu64 " -> %" PRIu64 " blocks\n", p.name,
		       before.data_total, after.data_total);
	if (meta)
		printf("pool %s: metadata %" PRIu64 " -> %" PRIu64 " blocks\n", p.name,
		       before.meta_total, after.meta_total);
	if ((data && after.data_total == before.data_total) ||
	    (meta && after.meta_total == before.meta_total))
		fprintf(stderr, "velactl: nothing grew: grow the underlying device first (lvextend, a larger partition, ...)\n");
	printf("mode: %s\n", after.mode);
	return 0;
}
