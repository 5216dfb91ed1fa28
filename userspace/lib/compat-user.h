/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel facilities listed in kernel/vela-compat.h, defined for
 * userspace with the kernel's semantics, so the shared metadata code
 * (kernel/vela-*.c) builds unchanged into libvela.  Only vela-compat.h
 * includes this file.
 *
 * Differences that cannot be avoided are noted where they are defined; the
 * main ones: GFP flags other than __GFP_ZERO are ignored, locks are
 * pthreads (error-checking mutexes, writer-preferring rwsems), printk goes
 * to stderr, WARN_ON() counts warnings for the unit-test harness, and
 * BUG() aborts.
 *
 * Include system headers before this one: it defines min(), max(), swap()
 * and other short names that libc headers may use otherwise.
 */
#ifndef VELA_COMPAT_USER_H
#define VELA_COMPAT_USER_H

#ifdef __KERNEL__
#error "compat-user.h is for userspace; kernel code gets kernel headers"
#endif

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Types.  u64 is unsigned long long as in the kernel, so %llu fits it. */
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef unsigned long long u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef long long s64;
typedef u16 __le16;
typedef u32 __le32;
typedef u64 __le64;
typedef u64 sector_t;

/* Compiler attributes and access helpers. */
#define __packed		__attribute__((__packed__))
#define __must_check		__attribute__((__warn_unused_result__))
#define __always_unused		__attribute__((__unused__))
#define __maybe_unused		__attribute__((__unused__))
#define __printf(a, b)		__attribute__((__format__(printf, a, b)))
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
/* atomic_t, sequentially consistent, as the kernel's value-returning ops are. */
typedef struct {
	int counter;
} atomic_t;

#define atomic_set(v, i)	__atomic_store_n(&(v)->counter, (i), __ATOMIC_SEQ_CST)
#define atomic_read(v)		__atomic_load_n(&(v)->counter, __ATOMIC_SEQ_CST)
#define atomic_fetch_inc(v)	__atomic_fetch_add(&(v)->counter, 1, __ATOMIC_SEQ_CST)
#define atomic_dec(v)		((void)__atomic_fetch_sub(&(v)->counter, 1, __ATOMIC_SEQ_CST))

static inline int atomic_cmpxchg(atomic_t *v, int old, int new)
{
	__atomic_compare_exchange_n(&v->counter, &old, new, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	return old;
}

/* Relaxed atomics: one untorn access the compiler may not merge or drop. */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELAXED)

/* Byte order: the metadata format is little-endian. */
#define cpu_to_le16(x)		((__le16)htole16(x))
#define cpu_to_le32(x)		((__le32)htole32(x))
#define cpu_to_le64(x)		((__le64)htole64(x))
#define le16_to_cpu(x)		((u16)le16toh(x))
#define le32_to_cpu(x)		((u32)le32toh(x))
#define le64_to_cpu(x)		((u64)le64toh(x))

/* vela-meta.c counts in place with it. */
static inline void le64_add_cpu(__le64 *var, u64 val)
{
	*var = cpu_to_le64(le64_to_cpu(*var) + val);
}

/*
 * vela-meta.c copies names with it.
 * Kernel semantics: @dest is always NUL-terminated (if @count is not 0);
 * the value is the length copied, or -E2BIG when @src was truncated.
 */
ssize_t strscpy(char *dest, const char *src, size_t count);
/* strscpy(), the rest of @dest zeroed (for on-disk fields). */
ssize_t strscpy_pad(char *dest, const char *src, size_t count);

/*
 * Memory.  The flags are accepted for the kernel's signatures; only
 * __GFP_ZERO changes anything.  A zero-sized allocation returns a unique
 * pointer that must not be dereferenced but may be freed, like the kernel's
 * ZERO_SIZE_PTR.  kvmalloc and kmalloc memory is the same here, so kvfree()
 * and kfree() are interchangeable, which the kernel does not promise.
 */
#define GFP_KERNEL		0x01u
#define GFP_NOIO		0x02u
#define GFP_NOFS		0x04u
#define __GFP_ZERO		0x100u

void *kmalloc(size_t size, unsigned int flags);
void *kzalloc(size_t size, unsigned int flags);
void *kmalloc_array(size_t n, size_t size, unsigned int flags);
void *kcalloc(size_t n, size_t size, unsigned int flags);
void *krealloc(const void *p, size_t new_size, unsigned int flags) __must_check;
void kfree(const void *p);
void *kvmalloc(size_t size, unsigned int flags);
void *kvzalloc(size_t size, unsigned int flags);
/* vela-u64map.c sizes its table with it. */
void *kvmalloc_array(size_t n, size_t size, unsigned int flags);
void kvfree(const void *p);
/*
 * Failure injection for the tests, like the kernel's failslab: the @nth
 * kvmalloc-family allocation from now (1: the next one) returns NULL;
 * 0 turns it off.  These are the allocations the metadata code makes
 * while it holds its lock (the per-transaction maps, a merge's lists).
 */
