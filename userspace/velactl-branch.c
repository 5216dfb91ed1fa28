// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-branch.c: the commands on volumes and branches: create,
 * create-branch, delete, rename, resize, protect, unprotect and limit; and
 * what every online command shares to name a branch (POOL/NAME) and report
 * an admin message's failure.
 *
 * Every command here follows one pattern: find the pool (velactl-dm.c),
 * take its lock, read the branch table from the kernel, check what can be
 * checked before changing anything (names, children, open devices), then
 * change the metadata with one admin message and the devices after it.
 * When the device step of a create or rename fails, the metadata step is
 * undone, so a failed command leaves neither a branch without its device
 * nor a device without its branch.  (A resize cannot be undone, as
 * shrinking is refused; its error says how to bring the device up to size.)
 * The checks run under the pool lock, which every velactl holds; a tool
 * that bypasses it (dmsetup) is still caught by the kernel's own refusals.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vela-format.h"
#include "velactl.h"

/* --- naming a branch, reporting a refusal ------------------------------- */

/* An admin message's failure, as one line with the reason and the next step. */
int admin_error(const struct pool *p, const char *what, const char *name, int r)
{
	struct pool_status st;

	switch (r) {
	case -EEXIST:
		return fail(EXIT_EXISTS, "%s %s/%s: the name exists in pool '%s': pick another",
			    what, p->name, name, p->name);
	case -ENOENT:
		return fail(EXIT_NOT_FOUND, "%s %s/%s: no such volume or branch: 'velactl list %s' shows them",
			    what, p->name, name, p->name);
	case -EBUSY:
		return fail(EXIT_BUSY, "%s %s/%s: busy (it has children or an active device)",
			    what, p->name, name);
	case -EPERM:
		return fail(EXIT_BUSY, "%s %s/%s: it is protected: 'velactl unprotect %s/%s' first if it really should go",
			    what, p->name, name, p->name, name);
	case -ENOSPC:
		return fail(EXIT_NO_SPACE,
			    "%s %s/%s: pool '%s' is out of metadata space: delete branches, or grow the metadata device and run 'velactl extend %s --metadata'",
			    what, p->name, name, p->name, p->name);
	case -EROFS:
		if (pool_status(p, &st))
			snprintf(st.mode, sizeof(st.mode), "unknown");
		return fail(EXIT_FAILURE,
			    "%s %s/%s: pool '%s' is read-only (mode %s): 'velactl status %s' says why",
			    what, p->name, name, p->name, st.mode, p->name);
	default:
		return fail(EXIT_FAILURE, "%s %s/%s: the kernel refused: %s; the kernel log (dmesg) says why",
			    what, p->name, name, strerror(-r));
	}
}

/* The pool's branch table with device state; EXIT_* on failure (printed). */
int load_branches(const struct pool *p, struct branch_list *list)
{
	int r = list_branches(p, list);

	if (r)
		return fail(EXIT_FAILURE, "pool '%s': cannot read its branch table: %s",
			    p->name, strerror(-r));
	branch_device_state(p, list);
	return 0;
}

int load_branch_table(const struct pool *p, struct branch_list *list)
{
	int r = list_branches_without_usage(p, list);

	if (r)
		return fail(EXIT_FAILURE, "pool '%s': cannot read its branch table: %s",
			    p->name, strerror(-r));
	branch_device_state(p, list);
	return 0;
}

int find_branch(const struct pool *p, const struct branch_list *list, const char *name,
		       const struct branch **b)
{
	*b = branch_by_name(list, name);
	if (!*b)
		return fail(EXIT_NOT_FOUND,
			    "%s/%s: no such volume or branch: 'velactl list %s' shows them",
			    p->name, name, p->name);
	return 0;
}

int open_target(const char *arg, struct target *t)
{
	int r = split_pool_branch(arg, t->pool_name, sizeof(t->pool_name), &t->name);

	memset(&t->list, 0, sizeof(t->list));
	if (!r)
		r = open_pool(t->pool_name, &t->pool, false);
	if (!r)
		r = load_branch_table(&t->pool, &t->list);
	if (!r)
		r = find_branch(&t->pool, &t->list, t->name, &t->b);
	return r;
}

