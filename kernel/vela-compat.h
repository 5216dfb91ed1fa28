/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one header through which shared metadata code (kernel/vela-*.c that
 * also builds into the userspace libvela) reaches kernel facilities.  In the
 * kernel it is the real headers; in userspace, compat-user.h defines the same
 * names with the same semantics.
 *
 * Contract: shared code may use only these, and includes no other system
 * header:
 * - types u8..u64, s8..s64, __le16/32/64, sector_t, bool; __packed,
 *   __must_check, __always_unused, __maybe_unused, __printf(), likely(),
 *   unlikely(), READ_ONCE(), WRITE_ONCE()
 * - cpu_to_le16/32/64(), le16/32/64_to_cpu()
 * - kmalloc(), kzalloc(), kcalloc(), kmalloc_array(), krealloc(), kfree(),
 *   kvmalloc(), kvzalloc(), kvmalloc_array(), kvfree(); GFP_KERNEL, GFP_NOIO,
 *   GFP_NOFS, __GFP_ZERO
 * - ERR_PTR(), PTR_ERR(), IS_ERR(), IS_ERR_OR_NULL(), ERR_CAST(); errno
 *   values, EWOULDBLOCK
 * - crc32c() (no inversion in or out)
 * - struct mutex, struct rw_semaphore, spinlock_t and their init, lock,
 *   trylock and unlock calls (spin_lock_irqsave too); lockdep_assert_held(),
 *   lockdep_assert_held_write(); sparse's __acquires(), __releases(),
 *   __must_hold()
 * - struct list_head: INIT_LIST_HEAD, LIST_HEAD, list_add(_tail),
 *   list_del(_init), list_empty, list_first_entry, list_for_each_entry(_safe),
 *   list_splice_init; container_of(), offsetof()
 * - sort()
 * - pr_err/warn/notice/info/debug(), WARN_ON(_ONCE)(), BUG(_ON)(),
 *   BUILD_BUG_ON(), might_sleep(), cond_resched()
 * - min(), max(), min_t(), max_t(), clamp(), swap(), ARRAY_SIZE(),
 *   DIV_ROUND_UP(), round_up(), round_down(), roundup(), is_power_of_2(),
 *   ilog2(), div_u64(), div_u64_rem(), do_div(), BIT(), BIT_ULL(),
 *   GENMASK_ULL(), U32_MAX, U64_MAX, SECTOR_SHIFT
 * - get_random_u32(), ktime_get_real_seconds()
 * - memcpy(), memmove(), memset(), memcmp(), strlen(), strcmp(), strncmp(),
 *   strnlen(), memchr(), vsnprintf() with va_list (libc and the kernel agree
 *   on these), strscpy(), strscpy_pad(), le64_add_cpu()
 * - dm-bufio: client create/destroy, read, get, new, prefetch, release,
 *   mark_buffer_dirty, write_dirty_buffers, issue_flush, forget and the
 *   get_* accessors (as userspace/lib/bufio-user.h declares them), on a
 *   struct block_device the caller was given
 * Anything else needs adding to both sides first.
 */
#ifndef VELA_COMPAT_H
#define VELA_COMPAT_H

#ifdef __KERNEL__

#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/kernel.h>
#include <linux/bits.h>
#include <linux/bug.h>
#include <linux/build_bug.h>
#include <linux/err.h>
#include <linux/limits.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/printk.h>
#include <linux/stdarg.h>
#include <linux/string.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/crc32c.h>
#include <linux/list.h>
#include <linux/sort.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/lockdep.h>
#include <linux/random.h>
#include <linux/timekeeping.h>
#include <linux/blkdev.h>
#include <linux/dm-bufio.h>
#include <asm/byteorder.h>

#else

/* Found through -Iuserspace/lib: kernel/ names no path outside itself. */
#include <compat-user.h>

#endif

#endif
