/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What velactl's files share, grouped by the file that defines it.  Exit
 * codes are documented in docs/velactl.8.
 *
 * The files call downwards only:
 *   velactl.c main and the command table: every cmd_*
 *   velactl-pool.c, velactl-list.c, velactl-merge.c, velactl-lifecycle.c:
 *     the commands by family
 *   velactl-report.c: text reports through libdevmapper's report engine,
 *     and list's JSON rows in the order and selection the engine gives
 *   velactl-branch.c: branch commands, and naming a branch for the others
 *   velactl-meta.c: offline metadata commands (libvela)
 *   velactl-devices.c: the devices format, init and repair write: held, and
 *     never overlapping
 *   velactl-scan.c: finding pools (trusting nothing on disk), their lock
 *   velactl-filter.c: /etc/vela/vela.conf, which devices a scan may open
 *   velactl-dm.c: device-mapper
 *   velactl-util.c: usage errors, options, sizes, JSON, libblkid, in use;
 *     it calls nothing else in velactl
 */
#ifndef VELACTL_H
#define VELACTL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "compat.h"

/* Exit codes: scripts test for these (docs/velactl.8, EXIT STATUS). */
#define EXIT_USAGE		2
#define EXIT_UNREADABLE		3	/* check: the device could not be opened or read */
#define EXIT_NOT_FOUND		4	/* no such pool, branch or device */
#define EXIT_EXISTS		5	/* the name is taken */
#define EXIT_BUSY		6	/* open, mounted, has children, or in use */
#define EXIT_NO_SPACE		7	/* the pool's metadata is down to its reserve */
#define EXIT_CONFLICT		8	/* merge refused: both sides changed the same blocks */

/* --- velactl-util.c: the command-line helpers every file uses ---------- */

/* -v: libdevmapper's diagnostics too, and progress notes such as lock waits. */
extern int verbose;
/* The command being run ("check"), for the tags velactl leaves in a pool. */
extern const char *velactl_command;

/*
 * How long a command waits for a pool's lock (--wait SECONDS); 0 for
 * --nowait.  The default is five minutes: long enough for a queue of CI
 * jobs, short enough that a frozen filesystem is not left waiting forever.
 */
#define LOCK_WAIT_DEFAULT	300
extern unsigned int lock_wait_seconds;

/*
 * Signals (velactl-util.c says why): defer them until the command is done;
 * or catch them, returning the test "did one come?", which the caller hands
 * to vela_bdev_set_interrupt() so that every metadata read fails with
 * -EINTR from then on; stop_signal() is the one that came (deferred or
 * caught), else 0; finish_signals(@r) ends velactl by it, or returns @r.
 */
void defer_signals(void);
bool (*catch_signals(void))(void);
int stop_signal(void);
int finish_signals(int r);

/*
 * Progress on a terminal (stderr, never with --quiet): "WHAT: 45% (N of
 * TOTAL UNIT, RATE/s)".  progress_add() counts units done; progress_end()
 * clears the line.
 */
extern bool progress_quiet;
void progress_begin(const char *what, const char *unit, uint64_t total);
void progress_add(uint64_t n);
void progress_end(void);
/* One step of a command that is one atomic change (merge), on a terminal: "velactl: STEP...". */
__printf(1, 2) void progress_step(const char *fmt, ...);

/*
 * A test stop point: when VELACTL_TEST_STOP names @point, velactl stops
 * itself (SIGSTOP) there, so a test can kill it, or hold its lock, at an
 * exact step.  Nothing happens otherwise.
 */
void test_stop_point(const char *point);

/* "velactl: <message>" and a pointer to 'velactl help' on stderr. */
__printf(1, 2) void usage_error(const char *fmt, ...);
/* "velactl: <message>" on stderr; returns @code so callers can return it. */
__printf(2, 3) int fail(int code, const char *fmt, ...);

