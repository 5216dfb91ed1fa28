// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace implementations of the kernel facilities in compat-user.h.
 */
#include <limits.h>
#include <malloc.h>
#include <time.h>
#include <unistd.h>

#include "vela-compat.h"

/* Memory */

void *kmalloc(size_t size, unsigned int flags)
{
	/* malloc(0) may return NULL; the kernel's kmalloc(0) does not. */
	if (!size)
		size = 1;
	return flags & __GFP_ZERO ? calloc(1, size) : malloc(size);
}

void *kzalloc(size_t size, unsigned int flags)
{
	return kmalloc(size, flags | __GFP_ZERO);
}

void *kmalloc_array(size_t n, size_t size, unsigned int flags)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return kmalloc(bytes, flags);
}

void *kcalloc(size_t n, size_t size, unsigned int flags)
{
	return kmalloc_array(n, size, flags | __GFP_ZERO);
}

/*
 * As in the kernel, __GFP_ZERO zeroes the grown part, provided every earlier
 * allocation of this memory asked for __GFP_ZERO too: the bytes beyond the
 * old usable size are cleared, and calloc() cleared the old slack.
 */
void *krealloc(const void *p, size_t new_size, unsigned int flags)
{
	size_t old_usable, new_usable;
	void *q;

	if (!p)
		return kmalloc(new_size, flags);
	if (!new_size) {
		kfree(p);
		return kmalloc(0, flags);
	}
	old_usable = malloc_usable_size((void *)p);
	q = realloc((void *)p, new_size);
	if (!q)
		return NULL;
	new_usable = malloc_usable_size(q);
	if ((flags & __GFP_ZERO) && new_usable > old_usable)
		memset((char *)q + old_usable, 0, new_usable - old_usable);
	return q;
}

void kfree(const void *p)
{
	free((void *)p);
}

static unsigned long kvmalloc_fail_in, kvmalloc_failed;

void vela_fail_kvmalloc(unsigned long nth)
{
	__atomic_store_n(&kvmalloc_fail_in, nth, __ATOMIC_SEQ_CST);
}

unsigned long vela_kvmalloc_failures(void)
{
	return __atomic_load_n(&kvmalloc_failed, __ATOMIC_SEQ_CST);
}