void vela_fail_kvmalloc(unsigned long nth);
unsigned long vela_kvmalloc_failures(void);

/* Error pointers: the top 4095 addresses encode -errno. */
#define MAX_ERRNO		4095
#ifndef EWOULDBLOCK
#define EWOULDBLOCK		EAGAIN
#endif

static inline void * __must_check ERR_PTR(long error)
{
	return (void *)error;
}

static inline long __must_check PTR_ERR(const void *ptr)
{
	return (long)ptr;
}

static inline bool __must_check IS_ERR(const void *ptr)
{
	return unlikely((unsigned long)ptr >= (unsigned long)-MAX_ERRNO);
}

static inline bool __must_check IS_ERR_OR_NULL(const void *ptr)
{
	return unlikely(!ptr) || IS_ERR(ptr);
}

static inline void * __must_check ERR_CAST(const void *ptr)
{
	return (void *)ptr;
}

/*
 * CRC-32C (Castagnoli, reflected), kernel semantics: no inversion on the way
 * in or out.  The standard check value is ~crc32c(~0, buf, len).
 */
u32 crc32c(u32 crc, const void *p, size_t len);

/*
 * Locks over pthreads.  Mutexes are error-checking: unlocking a mutex the
 * caller does not hold, or locking it twice, is a BUG() as lockdep would
 * report it.  Rwsems prefer writers, so a recursive down_read() behind a
 * waiting writer deadlocks here as it can in the kernel.
 */
struct mutex {
	pthread_mutex_t lock;
	/* For lockdep_assert_held(): who holds it (atomic accesses). */
	pthread_t owner;
	int held;
};

void mutex_init(struct mutex *m);
void mutex_destroy(struct mutex *m);
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
/* 1 when taken, 0 when busy, as in the kernel. */
int mutex_trylock(struct mutex *m);

struct rw_semaphore {
	pthread_rwlock_t lock;
	/* For lockdep_assert_held(): readers holding it, or -1 for a writer. */
	int holders;
};

void init_rwsem(struct rw_semaphore *sem);
void down_read(struct rw_semaphore *sem);
void up_read(struct rw_semaphore *sem);
void down_write(struct rw_semaphore *sem);
void up_write(struct rw_semaphore *sem);
/* 1 when taken, 0 when busy. */
int down_read_trylock(struct rw_semaphore *sem);
int down_write_trylock(struct rw_semaphore *sem);

typedef struct {
	pthread_mutex_t lock;
} spinlock_t;

void spin_lock_init(spinlock_t *lock);
void spin_lock(spinlock_t *lock);
void spin_unlock(spinlock_t *lock);
/* There are no interrupts: @flags is set to 0 and otherwise unused. */
#define spin_lock_irqsave(lock, flags) \
	do { (flags) = 0; spin_lock(lock); } while (0)
#define spin_unlock_irqrestore(lock, flags) \
	do { (void)(flags); spin_unlock(lock); } while (0)

/*
 * lockdep_assert_held() is a real check, so the unit tests catch a "__"
 * helper called without its lock: a mutex must be held by the caller, an
 * rwsem by somebody (pthreads cannot say which reader).
 */
bool vela_mutex_held(struct mutex *m);
bool vela_rwsem_held(struct rw_semaphore *sem);
bool vela_rwsem_held_write(struct rw_semaphore *sem);
/* Any other lock type is a compile error, not a read past its end. */
bool vela_lockdep_unsupported_lock_type(const void *lock)
	__attribute__((error("lockdep_assert_held(): a mutex or an rwsem")));
#define lockdep_assert_held(l)						\
	BUG_ON(!__builtin_choose_expr(					\
		__builtin_types_compatible_p(typeof(*(l)), struct mutex),	\
		vela_mutex_held((struct mutex *)(l)),			\
		__builtin_choose_expr(					\
			__builtin_types_compatible_p(typeof(*(l)), struct rw_semaphore), \
			vela_rwsem_held((struct rw_semaphore *)(l)),	\
			vela_lockdep_unsupported_lock_type(l))))
#define lockdep_assert_held_write(l)	BUG_ON(!vela_rwsem_held_write(l))
/* Sparse's lock annotations: for the kernel's checker only. */
#define __acquires(x)
#define __releases(x)
#define __must_hold(x)

/* Doubly linked lists, as in <linux/list.h>. */
struct list_head {
	struct list_head *next, *prev;
};

