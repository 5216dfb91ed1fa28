// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-scan.c: finding pools, and taking a pool's lock.
 *
 * A pool is found by its active pool device, or by its superblock on a
 * block device and its data label on another, paired by the pool's UUID.
 * Nothing on a disk is trusted: a superblock counts only when
 * vela_sb_validate() accepts it (as the kernel's open would) and its name
 * is a valid name, a data label only when its checksum verifies.  Every
 * other dm-vela signature is kept as a reject, with the reason, for scan to
 * report; none of its bytes reaches a path, a dm name or the terminal.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libdevmapper.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vela-format.h"
#include "vela-meta.h"
#include "velactl.h"


static void hex_string(const uint8_t *bytes, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", bytes[i]);
	out[2 * n] = '\0';
}

/* /dev/<kernel name> of block device @major:@minor. */
static int dev_path(unsigned int major, unsigned int minor, char *path, size_t len)
{
	char link[64], target[PATH_MAX];
	ssize_t n;
	char *base;

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major, minor);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	return snprintf(path, len, "/dev/%.*s", NAME_MAX, base ? base + 1 : target) < (int)len ?
	       0 : -ENAMETOOLONG;
}

static bool has_holders(const char *kname)
{
	char path[PATH_MAX];
	struct dirent *e;
	bool any = false;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/block/%s/holders", kname);
	d = opendir(path);
	if (!d)
		return false;
	while ((e = readdir(d)))
		any |= e->d_name[0] != '.';
	closedir(d);
	return any;
}

/* The first 512 bytes of @path, bypassing the page cache. */
static int read_label(const char *path, void *sector)
{
	void *buf;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_DIRECT | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (posix_memalign(&buf, 4096, 4096)) {
		close(fd);
		return -ENOMEM;
	}
	if (pread(fd, buf, 4096, 0) != 4096)
		r = -EIO;
	else
		memcpy(sector, buf, 512);
	free(buf);
	close(fd);
	return r;
}

struct pool_set {
	struct pool *v;
	size_t n;
	/* Data labels found, for pairing: pool uuid and path. */
	struct found_data {
		char uuid[33];
		char path[PATH_MAX];
		bool held;
	} *data;
	size_t n_data;
	/* Devices already in use by an active pool device. */
	char (*in_use)[16];
	size_t n_in_use;
	/* Signatures that do not make a pool, and why. */
	struct scan_reject *rejects;
	size_t n_rejects;
	/* /etc/vela/vela.conf: the devices not to open. */
	struct device_filter *filter;
};

static int reject(struct pool_set *set, const char *path, const char *fmt, ...)
{
	struct scan_reject *v = realloc(set->rejects, (set->n_rejects + 1) * sizeof(*v));
	va_list ap;

	if (!v)
		return -ENOMEM;
	set->rejects = v;
	v = &v[set->n_rejects++];
	snprintf(v->path, sizeof(v->path), "%s", path);
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	return 0;
}

/*
 * Is @sb a pool's superblock: valid as an open would find it, on a device
 * of @size_sectors, with a name that may become a path?
 */
static int check_superblock(const struct vela_superblock *sb, uint64_t size_sectors,
			    char *why, size_t len)
{
	char name[VELA_POOL_NAME_LEN];

	if (vela_sb_validate(sb, size_sectors / 8, why, len))
		return -EILSEQ;
	memcpy(name, sb->pool_name, sizeof(name));
	if (!memchr(name, '\0', sizeof(name)) || !valid_pool_name(name)) {
		snprintf(why, len, "its pool name is not a valid name");
		return -EILSEQ;
	}
	return 0;
}

/* Is @kname a suspended dm device, or stacked (slaves/) on one? */
static bool over_suspended(const char *kname, int depth)
{
	char path[PATH_MAX], val[8];
	struct dirent *e;
	bool found;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/block/%s/dm/suspended", kname);
	if (!read_sysfs(path, val, sizeof(val)) && !strcmp(val, "1"))
		return true;
	if (depth == 8)
		return true;	/* deeper than any real stack: do not open it */
	snprintf(path, sizeof(path), "/sys/class/block/%s/slaves", kname);
	d = opendir(path);
	if (!d)
		return false;
	found = false;
	while (!found && (e = readdir(d)))
		found = e->d_name[0] != '.' && over_suspended(e->d_name, depth + 1);
	closedir(d);
	return found;
}

static struct pool *add_pool(struct pool_set *set)
{
	struct pool *v = realloc(set->v, (set->n + 1) * sizeof(*v));