/* True when this allocation is the one vela_fail_kvmalloc() picked. */
static bool kvmalloc_should_fail(void)
{
	unsigned long n = __atomic_load_n(&kvmalloc_fail_in, __ATOMIC_SEQ_CST);

	while (n && !__atomic_compare_exchange_n(&kvmalloc_fail_in, &n, n - 1, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	if (n != 1)
		return false;
	__atomic_fetch_add(&kvmalloc_failed, 1, __ATOMIC_SEQ_CST);
	return true;
}

void *kvmalloc(size_t size, unsigned int flags)
{
	return kvmalloc_should_fail() ? NULL : kmalloc(size, flags);
}

void *kvzalloc(size_t size, unsigned int flags)
{
	return kvmalloc(size, flags | __GFP_ZERO);
}

void *kvmalloc_array(size_t n, size_t size, unsigned int flags)
{
	return kvmalloc_should_fail() ? NULL : kmalloc_array(n, size, flags);
}

void kvfree(const void *p)
{
	free((void *)p);
}

/* Strings */

ssize_t strscpy_pad(char *dest, const char *src, size_t count)
{
	ssize_t r = strscpy(dest, src, count);
	size_t len = r < 0 ? count : (size_t)r + 1;

	if (len < count)
		memset(dest + len, 0, count - len);
	return r;
}

ssize_t strscpy(char *dest, const char *src, size_t count)
{
	size_t len;

	if (!count || count > (size_t)SSIZE_MAX)
		return -E2BIG;
	len = strnlen(src, count);
	if (len == count) {
		memcpy(dest, src, count - 1);
		dest[count - 1] = '\0';
		return -E2BIG;
	}
	memcpy(dest, src, len + 1);
	return (ssize_t)len;
}

/* CRC-32C, reflected polynomial 0x82f63b78, one table lookup per byte. */

#define CRC32C_POLY_REFLECTED 0x82f63b78u

static u32 crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init_table(void)
{
	u32 i, bit, r;

	for (i = 0; i < 256; i++) {
		r = i;
		for (bit = 0; bit < 8; bit++)
			r = (r >> 1) ^ ((r & 1) ? CRC32C_POLY_REFLECTED : 0);
		crc32c_table[i] = r;
	}
}

static u32 crc32c_table_bytes(u32 crc, const u8 *b, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init_table);
	while (len--)
		crc = (crc >> 8) ^ crc32c_table[(crc ^ *b++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
/*
 * The SSE4.2 crc32 instruction computes the same CRC-32C, 8 bytes at a
 * time, as the kernel's crc32c-intel does.  Metadata checksums dominate
 * the userspace tools' profile without it.
 */
__attribute__((target("sse4.2")))
static u32 crc32c_sse42(u32 crc, const u8 *b, size_t len)
{
	u64 c = crc, v;

	for (; len >= 8; len -= 8, b += 8) {
		memcpy(&v, b, sizeof(v));
		c = __builtin_ia32_crc32di(c, v);
	}
	crc = c;
	while (len--)
		crc = __builtin_ia32_crc32qi(crc, *b++);
	return crc;
}

u32 crc32c(u32 crc, const void *p, size_t len)
{
	static int has_sse42 = -1;

	if (unlikely(has_sse42 < 0))
		has_sse42 = __builtin_cpu_supports("sse4.2");
	if (has_sse42)
		return crc32c_sse42(crc, p, len);
	return crc32c_table_bytes(crc, p, len);
}
#else
u32 crc32c(u32 crc, const void *p, size_t len)
{
	return crc32c_table_bytes(crc, p, len);
}
#endif

/* Locks */

static void check_pthread(int err, const char *what)
{
	if (unlikely(err)) {
		fprintf(stderr, "%s: %s\n", what, strerror(err));
		BUG();
	}
}

static void init_errorcheck_mutex(pthread_mutex_t *lock)
{
	pthread_mutexattr_t attr;

	check_pthread(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
	check_pthread(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK),
		      "pthread_mutexattr_settype");
	check_pthread(pthread_mutex_init(lock, &attr), "pthread_mutex_init");
	pthread_mutexattr_destroy(&attr);
}

void mutex_init(struct mutex *m)
{
	init_errorcheck_mutex(&m->lock);
	m->held = 0;
}

void mutex_destroy(struct mutex *m)
{
	/* The kernel's debug build warns about destroying a held mutex. */
	WARN_ON(pthread_mutex_destroy(&m->lock));
}

static void mutex_taken(struct mutex *m)
{
	__atomic_store_n(&m->owner, pthread_self(), __ATOMIC_RELAXED);
	__atomic_store_n(&m->held, 1, __ATOMIC_RELAXED);
}

void mutex_lock(struct mutex *m)
{
	check_pthread(pthread_mutex_lock(&m->lock), "mutex_lock");
	mutex_taken(m);
}

void mutex_unlock(struct mutex *m)
{
	__atomic_store_n(&m->held, 0, __ATOMIC_RELAXED);
	check_pthread(pthread_mutex_unlock(&m->lock), "mutex_unlock");
}

int mutex_trylock(struct mutex *m)
{
	int err = pthread_mutex_trylock(&m->lock);

	if (err == EBUSY)
		return 0;
	check_pthread(err, "mutex_trylock");
	mutex_taken(m);
	return 1;
}

bool vela_mutex_held(struct mutex *m)
{
	return __atomic_load_n(&m->held, __ATOMIC_RELAXED) &&
	       pthread_equal(__atomic_load_n(&m->owner, __ATOMIC_RELAXED), pthread_self());
}

void init_rwsem(struct rw_semaphore *sem)
{
	pthread_rwlockattr_t attr;

	check_pthread(pthread_rwlockattr_init(&attr), "pthread_rwlockattr_init");
	check_pthread(pthread_rwlockattr_setkind_np(&attr,
						    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP),
		      "pthread_rwlockattr_setkind_np");
	check_pthread(pthread_rwlock_init(&sem->lock, &attr), "init_rwsem");
	pthread_rwlockattr_destroy(&attr);
	sem->holders = 0;
}

void down_read(struct rw_semaphore *sem)
{
	check_pthread(pthread_rwlock_rdlock(&sem->lock), "down_read");
	__atomic_add_fetch(&sem->holders, 1, __ATOMIC_RELAXED);
}

void up_read(struct rw_semaphore *sem)
{
	__atomic_sub_fetch(&sem->holders, 1, __ATOMIC_RELAXED);
	check_pthread(pthread_rwlock_unlock(&sem->lock), "up_read");
}

void down_write(struct rw_semaphore *sem)
{
	check_pthread(pthread_rwlock_wrlock(&sem->lock), "down_write");
	__atomic_store_n(&sem->holders, -1, __ATOMIC_RELAXED);
}

void up_write(struct rw_semaphore *sem)
{
	__atomic_store_n(&sem->holders, 0, __ATOMIC_RELAXED);
	check_pthread(pthread_rwlock_unlock(&sem->lock), "up_write");
}

int down_read_trylock(struct rw_semaphore *sem)
{
	int err = pthread_rwlock_tryrdlock(&sem->lock);

	if (err == EBUSY)
		return 0;
	check_pthread(err, "down_read_trylock");
	__atomic_add_fetch(&sem->holders, 1, __ATOMIC_RELAXED);
	return 1;
}

int down_write_trylock(struct rw_semaphore *sem)
{
	int err = pthread_rwlock_trywrlock(&sem->lock);

	if (err == EBUSY)
		return 0;
	check_pthread(err, "down_write_trylock");
	__atomic_store_n(&sem->holders, -1, __ATOMIC_RELAXED);
	return 1;
}

bool vela_rwsem_held(struct rw_semaphore *sem)
{
	return __atomic_load_n(&sem->holders, __ATOMIC_RELAXED) != 0;
}

bool vela_rwsem_held_write(struct rw_semaphore *sem)
{
	return __atomic_load_n(&sem->holders, __ATOMIC_RELAXED) < 0;
}

void spin_lock_init(spinlock_t *lock)
{
	init_errorcheck_mutex(&lock->lock);
}

void spin_lock(spinlock_t *lock)
{
	check_pthread(pthread_mutex_lock(&lock->lock), "spin_lock");
}

void spin_unlock(spinlock_t *lock)
{
	check_pthread(pthread_mutex_unlock(&lock->lock), "spin_unlock");
}

/* sort(): heapsort over elements of @size bytes. */

static void generic_swap(void *a, void *b, int size)
{
	u8 *x = a, *y = b, t;

	while (size--) {
		t = *x;
		*x++ = *y;
		*y++ = t;
	}
}

/* Restore the max-heap property below element @root of a heap of @n. */
static void sift_down(u8 *base, size_t root, size_t n, size_t size,
		      int (*cmp_fn)(const void *, const void *),
		      void (*swap_fn)(void *, void *, int))
{
	size_t child;

	while ((child = 2 * root + 1) < n) {
		if (child + 1 < n &&
		    cmp_fn(base + child * size, base + (child + 1) * size) < 0)
			child++;
		if (cmp_fn(base + root * size, base + child * size) >= 0)
			return;
		swap_fn(base + root * size, base + child * size, (int)size);
		root = child;
	}
}

void sort(void *base, size_t num, size_t size,
	  int (*cmp_fn)(const void *, const void *),
	  void (*swap_fn)(void *, void *, int))
{
	u8 *b = base;
	size_t i;

	if (num < 2 || !size)
		return;
	if (!swap_fn)
		swap_fn = generic_swap;
	for (i = num / 2; i-- > 0;)
		sift_down(b, i, num, size, cmp_fn, swap_fn);
	for (i = num - 1; i > 0; i--) {
		swap_fn(b, b + i * size, (int)size);
		sift_down(b, 0, i, size, cmp_fn, swap_fn);
	}
}

/* printk, WARN, BUG */

static bool debug_enabled(void)
{
	static int enabled = -1;
	int e = __atomic_load_n(&enabled, __ATOMIC_RELAXED);

	if (e < 0) {
		e = getenv("VELA_DEBUG") != NULL;
		__atomic_store_n(&enabled, e, __ATOMIC_RELAXED);
	}
	return e;
}

void vela_printk(int level, const char *fmt, ...)
{
	va_list ap;

	if (level >= VELA_LOGLEVEL_DEBUG && !debug_enabled())
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static unsigned long warnings;

void vela_warn(const char *file, int line, const char *cond)
{
	__atomic_add_fetch(&warnings, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "WARNING: at %s:%d: WARN_ON(%s)\n", file, line, cond);
}

unsigned long vela_warn_count(void)
{
	return __atomic_load_n(&warnings, __ATOMIC_RELAXED);
}

void vela_bug(const char *file, int line, const char *cond)
{
	if (cond)
		fprintf(stderr, "kernel BUG at %s:%d: BUG_ON(%s)\n", file, line, cond);
	else
		fprintf(stderr, "kernel BUG at %s:%d\n", file, line);
	fflush(NULL);
	abort();
}

/* Randomness (splitmix64 under a lock) and time */

static pthread_mutex_t random_lock = PTHREAD_MUTEX_INITIALIZER;
static u64 random_state;
static bool random_seeded;

static u64 splitmix64(u64 *state)
{
	u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void vela_compat_seed_random(u64 seed)
{
	pthread_mutex_lock(&random_lock);
	random_state = seed;
	random_seeded = true;
	pthread_mutex_unlock(&random_lock);
}

u32 get_random_u32(void)
{
	u32 r;

	pthread_mutex_lock(&random_lock);
	if (!random_seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		random_state = (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec +
			       ((u64)getpid() << 32);
		random_seeded = true;
	}
	r = (u32)(splitmix64(&random_state) >> 32);
	pthread_mutex_unlock(&random_lock);
	return r;
}

s64 ktime_get_real_seconds(void)
{
	return (s64)time(NULL);
}
