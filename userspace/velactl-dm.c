// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-dm.c: pools and branches as device-mapper sees them.
 *
 * Nothing here is stored outside the pool.  A pool is found by its
 * superblock on a block device (or by its active pool device), and its
 * branches, names and lineage come from the kernel's branch table
 * (list_branches), so `velactl activate --all` rebuilds every device after
 * a reboot from the metadata alone.
 *
 * Names.  The pool device is "@POOL" and a branch device "POOL@NAME".
 * Pool and branch names use A-Z a-z 0-9 . _ + - only, so '@' separates
 * them unambiguously, and LVM (whose dm names are VG-LV over the same
 * characters, without '@') can never produce one of ours.  dm UUIDs start
 * with "VELA-", which the udev rules match.
 *
 * Concurrency.  Every command that changes a pool holds an exclusive
 * flock on /run/vela/POOL.lock, so velactl instances queue.  Every admin
 * message also carries the pool's change id, so a tool that does not take
 * the lock (dmsetup) cannot be overwritten silently: the message fails with
 * ESTALE and is retried on a fresh status.
 *
 * udev.  Devices are created with a udev cookie and the flags that keep
 * blkid's by-uuid links and other scanners (LVM) off branch devices
 * (velactl-udev.c).  In a system without udev, libdevmapper either makes
 * the nodes itself or velactl does (dm_mknodes), so /dev/mapper/<name> is
 * there when a command returns either way.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <blkid.h>

#include "vela-format.h"
#include "vela-meta.h"
#include "velactl.h"

#define ADMIN_RETRIES		8
/*
 * Target versions this velactl speaks: merge came with 0.8, the usage
 * generation of list_branches rows with 0.9.
 */
#define TARGET_MAJOR		0
#define TARGET_MIN_MINOR	10

const char *const name_rules_help =
	"Name rules: POOL is 1 to 63, NAME 1 to 127 of A-Z a-z 0-9 . _ + - (not starting\n"
	"with -), and POOL@NAME at most 127 bytes.";

/* The kernel's name rule (vela_md_valid_name), under a tighter length. */
static bool valid_name(const char *name, size_t max)
{
	return strlen(name) <= max && vela_md_valid_name(name);
}

bool valid_pool_name(const char *name)
{
	return valid_name(name, VELA_MAX_POOL_NAME);
}

/* The dm name "POOL@NAME" must fit too. */
bool valid_branch_name(const char *pool, const char *name)
{
	return valid_name(name, VELA_NAME_LEN - 1) &&
	       strlen(pool) + 1 + strlen(name) < VELA_DM_NAME_LEN;
}

int split_pool_branch(const char *arg, char *pool, size_t pool_len, const char **name)
{
	const char *slash = strchr(arg, '/');

	if (!slash || slash == arg || !slash[1] || (size_t)(slash - arg) >= pool_len) {
		usage_error("'%s': want POOL/NAME", arg);
		return EXIT_USAGE;
	}
	memcpy(pool, arg, slash - arg);
	pool[slash - arg] = '\0';
	*name = slash + 1;
	if (!valid_pool_name(pool)) {
		usage_error("invalid pool name '%s': 1 to %d of A-Z a-z 0-9 . _ + - (not starting with -)",
			    pool, VELA_MAX_POOL_NAME);
		return EXIT_USAGE;
	}
	if (!valid_branch_name(pool, *name)) {
		usage_error("invalid name '%s': 1 to 127 of A-Z a-z 0-9 . _ + - (not starting with -), and POOL@NAME at most 127 bytes",
			    *name);
		return EXIT_USAGE;
	}
	return 0;
}

/* --- device-mapper tasks --------------------------------------------- */

/* Drop the page cache of dm device @name, whose blocks changed underneath. */
static void drop_page_cache(const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dm_dir(), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ioctl(fd, BLKFLSBUF, 0);
		close(fd);
	}
}

/*
 * The devices of pool @p that velactl suspended, in RUN_DIR/POOL.suspended,
 * one dm name a line, written before the suspend and cleared after the
 * resume, under the pool's lock.  A velactl killed in between leaves the
 * line, which tells the next one that the suspension is velactl's own.  It
 * lives in /run, as the suspension lives in the kernel: neither outlives a
 * reboot.
 */
static void suspend_record_path(const struct pool *p, char *path, size_t len)
{
	snprintf(path, len, RUN_DIR "/%s.suspended", p->name);
}

static int record_suspend(const struct pool *p, const char *dm_name)
{
	char path[PATH_MAX];
	FILE *f;
	int r = 0;

	suspend_record_path(p, path, sizeof(path));
	if (mkdir(RUN_DIR, 0700) && errno != EEXIST)
		return -errno;
	f = fopen(path, "ae");
	if (!f)
		return -errno;
	if (fprintf(f, "%s\n", dm_name) < 0)
		r = -EIO;
	if (fclose(f) && !r)
		r = -errno;
	return r;
}