	if (!v)
		return NULL;
	set->v = v;
	memset(&v[set->n], 0, sizeof(v[0]));
	v[set->n].lock_fd = -1;
	return &v[set->n++];
}

static int note_in_use(struct pool_set *set, const char *majmin)
{
	char (*v)[16] = realloc(set->in_use, (set->n_in_use + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	set->in_use = v;
	snprintf(v[set->n_in_use++], sizeof(v[0]), "%s", majmin);
	return 0;
}

static bool in_use(const struct pool_set *set, const char *majmin)
{
	size_t i;

	for (i = 0; i < set->n_in_use; i++)
		if (!strcmp(set->in_use[i], majmin))
			return true;
	return false;
}

/* Active pools: dm devices with a "VELA-POOL-" UUID and their tables. */
static int scan_active(struct pool_set *set)
{
	char path[PATH_MAX], uuid[160], name[VELA_DM_NAME_LEN], params[512];
	unsigned int mmaj, mmin, dmaj, dmin, sectors;
	struct dm_state st;
	struct dirent *e;
	struct pool *p;
	DIR *d = opendir("/sys/block");

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "dm-", 3))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/dm/uuid", e->d_name);
		if (read_sysfs(path, uuid, sizeof(uuid)) ||
		    strncmp(uuid, VELA_DM_UUID_PREFIX "POOL-", 10))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/dm/name", e->d_name);
		if (read_sysfs(path, name, sizeof(name)) || name[0] != VELA_DM_SEPARATOR)
			continue;
		if (dm_params(name, DM_DEVICE_TABLE, params, sizeof(params)) ||
		    sscanf(params, "%u:%u %u:%u %u", &mmaj, &mmin, &dmaj, &dmin, &sectors) != 5 ||
		    dm_state(name, &st) || !st.exists)
			continue;
		p = add_pool(set);
		if (!p) {
			closedir(d);
			return -ENOMEM;
		}
		snprintf(p->name, sizeof(p->name), "%.*s", VELA_MAX_POOL_NAME, name + 1);
		snprintf(p->uuid, sizeof(p->uuid), "%.32s", uuid + 10);
		snprintf(p->dm_name, sizeof(p->dm_name), "%s", name);
		dev_path(mmaj, mmin, p->meta_path, sizeof(p->meta_path));
		dev_path(dmaj, dmin, p->data_path, sizeof(p->data_path));
		p->block_sectors = sectors;
		p->active = true;
		p->major = st.major;
		p->minor = st.minor;
		snprintf(path, sizeof(path), "%u:%u", mmaj, mmin);
		note_in_use(set, path);
		snprintf(path, sizeof(path), "%u:%u", dmaj, dmin);
		note_in_use(set, path);
	}
	closedir(d);
	return 0;
}

static struct pool *pool_by_uuid(struct pool_set *set, const char *uuid)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (!strcmp(set->v[i].uuid, uuid))
			return &set->v[i];
	return NULL;
}

