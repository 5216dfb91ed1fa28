// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-udev.c: device-mapper calls and udev.
 *
 * Every dm call that creates, renames, resumes or removes a device goes
 * through run_task() with a udev cookie and the flags that keep blkid's
 * by-uuid links and other scanners (LVM) off branch devices, and waits
 * for udev; without udev, libdevmapper or ensure_node() makes the nodes.
 * This file also keeps the records that let a later velactl remove the
 * cookie a killed one left.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

#include "velactl.h"

/* Keep udev's disk rules (by-uuid links) and other scanners (LVM) off. */
#define VELA_UDEV_FLAGS	(DM_UDEV_DISABLE_DISK_RULES_FLAG | DM_UDEV_DISABLE_OTHER_RULES_FLAG)

/*
 * udev cookies.  A dm call made with a cookie creates a SysV semaphore
 * that udev counts down once it has handled the event; the caller waits
 * for that and then removes the semaphore.  A velactl killed in the wait
 * (SIGKILL: every other signal waits for the command to end) leaves the
 * semaphore behind for good, one of the machine's few.
 *
 * So for the length of the wait each cookie has a record,
 * RUN_DIR/udev-cookie.KEY, holding the semaphore's id and velactl's pid,
 * and flocked by that velactl.  The lock is the liveness test: it dies
 * with its holder, whatever its pid namespace or the binary's name.  The
 * id is the identity: a key whose semaphore was removed (by
 * 'dmsetup udevcomplete_all', say) can be taken again, by LVM too.  So
 * clear_left_cookies() removes a semaphore only when its record is not
 * locked, the key still names the recorded id, and nobody waits on it.
 * The record is written under a temporary name and renamed into place
 * locked, so no cleaner sees it half written.
 *
 * A kill in the few instructions between the semaphore's creation and
 * its record leaves a cookie unrecorded, which only
 * 'dmsetup udevcomplete_all' handles; a record that cannot be written
 * costs only its repair, so it does not fail the command.
 */
#define COOKIE_RECORD_PREFIX	"udev-cookie."

struct cookie_record {
	char path[PATH_MAX];
	int fd;			/* locked while velactl waits; -1: no record */
};

/* The semaphore's key: the cookie with the magic in place of udev's flags. */
static uint32_t cookie_key(uint32_t cookie)
{
	return (DM_COOKIE_MAGIC << DM_UDEV_FLAGS_SHIFT) | (cookie & ~DM_UDEV_FLAGS_MASK);
}

static void record_cookie(uint32_t cookie, struct cookie_record *rec)
{
	char tmp[PATH_MAX + 16];
	int semid;

	rec->fd = -1;
	if (!cookie)
		return;
	semid = semget((key_t)cookie_key(cookie), 1, 0);
	if (semid < 0 || (mkdir(RUN_DIR, 0700) && errno != EEXIST))
		return;
	snprintf(rec->path, sizeof(rec->path), RUN_DIR "/" COOKIE_RECORD_PREFIX "%08" PRIx32,
		 cookie_key(cookie));
	snprintf(tmp, sizeof(tmp), "%s.%d", rec->path, (int)getpid());
	rec->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (rec->fd < 0)
		return;
	if (flock(rec->fd, LOCK_EX) || dprintf(rec->fd, "%d %d\n", semid, (int)getpid()) < 0 ||
	    rename(tmp, rec->path)) {
		unlink(tmp);
		close(rec->fd);
		rec->fd = -1;
	}
}

/* The wait is over: the record goes, unlinked while still locked. */
static void end_cookie_record(struct cookie_record *rec)
{
	if (rec->fd < 0)
		return;
	unlink(rec->path);
	close(rec->fd);
}

/*
 * The semaphore a gone velactl left under @key, if the key still names
 * @semid and nobody waits on it.  False when the record must stay (the
 * removal failed: retried next time).
 */
static bool remove_left_cookie(unsigned int key, int semid, long pid)
{
	int current = semget((key_t)key, 1, 0);

	if (current < 0 || current != semid)
		return true;	/* gone, or the key names another semaphore now */
	if (semctl(current, 0, GETZCNT) > 0)
		return true;	/* a live waiter's, whatever the record says */
	if (!semctl(current, 0, IPC_RMID)) {
		fprintf(stderr, "velactl: removed the udev cookie 0x%08x that velactl (pid %ld) left when it was killed waiting for udev\n",
			key, pid);
		return true;
	}
	if (errno == EINVAL || errno == EIDRM)
		return true;	/* another velactl removed it meanwhile */
	fprintf(stderr, "velactl: removing the udev cookie 0x%08x that velactl (pid %ld) left failed: %s; 'ipcrm -s %d' removes it\n",
		key, pid, strerror(errno), current);
	return false;
}