static bool recorded_suspend(const struct pool *p, const char *dm_name)
{
	char path[PATH_MAX], line[VELA_DM_NAME_LEN + 2];
	bool found = false;
	FILE *f;

	suspend_record_path(p, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		found = !strcmp(line, dm_name);
	}
	fclose(f);
	return found;
}

/* Every suspension velactl made is undone (the lock is held): forget them all. */
static void clear_suspend_record(const struct pool *p)
{
	char path[PATH_MAX];

	suspend_record_path(p, path, sizeof(path));
	unlink(path);
}

/* Suspend (recorded) or resume @name, a device of pool @p. */
static int suspend_device(const struct pool *p, const char *name, bool suspend)
{
	struct dm_state st;
	int r;

	/*
	 * Another tool's suspension is not ours to take over: velactl would
	 * resume it when done, and the record would say it was ours.
	 */
	if (suspend && !dm_state(name, &st) && st.suspended && !recorded_suspend(p, name)) {
		fprintf(stderr, "velactl: pool '%s': %s is suspended, not by velactl: left as it is; resume it ('dmsetup resume %s') and run the command again\n",
			p->name, name, name);
		return -EBUSY;
	}
	if (suspend) {
		r = record_suspend(p, name);
		if (r)
			return r;
		test_stop_point("suspend-recorded");
	}
	r = dm_simple(suspend ? DM_DEVICE_SUSPEND : DM_DEVICE_RESUME, name, NULL, !suspend);
	/* Not suspended (the suspend failed), or resumed: the record goes. */
	if (suspend == !!r)
		clear_suspend_record(p);
	return r;
}

/* A decimal number, all digits and no more than 64 bits: true and *@v, or false. */
static bool parse_decimal(const char *s, uint64_t *v)
{
	uint64_t n = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || n > (UINT64_MAX - (*s - '0')) / 10)
			return false;
		n = n * 10 + (*s - '0');
	}
	*v = n;
	return true;
}

/*
 * The branch id that ends the dm UUID of one of pool @p's branch devices,
 * written as velactl writes it (no sign, no leading zero); false for any
 * other UUID, so that a hand-made "-05" is not taken for branch 5.
 */
static bool branch_uuid_id(const struct pool *p, const char *uuid, uint64_t *id)
{
	char prefix[80];
	const char *digits;

	snprintf(prefix, sizeof(prefix), VELA_DM_UUID_PREFIX "BR-%s-", p->uuid);
	if (strncmp(uuid, prefix, strlen(prefix)))
		return false;
	digits = uuid + strlen(prefix);
	return (digits[0] != '0' || !digits[1]) && parse_decimal(digits, id);
}

/* One dm device of a pool, from sysfs (which reads nothing from a device). */
struct pool_device {
	char name[VELA_DM_NAME_LEN];
	char uuid[160];
	bool suspended;
};

/*
 * Call @fn for each dm device whose UUID is one of pool @p's: 0, what @fn
 * returned, or EXIT_FAILURE (printed) when sysfs cannot be read.
 */
static int walk_pool_devices(const struct pool *p,
			     int (*fn)(const struct pool *p, const struct pool_device *dev, void *arg),
			     void *arg)
{
	char path[PATH_MAX], prefix[2][80], val[8];
	struct pool_device dev;
	struct dirent *e;
	int r = 0;
	DIR *d;

	snprintf(prefix[0], sizeof(prefix[0]), VELA_DM_UUID_PREFIX "POOL-%s", p->uuid);
	snprintf(prefix[1], sizeof(prefix[1]), VELA_DM_UUID_PREFIX "BR-%s-", p->uuid);
	d = opendir("/sys/block");
	if (!d)
		return fail(EXIT_FAILURE, "cannot read /sys/block: %s", strerror(errno));
	while (!r && (e = readdir(d))) {
		if (strncmp(e->d_name, "dm-", 3))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/dm/uuid", e->d_name);
		if (read_sysfs(path, dev.uuid, sizeof(dev.uuid)) ||
		    (strcmp(dev.uuid, prefix[0]) &&
		     strncmp(dev.uuid, prefix[1], strlen(prefix[1]))))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/dm/name", e->d_name);
		if (read_sysfs(path, dev.name, sizeof(dev.name)))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/dm/suspended", e->d_name);
		dev.suspended = !read_sysfs(path, val, sizeof(val)) && !strcmp(val, "1");
		r = fn(p, &dev, arg);
	}
	closedir(d);
	return r;
}

static int resume_one(const struct pool *p, const struct pool_device *dev, void *arg)
{
	bool force = *(bool *)arg, ours;
	int r;

	if (!dev->suspended)
		return 0;
	ours = recorded_suspend(p, dev->name);
	if (!ours && !force) {
		fprintf(stderr, "velactl: pool '%s': %s is suspended, not by velactl: its I/O waits until 'dmsetup resume %s'\n",
			p->name, dev->name, dev->name);
		return 0;
	}
	r = dm_simple(DM_DEVICE_RESUME, dev->name, NULL, true);
	if (r)
		return fail(EXIT_FAILURE, "pool '%s': resuming %s failed: %s; run 'dmsetup resume %s'",
			    p->name, dev->name, strerror(-r), dev->name);
	/* A merge may have changed its blocks underneath, as suspend_branch() knows. */
	drop_page_cache(dev->name);
	fprintf(stderr, "velactl: pool '%s': resumed %s, which %s left suspended\n", p->name,
		dev->name, ours ? "a velactl that is gone" : "another tool (--force)");
	return 0;
}