/*
 * Before a step that destroys data: 0 when @yes (--yes) or when the user
 * answers y on the terminal to "@what? [y/N]".  Without --yes and without
 * a terminal on standard input, EXIT_USAGE; when not confirmed,
 * EXIT_FAILURE; both printed, and the caller changes nothing.
 */
int confirm_destruction(bool yes, const char *what);

/*
 * libdevmapper's own messages: on stderr with -v only.  While a sink is set
 * (velactl-report.c), every message goes to it instead, with its level (a
 * syslog priority and libdevmapper's flag bits).
 */
void dm_log_setup(bool show);
typedef void (*dm_log_sink)(int level, const char *msg, void *arg);
void dm_log_redirect(dm_log_sink sink, void *arg);

struct option;
/* getopt_long over a command's options: '?' (reported) for a bad one. */
int next_option(int argc, char **argv, const char *shortopts,
		const struct option *longopts, const char *command);
/* A command without options: true (reported) if one was given anyway. */
bool no_options(int argc, char **argv, const char *command);

/* The "schema" member of every JSON object velactl prints. */
#define JSON_SCHEMA	1
/* @s as a JSON string, escaped, on stdout. */
void json_string(const char *s);

/*
 * libblkid: describe the first signature on @path in @desc ("ext4", ...).
 * 1 when there is one, 0 when there is none, -errno when @path cannot be
 * probed.
 */
int find_signature(const char *path, char *desc, size_t len);
/* Erase every signature libblkid finds on @path (as wipefs -a): 0 or -errno. */
int wipe_signatures(const char *path);
/* The filesystem type libblkid sees on @path, or "" when none. */
void probe_fs_type(const char *path, char *type, size_t len);
/* For velactl probe: a libblkid probe of @path, and one of its values. */
struct blkid_struct_probe;
struct blkid_struct_probe *new_probe(const char *path);
void print_probe_value(struct blkid_struct_probe *pr, const char *name);

/*
 * Is a block device in use?  Each test is written once here; a command
 * picks the ones its refusal needs, and a branch's device adds dm's open
 * count (branch_is_open()), which sees every opener.
 *
 * device_claimed: 0 when an exclusive open of @path succeeds; -EBUSY when
 * it is mounted, held by another device (a dm table, an md array) or open
 * O_EXCL; else -errno.
 */
int device_claimed(const char *path);
/* Do @a and @b name one block device (by number) or one file (by inode)? */
bool same_file(const char *a, const char *b);
/* Where block device @major:@minor is mounted, in @where; false if nowhere. */
bool mounted_at(unsigned int major, unsigned int minor, char *where, size_t len);
/*
 * A process with @dev open (a database on a raw device, a dd): its pid in
 * @pid and its name in @comm.  O_EXCL does not see plain opens.
 */
bool opened_by_process(dev_t dev, pid_t *pid, char *comm, size_t len);

/* Sizes: "64k", "10G", "512" (bytes); suffixes k m g t p, base 1024. */
int parse_size(const char *s, uint64_t *bytes);
/*
 * A volume's size or a branch's limit stops at 2^64 - 1 MiB, so rounding
 * it up to sectors or data blocks (at most 1 MiB) cannot wrap to 0.
 */
#define VELA_MAX_SIZE		(UINT64_MAX - (1ULL << 20) + 1)
/* A size @s (parsed to @bytes) beyond VELA_MAX_SIZE: true, the usage error printed. */
bool size_too_large(const char *command, const char *s, uint64_t bytes);
/* "1.5GiB" (or the exact byte count when @exact). */
const char *format_size(uint64_t bytes, bool exact, char *buf, size_t len);

/* The first line of a sysfs file, without its newline: 0 or -errno. */
int read_sysfs(const char *path, char *buf, size_t len);
/* Whether process @pid runs velactl (its /proc comm); false for pid <= 0. */
bool velactl_running(long pid);

/* --- velactl-udev.c: device-mapper calls, with udev ---------------------- */