void close_target(struct target *t)
{
	free_branch_list(&t->list);
}

static uint64_t bytes_to_blocks(const struct pool *p, uint64_t bytes)
{
	uint64_t block = (uint64_t)p->block_sectors << 9;

	return (bytes + block - 1) / block;
}

/* --- create, create-branch -------------------------------------------- */

struct create_args {
	const char *target;		/* POOL/NAME */
	uint64_t size;			/* bytes */
	const char *origin;
	uint64_t limit;			/* bytes, 0: none */
	bool no_autoactivate;
	bool new_fs_uuid;
	bool json;
};

static void create_options(const struct pool *p, const struct create_args *a, char *buf,
			   size_t len)
{
	buf[0] = '\0';
	if (a->no_autoactivate)
		snprintf(buf, len, " no_autoactivate");
	if (a->limit)
		snprintf(buf + strlen(buf), len - strlen(buf), " limit=%" PRIu64,
			 bytes_to_blocks(p, a->limit));
}

/* Run a filesystem tool (no shell), its stdout discarded: its exit status or -errno. */
static int run_tool(char *const argv[])
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none;
	int r, status;
	pid_t pid;

	/* velactl defers Ctrl-C (defer_signals()); the tool must not: it may stop, and we undo. */
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, argv[0], &actions, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	if (r)
		return -r;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -EINTR;
}

/*
 * Give the filesystem on a new branch a UUID of its own.  Every branch of a
 * filesystem carries its parent's UUID: by-uuid lookups then pick either,
 * and XFS refuses to mount a second filesystem with a UUID already mounted.
 * ext4: e2fsck -p first (a branch of a mounted parent needs its journal
 * replayed before tune2fs changes the UUID), then tune2fs -U random.
 * XFS: xfs_admin -U generate, which needs a clean log.
 */
static int give_new_fs_uuid(const struct pool *p, const char *name)
{
	char path[PATH_MAX], type[32];
	int r;

	branch_path(p, name, path, sizeof(path));
	probe_fs_type(path, type, sizeof(type));
	if (!strcmp(type, "ext2") || !strcmp(type, "ext3") || !strcmp(type, "ext4")) {
		r = run_tool((char *const[]){ "e2fsck", "-f", "-p", path, NULL });
		if (r < 0 || r >= 4)
			return fail(EXIT_FAILURE, "%s/%s: --new-fs-uuid: e2fsck -p %s failed (%d): check the parent's filesystem",
				    p->name, name, path, r);
		r = run_tool((char *const[]){ "tune2fs", "-U", "random", path, NULL });
	} else if (!strcmp(type, "xfs")) {
		r = run_tool((char *const[]){ "xfs_admin", "-U", "generate", path, NULL });
		if (r)
			return fail(EXIT_FAILURE, "%s/%s: --new-fs-uuid: xfs_admin -U generate failed (%d): if the parent was mounted, its log is dirty; branch it unmounted or frozen (xfs_freeze)",
				    p->name, name, r);
	} else {
		return fail(EXIT_FAILURE, "%s/%s: --new-fs-uuid: no ext2/3/4 or XFS filesystem on the branch (found: %s)",
			    p->name, name, type[0] ? type : "none");
	}
	if (r)
		return fail(EXIT_FAILURE, "%s/%s: --new-fs-uuid: tune2fs -U random %s failed (%d)",
			    p->name, name, path, r);
	return 0;
}

/*
 * Activate the branch just created as @id (and give its filesystem a new
 * UUID if asked), or remove and delete it again, so the command leaves
 * both or neither.
 */
