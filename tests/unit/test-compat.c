// SPDX-License-Identifier: GPL-2.0-only
/*
 * The userspace compat layer keeps the kernel's semantics.
 */
#include <pthread.h>

#include "unit.h"

/* A bit-at-a-time CRC-32C, independent of the table-driven one. */
static u32 crc32c_bitwise(u32 crc, const u8 *p, size_t len)
{
	int bit;

	while (len--) {
		crc ^= *p++;
		for (bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0x82f63b78u & -(crc & 1));
	}
	return crc;
}

TEST(crc32c_check_value)
{
	/* The catalogued CRC-32C check value, with the usual inversions. */
	EXPECT_EQ(~crc32c(~0u, "123456789", 9), 0xe3069283u);
	/* The kernel's crc32c() itself inverts nothing. */
	EXPECT_EQ(crc32c(~0u, "123456789", 9), ~0xe3069283u);
}

TEST(crc32c_rfc3720_vectors)
{
	u8 buf[32];
	int i;

	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(~crc32c(~0u, buf, sizeof(buf)), 0x8a9136aau);
	memset(buf, 0xff, sizeof(buf));
	EXPECT_EQ(~crc32c(~0u, buf, sizeof(buf)), 0x62a8ab43u);
	for (i = 0; i < 32; i++)
		buf[i] = i;
	EXPECT_EQ(~crc32c(~0u, buf, sizeof(buf)), 0x46dd794eu);
	for (i = 0; i < 32; i++)
		buf[i] = 31 - i;
	EXPECT_EQ(~crc32c(~0u, buf, sizeof(buf)), 0x113fdb5cu);
}

TEST(crc32c_seed_passes_through)
{
	static const u8 zeros[64];

	EXPECT_EQ(crc32c(0x12345678u, "", 0), 0x12345678u);
	EXPECT_EQ(crc32c(~0u, "", 0), ~0u);
	/* No pre-inversion: a zero register stays zero over zero bytes. */
	EXPECT_EQ(crc32c(0, zeros, sizeof(zeros)), 0u);
	EXPECT_NE(crc32c(~0u, zeros, sizeof(zeros)), 0u);
}

TEST(crc32c_incremental_and_bitwise)
{
	u8 buf[1000];
	u32 whole, state = (u32)unit_seed() | 1;
	size_t i, split;

	for (i = 0; i < sizeof(buf); i++) {
		state ^= state << 13;
		state ^= state >> 17;
		state ^= state << 5;
		buf[i] = (u8)state;
	}
	whole = crc32c(~0u, buf, sizeof(buf));
	EXPECT_EQ(whole, crc32c_bitwise(~0u, buf, sizeof(buf)));
	EXPECT_EQ(crc32c(0x5a5a5a5au, buf, 333), crc32c_bitwise(0x5a5a5a5au, buf, 333));
	for (split = 0; split <= sizeof(buf); split += 37)
		EXPECT_EQ(crc32c(crc32c(~0u, buf, split), buf + split, sizeof(buf) - split),
			  whole);
}

TEST(endian_little_on_disk)
{
	__le16 a = cpu_to_le16(0x1122);
	__le32 b = cpu_to_le32(0x11223344u);
	__le64 c = cpu_to_le64(0x1122334455667788ULL);
	static const u8 want_b[] = { 0x44, 0x33, 0x22, 0x11 };
	static const u8 want_c[] = { 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 };
	u8 bytes[2];

	memcpy(bytes, &a, 2);
	EXPECT_EQ(bytes[0], 0x22);
	EXPECT_EQ(bytes[1], 0x11);
	EXPECT_MEMEQ(&b, want_b, 4);
	EXPECT_MEMEQ(&c, want_c, 8);
	EXPECT_EQ(le16_to_cpu(a), 0x1122);
	EXPECT_EQ(le32_to_cpu(b), 0x11223344u);
	EXPECT_EQ(le64_to_cpu(c), 0x1122334455667788ULL);
	le64_add_cpu(&c, 0x10);
	EXPECT_EQ(le64_to_cpu(c), 0x1122334455667798ULL);
	le64_add_cpu(&c, -1);
	EXPECT_EQ(le64_to_cpu(c), 0x1122334455667797ULL);
}

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