#define container_of(ptr, type, member) ({				\
	void *__vela_mptr = (void *)(ptr);				\
	_Static_assert(__builtin_types_compatible_p(typeof(*(ptr)),	\
						    typeof(((type *)0)->member)) || \
		       __builtin_types_compatible_p(typeof(*(ptr)), void), \
		       "pointer type mismatch in container_of()");	\
	(type *)((char *)__vela_mptr - offsetof(type, member)); })

#define LIST_HEAD_INIT(name)	{ &(name), &(name) }
#define LIST_HEAD(name)		struct list_head name = LIST_HEAD_INIT(name)

/* list_del() leaves these behind so a use after deletion faults. */
#define LIST_POISON1		((struct list_head *)0x100)
#define LIST_POISON2		((struct list_head *)0x122)

static inline void INIT_LIST_HEAD(struct list_head *list)
{
	list->next = list;
	list->prev = list;
}

static inline void __list_link(struct list_head *entry, struct list_head *prev,
			       struct list_head *next)
{
	next->prev = entry;
	entry->next = next;
	entry->prev = prev;
	prev->next = entry;
}

static inline void list_add(struct list_head *entry, struct list_head *head)
{
	__list_link(entry, head, head->next);
}

static inline void list_add_tail(struct list_head *entry, struct list_head *head)
{
	__list_link(entry, head->prev, head);
}

static inline void __list_unlink(struct list_head *entry)
{
	entry->next->prev = entry->prev;
	entry->prev->next = entry->next;
}

static inline void list_del(struct list_head *entry)
{
	__list_unlink(entry);
	entry->next = LIST_POISON1;
	entry->prev = LIST_POISON2;
}

static inline void list_del_init(struct list_head *entry)
{
	__list_unlink(entry);
	INIT_LIST_HEAD(entry);
}

static inline int list_empty(const struct list_head *head)
{
	return READ_ONCE(head->next) == head;
}

/* Move @list's entries to the front of @head and reinitialise @list. */
static inline void list_splice_init(struct list_head *list, struct list_head *head)
{
	struct list_head *first = list->next, *last = list->prev;

	if (list_empty(list))
		return;
	last->next = head->next;
	head->next->prev = last;
	first->prev = head;
	head->next = first;
	INIT_LIST_HEAD(list);
}

#define list_entry(ptr, type, member)	container_of(ptr, type, member)
#define list_first_entry(head, type, member) \
	list_entry((head)->next, type, member)
#define list_next_entry(pos, member) \
	list_entry((pos)->member.next, typeof(*(pos)), member)

#define list_for_each_entry(pos, head, member)				\
	for (pos = list_first_entry(head, typeof(*pos), member);	\
	     &pos->member != (head);					\
	     pos = list_next_entry(pos, member))

#define list_for_each_entry_safe(pos, n, head, member)			\
	for (pos = list_first_entry(head, typeof(*pos), member),	\
	     n = list_next_entry(pos, member);				\
	     &pos->member != (head);					\
	     pos = n, n = list_next_entry(n, member))

/*
 * Heapsort, as the kernel's: O(n log n), not stable, no allocation.
 * @swap_fn may be NULL for a generic byte swap.
 */
void sort(void *base, size_t num, size_t size,
	  int (*cmp_fn)(const void *, const void *),
	  void (*swap_fn)(void *, void *, int));

/*
 * printk to stderr.  pr_fmt() works as in the kernel when a file defines it
 * before including vela-compat.h.  pr_debug() prints only when the
 * VELA_DEBUG environment variable is set.
 */
#ifndef pr_fmt
#define pr_fmt(fmt) fmt
#endif

void vela_printk(int level, const char *fmt, ...) __printf(2, 3);

#define VELA_LOGLEVEL_ERR	3
#define VELA_LOGLEVEL_WARNING	4
#define VELA_LOGLEVEL_NOTICE	5
#define VELA_LOGLEVEL_INFO	6
#define VELA_LOGLEVEL_DEBUG	7