/* One block device: is it a pool's metadata or data device? */
static int scan_device(struct pool_set *set, const char *kname)
{
	char path[PATH_MAX], majmin[16], uuid[33], size[PATH_MAX], why[128];
	const struct vela_superblock *sb;
	const struct vela_data_label *label;
	uint8_t sector[512];
	struct found_data *fd;
	unsigned int maj, min;
	struct pool *p;
	bool held;

	snprintf(path, sizeof(path), "/sys/class/block/%s/dev", kname);
	if (read_sysfs(path, majmin, sizeof(majmin)) || in_use(set, majmin) || is_vela_dm(kname))
		return 0;
	/* A read of a suspended dm device, or of one over it, waits: never start one. */
	if (over_suspended(kname, 0))
		return 0;
	if (sscanf(majmin, "%u:%u", &maj, &min) != 2 ||
	    !device_accepted(set->filter, kname, makedev(maj, min)))
		return 0;
	snprintf(path, sizeof(path), "/dev/%s", kname);
	if (read_label(path, sector))
		return 0;
	sb = (const void *)sector;
	label = (const void *)sector;
	held = has_holders(kname);
	if (le64_to_cpu(sb->magic) == VELA_SUPERBLOCK_MAGIC) {
		snprintf(size, sizeof(size), "/sys/class/block/%s/size", kname);
		if (read_sysfs(size, why, sizeof(why)))
			snprintf(why, sizeof(why), "0");
		if (check_superblock(sb, strtoull(why, NULL, 10), why, sizeof(why)))
			return reject(set, path, "%s", why);
		hex_string(sb->uuid, sizeof(sb->uuid), uuid);
		p = pool_by_uuid(set, uuid);
		if (p && (p->active || held))
			return 0;	/* a device stacked on the one we have */
		/*
		 * Two unheld devices with one UUID are a block-for-block copy,
		 * not two paths: keep both, so that the name is refused as
		 * ambiguous rather than one picked (import-clone tells them
		 * apart).  A held one we met first was a path: the top wins.
		 */
		if (!p || !p->meta_held) {
			p = add_pool(set);
			if (!p)
				return -ENOMEM;
		}
		p->meta_held = held;
		snprintf(p->name, sizeof(p->name), "%.*s", VELA_POOL_NAME_LEN - 1, sb->pool_name);
		snprintf(p->uuid, sizeof(p->uuid), "%s", uuid);
		snprintf(p->meta_path, sizeof(p->meta_path), "%s", path);
		snprintf(p->dm_name, sizeof(p->dm_name), "%c%s", VELA_DM_SEPARATOR, p->name);
		p->block_sectors = le32_to_cpu(sb->data_block_sectors);
	} else if (le64_to_cpu(label->magic) == VELA_DATA_LABEL_MAGIC) {
		if (le32_to_cpu(label->csum) != vela_block_csum(label, sizeof(*label)))
			return reject(set, path, "data label checksum mismatch");
		fd = realloc(set->data, (set->n_data + 1) * sizeof(*fd));
		if (!fd)
			return -ENOMEM;
		set->data = fd;
		fd = &fd[set->n_data++];
		hex_string(label->pool_uuid, sizeof(label->pool_uuid), fd->uuid);
		snprintf(fd->path, sizeof(fd->path), "%s", path);
		fd->held = held;
	}
	return 0;
}

/*
 * The data device of inactive pool @p: the one unheld device with its label
 * (a held one is a path under multipath, taken only when no unheld one is
 * there).  Two unheld ones are a copy of the device: pairing either could
 * run one pool's metadata over the other's data, so neither is taken, and
 * both are reported.
 */
static int pair_data(struct pool_set *set, struct pool *p)
{
	size_t j, unheld = 0;
	int r = 0;

	for (j = 0; j < set->n_data; j++) {
		if (strcmp(set->data[j].uuid, p->uuid))
			continue;
		unheld += !set->data[j].held;
		if (!p->data_path[0] || !set->data[j].held)
			snprintf(p->data_path, sizeof(p->data_path), "%s", set->data[j].path);
	}
	if (unheld < 2)
		return 0;
	p->data_path[0] = '\0';
	for (j = 0; !r && j < set->n_data; j++)
		if (!strcmp(set->data[j].uuid, p->uuid) && !set->data[j].held)
			r = reject(set, set->data[j].path,
				   "one of %zu data devices of pool '%s' (a block-for-block copy?): 'velactl import-clone' one of them",
				   unheld, p->name);
	/* Every copy of the pool's metadata meets the same labels: say it once. */
	for (j = 0; j < set->n_data; j++)
		if (!strcmp(set->data[j].uuid, p->uuid))
			set->data[j].uuid[0] = '\0';
	return r;
}

int scan_pools(struct pool **pools, size_t *n, struct scan_reject **rejects, size_t *n_rejects)
{
	struct pool_set set = { 0 };
	struct dirent *e;
	size_t i;
	DIR *d;
	int r;

	r = load_device_filter(&set.filter);
	if (r)
		return r;
	r = scan_active(&set);
	d = opendir("/sys/class/block");
	if (!r && !d)
		r = -errno;
	while (!r && (e = readdir(d)))
		if (e->d_name[0] != '.')
			r = scan_device(&set, e->d_name);
	if (d)
		closedir(d);
	/* Pair each inactive pool with its data device, the unstacked one first. */
	for (i = 0; !r && i < set.n; i++)
		if (!set.v[i].active)
			r = pair_data(&set, &set.v[i]);
	free(set.data);
	free(set.in_use);
	free_device_filter(set.filter);
	if (r || !rejects)
		free(set.rejects);
	if (r) {
		free(set.v);
		return r;
	}
	*pools = set.v;
	*n = set.n;
	if (rejects) {
		*rejects = set.rejects;
		*n_rejects = set.n_rejects;
	}
	return 0;
}