static unsigned int swaps;

static void swap_u32(void *a, void *b, int size)
{
	u32 t = *(u32 *)a;

	EXPECT_EQ(size, 4);
	*(u32 *)a = *(u32 *)b;
	*(u32 *)b = t;
	swaps++;
}

TEST(sort_u32_random)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 10, 100, 1001 };
	u32 a[1001], b[1001];
	size_t s, i, n;

	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		n = sizes[s];
		for (i = 0; i < n; i++)
			a[i] = b[i] = get_random_u32() % 50;	/* duplicates too */
		sort(a, n, sizeof(a[0]), cmp_u32, NULL);
		qsort(b, n, sizeof(b[0]), cmp_u32);
		EXPECT_MEMEQ(a, b, n * sizeof(a[0]));
	}
}

TEST(sort_custom_swap)
{
	u32 a[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(a); i++)
		a[i] = ARRAY_SIZE(a) - i;
	swaps = 0;
	sort(a, ARRAY_SIZE(a), sizeof(a[0]), cmp_u32, swap_u32);
	EXPECT_GT(swaps, 0);
	for (i = 0; i < ARRAY_SIZE(a); i++)
		EXPECT_EQ(a[i], i + 1);
}

struct odd_elem {
	u8 key[3];
	u8 payload[10];
} __packed;

static int cmp_odd(const void *a, const void *b)
{
	return memcmp(((const struct odd_elem *)a)->key, ((const struct odd_elem *)b)->key, 3);
}

TEST(sort_odd_sized_elements)
{
	struct odd_elem e[200];
	size_t i;

	BUILD_BUG_ON(sizeof(struct odd_elem) != 13);
	for (i = 0; i < ARRAY_SIZE(e); i++) {
		u32 r = get_random_u32();

		memcpy(e[i].key, &r, 3);
		memset(e[i].payload, e[i].key[0] ^ e[i].key[2], sizeof(e[i].payload));
	}
	sort(e, ARRAY_SIZE(e), sizeof(e[0]), cmp_odd, NULL);
	for (i = 1; i < ARRAY_SIZE(e); i++)
		EXPECT_LE(cmp_odd(&e[i - 1], &e[i]), 0);
	/* Elements moved whole. */
	for (i = 0; i < ARRAY_SIZE(e); i++)
		EXPECT_EQ(e[i].payload[9], e[i].key[0] ^ e[i].key[2]);
}

TEST(do_div_kernel_semantics)
{
	u64 n = 1000000007ULL * 3 + 2;
	u64 big = U64_MAX;
	u32 rem;

	rem = do_div(n, 3);
	EXPECT_EQ(n, 1000000007ULL);
	EXPECT_EQ(rem, 2);
	rem = do_div(big, 0xffffffffu);
	EXPECT_EQ(big, 0x100000001ULL);
	EXPECT_EQ(rem, 0);
	n = 7;
	rem = do_div(n, 8);
	EXPECT_EQ(n, 0);
	EXPECT_EQ(rem, 7);
	EXPECT_EQ(div_u64(1ULL << 40, 1024), 1ULL << 30);
	EXPECT_EQ(div_u64_rem(1000003, 1000, &rem), 1000);
	EXPECT_EQ(rem, 3);
}

TEST(ilog2_values)
{
	u32 x32 = 1;
	u64 x64 = 1ULL << 40;

	EXPECT_EQ(ilog2(x32), 0);
	EXPECT_EQ(ilog2(2u), 1);
	EXPECT_EQ(ilog2(3u), 1);
	EXPECT_EQ(ilog2(4096u), 12);
	EXPECT_EQ(ilog2(U32_MAX), 31);
	EXPECT_EQ(ilog2(x64), 40);
	EXPECT_EQ(ilog2(x64 + 1), 40);
	EXPECT_EQ(ilog2(U64_MAX), 63);
	x32 = 0;
	EXPECT_EQ(ilog2(x32), -1);
	EXPECT_TRUE(is_power_of_2(4096));
	EXPECT_FALSE(is_power_of_2(0));
	EXPECT_FALSE(is_power_of_2(4097));
}