struct dm_task;
/*
 * Run @dmt, with a udev cookie carrying @udev_flags when @cookie, and wait
 * for udev (recording the cookie meanwhile, see clear_left_cookies()).
 * 0 or -errno.
 */
int run_task(struct dm_task *dmt, uint16_t udev_flags, bool cookie);
/* /dev/mapper/@name made (@present) or removed, if udev did not. */
void ensure_node(const char *name, bool present);
/* A dm call on @name that takes no table (suspend, resume, remove, rename, clear). */
int dm_simple(int type, const char *name, const char *newname, bool cookie);
/* Create @name with one target and resume it; its node ready. */
int dm_create(const char *name, const char *uuid, uint64_t len, const char *target,
	      const char *params);
/*
 * Remove the udev cookies (SysV semaphores) that a velactl killed while it
 * waited for udev left behind, and say so.  Machine-wide, not per pool.
 */
void clear_left_cookies(void);

/* --- velactl-dm.c: pools and branches as device-mapper sees them ------- */

#define VELA_DM_NAME_LEN	128	/* dm names are at most 127 bytes */
#define VELA_MAX_POOL_NAME	63
/* dm names: "@POOL" for the pool, "POOL@NAME" for a volume or branch. */
#define VELA_DM_SEPARATOR	'@'
/* dm UUIDs: "VELA-POOL-<pool uuid>", "VELA-BR-<pool uuid>-<branch id>". */
#define VELA_DM_UUID_PREFIX	"VELA-"
/* Pool locks (POOL.lock) and suspension records (POOL.suspended): tmpfs. */
#define RUN_DIR			"/run/vela"

struct pool {
	char name[VELA_MAX_POOL_NAME + 1];
	char uuid[33];			/* hex */
	char meta_path[PATH_MAX];	/* /dev/... */
	char data_path[PATH_MAX];
	uint32_t block_sectors;
	bool active;			/* its pool device exists */
	bool meta_held;			/* scan: its metadata device is held (a path under multipath) */
	char dm_name[VELA_DM_NAME_LEN];
	unsigned int major, minor;	/* of the pool device, when active */
	int lock_fd;
};

/* One row of the kernel's branch table (list_branches). */
struct branch {
	uint64_t id;
	uint64_t parent;		/* VELA_NO_PARENT for a volume */
	uint32_t depth;
	uint64_t size_sectors;
	uint64_t ctime;
	uint32_t flags;			/* VELA_BRANCH_* */
	uint64_t mapped, exclusive, shared, limit;	/* data blocks */
	/* The commit exclusive and shared describe; mapped is current. */
	uint64_t usage_generation;
	char uuid[33];
	char name[128];
	char origin_id[64];		/* "" without an external origin */
	/* Its device, filled by branch_device_state(). */
	bool active;
	int open_count;
	unsigned int major, minor;
};

/* @b's device is open (mounted, or in use by anyone): dm's open count says. */
static inline bool branch_is_open(const struct branch *b)
{
	return b->active && b->open_count;
}

struct branch_list {
	struct branch *v;
	size_t n;
};

/* A pool's status line, parsed. */
struct pool_status {
	uint64_t generation, change_id;
	uint64_t meta_used, meta_total, data_used, data_total;
	uint64_t branches, pending_deletes;
	char mode[32], needs_check[16], space_policy[32], discard[32], held_root[24];
	char held_by[32];		/* the view's holder tag, "-" for none */
};

/* The name rules, as usage errors state them. */
extern const char *const name_rules_help;
bool valid_pool_name(const char *name);
bool valid_branch_name(const char *pool, const char *name);
/* Split "POOL/NAME"; 0 or EXIT_USAGE (printed). */
int split_pool_branch(const char *arg, char *pool, size_t pool_len, const char **name);

/* The dm-vela module is loaded and new enough: 0, or an EXIT_* (printed). */
int check_kernel(void);

/* Whether block device @kname is a dm-vela device (pool or branch). */
bool is_vela_dm(const char *kname);

