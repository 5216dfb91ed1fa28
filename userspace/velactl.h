/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What velactl's command files share.  Exit codes are documented in
 * docs/velactl.8.
 */
#ifndef VELACTL_H
#define VELACTL_H

#include <stddef.h>

#include "compat.h"

#define EXIT_USAGE		2
#define EXIT_UNREADABLE		3	/* check: the device could not be opened or read */

__printf(1, 2) void usage_error(const char *fmt, ...);

/*
 * libblkid: describe the first signature on @path in @desc ("ext4", ...).
 * 1 when there is one, 0 when there is none, -errno when @path cannot be
 * probed.
 */
int find_signature(const char *path, char *desc, size_t len);

/* Offline metadata commands (velactl-meta.c). */
int cmd_format(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_dump(int argc, char **argv);

#endif
