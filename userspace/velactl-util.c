// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl's bottom layer: messages (libdevmapper's too) and exit codes,
 * option and size parsing, JSON strings, whether a block device is in use,
 * and libblkid.
 * It calls nothing else in velactl, so every other file may call it.
 */

#include <blkid.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "velactl.h"

int verbose;
const char *velactl_command = "?";
unsigned int lock_wait_seconds = LOCK_WAIT_DEFAULT;

/*
 * Signals.  SIGINT, SIGTERM, SIGHUP and SIGPIPE stop velactl; where they
 * stop it decides what a pool is left with:
 * - a command that changes a pool defers them (defer_signals(): blocked)
 *   until it has finished, so the pool is as before or as after, never
 *   in between; a recursive delete and a lock wait look between steps;
 * - a command that reads for long under a held view catches them
 *   (catch_signals()): every read fails with -EINTR from then on, so the
 *   command stops at its next block and releases what it holds;
 * finish_signals() then ends velactl as the signal would have.  SIGKILL
 * cannot be deferred: what it leaves, the next velactl to take the pool's
 * lock finds and repairs (a view left held, a parent left suspended).
 */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
/* Written by the handler, read anywhere: atomics, as a signal may come mid-read. */
static int caught_signal;

static void stop_signal_set(sigset_t *set)
{
	size_t i;

	sigemptyset(set);
	for (i = 0; i < ARRAY_SIZE(stop_signals); i++)
		sigaddset(set, stop_signals[i]);
}

void defer_signals(void)
{
	sigset_t set;

	/*
	 * An ignored signal is never pending, so it could not be deferred:
	 * a shell ignores SIGINT for its background jobs, and a kill -INT
	 * sent to one still means stop once done.  nohup's SIGHUP stays ignored.
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	stop_signal_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static void note_signal(int sig)
{
	__atomic_store_n(&caught_signal, sig, __ATOMIC_RELAXED);
}

static bool signal_caught(void)
{
	return __atomic_load_n(&caught_signal, __ATOMIC_RELAXED) != 0;
}

bool (*catch_signals(void))(void)
{
	struct sigaction sa = { .sa_handler = note_signal }, was;
	sigset_t set;
	size_t i;

	sigemptyset(&sa.sa_mask);
	/*
	 * A SIGHUP that nohup ignores stays ignored.  SIGINT stays caught: a
	 * shell ignores it for every background job, and a kill -INT sent to
	 * one still means stop.
	 */
	for (i = 0; i < ARRAY_SIZE(stop_signals); i++)
		if (stop_signals[i] != SIGHUP ||
		    (!sigaction(SIGHUP, NULL, &was) && was.sa_handler != SIG_IGN))
			sigaction(stop_signals[i], &sa, NULL);
	stop_signal_set(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return signal_caught;
}

int stop_signal(void)
{
	sigset_t pending;
	size_t i;

	if (signal_caught())
		return __atomic_load_n(&caught_signal, __ATOMIC_RELAXED);
	if (sigpending(&pending))
		return 0;
	for (i = 0; i < ARRAY_SIZE(stop_signals); i++)
		if (sigismember(&pending, stop_signals[i]))
			return stop_signals[i];
	return 0;
}

int finish_signals(int r)
{
	int sig = stop_signal();
	sigset_t set;

	if (!sig)
		return r;
	/* A closed pipe is the reader's choice, not news. */
	if (sig != SIGPIPE)
		fprintf(stderr, "velactl: %s: stopped by %s, at a point where the pool is as the messages above say\n",
			velactl_command, sigabbrev_np(sig) ? sigabbrev_np(sig) : "a signal");
	fflush(NULL);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);	/* a deferred one ends us here */
	raise(sig);				/* a caught one, here */
	return 128 + sig;
}

/*
 * Progress, for the commands that run long on a big pool: one line on
 * stderr, rewritten at most five times a second, only on a terminal and
 * never with --quiet; a JSON caller sees none of it (it is on stderr, and
 * --json turns it off too).
 */
bool progress_quiet;
static struct {
	const char *what, *unit;
	uint64_t total, done;
	struct timespec start, shown;
	bool on;
} progress;

static double seconds_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (now.tv_nsec - t->tv_nsec) / 1e9;
}