TEST(arith_helpers)
{
	u32 a = 3, b = 9;
	int arr[7];

	EXPECT_EQ(min(a, b), 3);
	EXPECT_EQ(max(a, b), 9);
	EXPECT_EQ(min_t(int, -1, 5u), -1);
	EXPECT_EQ(max_t(u64, 1, 1ULL << 33), 1ULL << 33);
	EXPECT_EQ(clamp(10u, 2u, 8u), 8);
	EXPECT_EQ(clamp(1u, 2u, 8u), 2);
	EXPECT_EQ(clamp(5u, 2u, 8u), 5);
	swap(a, b);
	EXPECT_EQ(a, 9);
	EXPECT_EQ(b, 3);
	EXPECT_EQ(ARRAY_SIZE(arr), 7);
	EXPECT_EQ(DIV_ROUND_UP(4097, 4096), 2);
	EXPECT_EQ(DIV_ROUND_UP(4096, 4096), 1);
	EXPECT_EQ(round_up(4097u, 4096u), 8192);
	EXPECT_EQ(round_up(4096u, 4096u), 4096);
	EXPECT_EQ(round_down(8191ULL, 4096ULL), 4096);
	EXPECT_EQ(roundup(10, 3), 12);
	EXPECT_EQ(roundup(12, 3), 12);
	EXPECT_EQ(BIT(5), 32);
	EXPECT_EQ(BIT_ULL(40), 1ULL << 40);
	EXPECT_EQ(GENMASK_ULL(7, 4), 0xf0);
	EXPECT_EQ(GENMASK_ULL(63, 0), U64_MAX);
	EXPECT_EQ(GENMASK_ULL(63, 62), 0xc000000000000000ULL);
	EXPECT_EQ(U32_MAX, 0xffffffffu);
	EXPECT_EQ(1 << SECTOR_SHIFT, 512);
}

TEST(err_ptr_round_trip)
{
	int x;
	long e;

	for (e = -1; e >= -MAX_ERRNO; e--) {
		void *p = ERR_PTR(e);

		if (!EXPECT_TRUE(IS_ERR(p)) || !EXPECT_EQ(PTR_ERR(p), e))
			break;
	}
	EXPECT_EQ(PTR_ERR(ERR_CAST(ERR_PTR(-EIO))), -EIO);
	EXPECT_TRUE(IS_ERR_OR_NULL(NULL));
	EXPECT_TRUE(IS_ERR_OR_NULL(ERR_PTR(-ENOMEM)));
	EXPECT_FALSE(IS_ERR(NULL));
	EXPECT_FALSE(IS_ERR(&x));
	EXPECT_FALSE(IS_ERR_OR_NULL(&x));
	EXPECT_FALSE(IS_ERR(ERR_PTR(-MAX_ERRNO - 1)));
	EXPECT_NE(EWOULDBLOCK, 0);
}

struct item {
	int v;
	struct list_head list;
};

/* The values on @head, in order, as a number in base 10. */
static long list_digits(struct list_head *head)
{
	struct item *it;
	long n = 0;

	list_for_each_entry(it, head, list)
		n = n * 10 + it->v;
	return n;
}

TEST(list_ops)
{
	struct item it[6], *pos, *tmp;
	LIST_HEAD(a);
	struct list_head b;
	int i;

	INIT_LIST_HEAD(&b);
	EXPECT_TRUE(list_empty(&a));
	for (i = 0; i < 6; i++)
		it[i].v = i + 1;
	list_add_tail(&it[1].list, &a);		/* 2 */
	list_add_tail(&it[2].list, &a);		/* 2 3 */
	list_add(&it[0].list, &a);		/* 1 2 3 */
	EXPECT_FALSE(list_empty(&a));
	EXPECT_EQ(list_digits(&a), 123);
	EXPECT_EQ(list_first_entry(&a, struct item, list)->v, 1);
	EXPECT_PTR_EQ(container_of(&it[4].list, struct item, list), &it[4]);

	list_del(&it[1].list);
	EXPECT_EQ(list_digits(&a), 13);
	EXPECT_PTR_EQ(it[1].list.next, LIST_POISON1);

	list_add_tail(&it[3].list, &b);
	list_add_tail(&it[4].list, &b);
	list_splice_init(&b, &a);		/* 4 5 1 3 */
	EXPECT_TRUE(list_empty(&b));
	EXPECT_EQ(list_digits(&a), 4513);

	list_del_init(&it[4].list);
	EXPECT_TRUE(list_empty(&it[4].list));
	EXPECT_EQ(list_digits(&a), 413);

	/* Deleting while iterating with the _safe variant. */
	list_for_each_entry_safe(pos, tmp, &a, list)
		if (pos->v != 1)
			list_del(&pos->list);
	EXPECT_EQ(list_digits(&a), 1);
	list_splice_init(&b, &a);		/* empty splice: no change */
	EXPECT_EQ(list_digits(&a), 1);
}