int resume_left_suspended(const struct pool *p, bool force)
{
	int r = walk_pool_devices(p, resume_one, &force);

	if (!r)
		clear_suspend_record(p);
	return r;
}

/*
 * A rename is a message, then a dm rename: a velactl killed between them
 * leaves the device under the old name, with the branch's UUID.  Finish it.
 */
static int rename_one(const struct pool *p, const struct pool_device *dev, void *arg)
{
	const struct branch_list *list = arg;
	char want[VELA_DM_NAME_LEN];
	const struct branch *b;
	uint64_t id;
	int r;

	if (!branch_uuid_id(p, dev->uuid, &id))
		return 0;
	b = branch_by_id(list, id);
	if (!b)
		return 0;
	branch_dm_name(p, b->name, want, sizeof(want));
	if (!strcmp(dev->name, want))
		return 0;
	r = dm_simple(DM_DEVICE_RENAME, dev->name, want, true);
	if (r)
		return fail(EXIT_FAILURE, "pool '%s': %s is %s/%s's device under its old name, and renaming it failed: %s; run 'dmsetup rename %s %s'",
			    p->name, dev->name, p->name, b->name, strerror(-r), dev->name, want);
	ensure_node(dev->name, false);
	ensure_node(want, true);
	fprintf(stderr, "velactl: pool '%s': renamed device %s to %s, finishing a rename a velactl that is gone began\n",
		p->name, dev->name, want);
	return 0;
}

int finish_renames(const struct pool *p, const struct branch_list *list)
{
	return walk_pool_devices(p, rename_one, (void *)list);
}

static int device_sectors(const char *path, uint64_t *sectors);

static int dm_reload(const struct pool *p, const char *name, uint64_t len, const char *target,
		     const char *params)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_RELOAD);
	char path[PATH_MAX];
	uint64_t live_len;
	int r;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, name) || !dm_task_add_target(dmt, 0, len, target, params)) {
		dm_task_destroy(dmt);
		return -EINVAL;
	}
	r = run_task(dmt, 0, false);
	dm_task_destroy(dmt);
	if (r)
		return r;	/* a load that fails leaves nothing loaded */
	r = suspend_device(p, name, true);
	if (r) {
		/* The device runs on: drop the loaded table, or a later resume would take it. */
		if (dm_simple(DM_DEVICE_CLEAR, name, NULL, false))
			fprintf(stderr, "velactl: pool '%s': %s keeps a loaded table that the next resume would take: 'dmsetup clear %s' drops it\n",
				p->name, name, name);
		return r;
	}
	r = suspend_device(p, name, false);
	if (!r)
		return 0;
	/*
	 * The resume failed (the kernel log says why).  By then the kernel
	 * has either refused the new table, keeping the old one, or swapped
	 * it in and its target refused to resume; either way nothing is left
	 * loaded and the device is suspended.  One more resume settles it:
	 * it passes when the old table was kept or the failure was passing
	 * (memory), and the size says which table is live.
	 */
	if (suspend_device(p, name, false)) {
		fprintf(stderr, "velactl: pool '%s': %s stays suspended, and its I/O waits: the kernel log (dmesg) says why it cannot resume; once that is fixed, 'velactl activate %s' resumes it\n",
			p->name, name, p->name);
		return r;
	}
	snprintf(path, sizeof(path), "%s/%s", dm_dir(), name);
	if (device_sectors(path, &live_len) || live_len != len) {
		fprintf(stderr, "velactl: pool '%s': %s runs on with its old table: the kernel refused the new one (the kernel log says why)\n",
			p->name, name);
		return r;
	}
	fprintf(stderr, "velactl: pool '%s': %s resumed with its new table at the second attempt (the kernel log says why the first failed)\n",
		p->name, name);
	return 0;
}

int dm_state(const char *name, struct dm_state *s)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_INFO);
	struct dm_info info;
	int r = -EIO;

	memset(s, 0, sizeof(*s));
	if (!dmt)
		return -ENOMEM;
	if (dm_task_set_name(dmt, name) && dm_task_run(dmt) && dm_task_get_info(dmt, &info)) {
		s->exists = info.exists;
		s->suspended = info.suspended;
		s->open_count = info.open_count;
		s->major = info.major;
		s->minor = info.minor;
		r = 0;
	}
	dm_task_destroy(dmt);
	return r;
}

