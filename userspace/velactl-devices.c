// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-devices.c: the devices that format, init and repair write.  Each
 * is opened once, before anything is written, and everything after works
 * on that open file (through /proc/self/fd), whatever its path comes to
 * name meanwhile.  Before a byte is written:
 *
 * - two of them must not share a byte.  A path becomes extents, byte
 *   ranges of leaves: an image file (by device and inode), a whole disk by
 *   its WWID where sysfs has one (two paths to one LUN are one disk), else
 *   by its number.  Partitions (sysfs start), loop devices (their backing
 *   file and offset) and dm devices are followed down: linear, flakey,
 *   crypt and striped tables by their byte ranges, multipath to its paths,
 *   thin to its pool and device id; error and zero hold no bytes.  A dm
 *   device of any other target is a leaf of its own, and is also taken to
 *   use the devices its table names whole: two devices on it are judged
 *   by their ranges of it, but anything reaching its devices another way
 *   overlaps, which can refuse a pair that is apart; the refusal says so.
 * - each is locked (flock, in one order, so two velactl runs on the same
 *   devices queue rather than interleave), and each block device is held
 *   open O_EXCL, so nothing mounts, assembles or claims it until the
 *   format is written.  The locks are held until exit, init's activation
 *   included; the exclusive opens until release_claim().
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "velactl.h"

/* Where velactl-scan.c keeps the pools' locks. */
#define VELA_LOCK_DIR	"/run/vela"

/* Deeper than any real stack (partition, dm, dm, loop, ...): a loop in the tables. */
#define MAX_DEPTH	16

struct extent {
	char leaf[96];		/* "file D I", "wwid W", "disk M:m", "dm M:m", "thin M:m ID" */
	char what[PATH_MAX];	/* the leaf, for a message */
	uint64_t start, len;	/* bytes */
	/* Beneath a dm table of unknown layout, taken whole: its number and type. */
	char via[24], via_type[32];
};

struct extents {
	struct extent *v;
	size_t n;
	char via[24], via_type[32];	/* where the walk is: beneath which unknown table */
};