TEST(kmalloc_family)
{
	u8 *p, *q;
	size_t i;
	bool zero = true;

	p = kzalloc(1000, GFP_KERNEL);
	ASSERT_NOT_NULL(p);
	for (i = 0; i < 1000; i++)
		zero &= !p[i];
	EXPECT_TRUE(zero);
	memset(p, 0xab, 1000);
	q = krealloc(p, 5000, GFP_KERNEL | __GFP_ZERO);
	ASSERT_NOT_NULL(q);
	EXPECT_EQ(q[999], 0xab);
	zero = true;
	for (i = 1000; i < 5000; i++)
		zero &= !q[i];
	EXPECT_TRUE(zero);
	kfree(q);

	EXPECT_NULL(kcalloc(SIZE_MAX / 2, 4, GFP_KERNEL));
	EXPECT_NULL(kmalloc_array(SIZE_MAX / 8, 16, GFP_NOIO));
	p = kmalloc(0, GFP_NOFS);
	EXPECT_NOT_NULL(p);
	kfree(p);
	kfree(NULL);
	kvfree(NULL);

	p = kcalloc(10, 100, GFP_KERNEL);
	ASSERT_NOT_NULL(p);
	EXPECT_EQ(p[999], 0);
	kfree(p);
	p = kvzalloc(1 << 20, GFP_KERNEL);
	ASSERT_NOT_NULL(p);
	EXPECT_EQ(p[(1 << 20) - 1], 0);
	kvfree(p);
	p = kvmalloc_array(4, 8, GFP_KERNEL);
	EXPECT_NOT_NULL(p);
	kvfree(p);
}

TEST(strscpy_truncates_with_e2big)
{
	char buf[8];

	EXPECT_EQ(strscpy(buf, "pool", sizeof(buf)), 4);
	EXPECT_STREQ(buf, "pool");
	EXPECT_EQ(strscpy(buf, "1234567", sizeof(buf)), 7);
	EXPECT_EQ(strscpy(buf, "12345678", sizeof(buf)), -E2BIG);
	EXPECT_STREQ(buf, "1234567");
	EXPECT_EQ(strscpy(buf, "x", 0), -E2BIG);
}

static struct mutex shared_mutex;
static struct rw_semaphore shared_sem;

static void *try_mutex(void *arg)
{
	return (void *)(long)mutex_trylock(&shared_mutex);
}

static void *try_read(void *arg)
{
	long ok = down_read_trylock(&shared_sem);

	if (ok)
		up_read(&shared_sem);
	return (void *)ok;
}

static void *try_write(void *arg)
{
	long ok = down_write_trylock(&shared_sem);

	if (ok)
		up_write(&shared_sem);
	return (void *)ok;
}

/* What @fn returns in another thread. */
static long in_thread(void *(*fn)(void *))
{
	pthread_t t;
	void *ret;

	if (pthread_create(&t, NULL, fn, NULL))
		return -1;
	pthread_join(t, &ret);
	return (long)ret;
}