struct dm_state {
	bool exists;
	bool suspended;
	int open_count;
	unsigned int major, minor;
};

/* Whether dm device @name exists, is suspended, its open count and number. */
int dm_state(const char *name, struct dm_state *s);
/* The first target's status or table (@type: DM_DEVICE_STATUS or _TABLE) of @name. */
int dm_params(const char *name, int type, char *buf, size_t len);
/* A loaded dm-vela target ("vela-pool" or "vela") and its version. */
#define VELA_NR_TARGETS		2
struct loaded_target {
	const char *name;
	uint32_t version[3];
};

/* The loaded dm-vela targets, in the kernel's order: how many (at most @max), or -errno. */
int loaded_targets(struct loaded_target *t, size_t max);

/* --- velactl-filter.c: which devices a scan may open --------------------- */

/* /etc/vela/vela.conf's filter and devices list; NULL when there is no file. */
struct device_filter;
/* 0 (*@f NULL without a file), or -errno with the file, line and reason printed. */
int load_device_filter(struct device_filter **f);
/* May a scan open block device @kname (@dev)?  Always, for a NULL filter. */
bool device_accepted(const struct device_filter *f, const char *kname, dev_t dev);
void free_device_filter(struct device_filter *f);

/* --- velactl-scan.c: finding pools, and their lock ---------------------- */

/* A device that carries a dm-vela signature but is not a pool. */
struct scan_reject {
	char path[PATH_MAX];
	char why[128];
};

/*
 * Every pool on this machine: active ones and those found by scanning block
 * devices.  A superblock counts only when vela_sb_validate() accepts it and
 * its name is valid, a data label only when its checksum verifies; the
 * others go to @rejects (may be NULL), with the reason.
 */
int scan_pools(struct pool **pools, size_t *n, struct scan_reject **rejects, size_t *n_rejects);
/* Pool @name: 0, -ENOENT, or -EEXIST when two have it (printed). */
int lookup_pool(const char *name, struct pool *p);
/* Find pool @name (printed error and EXIT_NOT_FOUND when there is none). */
int find_pool(const char *name, struct pool *p);
/*
 * Serialise velactl instances on pool @p (by @p->name): held until exit or
 * unlock_pool().  Waits as lock_wait_seconds says; 0 or an EXIT_* (printed).
 */
int lock_pool(struct pool *p);
void unlock_pool(struct pool *p);
/* Take @p's lock only if nobody holds it: 0, -EWOULDBLOCK or -errno.  Waits for nothing. */
int try_lock_pool(struct pool *p);
/*
 * Check the kernel, lock pool @name, then find it (so what is read is
 * current); it must be active unless @any_state.
 */
int open_pool(const char *name, struct pool *p, bool any_state);

/* --- velactl-devices.c: the devices format, init and repair write ----- */

/*
 * A device or image file that format, init or repair writes: checked
 * (open_claim(), refuse_overlap()), then locked and opened once
 * (claim_devices()); what follows uses @fd_path, the very file opened,
 * whatever @path names by then.
 */
struct claim {
	const char *what;		/* "metadata", "data", "repair target" */
	const char *path;		/* as given */
	bool read_only;
	bool blk;
	struct stat st;			/* of @path, when checked */
	int fd;				/* -1 until claimed */
	int excl_fd;			/* a block device's O_EXCL open (@fd), or -1 */
	uint64_t size;			/* bytes, whole sectors, once claimed */
	char fd_path[32];		/* /proc/self/fd/N, once claimed */
};

/* Name @path (stat only): 0 or EXIT_NOT_FOUND, EXIT_USAGE or EXIT_FAILURE (printed). */
int open_claim(struct claim *c, const char *what, const char *path, bool read_only);
/*
 * Refuse two that share a byte (the same file or device under any name, a
 * partition and its disk, dm ranges on one disk, two paths to one LUN):
 * EXIT_USAGE, printed with @why appended; 0 when they are apart.
 */