#define pr_err(fmt, ...) \
	vela_printk(VELA_LOGLEVEL_ERR, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn(fmt, ...) \
	vela_printk(VELA_LOGLEVEL_WARNING, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_notice(fmt, ...) \
	vela_printk(VELA_LOGLEVEL_NOTICE, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_info(fmt, ...) \
	vela_printk(VELA_LOGLEVEL_INFO, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_debug(fmt, ...) \
	vela_printk(VELA_LOGLEVEL_DEBUG, pr_fmt(fmt), ##__VA_ARGS__)

/*
 * WARN and BUG.  A warning prints file:line and the condition, and is
 * counted: the unit-test harness fails a test that warns unexpectedly, as
 * the VM rig fails a test that leaves a WARNING in the kernel log.
 */
void vela_warn(const char *file, int line, const char *cond);
unsigned long vela_warn_count(void);
_Noreturn void vela_bug(const char *file, int line, const char *cond);

#define WARN_ON(cond) ({						\
	int __vela_warn_on = !!(cond);					\
	if (unlikely(__vela_warn_on))					\
		vela_warn(__FILE__, __LINE__, #cond);			\
	unlikely(__vela_warn_on); })

#define WARN_ON_ONCE(cond) ({						\
	static bool __vela_warned;					\
	int __vela_warn_on = !!(cond);					\
	if (unlikely(__vela_warn_on) &&					\
	    !__atomic_exchange_n(&__vela_warned, true, __ATOMIC_RELAXED)) \
		vela_warn(__FILE__, __LINE__, #cond);			\
	unlikely(__vela_warn_on); })

#define BUG()		vela_bug(__FILE__, __LINE__, NULL)
#define BUG_ON(cond) \
	do { if (unlikely(cond)) vela_bug(__FILE__, __LINE__, #cond); } while (0)
#define BUILD_BUG_ON(cond) \
	_Static_assert(!(cond), "BUILD_BUG_ON(" #cond ")")

#define might_sleep()	do { } while (0)
#define cond_resched()	do { } while (0)

/*
 * Arithmetic.  min() and max() insist on operands of one type, as the
 * kernel's do: mixing types is a compile error under -Werror; use min_t().
 */
#define __vela_cmp(x, y, op) ({						\
	typeof(x) __vela_x = (x);					\
	typeof(y) __vela_y = (y);					\
	(void)(&__vela_x == &__vela_y);					\
	__vela_x op __vela_y ? __vela_x : __vela_y; })

#define min(x, y)		__vela_cmp(x, y, <)
#define max(x, y)		__vela_cmp(x, y, >)
#define min_t(type, x, y)	__vela_cmp((type)(x), (type)(y), <)
#define max_t(type, x, y)	__vela_cmp((type)(x), (type)(y), >)
#define clamp(val, lo, hi)	min(max(val, lo), hi)

#define swap(a, b) do {							\
	typeof(a) __vela_tmp = (a);					\
	(a) = (b);							\
	(b) = __vela_tmp;						\
	} while (0)

/* ARRAY_SIZE() of a pointer fails to build, as in the kernel. */
#define __vela_must_be_array(a) \
	sizeof(struct { int:(-!!__builtin_types_compatible_p(typeof(a), typeof(&(a)[0]))); })
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]) + __vela_must_be_array(a))

#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
/* round_up() and round_down() need a power-of-two @y; roundup() does not. */
#define __vela_round_mask(x, y)	((typeof(x))((y) - 1))
#define round_up(x, y)		((((x) - 1) | __vela_round_mask(x, y)) + 1)
#define round_down(x, y)	((x) & ~__vela_round_mask(x, y))
#define roundup(x, y) ({						\
	typeof(y) __vela_y = (y);					\
	(((x) + (__vela_y - 1)) / __vela_y) * __vela_y; })

static inline bool is_power_of_2(unsigned long n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

/* ilog2(0) is -1, as the kernel's fls()-based version gives at run time. */
static inline int __ilog2_u32(u32 n)
{
	return n ? 31 - __builtin_clz(n) : -1;
}

static inline int __ilog2_u64(u64 n)
{
	return n ? 63 - __builtin_clzll(n) : -1;
}

#define ilog2(n)	(sizeof(n) <= 4 ? __ilog2_u32(n) : __ilog2_u64(n))

static inline u64 div_u64_rem(u64 dividend, u32 divisor, u32 *remainder)
{
	*remainder = dividend % divisor;
	return dividend / divisor;
}

static inline u64 div_u64(u64 dividend, u32 divisor)
{
	return dividend / divisor;
}

/*
 * do_div(n, base): n (a u64 lvalue) becomes the quotient; the value is the
 * u32 remainder.  The pointer comparison rejects a non-u64 @n.
 */
#define do_div(n, base) ({						\
	u32 __vela_base = (base);					\
	u32 __vela_rem;							\
	(void)((typeof(n) *)0 == (u64 *)0);				\
	__vela_rem = (u32)((n) % __vela_base);				\
	(n) = (n) / __vela_base;					\
	__vela_rem; })

#define BIT(n)			(1UL << (n))
#define BIT_ULL(n)		(1ULL << (n))
#define GENMASK_ULL(h, l)	((~0ULL >> (63 - (h))) & (~0ULL << (l)))
#define U32_MAX			((u32)~0U)
#define U64_MAX			((u64)~0ULL)
#define SECTOR_SHIFT		9

/*
 * Randomness and time.  get_random_u32() is a seedable PRNG, not a
 * cryptographic one: vela_compat_seed_random() (an addition, so tests are
 * reproducible from a seed) restarts its sequence.
 */
u32 get_random_u32(void);
void vela_compat_seed_random(u64 seed);
s64 ktime_get_real_seconds(void);

/* dm-bufio and the simulated block devices under it. */
#include "bufio-user.h"

#endif