TEST(locks_exclude)
{
	spinlock_t sl;
	unsigned long flags;

	mutex_init(&shared_mutex);
	EXPECT_EQ(in_thread(try_mutex), 1);	/* taken there, left held */
	EXPECT_EQ(mutex_trylock(&shared_mutex), 0);

	init_rwsem(&shared_sem);
	down_read(&shared_sem);
	EXPECT_EQ(in_thread(try_read), 1);
	EXPECT_EQ(in_thread(try_write), 0);
	up_read(&shared_sem);
	down_write(&shared_sem);
	EXPECT_EQ(in_thread(try_read), 0);
	up_write(&shared_sem);
	EXPECT_EQ(in_thread(try_write), 1);
	EXPECT_EQ(down_write_trylock(&shared_sem), 1);
	up_write(&shared_sem);

	spin_lock_init(&sl);
	spin_lock_irqsave(&sl, flags);
	EXPECT_EQ(flags, 0);
	spin_unlock_irqrestore(&sl, flags);
	spin_lock(&sl);
	spin_unlock(&sl);
}

TEST(mutex_misuse_is_a_bug)
{
	struct mutex m;

	mutex_init(&m);
	EXPECT_BUG(mutex_unlock(&m));
	EXPECT_BUG({ mutex_lock(&m); mutex_lock(&m); });
	mutex_lock(&m);
	mutex_unlock(&m);
	mutex_destroy(&m);
}

static void *mutex_held_here(void *arg)
{
	return (void *)(long)vela_mutex_held(&shared_mutex);
}

/* The "__" helpers' lockdep_assert_held() checks something here too. */
TEST(lockdep_assert_held_sees_who_holds_a_lock)
{
	struct rw_semaphore sem;

	mutex_init(&shared_mutex);
	EXPECT_BUG(lockdep_assert_held(&shared_mutex));
	mutex_lock(&shared_mutex);
	lockdep_assert_held(&shared_mutex);
	EXPECT_EQ(in_thread(mutex_held_here), 0);	/* held, but not by that thread */
	mutex_unlock(&shared_mutex);
	EXPECT_BUG(lockdep_assert_held(&shared_mutex));
	EXPECT_EQ(mutex_trylock(&shared_mutex), 1);
	lockdep_assert_held(&shared_mutex);
	mutex_unlock(&shared_mutex);

	init_rwsem(&sem);
	EXPECT_BUG(lockdep_assert_held(&sem));
	down_read(&sem);
	down_read(&sem);
	lockdep_assert_held(&sem);
	EXPECT_BUG(lockdep_assert_held_write(&sem));
	up_read(&sem);
	lockdep_assert_held(&sem);
	up_read(&sem);
	EXPECT_BUG(lockdep_assert_held(&sem));
	down_write(&sem);
	lockdep_assert_held(&sem);
	lockdep_assert_held_write(&sem);
	up_write(&sem);
	EXPECT_BUG(lockdep_assert_held_write(&sem));
	EXPECT_EQ(down_read_trylock(&sem), 1);
	lockdep_assert_held(&sem);
	up_read(&sem);
	EXPECT_EQ(down_write_trylock(&sem), 1);
	lockdep_assert_held_write(&sem);
	up_write(&sem);
}

TEST(warn_and_bug)
{
	unsigned long before = vela_warn_count();
	int i, fired = 0;

	unit_allow_warnings();
	EXPECT_FALSE(WARN_ON(1 + 1 == 3));
	EXPECT_EQ(vela_warn_count(), before);
	EXPECT_TRUE(WARN_ON(2 > 1));
	EXPECT_EQ(vela_warn_count(), before + 1);
	for (i = 0; i < 3; i++)
		fired += WARN_ON_ONCE(i >= 0);
	EXPECT_EQ(fired, 3);			/* the value every time */
	EXPECT_EQ(vela_warn_count(), before + 2);	/* the message once */
	EXPECT_BUG(BUG());
	EXPECT_BUG(BUG_ON(fired == 3));
	BUG_ON(fired != 3);
	might_sleep();
}

TEST(random_follows_the_seed)
{
	u32 a[8];
	int i, same = 0;

	vela_compat_seed_random(42);
	for (i = 0; i < 8; i++)
		a[i] = get_random_u32();
	vela_compat_seed_random(42);
	for (i = 0; i < 8; i++)
		same += get_random_u32() == a[i];
	EXPECT_EQ(same, 8);
	vela_compat_seed_random(43);
	EXPECT_NE(get_random_u32(), a[0]);
	/* A plausible clock: after 2020-01-01. */
	EXPECT_GT(ktime_get_real_seconds(), 1577836800LL);
}
