/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small unit-test harness that prints KTAP, for the userspace builds of
 * dm-vela's shared code.  One test program is one C file that includes this
 * header (which defines main()) and declares tests:
 *
 *	TEST(crc32c_check_value)
 *	{
 *		EXPECT_EQ(~crc32c(~0u, "123456789", 9), 0xe3069283u);
 *	}
 *
 * EXPECT_*() records a failure with file:line and the values, and the test
 * goes on; ASSERT_*() records it and ends the test.  UNIT_SKIP() ends the
 * test as skipped.  unit_seed() is the run's random seed.
 *
 * Each test runs in a child process (unless --no-fork), so a crash, a leak
 * found at exit by LeakSanitizer or valgrind, or a timeout fails that test
 * only.  A test that triggers WARN_ON() fails unless it called
 * unit_allow_warnings().
 *
 * Usage: PROGRAM [--seed N] [--timeout SECONDS] [--no-fork] [--list] [FILTER]
 * FILTER picks tests whose name contains it (or matches it, if it is a glob).
 * The exit status is 0 when every selected test passed or was skipped.
 */
#ifndef VELA_UNIT_H
#define VELA_UNIT_H

#include <fnmatch.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vela-compat.h"

#define UNIT_MAX_TESTS		512
#define UNIT_EXIT_SKIP		77

struct unit_test {
	const char *name;
	void (*fn)(void);
	int line;
};

/* State of the running test; in shared memory when tests are forked. */
struct unit_result {
	int failed;
	int skipped;
	char skip_reason[200];
};

static struct unit_test unit_tests[UNIT_MAX_TESTS];
static int unit_nr_tests;
static struct unit_result *unit_current;
static jmp_buf unit_bail;
static u64 unit_seed_value;
static bool unit_warnings_allowed;

static inline void unit_register(const char *name, void (*fn)(void), int line)
{
	if (unit_nr_tests == UNIT_MAX_TESTS) {
		fprintf(stderr, "unit.h: more than %d tests\n", UNIT_MAX_TESTS);
		abort();
	}
	unit_tests[unit_nr_tests].name = name;
	unit_tests[unit_nr_tests].fn = fn;
	unit_tests[unit_nr_tests].line = line;
	unit_nr_tests++;
}

#define TEST(name)							\
	static void unit_test_##name(void);				\
	__attribute__((constructor)) static void unit_register_##name(void) \
	{								\
		unit_register(#name, unit_test_##name, __LINE__);	\
	}								\
	static void unit_test_##name(void)

/* The run's seed (--seed N, else VELA_SEED, else from the clock). */
static inline u64 unit_seed(void)
{
	return unit_seed_value;
}

/* This test expects WARN_ON() to fire. */
static inline void unit_allow_warnings(void)
{
	unit_warnings_allowed = true;
}

/* A diagnostic line: "# " and the message. */
__printf(1, 2)
static inline void unit_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\n", stdout);
	fflush(stdout);
}

__printf(3, 4)
static inline void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	unit_current->failed = 1;
	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\n", stdout);
	fflush(stdout);
}

static inline void unit_end_test(void)
{
	longjmp(unit_bail, 1);
}

__printf(1, 2)
static inline void unit_skip(const char *fmt, ...)
{
	va_list ap;

	unit_current->skipped = 1;
	va_start(ap, fmt);
	vsnprintf(unit_current->skip_reason, sizeof(unit_current->skip_reason), fmt, ap);
	va_end(ap);
	unit_end_test();
}

#define UNIT_SKIP(...)	unit_skip(__VA_ARGS__)

/*
 * Integer comparisons are done in 128 bits, so any mix of signed and
 * unsigned operands up to 64 bits compares by value.
 */
static inline void unit_print_value(char *buf, size_t size, __int128 v)
{
	if (v < 0)
		snprintf(buf, size, "%lld", (long long)v);
	else
		snprintf(buf, size, "%llu (%#llx)", (unsigned long long)v,
			 (unsigned long long)v);
}

static inline bool unit_cmp(const char *file, int line, bool ok, const char *a_str,
			    const char *op, const char *b_str, __int128 a, __int128 b)
{
	char va[64], vb[64];

	if (likely(ok))
		return true;
	unit_print_value(va, sizeof(va), a);
	unit_print_value(vb, sizeof(vb), b);
	unit_fail(file, line, "expected %s %s %s, got %s vs %s", a_str, op, b_str, va, vb);
	return false;
}

#define UNIT_CMP(a, op, b) ({						\
	__int128 __unit_a = (a), __unit_b = (b);			\
	unit_cmp(__FILE__, __LINE__, __unit_a op __unit_b, #a, #op, #b,	\
		 __unit_a, __unit_b); })

#define EXPECT_EQ(a, b)		UNIT_CMP(a, ==, b)
#define EXPECT_NE(a, b)		UNIT_CMP(a, !=, b)
#define EXPECT_LT(a, b)		UNIT_CMP(a, <, b)
#define EXPECT_LE(a, b)		UNIT_CMP(a, <=, b)
#define EXPECT_GT(a, b)		UNIT_CMP(a, >, b)
#define EXPECT_GE(a, b)		UNIT_CMP(a, >=, b)