/* The first target's status or table parameters of @name, in @buf. */
int dm_params(const char *name, int type, char *buf, size_t len)
{
	struct dm_task *dmt = dm_task_create(type);
	uint64_t start, length;
	char *target, *params;
	int r = -EIO;

	if (!dmt)
		return -ENOMEM;
	if (dm_task_set_name(dmt, name) && dm_task_run(dmt)) {
		dm_get_next_target(dmt, NULL, &start, &length, &target, &params);
		if (params) {
			snprintf(buf, len, "%s", params);
			r = 0;
		}
	} else {
		r = dm_task_get_errno(dmt) > 0 ? -dm_task_get_errno(dmt) : -EIO;
	}
	dm_task_destroy(dmt);
	return r;
}

/* The target's reply to @message, in @reply. */
static int dm_message(const char *name, const char *message, char *reply, size_t len)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_TARGET_MSG);
	const char *response;
	int r;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, name) || !dm_task_set_sector(dmt, 0) ||
	    !dm_task_set_message(dmt, message)) {
		dm_task_destroy(dmt);
		return -EINVAL;
	}
	r = run_task(dmt, 0, false);
	if (!r && reply) {
		response = dm_task_get_message_response(dmt);
		snprintf(reply, len, "%s", response ? response : "");
	}
	dm_task_destroy(dmt);
	return r;
}

static const char *const vela_target_names[VELA_NR_TARGETS] = { "vela-pool", "vela" };

int loaded_targets(struct loaded_target *t, size_t max)
{
	struct dm_versions *target, *last;
	struct dm_task *dmt = dm_task_create(DM_DEVICE_LIST_VERSIONS);
	size_t i, n = 0;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return -EIO;
	}
	target = dm_task_get_versions(dmt);
	do {
		last = target;
		for (i = 0; i < ARRAY_SIZE(vela_target_names) && n < max; i++) {
			if (strcmp(target->name, vela_target_names[i]))
				continue;
			t[n].name = vela_target_names[i];
			memcpy(t[n++].version, target->version, sizeof(t->version));
		}
		target = (struct dm_versions *)((char *)target + target->next);
	} while (last != target);
	dm_task_destroy(dmt);
	return n;
}

/* The loaded vela-pool target's version: 1 found, 0 not loaded, -errno. */
static int target_version(uint32_t v[3])
{
	struct loaded_target t[VELA_NR_TARGETS];
	int i, n = loaded_targets(t, ARRAY_SIZE(t));

	for (i = 0; i < n; i++) {
		if (!strcmp(t[i].name, "vela-pool")) {
			memcpy(v, t[i].version, sizeof(t[i].version));
			return 1;
		}
	}
	return n < 0 ? n : 0;
}

int check_kernel(void)
{
	uint32_t v[3];
	int r = target_version(v);

	if (r == 0 && system("modprobe dm-vela >/dev/null 2>&1") == 0)
		r = target_version(v);
	if (r < 0)
		return fail(EXIT_FAILURE,
			    "cannot reach device-mapper: load dm-mod and run velactl as root");
	if (r == 0)
		return fail(EXIT_FAILURE,
			    "the dm-vela kernel module is not loaded and 'modprobe dm-vela' failed: install it (see README.md)");
	if (v[0] != TARGET_MAJOR || v[1] < TARGET_MIN_MINOR)
		return fail(EXIT_FAILURE,
			    "the loaded dm-vela target is version %u.%u.%u, but velactl %s needs %d.%d or a later %d.x: install the matching module (dkms install dm-vela/%s) and reload it",
			    v[0], v[1], v[2], VELA_PACKAGE_VERSION, TARGET_MAJOR,
			    TARGET_MIN_MINOR, TARGET_MAJOR, VELA_PACKAGE_VERSION);
	return 0;
}

/* --- sysfs ------------------------------------------------------------- */

bool is_vela_dm(const char *kname)
{
	char path[PATH_MAX], uuid[160];

	snprintf(path, sizeof(path), "/sys/class/block/%s/dm/uuid", kname);
	return !read_sysfs(path, uuid, sizeof(uuid)) &&
	       !strncmp(uuid, VELA_DM_UUID_PREFIX, strlen(VELA_DM_UUID_PREFIX));
}

static int device_sectors(const char *path, uint64_t *sectors)
{
	char sys[PATH_MAX], buf[32];
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/size", major(st.st_rdev),
		 minor(st.st_rdev));
	if (read_sysfs(sys, buf, sizeof(buf)))
		return -EIO;
	*sectors = strtoull(buf, NULL, 10);
	return 0;
}

static int pool_table(const struct pool *p, uint64_t *len, char *params, size_t plen)
{
	int r = device_sectors(p->data_path, len);

	if (!r)
		snprintf(params, plen, "%s %s %u", p->meta_path, p->data_path, p->block_sectors);
	return r;
}