static int add_extent(struct extents *e, const char *leaf, const char *what, uint64_t start,
		      uint64_t len)
{
	struct extent *v = realloc(e->v, (e->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	e->v = v;
	v += e->n++;
	snprintf(v->leaf, sizeof(v->leaf), "%s", leaf);
	snprintf(v->what, sizeof(v->what), "%s", what);
	snprintf(v->via, sizeof(v->via), "%s", e->via);
	snprintf(v->via_type, sizeof(v->via_type), "%s", e->via_type);
	v->start = start;
	v->len = len;
	return 0;
}

static int sysfs_u64(const char *dir, const char *file, uint64_t *v)
{
	char path[PATH_MAX], buf[32], *end;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (read_sysfs(path, buf, sizeof(buf)))
		return -ENOENT;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return errno || end == buf || *end ? -EINVAL : 0;
}

/* "/dev/NAME" of block device @sys, for messages. */
static void dev_name(const char *sys, char *buf, size_t len)
{
	char path[PATH_MAX], real[PATH_MAX];
	const char *slash;

	snprintf(path, sizeof(path), "%s", sys);
	if (!realpath(path, real)) {
		snprintf(buf, len, "%s", sys);
		return;
	}
	slash = strrchr(real, '/');
	snprintf(buf, len, "/dev/%.200s", slash ? slash + 1 : real);
}

static int parse_devt(const char *s, unsigned int *maj, unsigned int *min)
{
	char extra;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	return sscanf(s, "%u:%u%c", maj, min, &extra) == 2 ? 0 : -EINVAL;
}

static int walk_blk(struct extents *e, unsigned int maj, unsigned int min, uint64_t start,
		    uint64_t len, int depth);

/*
 * A dm table of unknown layout: its own bytes [@a, @b), a leaf of their own
 * (two ranges of one block device never share a byte), and every device
 * its table names, whole.  Those are compared with anything that does not
 * come through the same table, so whatever bypasses it to reach its
 * devices overlaps, at the price of refusing some pairs that are apart.
 */
static int walk_unknown(struct extents *e, unsigned int maj, unsigned int min, const char *type,
			char *params, uint64_t a, uint64_t b, int depth)
{
	char leaf[96], what[PATH_MAX], sys[64], via[24], via_type[32];
	unsigned int dmaj, dmin;
	char *tok, *save = NULL;
	int r;

	snprintf(leaf, sizeof(leaf), "dm %u:%u", maj, min);
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", maj, min);
	dev_name(sys, what, sizeof(what));
	r = add_extent(e, leaf, what, a, b - a);
	memcpy(via, e->via, sizeof(via));
	memcpy(via_type, e->via_type, sizeof(via_type));
	snprintf(e->via, sizeof(e->via), "%u:%u", maj, min);
	snprintf(e->via_type, sizeof(e->via_type), "%s", type);
	for (tok = strtok_r(params, " ", &save); tok && !r; tok = strtok_r(NULL, " ", &save))
		if (!parse_devt(tok, &dmaj, &dmin))
			r = walk_blk(e, dmaj, dmin, 0, UINT64_MAX, depth + 1);
	memcpy(e->via, via, sizeof(via));
	memcpy(e->via_type, via_type, sizeof(via_type));
	return r;
}

/* The rows of each stripe that bytes [@a, @b) of a striped target touch. */
static int walk_striped(struct extents *e, char *params, uint64_t tlen, uint64_t a, uint64_t b,
			int depth)
{
	uint64_t n, chunk, off, lo, hi, per;
	unsigned int maj, min, i;
	char *tok, *save = NULL;
	int r = 0;

	tok = strtok_r(params, " ", &save);
	n = tok ? strtoull(tok, NULL, 10) : 0;
	tok = strtok_r(NULL, " ", &save);
	chunk = tok ? strtoull(tok, NULL, 10) : 0;
	if (!n || !chunk)
		return -EINVAL;
	per = tlen / n;
	a >>= 9;
	b = (b + 511) >> 9;
	lo = a / chunk / n * chunk;
	hi = ((b - 1) / chunk / n + 1) * chunk;
	if (hi > per)
		hi = per;
	if (hi <= lo)
		return 0;
	for (i = 0; i < n && !r; i++) {
		tok = strtok_r(NULL, " ", &save);
		if (!tok || parse_devt(tok, &maj, &min))
			return -EINVAL;
		tok = strtok_r(NULL, " ", &save);
		if (!tok)
			return -EINVAL;
		off = strtoull(tok, NULL, 10);
		r = walk_blk(e, maj, min, (off + lo) << 9, (hi - lo) << 9, depth + 1);
	}
	return r;
}

/*
 * Bytes [@a, @b) of one target of dm device @dmaj:@dmin's table, relative
 * to the target's start @tstart (bytes); @tlen in sectors.
 */
static int walk_target(struct extents *e, unsigned int dmaj, unsigned int dmin, const char *type,
		       char *params, uint64_t tstart, uint64_t tlen, uint64_t a, uint64_t b,
		       int depth)
{
	char dev[32], id[32], leaf[96], *tok, *save = NULL;
	unsigned int maj, min;
	uint64_t off;
	int r;

	if (!strcmp(type, "error") || !strcmp(type, "zero"))
		return 0;
	if (!strcmp(type, "striped"))
		return walk_striped(e, params, tlen, a, b, depth);
	if (!strcmp(type, "multipath")) {
		/* Every path leads to the one LUN, at the same bytes; a path gone is skipped. */
		for (tok = strtok_r(params, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			r = parse_devt(tok, &maj, &min) ? 0 : walk_blk(e, maj, min, a, b - a, depth + 1);
			if (r && r != -ENOENT)
				return r;
		}
		return 0;
	}
	/* Thin devices of one pool never share a block. */
	if (!strcmp(type, "thin") && sscanf(params, "%31s %31s", dev, id) == 2) {
		snprintf(leaf, sizeof(leaf), "thin %s %s", dev, id);
		return add_extent(e, leaf, "a thin pool's device", a, b - a);
	}
	/* linear and flakey: DEV OFFSET ...; crypt: CIPHER KEY IV_OFFSET DEV OFFSET ... */
	if (((!strcmp(type, "linear") || !strcmp(type, "flakey")) &&
	     sscanf(params, "%31s %" SCNu64, dev, &off) == 2) ||
	    (!strcmp(type, "crypt") && sscanf(params, "%*s %*s %*s %31s %" SCNu64, dev, &off) == 2)) {
		if (parse_devt(dev, &maj, &min) || off > (UINT64_MAX >> 9))
			return -EINVAL;
		return walk_blk(e, maj, min, (off << 9) + a, b - a, depth + 1);
	}
	/* The bytes above it are the table's, from the target's start. */
	return walk_unknown(e, dmaj, dmin, type, params, tstart + a, tstart + b, depth);
}

/* Bytes [@start, @start + @len) of dm device @maj:@min, through its table. */
static int walk_dm(struct extents *e, unsigned int maj, unsigned int min, uint64_t start,
		   uint64_t len, int depth)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_TABLE);
	uint64_t tstart, tlen, a, b, end = len > UINT64_MAX - start ? UINT64_MAX : start + len;
	char *type, *params, *copy;
	void *next = NULL;
	int r = -EIO;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_major(dmt, maj) || !dm_task_set_minor(dmt, min) || !dm_task_run(dmt))
		goto out;
	r = 0;
	do {
		next = dm_get_next_target(dmt, next, &tstart, &tlen, &type, &params);
		if (!type || !params || tstart >= (UINT64_MAX >> 9) || tlen > (UINT64_MAX >> 9) - tstart)
			continue;
		tstart <<= 9;
		tlen <<= 9;
		if (start >= tstart + tlen || end <= tstart)
			continue;
		a = start > tstart ? start - tstart : 0;
		b = end < tstart + tlen ? end - tstart : tlen;
		copy = strdup(params);
		if (!copy) {
			r = -ENOMEM;
			break;
		}
		r = walk_target(e, maj, min, type, copy, tstart, tlen >> 9, a, b, depth);
		free(copy);
	} while (next && !r);
out:
	dm_task_destroy(dmt);
	return r;
}