#define EXPECT_TRUE(c) ({						\
	bool __unit_c = (c);						\
	if (unlikely(!__unit_c))					\
		unit_fail(__FILE__, __LINE__, "expected %s", #c);	\
	__unit_c; })
#define EXPECT_FALSE(c)		EXPECT_TRUE(!(c))

#define EXPECT_PTR_EQ(a, b) ({						\
	const void *__unit_a = (a), *__unit_b = (b);			\
	if (unlikely(__unit_a != __unit_b))				\
		unit_fail(__FILE__, __LINE__, "expected %s == %s, got %p vs %p", \
			  #a, #b, __unit_a, __unit_b);			\
	__unit_a == __unit_b; })
#define EXPECT_NULL(p)		EXPECT_PTR_EQ(p, NULL)
#define EXPECT_NOT_NULL(p)	EXPECT_TRUE((p) != NULL)

/* @p is not an error pointer; else show its errno. */
#define EXPECT_NOT_ERR(p) ({						\
	const void *__unit_p = (p);					\
	if (IS_ERR(__unit_p))					\
		unit_fail(__FILE__, __LINE__, "%s is ERR_PTR(%ld)", #p,	\
			  PTR_ERR(__unit_p));				\
	!IS_ERR(__unit_p); })

static inline bool unit_memeq(const char *file, int line, const void *a, const void *b,
			      size_t len, const char *a_str, const char *b_str)
{
	const u8 *x = a, *y = b;
	size_t i;

	for (i = 0; i < len; i++) {
		if (x[i] != y[i]) {
			unit_fail(file, line,
				  "expected %s == %s for %zu bytes, differ at byte %zu: %#x vs %#x",
				  a_str, b_str, len, i, x[i], y[i]);
			return false;
		}
	}
	return true;
}

#define EXPECT_MEMEQ(a, b, len)	unit_memeq(__FILE__, __LINE__, a, b, len, #a, #b)

#define EXPECT_STREQ(a, b) ({						\
	const char *__unit_a = (a), *__unit_b = (b);			\
	bool __unit_ok = !strcmp(__unit_a, __unit_b);			\
	if (unlikely(!__unit_ok))					\
		unit_fail(__FILE__, __LINE__, "expected %s == %s, got \"%s\" vs \"%s\"", \
			  #a, #b, __unit_a, __unit_b);			\
	__unit_ok; })

/* ASSERT_*(): as EXPECT_*(), but a failure ends the test. */
#define UNIT_ASSERT(expect)	do { if (!(expect)) unit_end_test(); } while (0)
#define ASSERT_EQ(a, b)		UNIT_ASSERT(EXPECT_EQ(a, b))
#define ASSERT_NE(a, b)		UNIT_ASSERT(EXPECT_NE(a, b))
#define ASSERT_LT(a, b)		UNIT_ASSERT(EXPECT_LT(a, b))
#define ASSERT_LE(a, b)		UNIT_ASSERT(EXPECT_LE(a, b))
#define ASSERT_GT(a, b)		UNIT_ASSERT(EXPECT_GT(a, b))
#define ASSERT_GE(a, b)		UNIT_ASSERT(EXPECT_GE(a, b))
#define ASSERT_TRUE(c)		UNIT_ASSERT(EXPECT_TRUE(c))
#define ASSERT_FALSE(c)		UNIT_ASSERT(EXPECT_FALSE(c))
#define ASSERT_PTR_EQ(a, b)	UNIT_ASSERT(EXPECT_PTR_EQ(a, b))
#define ASSERT_NULL(p)		UNIT_ASSERT(EXPECT_NULL(p))
#define ASSERT_NOT_NULL(p)	UNIT_ASSERT(EXPECT_NOT_NULL(p))
#define ASSERT_NOT_ERR(p)	UNIT_ASSERT(EXPECT_NOT_ERR(p))
#define ASSERT_MEMEQ(a, b, len)	UNIT_ASSERT(EXPECT_MEMEQ(a, b, len))
#define ASSERT_STREQ(a, b)	UNIT_ASSERT(EXPECT_STREQ(a, b))

/*
 * EXPECT_BUG(statement): the statement BUG()s (aborts), which is checked in
 * a child process.  Its stderr is discarded.
 */
#define EXPECT_BUG(stmt) ({						\
	pid_t __unit_pid = unit_fork_quiet();				\
	if (!__unit_pid) {						\
		stmt;							\
		_exit(0);						\
	}								\
	unit_expect_abort(__FILE__, __LINE__, #stmt, __unit_pid); })

/* fork(); the child's stderr goes to /dev/null. */
static inline pid_t unit_fork_quiet(void)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (!pid && !freopen("/dev/null", "w", stderr))
		_exit(3);
	return pid;
}