void progress_begin(const char *what, const char *unit, uint64_t total)
{
	progress.what = what;
	progress.unit = unit;
	progress.total = total;
	progress.done = 0;
	progress.on = !progress_quiet && isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &progress.start);
	progress.shown = progress.start;
}

void progress_add(uint64_t n)
{
	double elapsed, pct;

	progress.done += n;
	if (!progress.on || seconds_since(&progress.shown) < 0.2)
		return;
	clock_gettime(CLOCK_MONOTONIC, &progress.shown);
	elapsed = seconds_since(&progress.start);
	pct = progress.total ? 100.0 * progress.done / progress.total : 0;
	fprintf(stderr, "\r%s: %.0f%% (%" PRIu64 " of %" PRIu64 " %s, %.0f/s)\033[K",
		progress.what, pct > 99 ? 99 : pct, progress.done, progress.total, progress.unit,
		elapsed > 0 ? progress.done / elapsed : 0);
}

void progress_step(const char *fmt, ...)
{
	va_list ap;

	if (progress_quiet || !isatty(STDERR_FILENO))
		return;
	fputs("velactl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("...\n", stderr);
}

void progress_end(void)
{
	if (progress.on && seconds_since(&progress.start) >= 0.2)
		fputs("\r\033[K", stderr);
	progress.on = false;
}

void test_stop_point(const char *point)
{
	const char *want = getenv("VELACTL_TEST_STOP");

	if (!want || strcmp(want, point))
		return;
	fprintf(stderr, "velactl: stopped at test point '%s' (pid %d)\n", point, (int)getpid());
	raise(SIGSTOP);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("velactl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'velactl help' for the list of commands.\n", stderr);
}

int fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("velactl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static void stop_signal_set(sigset_t *set);

int confirm_destruction(bool yes, const char *what)
{
	char answer[16];
	sigset_t stop, old;
	bool confirmed;

	if (yes)
		return 0;
	if (!isatty(STDIN_FILENO)) {
		usage_error("%s: add --yes to confirm (standard input is not a terminal to ask); nothing changed",
			    what);
		return EXIT_USAGE;
	}
	fprintf(stderr, "velactl: %s? [y/N] ", what);
	fflush(stderr);
	/* Nothing has changed yet: Ctrl-C at the prompt may end velactl at once. */
	stop_signal_set(&stop);
	sigprocmask(SIG_UNBLOCK, &stop, &old);
	confirmed = fgets(answer, sizeof(answer), stdin) &&
		    (!strcmp(answer, "y\n") || !strcmp(answer, "yes\n") || !strcmp(answer, "Y\n"));
	sigprocmask(SIG_SETMASK, &old, NULL);
	return confirmed ? 0 : fail(EXIT_FAILURE, "not confirmed; nothing changed");
}

/* --- libdevmapper's messages -------------------------------------------- */

/*
 * libdevmapper prints its own diagnostics by default (levels are syslog
 * priorities, with flag bits above them).  Keep them for -v and let each
 * command print one message that names the device, the reason and the next
 * step instead.  The report engine prints its lines through the same
 * function, so while velactl-report.c has set a sink, every message goes
 * there.
 */
static bool log_verbose;
static dm_log_sink log_sink;
static void *log_sink_arg;

__printf(5, 0)
static void dm_log(int level, const char *file, int line, int dm_errno, const char *fmt, ...)
{
	char *msg;
	va_list ap;
	int r;

	(void)file;
	(void)line;
	(void)dm_errno;
	/* Nothing below a warning is shown or collected: skip its formatting. */
	if (LOG_PRI(level) > LOG_WARNING || (!log_sink && !log_verbose))
		return;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	if (log_sink)
		log_sink(level, msg, log_sink_arg);
	else
		fprintf(stderr, "libdevmapper: %s\n", msg);
	free(msg);
}

void dm_log_setup(bool show)
{
	log_verbose = show;
	dm_log_with_errno_init(dm_log);
}

void dm_log_redirect(dm_log_sink sink, void *arg)
{
	log_sink = sink;
	log_sink_arg = arg;
}

/* getopt_long over a command's options: '?' (reported) for a bad one. */
int next_option(int argc, char **argv, const char *shortopts,
		const struct option *longopts, const char *command)
{
	const char *token;
	int opt, idx = -1;
	size_t len;

	opterr = 0;
	opt = getopt_long(argc, argv, shortopts, longopts, &idx);
	if (opt != '?' && opt != -1 && idx >= 0) {
		/*
		 * glibc takes any unambiguous prefix ("--fo" for --force): a
		 * destructive option must be written in full.  The option is
		 * the last argument taken, or the one before its value.
		 */
		token = argv[optind - 1];
		if (strncmp(token, "--", 2) && optind >= 2)
			token = argv[optind - 2];
		len = strcspn(token + 2, "=");
		if (strlen(longopts[idx].name) != len) {
			usage_error("%s: unknown option '%.*s': write '--%s' in full", command,
				    (int)len + 2, token, longopts[idx].name);
			return '?';
		}
	}
	if (opt == '?') {
		if (optopt)
			usage_error("%s: unknown option '-%c' or missing argument", command, optopt);
		else
			usage_error("%s: unknown option '%s' or missing argument", command,
				    argv[optind - 1]);
	}
	return opt;
}

/* A command without options: true (reported) if one was given anyway. */
bool no_options(int argc, char **argv, const char *command)
{
	static const struct option none[] = { { NULL, 0, NULL, 0 } };

	optind = 0;
	return next_option(argc, argv, "", none, command) != -1;
}

/* The length of the valid UTF-8 sequence at @s, or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *s)
{
	size_t len, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and beyond U+10FFFF are invalid. */
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

/*
 * The one JSON string writer: quotes and backslashes escaped, control bytes
 * (and DEL) as \u escapes, so that no byte from a disk reaches a terminal
 * as an escape sequence, and any byte that is not valid UTF-8 as U+FFFD,
 * so that the document is always valid JSON.
 */
void json_string(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len;

	putchar('"');
	while (*u) {
		len = utf8_sequence(u);
		if (!len) {
			fputs("\\ufffd", stdout);
			u++;
		} else if (*u == '"' || *u == '\\') {
			printf("\\%c", *u++);
		} else if (*u < 0x20 || *u == 0x7f) {
			printf("\\u%04x", *u++);
		} else if (len == 2 && u[0] == 0xc2 && u[1] < 0xa0) {
			/* C1 controls (U+0080..U+009F): 0x9b is CSI to a terminal. */
			printf("\\u%04x", u[1]);
			u += 2;
		} else {
			fwrite(u, 1, len, stdout);
			u += len;
		}
	}
	putchar('"');
}

int parse_size(const char *s, uint64_t *bytes)
{
	static const char units[] = "kmgtp";
	unsigned long long v;
	const char *unit;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		unit = strchr(units, tolower((unsigned char)*end));
		if (!unit || !*unit)
			return -EINVAL;
		end++;
		/* "10G", "10GiB" and "10GB" all mean 10 * 2^30 here. */
		if (!strcasecmp(end, "ib") || !strcasecmp(end, "b"))
			end += strlen(end);
		if (*end || v > (ULLONG_MAX >> (10 * (unit - units + 1))))
			return -EINVAL;
		v <<= 10 * (unit - units + 1);
	}
	*bytes = v;
	return 0;
}

bool size_too_large(const char *command, const char *s, uint64_t bytes)
{
	if (bytes <= VELA_MAX_SIZE)
		return false;
	usage_error("%s: %s is too large: sizes and limits stop at %" PRIu64 " bytes (16 EiB less 1 MiB), so that rounding up to sectors or data blocks cannot wrap",
		    command, s, (uint64_t)VELA_MAX_SIZE);
	return true;
}

const char *format_size(uint64_t bytes, bool exact, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	uint64_t unit = 1, whole, scaled, tenths;
	char digits[20], text[32];
	size_t i = 0, nr_digits = 0, pos = 0;

	if (exact || bytes < 1024) {
		snprintf(buf, len, exact ? "%" PRIu64 : "%" PRIu64 "B", bytes);
		return buf;
	}
	while (bytes / unit >= 1024 && i + 1 < ARRAY_SIZE(units)) {
		unit <<= 10;
		i++;
	}
	/*
	 * One decimal in integers, as "%.1f" of the quotient prints it:
	 * to nearest, a tie to the even digit.  A listing formats three
	 * sizes a row, and floating point made that a seventh of its time.
	 */
	whole = bytes / unit;
	scaled = (bytes % unit) * 10;
	tenths = scaled / unit;
	if (2 * (scaled % unit) > unit || (2 * (scaled % unit) == unit && tenths % 2))
		tenths++;
	if (tenths == 10) {
		whole++;
		tenths = 0;
	}
	/* By hand: snprintf was most of what was left of this function's cost. */
	do {
		digits[nr_digits++] = '0' + whole % 10;
		whole /= 10;
	} while (whole);
	while (nr_digits)
		text[pos++] = digits[--nr_digits];
	text[pos++] = '.';
	text[pos++] = '0' + tenths;
	strcpy(text + pos, units[i]);	/* at most 20 digits, a dot, a digit, "PiB" */
	pos = strlen(text) < len ? strlen(text) : len - 1;
	memcpy(buf, text, pos);
	buf[pos] = '\0';
	return buf;
}

/* --- is a block device in use? ------------------------------------------ */

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
bool opened_by_process(dev_t dev, pid_t *pid, char *comm, size_t len)
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

bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) || stat(b, &sb))
		return false;
	if (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode))
		return sa.st_rdev == sb.st_rdev;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int device_claimed(const char *path)
{
	int fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

bool mounted_at(unsigned int major, unsigned int minor, char *where, size_t len)
{
	char line[4096], majmin[32], mnt[PATH_MAX], id[32];
	bool found = false;
	FILE *f;

	snprintf(majmin, sizeof(majmin), "%u:%u", major, minor);
	f = fopen("/proc/self/mountinfo", "r");
	while (!found && f && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %31s %*s %4095s", id, mnt) == 2 &&
			!strcmp(id, majmin);
	if (f)
		fclose(f);
	if (found)
		snprintf(where, len, "%s", mnt);
	return found;
}

void print_probe_value(blkid_probe pr, const char *name)
{
	const char *value;

	if (!blkid_probe_lookup_value(pr, name, &value, NULL)) {
		printf(" %s=", name);
		/* A filesystem label is anybody's bytes: escaped, never raw. */
		json_string(value);
	}
}

void probe_fs_type(const char *path, char *type, size_t len)
{
	blkid_probe pr = blkid_new_probe_from_filename(path);
	const char *value;

	type[0] = '\0';
	if (!pr)
		return;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	if (!blkid_do_safeprobe(pr) && !blkid_probe_lookup_value(pr, "TYPE", &value, NULL))
		snprintf(type, len, "%s", value);
	blkid_free_probe(pr);
}

int wipe_signatures(const char *path)
{
	blkid_probe pr;
	int fd, r = 0;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	pr = blkid_new_probe();
	if (!pr || blkid_probe_set_device(pr, fd, 0, 0)) {
		r = -ENOMEM;
		goto out;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_BADCSUM);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	while (!r && blkid_do_probe(pr) == 0)
		if (blkid_do_wipe(pr, 0))
			r = -EIO;
	if (!r && fsync(fd))
		r = -errno;
out:
	if (pr)
		blkid_free_probe(pr);
	close(fd);
	return r;
}

blkid_probe new_probe(const char *path)
{
	blkid_probe pr = blkid_new_probe_from_filename(path);

	if (!pr)
		return NULL;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE |
					  BLKID_SUBLKS_UUID |
					  BLKID_SUBLKS_LABEL);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	return pr;
}

int find_signature(const char *path, char *desc, size_t len)
{
	blkid_probe pr = new_probe(path);
	const char *value;
	int r;

	if (!pr)
		return -(errno ? errno : EIO);
	r = blkid_do_safeprobe(pr);
	if (r == 0) {
		if (blkid_probe_lookup_value(pr, "TYPE", &value, NULL) &&
		    blkid_probe_lookup_value(pr, "PTTYPE", &value, NULL))
			value = "unknown";
		snprintf(desc, len, "%s", value);
		r = 1;
	} else if (r == -2) {
		snprintf(desc, len, "several conflicting signatures");
		r = 1;
	} else if (r == 1) {
		r = 0;
	} else {
		r = -(errno ? errno : EIO);
	}
	blkid_free_probe(pr);
	return r;
}

/* --- sysfs and processes ------------------------------------------------- */

int read_sysfs(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

bool velactl_running(long pid)
{
	char path[64], comm[32];

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	return !read_sysfs(path, comm, sizeof(comm)) && !strcmp(comm, "velactl");
}