int activate_pool(struct pool *p)
{
	char params[2 * PATH_MAX + 32], uuid[64];
	struct dm_state st;
	uint64_t len;
	int r;

	if (p->active)
		return 0;
	if (!p->data_path[0])
		return fail(EXIT_NOT_FOUND,
			    "pool '%s': its metadata is on %s but no device carries its data label (pool %s): attach the data device",
			    p->name, p->meta_path, p->uuid);
	r = pool_table(p, &len, params, sizeof(params));
	if (r)
		return fail(EXIT_FAILURE, "pool '%s': cannot size data device %s: %s", p->name,
			    p->data_path, strerror(-r));
	snprintf(uuid, sizeof(uuid), VELA_DM_UUID_PREFIX "POOL-%s", p->uuid);
	r = dm_create(p->dm_name, uuid, len, "vela-pool", params);
	if (r)
		return fail(r == -EEXIST ? EXIT_EXISTS : EXIT_FAILURE,
			    "pool '%s': cannot activate (metadata %s, data %s): %s; the kernel log (dmesg) says why",
			    p->name, p->meta_path, p->data_path, strerror(-r));
	if (!dm_state(p->dm_name, &st)) {
		p->major = st.major;
		p->minor = st.minor;
	}
	p->active = true;
	return 0;
}

int reload_pool(struct pool *p)
{
	char params[2 * PATH_MAX + 32], status[512];
	uint64_t len;
	int r;

	/* Keep the live table's features. */
	r = dm_params(p->dm_name, DM_DEVICE_TABLE, status, sizeof(status));
	if (!r)
		r = device_sectors(p->data_path, &len);
	if (r)
		return r;
	snprintf(params, sizeof(params), "%s", status);
	return dm_reload(p, p->dm_name, len, "vela-pool", params);
}

int deactivate_pool(struct pool *p)
{
	int r = dm_simple(DM_DEVICE_REMOVE, p->dm_name, NULL, true);

	if (!r) {
		ensure_node(p->dm_name, false);
		p->active = false;
		/* Its devices are gone: no line may outlive them to meet a namesake. */
		clear_suspend_record(p);
	}
	return r;
}

int pool_status(const struct pool *p, struct pool_status *st)
{
	char params[512];
	int r = dm_params(p->dm_name, DM_DEVICE_STATUS, params, sizeof(params));

	if (r)
		return r;
	memset(st, 0, sizeof(*st));
	if (sscanf(params, "%" SCNu64 " %" SCNu64 " %" SCNu64 "/%" SCNu64 " %" SCNu64 "/%" SCNu64
		   " %" SCNu64 " %" SCNu64 " %31s %15s %31s %31s %23s %31s",
		   &st->generation, &st->change_id, &st->meta_used, &st->meta_total,
		   &st->data_used, &st->data_total, &st->branches, &st->pending_deletes,
		   st->mode, st->needs_check, st->space_policy, st->discard, st->held_root,
		   st->held_by) != 14)
		return -EPROTO;
	return 0;
}

int pool_admin(const struct pool *p, char *reply, size_t len, const char *verb_args, ...)
{
	char args[1024], message[1100];
	const char *space;
	struct pool_status st;
	va_list ap;
	int r = 0, tries;

	va_start(ap, verb_args);
	vsnprintf(args, sizeof(args), verb_args, ap);
	va_end(ap);
	space = strchr(args, ' ');
	for (tries = 0; tries < ADMIN_RETRIES; tries++) {
		r = pool_status(p, &st);
		if (r)
			return r;
		if (space)
			snprintf(message, sizeof(message), "%.*s %" PRIu64 "%s",
				 (int)(space - args), args, st.change_id, space);
		else
			snprintf(message, sizeof(message), "%s %" PRIu64, args, st.change_id);
		r = dm_message(p->dm_name, message, reply, len);
		if (r != -ESTALE)
			break;
	}
	return r;
}

/* --- branches ---------------------------------------------------------- */

/* The next field of a row, cut out in place at its space; NULL past the last. */
static char *next_row_field(char **cursor)
{
	char *field = *cursor, *space;

	if (!field)
		return NULL;
	space = strchr(field, ' ');
	*cursor = space ? space + 1 : NULL;
	if (space)
		*space = '\0';
	return field;
}

/* A decimal field; "-" reads as *@dash when @dash is given.  False if neither. */
static bool row_number(const char *s, const uint64_t *dash, uint64_t *v)
{
	if (dash && !strcmp(s, "-")) {
		*v = *dash;
		return true;
	}
	return parse_decimal(s, v);
}

static bool row_string(const char *s, char *buf, size_t len)
{
	size_t n = strlen(s);

	if (!n || n >= len)
		return false;
	memcpy(buf, s, n + 1);
	return true;
}

/*
 * One row of list_branches (docs/dm-vela.rst): 14 fields.  Parsed by hand,
 * not by sscanf, which cost a listing of 10,000 branches a fifth of its
 * time.  Any field out of place or too long makes the row -EPROTO.
 */