/*
 * Active pool @name, from device-mapper alone: its dm name is unique, so
 * no block device needs opening (a scan of every disk costs more than the
 * command; item 7 of issue 13).  0, or -ENOENT when it is not active.
 */
static int lookup_active(const char *name, struct pool *p)
{
	struct pool_set set = { 0 };
	size_t i;
	int r = scan_active(&set);

	for (i = 0; !r && i < set.n; i++)
		if (!strcmp(set.v[i].name, name))
			break;
	if (!r)
		r = i < set.n ? 0 : -ENOENT;
	if (!r)
		*p = set.v[i];
	free(set.v);
	free(set.in_use);
	return r;
}

int lookup_pool(const char *name, struct pool *p)
{
	struct pool *pools;
	size_t n, i, found = 0;
	int r = lookup_active(name, p);

	if (r != -ENOENT)
		return r;
	r = scan_pools(&pools, &n, NULL, NULL);
	if (r)
		return r;
	for (i = 0; i < n; i++) {
		if (strcmp(pools[i].name, name))
			continue;
		if (found++) {
			fail(EXIT_FAILURE,
			     "two pools are named '%s' (metadata on %s and %s): a block-for-block copy? 'velactl import-clone' one of them, or detach its devices",
			     name, p->meta_path, pools[i].meta_path);
			r = -EEXIST;
			break;
		}
		*p = pools[i];
	}
	free(pools);
	return r ? r : (found ? 0 : -ENOENT);
}

int find_pool(const char *name, struct pool *p)
{
	int r = lookup_pool(name, p);

	if (r == -ENOENT)
		return fail(EXIT_NOT_FOUND,
			    "no pool named '%s' on this machine: 'velactl scan' lists the pools found, 'velactl init' makes one",
			    name);
	if (r == -EEXIST)
		return EXIT_FAILURE;
	if (r)
		return fail(EXIT_FAILURE, "cannot scan block devices for pools: %s", strerror(-r));
	return 0;
}

/*
 * Who holds lock file @fd: "velactl create-branch ci/base job1 (pid 42)",
 * from the FLOCK line of /proc/locks whose device and inode are the lock
 * file's.  Whoever takes the lock writes nothing into it, so a holder that
 * was killed leaves no stale name behind.
 */
static void lock_holder(int fd, char *who, size_t len)
{
	unsigned int maj, min;
	char line[256], cmd[96], path[64];
	unsigned long ino;
	struct stat st;
	size_t n, i;
	FILE *f;
	int pid = 0, found = 0;

	snprintf(who, len, "another process");
	if (fstat(fd, &st))
		return;
	f = fopen("/proc/locks", "re");
	if (!f)
		return;
	while (!found && fgets(line, sizeof(line), f)) {
		/* "1: FLOCK  ADVISORY  WRITE 42 00:1a:1234 0 EOF"; waiters show "->". */
		if (strstr(line, "->") || !strstr(line, "FLOCK"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %d %x:%x:%lu", &pid, &maj, &min, &ino) == 4 &&
		    maj == major(st.st_dev) && min == minor(st.st_dev) && ino == st.st_ino)
			found = 1;
	}
	fclose(f);
	if (!found)
		return;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	f = fopen(path, "re");
	n = f ? fread(cmd, 1, sizeof(cmd) - 1, f) : 0;
	if (f)
		fclose(f);
	/* Arguments are NUL-separated; anything unprintable is not echoed. */
	for (i = 0; i < n; i++)
		if (!cmd[i])
			cmd[i] = ' ';
		else if (!isprint((unsigned char)cmd[i]))
			cmd[i] = '?';
	while (n && cmd[n - 1] == ' ')
		n--;
	cmd[n] = '\0';
	if (n)
		snprintf(who, len, "%s (pid %d)", cmd, pid);
	else
		snprintf(who, len, "process %d", pid);
}

static void lock_wait_tick(int sig)
{
	(void)sig;
}

/*
 * flock(LOCK_EX) on @fd for at most @seconds.  A 200 ms interval timer
 * interrupts the wait (the handler is installed without SA_RESTART), so a
 * timer that fires just before flock() blocks cannot be lost: the next tick
 * comes.  0, or -errno (-ETIMEDOUT when time ran out).
 */
static int flock_timed(int fd, unsigned int seconds)
{
	const struct itimerval tick = { { 0, 200000 }, { 0, 200000 } };
	struct itimerval old_timer, off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa = { .sa_handler = lock_wait_tick }, old_sa;
	struct timespec now, deadline;
	sigset_t alarm_only, old_mask;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += seconds;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old_sa);
	/* A SIGALRM blocked by whoever started us would make the wait endless. */
	sigemptyset(&alarm_only);
	sigaddset(&alarm_only, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &alarm_only, &old_mask);
	setitimer(ITIMER_REAL, &tick, &old_timer);
	while (flock(fd, LOCK_EX)) {
		if (errno != EINTR) {
			r = -errno;
			break;
		}
		if (stop_signal()) {
			r = -EINTR;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline.tv_sec ||
		    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
			r = -ETIMEDOUT;
			break;
		}
	}
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old_sa, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	setitimer(ITIMER_REAL, &old_timer, NULL);
	return r;
}

