// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-admin.c: pool and branch administration through the kernel.
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
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vela-format.h"
#include "velactl.h"

#define JSON_SCHEMA	1

static const char *const pool_flag_help =
	"Name rules: POOL is 1 to 63, NAME 1 to 127 of A-Z a-z 0-9 . _ + - (not starting\n"
	"with -), and POOL@NAME at most 127 bytes.";

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
static int load_branches(const struct pool *p, struct branch_list *list)
{
	int r = list_branches(p, list);

	if (r)
		return fail(EXIT_FAILURE, "pool '%s': cannot read its branch table: %s",
			    p->name, strerror(-r));
	branch_device_state(p, list);
	return 0;
}

static int find_branch(const struct pool *p, const struct branch_list *list, const char *name,
		       const struct branch **b)
{
	*b = branch_by_name(list, name);
	if (!*b)
		return fail(EXIT_NOT_FOUND,
			    "%s/%s: no such volume or branch: 'velactl list %s' shows them",
			    p->name, name, p->name);
	return 0;
}

static void print_device_path(const struct pool *p, const char *name)
{
	char path[PATH_MAX];

	branch_path(p, name, path, sizeof(path));
	printf("%s\n", path);
}

static uint64_t bytes_to_blocks(const struct pool *p, uint64_t bytes)
{
	uint64_t block = (uint64_t)p->block_sectors << 9;

	return (bytes + block - 1) / block;
}

/* --- init ---------------------------------------------------------------- */

