/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel idioms dm-vela's userspace code uses, defined for userspace so
 * both sides read the same.
 */
#ifndef VELA_USERSPACE_COMPAT_H
#define VELA_USERSPACE_COMPAT_H

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
#ifndef __printf
#define __printf(fmt, args) __attribute__((format(printf, fmt, args)))
#endif

#endif