static int parse_branch_row(char *line, struct branch *b)
{
	static const uint64_t no_parent = VELA_NO_PARENT, zero;
	char *f[14], *cursor = line;
	uint64_t depth, flags;
	size_t i;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < ARRAY_SIZE(f); i++) {
		f[i] = next_row_field(&cursor);
		if (!f[i])
			return -EPROTO;
	}
	if (cursor || !row_number(f[0], NULL, &b->id) || !row_number(f[1], &no_parent, &b->parent) ||
	    !row_number(f[2], NULL, &depth) || depth > UINT32_MAX ||
	    !row_number(f[3], NULL, &b->size_sectors) || !row_number(f[4], NULL, &b->ctime) ||
	    !row_number(f[5], NULL, &flags) || flags > UINT32_MAX ||
	    !row_number(f[6], NULL, &b->mapped) ||
	    /* "-": listed with no_usage */
	    !row_number(f[7], &zero, &b->exclusive) || !row_number(f[8], &zero, &b->shared) ||
	    !row_number(f[9], NULL, &b->limit) || !row_string(f[10], b->uuid, sizeof(b->uuid)) ||
	    !row_string(f[11], b->name, sizeof(b->name)) ||
	    !row_string(f[12], b->origin_id, sizeof(b->origin_id)) ||
	    !row_number(f[13], &zero, &b->usage_generation))
		return -EPROTO;
	b->depth = depth;
	b->flags = flags;
	/* A name the kernel would refuse is corrupt metadata: it never reaches a dm name. */
	if (!vela_md_valid_name(b->name))
		return -EPROTO;
	if (!strcmp(b->origin_id, "-"))
		b->origin_id[0] = '\0';
	return 0;
}