static inline bool unit_expect_abort(const char *file, int line, const char *what, pid_t pid)
{
	int status;

	if (pid < 0) {
		unit_fail(file, line, "fork: %s", strerror(errno));
		return false;
	}
	if (waitpid(pid, &status, 0) < 0) {
		unit_fail(file, line, "waitpid: %s", strerror(errno));
		return false;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT)
		return true;
	if (WIFSIGNALED(status))
		unit_fail(file, line, "expected %s to BUG(), it died of signal %d",
			  what, WTERMSIG(status));
	else
		unit_fail(file, line, "expected %s to BUG(), it exited with %d",
			  what, WEXITSTATUS(status));
	return false;
}

/* Run one test in this process; fill *unit_current. */
static inline void unit_run_here(const struct unit_test *t)
{
	unsigned long warnings = vela_warn_count();

	unit_warnings_allowed = false;
	vela_compat_seed_random(unit_seed_value);
	if (!setjmp(unit_bail))
		t->fn();
	if (vela_warn_count() != warnings && !unit_warnings_allowed) {
		unit_current->failed = 1;
		unit_diag("%lu unexpected WARN_ON() (see the log above)",
			  vela_warn_count() - warnings);
	}
	fflush(NULL);
}

/* Run one test in a child; return the verdict's comment, or NULL if ok. */
static inline const char *unit_run_forked(const struct unit_test *t, unsigned int timeout,
					  char *why, size_t why_size)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(why, why_size, "fork: %s", strerror(errno));
		unit_current->failed = 1;
		return why;
	}
	if (!pid) {
		alarm(timeout);
		unit_run_here(t);
		/* exit(), not _exit(): leak checkers report at exit. */
		exit(unit_current->failed ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) < 0) {
		snprintf(why, why_size, "waitpid: %s", strerror(errno));
		unit_current->failed = 1;
		return why;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
		snprintf(why, why_size, "TIMEOUT after %us", timeout);
	} else if (WIFSIGNALED(status)) {
		snprintf(why, why_size, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	} else if (WEXITSTATUS(status) != 0 && !unit_current->failed) {
		/* A sanitizer or valgrind reported something, maybe a leak. */
		snprintf(why, why_size, "exit status %d after its checks passed (see the report)",
			 WEXITSTATUS(status));
	} else {
		return NULL;
	}
	unit_current->failed = 1;
	return why;
}

static inline bool unit_selected(const char *name, const char *filter)
{
	if (!filter)
		return true;
	if (strpbrk(filter, "*?["))
		return !fnmatch(filter, name, 0);
	return strstr(name, filter) != NULL;
}

static inline int unit_by_line(const void *a, const void *b)
{
	const struct unit_test *x = a, *y = b;

	return x->line - y->line;
}

/* Make UBSan findings fatal, so a test that hits undefined behaviour fails. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

static inline void unit_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--seed N] [--timeout SECONDS] [--no-fork] [--list] [FILTER]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *filter = NULL, *env = getenv("VELA_SEED");
	unsigned int timeout = 600;
	bool fork_tests = true, list = false;
	int i, n = 0, nr_selected = 0, failed = 0;
	char why[256];

	unit_seed_value = (u64)time(NULL) ^ ((u64)getpid() << 16);
	if (env)
		unit_seed_value = strtoull(env, NULL, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			unit_seed_value = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--no-fork"))
			fork_tests = false;
		else if (!strcmp(argv[i], "--list"))
			list = true;
		else if (argv[i][0] == '-' || filter)
			unit_usage(argv[0]);
		else
			filter = argv[i];
	}

	qsort(unit_tests, unit_nr_tests, sizeof(unit_tests[0]), unit_by_line);
	for (i = 0; i < unit_nr_tests; i++)
		if (unit_selected(unit_tests[i].name, filter))
			nr_selected++;
	if (list) {
		for (i = 0; i < unit_nr_tests; i++)
			if (unit_selected(unit_tests[i].name, filter))
				printf("%s\n", unit_tests[i].name);
		return 0;
	}

	unit_current = mmap(NULL, sizeof(*unit_current), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (unit_current == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	printf("1..%d\n", nr_selected);
	unit_diag("seed %llu (rerun with --seed %llu)", unit_seed_value, unit_seed_value);

	for (i = 0; i < unit_nr_tests; i++) {
		const struct unit_test *t = &unit_tests[i];
		const char *problem = NULL;

		if (!unit_selected(t->name, filter))
			continue;
		n++;
		memset(unit_current, 0, sizeof(*unit_current));
		if (fork_tests)
			problem = unit_run_forked(t, timeout, why, sizeof(why));
		else
			unit_run_here(t);
		if (unit_current->failed) {
			failed++;
			printf("not ok %d %s%s%s\n", n, t->name, problem ? " # " : "",
			       problem ? problem : "");
		} else if (unit_current->skipped) {
			printf("ok %d %s # SKIP %s\n", n, t->name, unit_current->skip_reason);
		} else {
			printf("ok %d %s\n", n, t->name);
		}
	}
	munmap(unit_current, sizeof(*unit_current));
	unit_diag("%d tests, %d failed", n, failed);
	return failed ? 1 : 0;
}

#endif