/*
 * Bytes [@start, @start + @len) of block device @maj:@min (@len clipped to
 * its size) as extents of leaves.
 */
static int walk_blk(struct extents *e, unsigned int maj, unsigned int min, uint64_t start,
		    uint64_t len, int depth)
{
	char sys[64], path[PATH_MAX], real[PATH_MAX], buf[PATH_MAX], leaf[96];
	unsigned int pmaj, pmin;
	uint64_t size, v;
	struct stat st;

	if (depth > MAX_DEPTH)
		return -ELOOP;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", maj, min);
	if (sysfs_u64(sys, "size", &size))
		return -ENOENT;
	size <<= 9;
	if (start >= size)
		return 0;
	if (len > size - start)
		len = size - start;
	/* A partition: the same bytes of its disk, from its start. */
	if (!sysfs_u64(sys, "partition", &v) && !sysfs_u64(sys, "start", &v)) {
		snprintf(path, sizeof(path), "%s/../dev", sys);
		if (!realpath(path, real) || read_sysfs(real, buf, sizeof(buf)) ||
		    parse_devt(buf, &pmaj, &pmin))
			return -ENOENT;
		return walk_blk(e, pmaj, pmin, (v << 9) + start, len, depth + 1);
	}
	/* A loop device: bytes of its backing file, from its offset. */
	snprintf(path, sizeof(path), "%s/loop/backing_file", sys);
	if (!read_sysfs(path, buf, sizeof(buf))) {
		if (sysfs_u64(sys, "loop/offset", &v))
			v = 0;
		if (!stat(buf, &st) && S_ISREG(st.st_mode)) {
			snprintf(leaf, sizeof(leaf), "file %ju %ju", (uintmax_t)st.st_dev,
				 (uintmax_t)st.st_ino);
			return add_extent(e, leaf, buf, v + start, len);
		}
		if (!stat(buf, &st) && S_ISBLK(st.st_mode))
			return walk_blk(e, major(st.st_rdev), minor(st.st_rdev), v + start, len,
					depth + 1);
	}
	snprintf(path, sizeof(path), "%s/dm", sys);
	if (!access(path, F_OK))
		return walk_dm(e, maj, min, start, len, depth);
	/* A whole disk: by its WWID, so that two paths to one LUN are one disk. */
	dev_name(sys, buf, sizeof(buf));
	snprintf(path, sizeof(path), "%s/device/wwid", sys);
	if (read_sysfs(path, leaf + 5, sizeof(leaf) - 5) || !leaf[5]) {
		snprintf(path, sizeof(path), "%s/wwid", sys);
		if (read_sysfs(path, leaf + 5, sizeof(leaf) - 5) || !leaf[5])
			leaf[5] = '\0';
	}
	if (leaf[5])
		memcpy(leaf, "wwid ", 5);
	else
		snprintf(leaf, sizeof(leaf), "disk %u:%u", maj, min);
	return add_extent(e, leaf, buf, start, len);
}