/* One list_branches page: rows appended to @list, the next id in @next. */
static int list_page(const struct pool *p, struct branch_list *list, uint64_t from,
		     uint64_t rows, bool usage, uint64_t *next, bool *more, uint64_t *change_id)
{
	static char reply[1 << 20];
	char message[80], next_field[24], *line, *save;
	struct branch *v;
	int r;

	snprintf(message, sizeof(message), "list_branches %" PRIu64 " %" PRIu64 "%s", from, rows,
		 usage ? "" : " no_usage");
	r = dm_message(p->dm_name, message, reply, sizeof(reply));
	if (r)
		return r;
	line = strtok_r(reply, "\n", &save);
	if (!line || sscanf(line, "%" SCNu64 " %23s", change_id, next_field) != 2)
		return -EPROTO;
	*more = strcmp(next_field, "-");
	*next = *more ? strtoull(next_field, NULL, 10) : 0;
	while ((line = strtok_r(NULL, "\n", &save))) {
		/* Room doubles at each power of two: 10,000 rows, 14 reallocs. */
		if (!(list->n & (list->n - 1))) {
			v = realloc(list->v, (list->n ? 2 * list->n : 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			list->v = v;
		}
		r = parse_branch_row(line, &list->v[list->n]);
		if (r)
			return r;
		list->n++;
	}
	return 0;
}

static int list_branches_with(const struct pool *p, struct branch_list *list, bool usage)
{
	uint64_t from, next, change_id, first_change = 0;
	int r, tries;
	bool more;

	for (tries = 0; tries < ADMIN_RETRIES; tries++) {
		memset(list, 0, sizeof(*list));
		from = 0;
		do {
			r = list_page(p, list, from, UINT32_MAX, usage, &next, &more, &change_id);
			if (r)
				break;
			if (from == 0)
				first_change = change_id;
			from = next;
		} while (more && change_id == first_change);
		if (!r && change_id == first_change)
			return 0;
		free_branch_list(list);
		if (r)
			return r;
	}
	return -EAGAIN;
}

int list_branches(const struct pool *p, struct branch_list *list)
{
	return list_branches_with(p, list, true);
}

int list_branches_without_usage(const struct pool *p, struct branch_list *list)
{
	return list_branches_with(p, list, false);
}

int get_branch(const struct pool *p, uint64_t id, struct branch *b)
{
	struct branch_list list = { 0 };
	uint64_t next, change_id;
	bool more;
	int r = list_page(p, &list, id, 1, false, &next, &more, &change_id);

	if (!r && (!list.n || list.v[0].id != id))
		r = -ENOENT;
	if (!r) {
		branch_device_state(p, &list);
		*b = list.v[0];
	}
	free_branch_list(&list);
	return r;
}

int find_branch_id(const struct pool *p, const char *name, uint64_t *id)
{
	char message[160], reply[32];
	int r;

	snprintf(message, sizeof(message), "find_branch %s", name);
	r = dm_message(p->dm_name, message, reply, sizeof(reply));
	if (!r)
		*id = strtoull(reply, NULL, 10);
	return r;
}

void free_branch_list(struct branch_list *list)
{
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

const struct branch *branch_by_name(const struct branch_list *list, const char *name)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		if (!strcmp(list->v[i].name, name))
			return &list->v[i];
	return NULL;
}

const struct branch *branch_by_id(const struct branch_list *list, uint64_t id)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		if (list->v[i].id == id)
			return &list->v[i];
	return NULL;
}

/* valid_branch_name() made sure the whole name fits. */
void branch_dm_name(const struct pool *p, const char *name, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s%c%s", p->name, VELA_DM_SEPARATOR, name) >= (int)len)
		buf[0] = '\0';
}

/* The device node: under libdevmapper's directory (/dev/mapper, or $DM_DEV_DIR/mapper). */
void branch_path(const struct pool *p, const char *name, char *buf, size_t len)
{
	char dm_name[VELA_DM_NAME_LEN];

	branch_dm_name(p, name, dm_name, sizeof(dm_name));
	if (snprintf(buf, len, "%s/%s", dm_dir(), dm_name) >= (int)len)
		buf[0] = '\0';
}

/* The pool's branch devices by branch id, from one walk of sysfs. */
struct branch_devices {
	struct branch_device {
		uint64_t id;
		char name[VELA_DM_NAME_LEN];
	} *v;
	size_t n;
	bool incomplete;	/* out of memory: some devices were left out */
};

static int add_branch_device(const struct pool *p, const struct pool_device *dev, void *arg)
{
	struct branch_devices *devs = arg;
	struct branch_device *v;
	uint64_t id;

	if (!branch_uuid_id(p, dev->uuid, &id))
		return 0;	/* the pool device, or a UUID velactl never wrote */
	if (!(devs->n & (devs->n - 1))) {
		v = realloc(devs->v, (devs->n ? 2 * devs->n : 1) * sizeof(*v));
		if (!v) {
			devs->incomplete = true;
			return 0;
		}
		devs->v = v;
	}
	devs->v[devs->n].id = id;
	snprintf(devs->v[devs->n].name, sizeof(devs->v[devs->n].name), "%s", dev->name);
	devs->n++;
	return 0;
}

static int cmp_branch_device(const void *a, const void *b)
{
	const struct branch_device *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Whether dm device @name exists and carries branch @id's dm UUID. */
static bool is_branch_device(const struct pool *p, const char *name, uint64_t id)
{
	char uuid[160], want[96], path[PATH_MAX];
	struct dm_state st;

	if (dm_state(name, &st) || !st.exists)
		return false;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/dm/uuid", st.major, st.minor);
	snprintf(want, sizeof(want), VELA_DM_UUID_PREFIX "BR-%s-%" PRIu64, p->uuid, id);
	return !read_sysfs(path, uuid, sizeof(uuid)) && !strcmp(uuid, want);
}

/*
 * A branch is active when a device under its dm name carries its dm UUID.
 * One walk of sysfs finds the pool's devices, so that only active
 * branches cost an ioctl (for the open count): a pool of 10,000 branches
 * with a few active lists in one pass, not in 20,000 ioctls.
 */
void branch_device_state(const struct pool *p, struct branch_list *list)
{
	struct branch_devices devs = { NULL, 0, false };
	struct branch_device key, *found;
	char name[VELA_DM_NAME_LEN];
	struct dm_state st;
	struct branch *b;
	size_t i;

	if (p->active && walk_pool_devices(p, add_branch_device, &devs))
		devs.incomplete = true;	/* ask about each branch instead */
	if (devs.n)
		qsort(devs.v, devs.n, sizeof(*devs.v), cmp_branch_device);
	for (i = 0; i < list->n; i++) {
		b = &list->v[i];
		b->active = false;
		if (!p->active)
			continue;
		branch_dm_name(p, b->name, name, sizeof(name));
		key.id = b->id;
		found = devs.n ? bsearch(&key, devs.v, devs.n, sizeof(*devs.v), cmp_branch_device) :
				 NULL;
		if (found ? strcmp(found->name, name) != 0 :
			    !devs.incomplete || !is_branch_device(p, name, b->id))
			continue;
		if (dm_state(name, &st) || !st.exists)
			continue;
		b->active = true;
		b->open_count = st.open_count;
		b->major = st.major;
		b->minor = st.minor;
	}
	free(devs.v);
}

int activate_branch(const struct pool *p, const struct branch *b)
{
	char name[VELA_DM_NAME_LEN], uuid[96], params[PATH_MAX + 64], origin[PATH_MAX];
	int r;

	branch_dm_name(p, b->name, name, sizeof(name));
	snprintf(uuid, sizeof(uuid), VELA_DM_UUID_PREFIX "BR-%s-%" PRIu64, p->uuid, b->id);
	snprintf(params, sizeof(params), "%u:%u %" PRIu64, p->major, p->minor, b->id);
	if (b->origin_id[0]) {
		r = find_origin(b->origin_id, origin, sizeof(origin));
		if (r) {
			fail(EXIT_NOT_FOUND,
			     "%s/%s: its external origin '%s' is not on this machine: attach it, then run velactl activate %s/%s",
			     p->name, b->name, b->origin_id, p->name, b->name);
			return r;
		}
		snprintf(params + strlen(params), sizeof(params) - strlen(params), " %s", origin);
	}
	r = dm_create(name, uuid, b->size_sectors, "vela", params);
	if (r)
		fail(EXIT_FAILURE, "%s/%s: cannot create device %s/%s: %s; the kernel log (dmesg) says why",
		     p->name, b->name, dm_dir(), name, strerror(-r));
	return r;
}

int deactivate_branch(const struct pool *p, const struct branch *b)
{
	char name[VELA_DM_NAME_LEN];
	int r;

	branch_dm_name(p, b->name, name, sizeof(name));
	r = dm_simple(DM_DEVICE_REMOVE, name, NULL, true);
	if (r)
		fail(r == -EBUSY ? EXIT_BUSY : EXIT_FAILURE,
		     "%s/%s: cannot remove device %s/%s: %s%s", p->name, b->name, dm_dir(), name,
		     strerror(-r), r == -EBUSY ? ": unmount it or stop what holds it open" : "");
	else
		ensure_node(name, false);
	return r;
}

int rename_branch_device(const struct pool *p, const char *old_name, const char *new_name)
{
	char from[VELA_DM_NAME_LEN], to[VELA_DM_NAME_LEN];
	int r;

	branch_dm_name(p, old_name, from, sizeof(from));
	branch_dm_name(p, new_name, to, sizeof(to));
	r = dm_simple(DM_DEVICE_RENAME, from, to, true);
	if (!r) {
		ensure_node(from, false);
		ensure_node(to, true);
	}
	return r;
}

int suspend_branch(const struct pool *p, const struct branch *b, bool suspend)
{
	char name[VELA_DM_NAME_LEN];
	int r;

	branch_dm_name(p, b->name, name, sizeof(name));
	r = suspend_device(p, name, suspend);
	if (r || suspend)
		return r;
	/* Its blocks changed underneath: drop what the page cache holds of them. */
	drop_page_cache(name);
	return 0;
}

int reload_branch(const struct pool *p, const struct branch *b)
{
	char name[VELA_DM_NAME_LEN], params[PATH_MAX + 64];
	int r;

	branch_dm_name(p, b->name, name, sizeof(name));
	r = dm_params(name, DM_DEVICE_TABLE, params, sizeof(params));
	if (!r)
		r = dm_reload(p, name, b->size_sectors, "vela", params);
	return r;
}

/* --- external origins -------------------------------------------------- */

/*
 * The identity recorded for an origin: "UUID=<uuid>" when libblkid finds
 * one (a filesystem or other superblock), else "wwid=<wwid>" (NVMe and SCSI
 * disks), else "path=<path>".  The kernel verifies the size and a
 * fingerprint at every activation, so a wrong match is refused, not used.
 */
int origin_identity(const char *path, char *id, size_t len)
{
	char sys[PATH_MAX], value[256];
	const char *uuid = NULL;
	blkid_probe pr;
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	pr = blkid_new_probe_from_filename(path);
	if (pr) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_UUID);
		if (!blkid_do_safeprobe(pr) &&
		    !blkid_probe_lookup_value(pr, "UUID", &uuid, NULL) &&
		    strlen(uuid) + 6 < len) {
			snprintf(id, len, "UUID=%s", uuid);
			blkid_free_probe(pr);
			return 0;
		}
		blkid_free_probe(pr);
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/wwid", major(st.st_rdev),
		 minor(st.st_rdev));
	if (!read_sysfs(sys, value, sizeof(value)) && value[0] && strlen(value) + 6 < len &&
	    !strpbrk(value, " \t")) {
		snprintf(id, len, "wwid=%s", value);
		return 0;
	}
	if (strlen(path) + 6 >= len)
		return -ENAMETOOLONG;
	snprintf(id, len, "path=%s", path);
	return 0;
}