static int activate_new(const struct pool *p, const char *name, uint64_t id,
			const struct create_args *a)
{
	char path[PATH_MAX];
	struct branch b;
	int r;

	test_stop_point("created");
	r = get_branch(p, id, &b);
	if (!r)
		r = activate_branch(p, &b);
	if (!r && a->new_fs_uuid) {
		r = give_new_fs_uuid(p, name);
		if (r && !deactivate_branch(p, &b))
			r = EXIT_FAILURE;
		else if (r)
			r = -EBUSY;	/* the device stays: do not delete under it */
	}
	if (r) {
		if (r == -EBUSY || pool_admin(p, NULL, 0, "delete %" PRIu64, id))
			return fail(EXIT_FAILURE, "%s/%s: failed, and undoing it failed too: run 'velactl delete %s/%s'",
				    p->name, name, p->name, name);
		return fail(EXIT_FAILURE, "%s/%s: not created (see above)", p->name, name);
	}
	branch_path(p, name, path, sizeof(path));
	if (a->json) {
		printf("{\"schema\": %d, \"pool\": ", JSON_SCHEMA);
		json_string(p->name);
		printf(", \"name\": ");
		json_string(name);
		printf(", \"id\": %" PRIu64 ", \"path\": ", id);
		json_string(path);
		printf("}\n");
	} else {
		printf("%s\n", path);
	}
	return 0;
}