static int extents_of(const struct claim *c, struct extents *e)
{
	char leaf[96];

	memset(e, 0, sizeof(*e));
	if (c->blk)
		return walk_blk(e, major(c->st.st_rdev), minor(c->st.st_rdev), 0, UINT64_MAX, 0);
	snprintf(leaf, sizeof(leaf), "file %ju %ju", (uintmax_t)c->st.st_dev,
		 (uintmax_t)c->st.st_ino);
	return add_extent(e, leaf, c->path, 0, c->st.st_size ? c->st.st_size : 1);
}

int refuse_overlap(const struct claim *a, const struct claim *b, const char *why)
{
	struct extents ea, eb;
	const struct extent *x, *y;
	size_t i, j;
	int r;

	r = extents_of(a, &ea);
	if (!r)
		r = extents_of(b, &eb);
	if (r) {
		free(ea.v);
		return fail(EXIT_FAILURE, "cannot tell which devices %s and %s lie on: %s", a->path,
			    b->path, strerror(-r));
	}
	for (i = 0; i < ea.n; i++) {
		for (j = 0; j < eb.n; j++) {
			x = &ea.v[i];
			y = &eb.v[j];
			if (strcmp(x->leaf, y->leaf) || x->start >= y->start + y->len ||
			    y->start >= x->start + x->len)
				continue;
			/* Both through one unknown table: its own ranges decide. */
			if (x->via[0] && !strcmp(x->via, y->via))
				continue;
			r = fail(EXIT_USAGE, "%s %s %s and %s %s %s overlap: both hold bytes of %s (from byte %" PRIu64 ")%s%s%s; %s",
				 a->what, a->blk ? "device" : "file", a->path, b->what,
				 b->blk ? "device" : "file", b->path, x->what,
				 x->start > y->start ? x->start : y->start,
				 x->via[0] || y->via[0] ? "; a dm '" : "",
				 x->via[0] ? x->via_type : y->via_type,
				 x->via[0] || y->via[0] ?
				 "' table was taken to use its devices whole, its layout being unknown" :
				 "", why);
			goto out;
		}
	}
out:
	free(ea.v);
	free(eb.v);
	return r;
}

int open_claim(struct claim *c, const char *what, const char *path, bool read_only)
{
	memset(c, 0, sizeof(*c));
	c->what = what;
	c->path = path;
	c->read_only = read_only;
	c->fd = -1;
	c->excl_fd = -1;
	if (stat(path, &c->st))
		return fail(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_FAILURE, "%s device %s: %s",
			    what, path, strerror(errno));
	c->blk = S_ISBLK(c->st.st_mode);
	if (!c->blk && !S_ISREG(c->st.st_mode))
		return fail(EXIT_USAGE, "%s device %s is neither a block device nor a file",
			    what, path);
	return 0;
}

/* Block devices by number, files by device and inode: one order for every run. */
static bool before(const struct claim *a, const struct claim *b)
{
	if (a->blk != b->blk)
		return a->blk;
	if (a->blk)
		return a->st.st_rdev < b->st.st_rdev;
	return a->st.st_dev < b->st.st_dev ||
	       (a->st.st_dev == b->st.st_dev && a->st.st_ino < b->st.st_ino);
}

/*
 * flock() @fd, waiting as for a pool's lock: at most lock_wait_seconds
 * (--wait, --nowait), polling.  0, -EWOULDBLOCK when the wait ran out, or
 * -errno.
 */