/* Whether block device @kname has a holder that is not a dm-vela device. */
static bool held_by_other_than_vela(const char *kname)
{
	char path[PATH_MAX];
	struct dirent *e;
	bool other = false;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/block/%s/holders", kname);
	d = opendir(path);
	if (!d)
		return false;
	while (!other && (e = readdir(d)))
		other = e->d_name[0] != '.' && !is_vela_dm(e->d_name);
	closedir(d);
	return other;
}

int find_origin(const char *id, char *path, size_t len)
{
	char candidate[PATH_MAX], identity[64];
	struct dirent *e;
	DIR *d;

	if (!strncmp(id, "path=", 5)) {
		snprintf(path, len, "%s", id + 5);
		return access(path, R_OK) ? -ENOENT : 0;
	}
	d = opendir("/sys/class/block");
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		/*
		 * A device another device holds (a multipath path, an md member,
		 * an LV's PV) is not the one to use; one held only by dm-vela
		 * branches is: an active branch holds its origin.
		 */
		if (e->d_name[0] == '.' || is_vela_dm(e->d_name) ||
		    held_by_other_than_vela(e->d_name))
			continue;
		snprintf(candidate, sizeof(candidate), "/dev/%s", e->d_name);
		if (origin_identity(candidate, identity, sizeof(identity)) ||
		    strcmp(identity, id))
			continue;
		snprintf(path, len, "%s", candidate);
		closedir(d);
		return 0;
	}
	closedir(d);
	return -ENOENT;
}