/* Whether @fd is still the file @name in directory @dir (not replaced since). */
static bool still_named(int dir, const char *name, int fd)
{
	struct stat a, b;

	return !fstat(fd, &a) && !fstatat(dir, name, &b, AT_SYMLINK_NOFOLLOW) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void clear_left_cookies(void)
{
	const size_t prefix = strlen(COOKIE_RECORD_PREFIX);
	char name[NAME_MAX + 1], line[64];
	bool done, record;
	struct dirent *e;
	unsigned int key;
	int fd, semid;
	ssize_t n;
	long pid;
	DIR *d;

	d = opendir(RUN_DIR);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, COOKIE_RECORD_PREFIX, prefix))
			continue;
		snprintf(name, sizeof(name), "%s", e->d_name);
		fd = openat(dirfd(d), name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		/* Locked: its velactl still waits.  Not the same file: just replaced. */
		if (flock(fd, LOCK_EX | LOCK_NB) || !still_named(dirfd(d), name, fd)) {
			close(fd);
			continue;
		}
		/* Anything else with the prefix is a temporary one a kill left. */
		record = strlen(name) == prefix + 8 && sscanf(name + prefix, "%8x", &key) == 1 &&
			 key >> DM_UDEV_FLAGS_SHIFT == DM_COOKIE_MAGIC;
		n = read(fd, line, sizeof(line) - 1);
		line[n > 0 ? n : 0] = '\0';
		done = true;
		if (record && sscanf(line, "%d %ld", &semid, &pid) == 2)
			done = remove_left_cookie(key, semid, pid);
		if (done)
			unlinkat(dirfd(d), name, 0);
		close(fd);
	}
	closedir(d);
}

/*
 * Run @dmt with a udev cookie and wait for udev (or libdevmapper's own node
 * handling when udev is not running).  Returns 0 or -errno.
 */
int run_task(struct dm_task *dmt, uint16_t udev_flags, bool cookie)
{
	struct cookie_record rec = { .fd = -1 };
	uint32_t cookie_value = 0;
	int ok, err;

	/*
	 * No cookie (the machine is out of semaphores): the call still runs,
	 * without waiting for udev, rather than leave a device suspended.
	 */
	if (cookie && !dm_task_set_cookie(dmt, &cookie_value, udev_flags)) {
		fprintf(stderr, "velactl: no udev cookie (is the machine out of semaphores?): not waiting for udev\n");
		cookie = false;
	}
	if (cookie)
		record_cookie(cookie_value, &rec);
	ok = dm_task_run(dmt);
	err = ok ? 0 : dm_task_get_errno(dmt);
	if (cookie) {
		if (rec.fd >= 0)
			test_stop_point("udev-wait");
		dm_udev_wait(cookie_value);
		end_cookie_record(&rec);
	}
	if (!ok)
		return err > 0 ? -err : -EIO;
	return 0;
}

void ensure_node(const char *name, bool present)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dm_dir(), name);
	if (present && stat(path, &st))
		dm_mknodes(name);
	else if (!present && !lstat(path, &st))
		unlink(path);
}

int dm_simple(int type, const char *name, const char *newname, bool cookie)
{
	struct dm_task *dmt = dm_task_create(type);
	int r;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, name) || (newname && !dm_task_set_newname(dmt, newname))) {
		dm_task_destroy(dmt);
		return -EINVAL;
	}
	if (type == DM_DEVICE_REMOVE)
		dm_task_retry_remove(dmt);
	r = run_task(dmt, VELA_UDEV_FLAGS, cookie);
	dm_task_destroy(dmt);
	return r;
}

/* Create @name with one target and resume it; libdevmapper removes it again if the load fails. */
int dm_create(const char *name, const char *uuid, uint64_t len, const char *target,
		     const char *params)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_CREATE);
	int r;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, name) || !dm_task_set_uuid(dmt, uuid) ||
	    !dm_task_add_target(dmt, 0, len, target, params)) {
		dm_task_destroy(dmt);
		return -EINVAL;
	}
	r = run_task(dmt, VELA_UDEV_FLAGS, true);
	dm_task_destroy(dmt);
	if (!r)
		ensure_node(name, true);
	return r;
}