static int flock_waiting(const struct claim *c, int fd)
{
	const struct timespec poll = { 0, 100 * 1000 * 1000 };
	int op = (c->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB;
	unsigned long tries = lock_wait_seconds * 10UL;

	if (!flock(fd, op))
		return 0;
	if (errno != EWOULDBLOCK)
		return -errno;
	if (tries && (verbose || isatty(STDERR_FILENO)))
		fprintf(stderr, "velactl: %s device %s is locked by another velactl (init, format or repair): waiting up to %u s\n",
			c->what, c->path, lock_wait_seconds);
	while (tries--) {
		nanosleep(&poll, NULL);
		if (!flock(fd, op))
			return 0;
		if (errno != EWOULDBLOCK)
			return -errno;
	}
	return -EWOULDBLOCK;
}

/*
 * A block device is locked through a file of its number in VELA_LOCK_DIR,
 * so that a velactl waiting for it does not hold the device open
 * meanwhile (init refuses a device another process has open); an image
 * file through itself.  '@' is in no pool name, so no pool's lock is
 * taken.  Held until exit, like a pool's lock.
 */
static int lock_device(struct claim *c)
{
	char path[64];
	int fd;

	if (!c->blk)
		return flock_waiting(c, c->fd);
	if (mkdir(VELA_LOCK_DIR, 0700) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), VELA_LOCK_DIR "/@dev-%u:%u.lock", major(c->st.st_rdev),
		 minor(c->st.st_rdev));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	return flock_waiting(c, fd);
}

static int hold(struct claim *c, bool no_openers)
{
	char comm[64] = "?";
	struct stat st;
	pid_t pid;
	int r;

	if (!c->blk) {
		c->fd = open(c->path, (c->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (c->fd < 0)
			return fail(EXIT_FAILURE, "%s file %s: %s", c->what, c->path,
				    strerror(errno));
	}
	r = lock_device(c);
	if (r == -EWOULDBLOCK && !lock_wait_seconds)
		return fail(EXIT_BUSY, "%s device %s is locked by another velactl (init, format or repair): try again later, or wait with --wait SECONDS",
			    c->what, c->path);
	if (r == -EWOULDBLOCK)
		return fail(EXIT_BUSY, "%s device %s is still locked by another velactl (init, format or repair) after %u s: nothing was done; try again, or wait longer with --wait SECONDS",
			    c->what, c->path, lock_wait_seconds);
	if (r)
		return fail(EXIT_FAILURE, "%s device %s: cannot lock it: %s", c->what, c->path,
			    strerror(-r));
	if (c->blk) {
		/* O_EXCL: nothing mounts, assembles or claims it until release_claim(). */
		c->fd = open(c->path, (c->read_only ? O_RDONLY : O_RDWR | O_EXCL) | O_CLOEXEC);
		if (c->fd < 0 && errno == EBUSY)
			return fail(EXIT_BUSY,
				    "%s device %s is in use (mounted, held by another device, or open exclusively): unmount or release it first",
				    c->what, c->path);
		if (c->fd < 0)
			return fail(EXIT_FAILURE, "%s device %s: %s", c->what, c->path,
				    strerror(errno));
		c->excl_fd = c->read_only ? -1 : c->fd;
	}
	/* What was checked is what was opened. */
	if (fstat(c->fd, &st) || st.st_mode != c->st.st_mode ||
	    (c->blk ? st.st_rdev != c->st.st_rdev :
		      st.st_dev != c->st.st_dev || st.st_ino != c->st.st_ino))
		return fail(EXIT_FAILURE, "%s device %s changed while velactl was checking it: run it again",
			    c->what, c->path);
	if (c->blk && ioctl(c->fd, BLKGETSIZE64, &c->size))
		return fail(EXIT_FAILURE, "%s device %s: cannot read its size: %s", c->what, c->path,
			    strerror(errno));
	if (!c->blk)
		c->size = st.st_size;
	c->size &= ~(uint64_t)511;
	snprintf(c->fd_path, sizeof(c->fd_path), "/proc/self/fd/%d", c->fd);
	if (no_openers && c->blk && opened_by_process(c->st.st_rdev, &pid, comm, sizeof(comm)))
		return fail(EXIT_BUSY, "%s device %s is open by process %d (%s): stop it first",
			    c->what, c->path, (int)pid, comm);
	return 0;
}

int claim_devices(struct claim *a, struct claim *b, bool no_openers)
{
	int r;

	if (b && before(b, a)) {
		struct claim *t = a;

		a = b;
		b = t;
	}
	r = hold(a, no_openers);
	if (!r && b)
		r = hold(b, no_openers);
	return r;
}

void release_claim(struct claim *c)
{
	/* The lock stays until exit; the device is closed, ending O_EXCL. */
	if (c->excl_fd >= 0)
		close(c->excl_fd);
	c->excl_fd = -1;
	c->fd = -1;
}