int refuse_overlap(const struct claim *a, const struct claim *b, const char *why);
/*
 * Lock @a and @b (may be NULL) in one order, for as long as velactl runs,
 * so that two runs on one device queue; then open each, a block device
 * O_EXCL when written, and check it is the one stat()ed.  With
 * @no_openers, a block device another process has open is refused too.
 * 0, or EXIT_BUSY when one is in use (printed), or EXIT_FAILURE.
 */
int claim_devices(struct claim *a, struct claim *b, bool no_openers);
/* Close @c, ending its exclusive open (its lock stays until exit). */
void release_claim(struct claim *c);

/* --- velactl-dm.c, continued -------------------------------------------- */

/* Create the pool device from the pool's devices. */
int activate_pool(struct pool *p);
int pool_status(const struct pool *p, struct pool_status *st);

/*
 * An admin message "<verb> <change id> <args>": the change id is read from
 * the status and the message retried while another tool moved it.  @reply
 * (may be NULL) gets the kernel's reply.  Returns 0 or -errno.
 */
__printf(4, 5) int pool_admin(const struct pool *p, char *reply, size_t len,
			      const char *verb_args, ...);
/* --- velactl-view.c: the held metadata view ------------------------------ */

/*
 * The pool's metadata view (reserve_metadata_snap), for check, dump, diff
 * and merge's conflict list, held under the pool's lock and tagged
 * "velactl:COMMAND:PID", so that the next velactl to take the lock knows a
 * view with that tag is left over: 0 or -errno.
 */
int hold_view(const struct pool *p);
int release_view(const struct pool *p);
/*
 * With @p's lock held: release a view left by a velactl that is gone (any
 * velactl holding a view holds the lock), and say so.  Another tool's view
 * is released only with @force; otherwise it is reported, or refused
 * (EXIT_BUSY, printed) when @refuse_foreign.  0 or an EXIT_* code.
 */
int clear_stale_view(const struct pool *p, bool force, bool refuse_foreign);

/* --- velactl-dm.c, continued -------------------------------------------- */

/*
 * With @p's lock held: resume the pool's devices a gone velactl left
 * suspended (a merge, a resize or an extend killed midway), and say so.
 * Another tool's suspension is only reported, or with @force resumed.
 * 0 or EXIT_FAILURE (printed).
 */
int resume_left_suspended(const struct pool *p, bool force);
/*
 * With @p's lock held: rename a branch device still under the name it had
 * before a rename a gone velactl began (found by its dm UUID), and say so.
 * 0 or EXIT_FAILURE (printed).  Then re-read the device state.
 */
int finish_renames(const struct pool *p, const struct branch_list *list);
int list_branches(const struct pool *p, struct branch_list *list);
/*
 * The same without usage (exclusive, shared, usage_generation read 0): no
 * usage walk, which on a branch whose tree is all its own reads the whole
 * tree.  For every command that prints no usage.
 */
int list_branches_without_usage(const struct pool *p, struct branch_list *list);
void free_branch_list(struct branch_list *list);
/* One branch by id (one message, with its device state); -ENOENT if none. */
int get_branch(const struct pool *p, uint64_t id, struct branch *b);
/* The id of branch @name, looked up by the kernel; -ENOENT if none. */
int find_branch_id(const struct pool *p, const char *name, uint64_t *id);
const struct branch *branch_by_name(const struct branch_list *list, const char *name);
const struct branch *branch_by_id(const struct branch_list *list, uint64_t id);
/* Fill the device fields of every branch in @list. */
void branch_device_state(const struct pool *p, struct branch_list *list);