/*
 * Take pool @name's lock: at once if it is free, else waiting up to
 * lock_wait_seconds (--wait, --nowait) and naming the holder when the wait
 * starts (on a terminal, or with -v) and when it times out.  The lock is
 * taken by name, before anything about the pool is read, so whatever a
 * command reads next is what the previous holder left.
 */
static int lock_pool_name(const char *name, int *fd)
{
	char path[PATH_MAX], who[160], point[80];
	int r;

	if (!valid_pool_name(name)) {
		usage_error("invalid pool name '%s'\n%s", name, name_rules_help);
		return EXIT_USAGE;
	}
	if (mkdir(RUN_DIR, 0700) && errno != EEXIST)
		return fail(EXIT_FAILURE, "cannot create %s: %s", RUN_DIR, strerror(errno));
	snprintf(path, sizeof(path), RUN_DIR "/%s.lock", name);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return fail(EXIT_FAILURE, "cannot open the lock of pool '%s' (%s): %s", name, path,
			    strerror(errno));
	r = flock(*fd, LOCK_EX | LOCK_NB) ? -errno : 0;
	if (r == -EWOULDBLOCK) {
		lock_holder(*fd, who, sizeof(who));
		if (!lock_wait_seconds) {
			r = fail(EXIT_BUSY, "pool '%s' is locked by %s: try again later, or wait with --wait SECONDS",
				 name, who);
			goto out;
		}
		if (verbose || isatty(STDERR_FILENO))
			fprintf(stderr, "velactl: pool '%s' is locked by %s: waiting up to %u s\n",
				name, who, lock_wait_seconds);
		r = flock_timed(*fd, lock_wait_seconds);
		if (r == -EINTR) {
			r = fail(EXIT_FAILURE, "interrupted while waiting for pool '%s''s lock: nothing was done",
				 name);
			goto out;
		}
		if (r == -ETIMEDOUT) {
			lock_holder(*fd, who, sizeof(who));
			r = fail(EXIT_BUSY, "pool '%s' is still locked by %s after %u s: nothing was done; try again, or wait longer with --wait SECONDS",
				 name, who, lock_wait_seconds);
			goto out;
		}
	}
	if (r) {
		r = fail(EXIT_FAILURE, "cannot lock pool '%s' (%s): %s", name, path, strerror(-r));
		goto out;
	}
	snprintf(point, sizeof(point), "locked:%s", name);
	test_stop_point(point);
	return 0;
out:
	close(*fd);
	*fd = -1;
	return r;
}

int try_lock_pool(struct pool *p)
{
	char path[PATH_MAX];

	if (mkdir(RUN_DIR, 0700) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), RUN_DIR "/%s.lock", p->name);
	p->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (p->lock_fd < 0)
		return -errno;
	if (!flock(p->lock_fd, LOCK_EX | LOCK_NB))
		return 0;
	close(p->lock_fd);
	p->lock_fd = -1;
	return -EWOULDBLOCK;
}

int lock_pool(struct pool *p)
{
	return lock_pool_name(p->name, &p->lock_fd);
}

void unlock_pool(struct pool *p)
{
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	p->lock_fd = -1;
}

/*
 * Lock pool @name, then find it: the lock comes first, so the state read
 * (active or not, its devices) cannot change before the command acts on it.
 */
int open_pool(const char *name, struct pool *p, bool any_state)
{
	int fd = -1, r = check_kernel();

	if (!r)
		r = lock_pool_name(name, &fd);
	if (!r)
		r = find_pool(name, p);
	if (r) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	p->lock_fd = fd;
	if (!any_state && !p->active)
		r = fail(EXIT_FAILURE, "pool '%s' is not active: run 'velactl activate %s'",
			 name, name);
	return r;
}