static int parse_create_args(int argc, char **argv, const char *command, bool branch,
			     struct create_args *a)
{
	static const struct option options[] = {
		{ "size", required_argument, NULL, 's' },
		{ "origin", required_argument, NULL, 'o' },
		{ "limit", required_argument, NULL, 'l' },
		{ "no-autoactivate", no_argument, NULL, 'n' },
		{ "new-fs-uuid", no_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	memset(a, 0, sizeof(*a));
	optind = 0;
	while ((opt = next_option(argc, argv, branch ? "l:" : "s:l:", options, command)) != -1) {
		switch (opt) {
		case 's':
		case 'o':
			if (branch) {
				usage_error("%s: a branch takes its size and origin from its parent",
					    command);
				return EXIT_USAGE;
			}
			if (opt == 'o') {
				a->origin = optarg;
			} else if (parse_size(optarg, &a->size) || !a->size) {
				usage_error("%s: --size %s: want a size such as 10G", command, optarg);
				return EXIT_USAGE;
			} else if (size_too_large(command, optarg, a->size)) {
				return EXIT_USAGE;
			}
			break;
		case 'l':
			if (parse_size(optarg, &a->limit) || !a->limit) {
				usage_error("%s: --limit %s: want a size such as 2G", command, optarg);
				return EXIT_USAGE;
			}
			if (size_too_large(command, optarg, a->limit))
				return EXIT_USAGE;
			break;
		case 'n':
			a->no_autoactivate = true;
			break;
		case 'u':
			if (!branch) {
				usage_error("%s: --new-fs-uuid is for create-branch", command);
				return EXIT_USAGE;
			}
			a->new_fs_uuid = true;
			break;
		case 'j':
			a->json = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage_error("%s: want %s", command, branch ? "POOL/PARENT NAME" : "POOL/VOLUME");
		return EXIT_USAGE;
	}
	a->target = argv[optind++];
	return 0;
}

int cmd_create(int argc, char **argv)
{
	char pool_name[VELA_MAX_POOL_NAME + 1], opts[64], reply[64], origin_id[64];
	struct create_args a;
	const char *name;
	struct pool p;
	int r;

	r = parse_create_args(argc, argv, "create", false, &a);
	if (r)
		return r;
	if (optind != argc || (!a.size == !a.origin)) {
		usage_error("create: want POOL/VOLUME and one of --size SIZE or --origin DEV");
		return EXIT_USAGE;
	}
	r = split_pool_branch(a.target, pool_name, sizeof(pool_name), &name);
	if (!r)
		r = open_pool(pool_name, &p, false);
	if (r)
		return r;
	create_options(&p, &a, opts, sizeof(opts));
	if (a.origin) {
		r = origin_identity(a.origin, origin_id, sizeof(origin_id));
		if (r)
			return fail(r == -ENOENT ? EXIT_NOT_FOUND : EXIT_FAILURE,
				    "create %s/%s: origin %s: %s: name a block device", p.name, name,
				    a.origin, strerror(-r));
		r = pool_admin(&p, reply, sizeof(reply), "create_origin_volume %s %s %s%s", name,
			       a.origin, origin_id, opts);
	} else {
		r = pool_admin(&p, reply, sizeof(reply), "create_volume %s %" PRIu64 "%s", name,
			       (a.size + 511) >> 9, opts);
	}
	if (r == -ENOENT && a.origin)
		return fail(EXIT_NOT_FOUND, "create %s/%s: the kernel cannot read origin %s",
			    p.name, name, a.origin);
	if (r)
		return admin_error(&p, "create", name, r);
	return activate_new(&p, name, strtoull(reply, NULL, 10), &a);
}

/*
 * Branch @name: two kernel lookups, however many branches the pool has
 * (creating the 1000th branch costs what the 1st did).
 */
static int lookup_branch(const struct pool *p, const char *name, struct branch *b)
{
	uint64_t id;
	int r = find_branch_id(p, name, &id);

	if (!r)
		r = get_branch(p, id, b);
	if (r == -ENOENT)
		return fail(EXIT_NOT_FOUND,
			    "%s/%s: no such volume or branch: 'velactl list %s' shows them",
			    p->name, name, p->name);
	if (r)
		return fail(EXIT_FAILURE, "%s/%s: cannot read it from the branch table: %s",
			    p->name, name, strerror(-r));
	return 0;
}

int cmd_create_branch(int argc, char **argv)
{
	char pool_name[VELA_MAX_POOL_NAME + 1], opts[64], reply[64];
	struct branch parent;
	struct create_args a;
	const char *parent_name, *name;
	struct pool p;
	int r;

	r = parse_create_args(argc, argv, "create-branch", true, &a);
	if (r)
		return r;
	if (optind != argc - 1) {
		usage_error("create-branch: want POOL/PARENT NAME");
		return EXIT_USAGE;
	}
	name = argv[optind];
	r = split_pool_branch(a.target, pool_name, sizeof(pool_name), &parent_name);
	if (r)
		return r;
	if (!valid_branch_name(pool_name, name)) {
		usage_error("create-branch: invalid name '%s'\n%s", name, name_rules_help);
		return EXIT_USAGE;
	}
	r = open_pool(pool_name, &p, false);
	if (!r)
		r = lookup_branch(&p, parent_name, &parent);
	if (r)
		return r;
	create_options(&p, &a, opts, sizeof(opts));
	r = pool_admin(&p, reply, sizeof(reply), "create_branch %" PRIu64 " %s%s", parent.id,
		       name, opts);
	if (r)
		return admin_error(&p, "create-branch", name, r);
	return activate_new(&p, name, strtoull(reply, NULL, 10), &a);
}

/* --- commands on one branch ---------------------------------------------- */

/* Post-order: children before their parent, so each delete is allowed. */
static int collect_subtree(const struct branch_list *list, const struct branch *b,
			   const struct branch ***out, size_t *n)
{
	const struct branch **v;
	size_t i;
	int r;

	for (i = 0; i < list->n; i++) {
		if (list->v[i].parent != b->id)
			continue;
		r = collect_subtree(list, &list->v[i], out, n);
		if (r)
			return r;
	}
	v = realloc(*out, (*n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	*out = v;
	v[(*n)++] = b;
	return 0;
}

/* "delete 3 branches of pool ci: job2, job1, golden" for the prompt. */
static void describe_victims(const struct target *t, const struct branch **victims, size_t n,
			     char *buf, size_t len)
{
	size_t i, at;

	at = snprintf(buf, len, "delete %zu branch%s of pool %s:", n, n == 1 ? "" : "es",
		      t->pool.name);
	for (i = 0; i < n && at < len; i++) {
		if (i == 8 && n > 9) {
			snprintf(buf + at, len - at, " and %zu more", n - i);
			return;
		}
		at += snprintf(buf + at, len - at, "%s %s", i ? "," : "", victims[i]->name);
	}
}

int cmd_delete(int argc, char **argv)
{
	static const struct option options[] = {
		{ "recursive", no_argument, NULL, 'r' },
		{ "yes", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 }
	};
	const struct branch **victims = NULL;
	bool recursive = false, yes = false;
	size_t n = 0, i, children = 0;
	char what[1400];
	struct target t;
	int opt, r;

	optind = 0;
	while ((opt = next_option(argc, argv, "ry", options, "delete")) != -1) {
		if (opt == 'r')
			recursive = true;
		else if (opt == 'y')
			yes = true;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 1) {
		usage_error("delete: want POOL/NAME");
		return EXIT_USAGE;
	}
	r = open_target(argv[optind], &t);
	if (r)
		goto out;
	for (i = 0; i < t.list.n; i++)
		children += t.list.v[i].parent == t.b->id;
	if (children && !recursive) {
		r = fail(EXIT_BUSY, "delete %s/%s: it has %zu child branch%s: delete them first, or add --recursive to delete them all",
			 t.pool.name, t.name, children, children == 1 ? "" : "es");
		goto out;
	}
	if (collect_subtree(&t.list, t.b, &victims, &n)) {
		r = fail(EXIT_FAILURE, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (branch_is_open(victims[i])) {
			r = fail(EXIT_BUSY, "delete %s/%s: %s/%s is open (mounted or in use): close it first; nothing was deleted",
				 t.pool.name, t.name, t.pool.name, victims[i]->name);
			goto out;
		}
		if (victims[i]->flags & VELA_BRANCH_READ_ONLY) {
			r = fail(EXIT_BUSY, "delete %s/%s: %s/%s is protected: 'velactl unprotect %s/%s' first if it really should go; nothing was deleted",
				 t.pool.name, t.name, t.pool.name, victims[i]->name, t.pool.name,
				 victims[i]->name);
			goto out;
		}
	}
	/* Every refusal is behind us: ask last, so a "y" is never wasted. */
	if (recursive) {
		describe_victims(&t, victims, n, what, sizeof(what));
		r = confirm_destruction(yes, what);
		if (r)
			goto out;
	}
	if (n > 1)
		progress_begin("deleting", "branches", n);
	for (i = 0; i < n && !r; i++) {
		if (i)
			progress_add(1);
		if (i && stop_signal()) {
			r = fail(EXIT_FAILURE, "delete %s/%s: interrupted after %zu of %zu; the rest of the tree is intact: run the same delete again to finish",
				 t.pool.name, t.name, i, n);
			break;
		}
		if (victims[i]->active && deactivate_branch(&t.pool, victims[i]))
			r = EXIT_BUSY;
		if (!r) {
			r = pool_admin(&t.pool, NULL, 0, "delete %" PRIu64, victims[i]->id);
			if (r)
				r = admin_error(&t.pool, "delete", victims[i]->name, r);
		}
		if (!r) {
			printf("deleted %s/%s\n", t.pool.name, victims[i]->name);
			test_stop_point("deleted-one");
		} else if (i) {
			fprintf(stderr, "velactl: %zu of %zu deleted; the rest of the tree is intact\n",
				i, n);
		}
	}
	progress_end();
out:
	free(victims);
	close_target(&t);
	return r;
}

int cmd_rename(int argc, char **argv)
{
	const char *new_name;
	struct target t;
	int r;

	if (no_options(argc, argv, "rename"))
		return EXIT_USAGE;
	if (argc - optind != 2) {
		usage_error("rename: want POOL/NAME NEW-NAME");
		return EXIT_USAGE;
	}
	new_name = argv[optind + 1];
	r = open_target(argv[optind], &t);
	if (r)
		goto out;
	if (!valid_branch_name(t.pool.name, new_name)) {
		usage_error("rename: invalid name '%s'\n%s", new_name, name_rules_help);
		r = EXIT_USAGE;
		goto out;
	}
	if (branch_is_open(t.b)) {
		r = fail(EXIT_BUSY, "rename %s/%s: its device is open, and renaming would pull its path from under the user: close it first",
			 t.pool.name, t.name);
		goto out;
	}
	r = pool_admin(&t.pool, NULL, 0, "rename %" PRIu64 " %s", t.b->id, new_name);
	if (r) {
		r = admin_error(&t.pool, "rename", t.name, r);
		goto out;
	}
	test_stop_point("renamed-in-metadata");
	if (t.b->active && rename_branch_device(&t.pool, t.name, new_name)) {
		/* Put the name back, so name and device agree. */
		if (pool_admin(&t.pool, NULL, 0, "rename %" PRIu64 " %s", t.b->id, t.name))
			r = fail(EXIT_FAILURE, "rename %s/%s: its device could not be renamed, and the branch is now called %s: run 'velactl deactivate %s/%s' and activate it again",
				 t.pool.name, t.name, new_name, t.pool.name, new_name);
		else
			r = fail(EXIT_FAILURE, "rename %s/%s: its device could not be renamed; nothing changed",
				 t.pool.name, t.name);
		goto out;
	}
	printf("renamed %s/%s to %s/%s\n", t.pool.name, t.name, t.pool.name, new_name);
out:
	close_target(&t);
	return r;
}

int cmd_resize(int argc, char **argv)
{
	static const struct option options[] = {
		{ "size", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct branch grown;
	uint64_t size = 0;
	struct target t;
	int opt, r;

	optind = 0;
	while ((opt = next_option(argc, argv, "s:", options, "resize")) != -1) {
		if (opt != 's')
			return EXIT_USAGE;
		if (parse_size(optarg, &size) || !size) {
			usage_error("resize: want --size SIZE, such as 20G");
			return EXIT_USAGE;
		}
		if (size_too_large("resize", optarg, size))
			return EXIT_USAGE;
	}
	if (optind != argc - 1 || !size) {
		usage_error("resize: want POOL/NAME --size SIZE");
		return EXIT_USAGE;
	}
	r = open_target(argv[optind], &t);
	if (r)
		goto out;
	size = (size + 511) >> 9;
	if (size < t.b->size_sectors) {
		r = fail(EXIT_FAILURE, "resize %s/%s: shrinking is not supported (it would cut off data a filesystem may use); its size stays %" PRIu64 " bytes",
			 t.pool.name, t.name, t.b->size_sectors << 9);
		goto out;
	}
	r = pool_admin(&t.pool, NULL, 0, "resize %" PRIu64 " %" PRIu64, t.b->id, size);
	if (r) {
		r = admin_error(&t.pool, "resize", t.name, r);
		goto out;
	}
	grown = *t.b;
	grown.size_sectors = size;
	if (t.b->active && reload_branch(&t.pool, &grown)) {
		r = fail(EXIT_FAILURE, "resize %s/%s: the branch grew but its device kept its size: run 'velactl deactivate %s/%s' and activate it again",
			 t.pool.name, t.name, t.pool.name, t.name);
		goto out;
	}
	printf("%s/%s: %" PRIu64 " bytes\n", t.pool.name, t.name, size << 9);
out:
	close_target(&t);
	return r;
}

/* protect, unprotect and limit: one admin message on one branch. */
static int branch_message(int argc, char **argv, const char *command, const char *verb,
			  bool takes_size)
{
	uint64_t limit = 0;
	struct target t;
	int r;

	if (no_options(argc, argv, command))
		return EXIT_USAGE;
	if (argc - optind != (takes_size ? 2 : 1)) {
		usage_error("%s: want POOL/NAME%s", command, takes_size ? " SIZE|none" : "");
		return EXIT_USAGE;
	}
	if (takes_size && strcmp(argv[optind + 1], "none") &&
	    (parse_size(argv[optind + 1], &limit) || !limit)) {
		usage_error("%s: '%s': want a size such as 2G, or none", command, argv[optind + 1]);
		return EXIT_USAGE;
	}
	if (takes_size && size_too_large(command, argv[optind + 1], limit))
		return EXIT_USAGE;
	r = open_target(argv[optind], &t);
	if (r)
		goto out;
	if (takes_size)
		r = pool_admin(&t.pool, NULL, 0, "%s %" PRIu64 " %" PRIu64, verb, t.b->id,
			       bytes_to_blocks(&t.pool, limit));
	else
		r = pool_admin(&t.pool, NULL, 0, "%s %" PRIu64, verb, t.b->id);
	if (r)
		r = admin_error(&t.pool, command, t.name, r);
out:
	close_target(&t);
	return r;
}

int cmd_protect(int argc, char **argv)
{
	return branch_message(argc, argv, "protect", "set_read_only", false);
}

int cmd_unprotect(int argc, char **argv)
{
	return branch_message(argc, argv, "unprotect", "set_writable", false);
}

int cmd_limit(int argc, char **argv)
{
	return branch_message(argc, argv, "limit", "set_limit", true);
}