void branch_dm_name(const struct pool *p, const char *name, char *buf, size_t len);
void branch_path(const struct pool *p, const char *name, char *buf, size_t len);
/* Create and resume @b's device; 0 or -errno, the reason printed. */
int activate_branch(const struct pool *p, const struct branch *b);
/* Remove @b's device (it must not be open); 0 or -errno, printed. */
int deactivate_branch(const struct pool *p, const struct branch *b);
int rename_branch_device(const struct pool *p, const char *old_name, const char *new_name);
/* Suspend (flushing it) or resume @b's device, dropping its page cache on resume. */
int suspend_branch(const struct pool *p, const struct branch *b, bool suspend);
/* Reload @b's device with its current size. */
int reload_branch(const struct pool *p, const struct branch *b);
/* Reload the pool device with its devices' current sizes. */
int reload_pool(struct pool *p);
int deactivate_pool(struct pool *p);

/* An identity for an external origin that activation can find again. */
int origin_identity(const char *path, char *id, size_t len);
/* The device with identity @id, for activation; 0 or -ENOENT. */
int find_origin(const char *id, char *path, size_t len);

/* --- velactl-meta.c: the offline metadata commands (libvela) ------------ */

int cmd_format(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_repair(int argc, char **argv);
/*
 * Format a pool on two devices named by open_claim(); refused before a
 * byte is written when they overlap, are in use (with @no_openers, also
 * open by any process), are too small, or hold a signature (ours or
 * libblkid's) without @force.  They are held exclusively until it
 * returns; EXIT_* codes, the reason already printed.
 */
int format_pool(struct claim *meta, struct claim *data, const char *name, uint64_t block_bytes,
		bool force, bool no_openers);
/* --block-size for init and format: 0, or -EINVAL when it breaks the format's rule. */
int parse_block_size(const char *s, uint64_t *bytes);

struct block_device;
/* Open a metadata device or image file; the reason printed on failure. */
struct block_device *open_dev(const char *path, bool read_only);
/* Write (and flush) the data label naming pool @uuid on @path: 0 or -errno. */
int write_data_label_at(const char *path, const uint8_t *uuid, uint32_t block_sectors);

/*
 * check, dump, repair and diff name a metadata device, an image, or a pool.
 * For a pool, @path becomes its metadata device; an active pool is read
 * through a view it holds (reserve_metadata_snap, @held) until
 * close_pool_metadata().  @writing refuses an active pool.  0 or an EXIT_*
 * code (printed).
 */
struct pool_metadata {
	char path[PATH_MAX];
	struct pool pool;
	bool held;
};

/* @may_be_path: @arg may name a device or an image file rather than a pool. */
/*
 * @force_view: release a metadata view another tool holds (check --force);
 * one a gone velactl left is always released.
 */
int open_pool_metadata(const char *arg, struct pool_metadata *m, bool writing, bool may_be_path,
		       bool force_view);
void close_pool_metadata(struct pool_metadata *m);
/*
 * Progress of a walk of the metadata on @path (check, repair, diff): its
 * blocks in use, times @passes, is the total; every block read or written
 * counts.  Nothing without a terminal, or with --quiet.
 */
void metadata_progress_begin(const char *what, const char *path, unsigned int passes);
void metadata_progress_end(void);

/* --- velactl-branch.c: volumes and branches, and naming one ------------- */

int cmd_create(int argc, char **argv);
int cmd_create_branch(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_rename(int argc, char **argv);
int cmd_resize(int argc, char **argv);
int cmd_protect(int argc, char **argv);
int cmd_unprotect(int argc, char **argv);
int cmd_limit(int argc, char **argv);

/* An admin message's failure, as one line with the reason and the next step. */
int admin_error(const struct pool *p, const char *what, const char *name, int r);
/* The pool's branch table with device state; EXIT_* on failure (printed). */
int load_branches(const struct pool *p, struct branch_list *list);
/* The same without usage, for commands that print none (see list_branches_without_usage). */
int load_branch_table(const struct pool *p, struct branch_list *list);
/* Branch @name of @list; EXIT_NOT_FOUND (printed) when there is none. */
int find_branch(const struct pool *p, const struct branch_list *list, const char *name,
		const struct branch **b);

/*
 * Parse "COMMAND [options] POOL/NAME [extra]" for the single-branch
 * commands: open the pool and read its branch table.
 */
struct target {
	char pool_name[VELA_MAX_POOL_NAME + 1];
	const char *name;
	struct pool pool;
	struct branch_list list;
	const struct branch *b;
};

int open_target(const char *arg, struct target *t);
void close_target(struct target *t);

/* --- velactl-report.c: reports through libdevmapper's report engine ----- */

/*
 * A report's field: @id names it in -o, -O and -S, @heading heads its
 * column (or, in a record, its line).  Text shows an absent value as "-".
 * Sizes are bytes (-S 'size>1g'; a bare number there means MiB, as in
 * lvs), times seconds since the epoch, shown in UTC; booleans show, sort
 * and select as yes or no.
 */
enum report_type { RT_STRING, RT_NUMBER, RT_SIZE, RT_BOOL, RT_TIME };

struct report_field {
	const char *id;
	const char *heading;
	enum report_type type;
	const char *desc;
};

/*
 * One value.  @s is a string field's text (or a number's, when set);
 * @key, when set, is what -S and -O see instead (list --tree indents
 * names).  @n is the number, size, time or boolean.  @null: no value.
 */
struct report_value {
	const char *s;
	const char *key;
	uint64_t n;
	bool null;
};

/* Field @field of @obj into @v; @buf (@len bytes) may hold its text. */
typedef void (*report_get_fn)(const void *obj, unsigned int field, struct report_value *v,
			      char *buf, size_t len, void *arg);

/* What the command line asked for. */
struct report_opts {
	const char *fields;	/* -o: "a,b", or "+c,d" to add to the default */
	const char *sort;	/* -O: "a,-b" */
	const char *select;	/* -S */
	const char *units;	/* --units: one of hHbBsSkKmMgGtTpPeErR */
	const char *separator;	/* --separator: unaligned, with this between fields */
	bool noheadings;	/* --noheadings */
	bool nameprefixes;	/* --nameprefixes: VELA_FIELD='value' */
	bool tabs;		/* -H: no headings, tab-separated */
	bool exact;		/* --bytes: sizes as exact byte counts */
	bool json;		/* rows for report_json() instead of text */
	bool record;		/* one object: a line a field, "heading  value" */
};

struct report;

/*
 * A report over @fields (@n of them), @default_fields unless -o says
 * otherwise, each value from @get.  Every option is checked here, before
 * the command touches the kernel: 0, or EXIT_USAGE (printed).  -o help and
 * -S help print their help and leave *@r NULL: the command is done.
 */
int report_open(struct report **r, const char *command, const struct report_field *fields,
		size_t n, const char *default_fields, const struct report_opts *o,
		report_get_fn get, void *arg);
/* Add a row: @obj must live until report_json() when the report is JSON. */
int report_add(struct report *r, const void *obj);
/* Print the text report; 0 or EXIT_FAILURE (printed). */
int report_print(struct report *r);
/* The JSON array of the selected rows, in the report's order. */
int report_json(struct report *r);
void report_close(struct report *r);
/* Pools in a report are in name order (then metadata device). */
void report_sort_pools(struct pool *pools, size_t n);

/* --- velactl-pool.c: whole pools ---------------------------------------- */

int cmd_init(int argc, char **argv);
int cmd_activate(int argc, char **argv);
int cmd_deactivate(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_extend(int argc, char **argv);

/* --- velactl-lifecycle.c: a pool's identity and end ---------------------- */

int cmd_rename_pool(int argc, char **argv);
int cmd_import_clone(int argc, char **argv);
int cmd_remove_pool(int argc, char **argv);

/* --- velactl-list.c ------------------------------------------------------ */

int cmd_list(int argc, char **argv);

/* --- velactl-merge.c: merge and diff ------------------------------------ */

int cmd_merge(int argc, char **argv);
int cmd_diff(int argc, char **argv);

#endif