/* The first line of a small file, without its newline ("" when unreadable). */
static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f) {
		if (fgets(buf, len, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

/*
 * A process with @dev open (a database on a raw device, a dd): its pid in
 * @pid and its name in @comm.  O_EXCL does not see plain opens, so look
 * through /proc/PID/fd as fuser does.
 */
static bool opened_by_process(dev_t dev, pid_t *pid, char *comm, size_t len)
{
	char path[PATH_MAX], fd_dir[64];
	struct dirent *p, *f;
	struct stat st;
	DIR *procs, *fds;
	bool found = false;

	procs = opendir("/proc");
	if (!procs)
		return false;
	while (!found && (p = readdir(procs))) {
		if (!isdigit((unsigned char)p->d_name[0]) || atoi(p->d_name) == getpid())
			continue;
		snprintf(fd_dir, sizeof(fd_dir), "/proc/%.20s/fd", p->d_name);
		fds = opendir(fd_dir);
		if (!fds)
			continue;
		while (!found && (f = readdir(fds))) {
			snprintf(path, sizeof(path), "%s/%s", fd_dir, f->d_name);
			found = f->d_name[0] != '.' && !stat(path, &st) && S_ISBLK(st.st_mode) &&
				st.st_rdev == dev;
		}
		closedir(fds);
		if (found) {
			*pid = atoi(p->d_name);
			snprintf(path, sizeof(path), "/proc/%s/comm", p->d_name);
			read_line(path, comm, len);
		}
	}
	closedir(procs);
	return found;
}

/*
 * A device someone holds (mounted, in a table, in an array) or has open
 * cannot be formatted.
 */
static int refuse_in_use(const char *what, const char *path)
{
	int fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);
	char comm[64] = "?";
	struct stat st;
	pid_t pid;

	if (fd >= 0) {
		close(fd);
		if (!stat(path, &st) && S_ISBLK(st.st_mode) &&
		    opened_by_process(st.st_rdev, &pid, comm, sizeof(comm)))
			return fail(EXIT_BUSY, "%s device %s is open by process %d (%s): stop it first",
				    what, path, (int)pid, comm);
		return 0;
	}
	if (errno == EBUSY)
		return fail(EXIT_BUSY,
			    "%s device %s is in use (mounted, or held by another device): unmount or release it first",
			    what, path);
	return fail(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_FAILURE, "%s device %s: %s", what,
		    path, strerror(errno));
}

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
			if (parse_size(optarg, &block_bytes) || block_bytes % 512 ||
			    !vela_valid_block_sectors(block_bytes / 512)) {
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
		usage_error("init: invalid pool name '%s'\n%s", name, pool_flag_help);
		return EXIT_USAGE;
	}
	if (!strcmp(meta, data)) {
		usage_error("init: the metadata and data devices must differ");
		return EXIT_USAGE;
	}
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
	r = refuse_in_use("metadata", meta);
	if (!r)
		r = refuse_in_use("data", data);
	if (!r)
		r = format_pool(meta, data, name, block_bytes, force);
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
	int r, status;
	pid_t pid;

	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
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
	int r = get_branch(p, id, &b);

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
	if (a->json)
		printf("{\"schema\": %d, \"pool\": \"%s\", \"name\": \"%s\", \"id\": %" PRIu64
		       ", \"path\": \"%s\"}\n", JSON_SCHEMA, p->name, name, id, path);
	else
		printf("%s\n", path);
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
			}
			break;
		case 'l':
			if (parse_size(optarg, &a->limit) || !a->limit) {
				usage_error("%s: --limit %s: want a size such as 2G", command, optarg);
				return EXIT_USAGE;
			}
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
		usage_error("create-branch: invalid name '%s'\n%s", name, pool_flag_help);
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

/* --- list ---------------------------------------------------------------- */

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
	} else if (scan_pools(&pools, &n)) {
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

/* --- commands on one branch ---------------------------------------------- */

int open_target(const char *arg, struct target *t)
{
	int r = split_pool_branch(arg, t->pool_name, sizeof(t->pool_name), &t->name);

	memset(&t->list, 0, sizeof(t->list));
	if (!r)
		r = open_pool(t->pool_name, &t->pool, false);
	if (!r)
		r = load_branches(&t->pool, &t->list);
	if (!r)
		r = find_branch(&t->pool, &t->list, t->name, &t->b);
	return r;
}

void close_target(struct target *t)
{
	free_branch_list(&t->list);
}

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

int cmd_delete(int argc, char **argv)
{
	static const struct option options[] = {
		{ "recursive", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	const struct branch **victims = NULL;
	bool recursive = false;
	size_t n = 0, i, children = 0;
	struct target t;
	int opt, r;

	optind = 0;
	while ((opt = next_option(argc, argv, "r", options, "delete")) != -1) {
		if (opt != 'r')
			return EXIT_USAGE;
		recursive = true;
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
		if (victims[i]->active && victims[i]->open_count) {
			r = fail(EXIT_BUSY, "delete %s/%s: %s/%s is open (mounted or in use): close it first; nothing was deleted",
				 t.pool.name, t.name, t.pool.name, victims[i]->name);
			goto out;
		}
	}
	for (i = 0; i < n && !r; i++) {
		if (victims[i]->active && deactivate_branch(&t.pool, victims[i]))
			r = EXIT_BUSY;
		if (!r) {
			r = pool_admin(&t.pool, NULL, 0, "delete %" PRIu64, victims[i]->id);
			if (r)
				r = admin_error(&t.pool, "delete", victims[i]->name, r);
		}
		if (!r)
			printf("deleted %s/%s\n", t.pool.name, victims[i]->name);
		else if (i)
			fprintf(stderr, "velactl: %zu of %zu deleted; the rest of the tree is intact\n",
				i, n);
	}
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
		usage_error("rename: invalid name '%s'\n%s", new_name, pool_flag_help);
		r = EXIT_USAGE;
		goto out;
	}
	if (t.b->active && t.b->open_count) {
		r = fail(EXIT_BUSY, "rename %s/%s: its device is open, and renaming would pull its path from under the user: close it first",
			 t.pool.name, t.name);
		goto out;
	}
	r = pool_admin(&t.pool, NULL, 0, "rename %" PRIu64 " %s", t.b->id, new_name);
	if (r) {
		r = admin_error(&t.pool, "rename", t.name, r);
		goto out;
	}
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

/* --- activate, deactivate ------------------------------------------------ */

/* Activate pool @p and its autoactivating branches (or only @only). */
static int activate_one_pool(struct pool *p, const char *only)
{
	struct branch_list list;
	const struct branch *b;
	int r, failed = 0;
	size_t i, made = 0;

	r = lock_pool(p);
	if (!r)
		r = activate_pool(p);
	if (!r)
		r = load_branches(p, &list);
	if (r)
		return r;
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

	r = lock_pool(p);
	if (!r && !p->active)
		return only ? fail(EXIT_FAILURE, "pool '%s' is not active", p->name) : 0;
	if (!r)
		r = load_branches(p, &list);
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
		if (b->active && b->open_count) {
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

/*
 * activate and deactivate: "POOL", "POOL/NAME" or "--all" (every pool found
 * by scanning), each pool handed to @one with the branch name or NULL.
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
	struct pool *pools, p;
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
		if (!r)
			r = check_kernel();
		if (!r)
			r = find_pool(pool_name, &p);
		return r ? r : one(&p, only);
	}
	r = check_kernel();
	if (r)
		return r;
	if (scan_pools(&pools, &n))
		return fail(EXIT_FAILURE, "cannot scan block devices for pools");
	for (i = 0; i < n; i++) {
		r = one(&pools[i], NULL);
		if (r && !worst)
			worst = r;
	}
	if (!n)
		printf("no pools found\n");
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
	struct pool *pools;
	char uuid[40];
	size_t n, i;
	bool json;
	int r;

	json = json_flag(argc, argv, "scan", &r);
	if (r)
		return r;
	if (optind != argc) {
		usage_error("scan takes no arguments");
		return EXIT_USAGE;
	}
	if (scan_pools(&pools, &n))
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
	if (json)
		printf("%s]}\n", n ? "\n" : "");
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
			printf(", \"held_metadata_root\": %s",
			       strcmp(st.held_root, "-") ? st.held_root : "null");
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
	printf("when full:       %s\ndiscards:        %s\nheld view:       %s\n",
	       strcmp(st.space_policy, "error_if_no_space") ? "queue writes" : "fail writes",
	       strcmp(st.discard, "discard_passdown") ? "not passed down" : "passed down",
	       strcmp(st.held_root, "-") ? st.held_root : "none");
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
	return r ? r : print_status(&p, json);
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
