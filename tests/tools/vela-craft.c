// SPDX-License-Identifier: GPL-2.0-only
/*
 * vela-craft: damage dm-vela metadata on purpose, keeping every checksum
 * valid, so that the tests can show the tools hostile bytes behind a
 * valid-looking block (what the fuzzer's restamp does, for shell tests on
 * the host and in the VM).  Written from docs/on-disk-format.md alone: it
 * shares no code with what it attacks.
 *
 *   vela-craft DEV pool-name HEX         the superblock's pool name
 *   vela-craft DEV branch-name OLD HEX   the name of the branch named OLD
 *   vela-craft DEV bad-csum              flip a superblock byte, no restamp
 *
 * HEX is the new name's bytes in hexadecimal (any bytes but NUL).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK		4096
#define SB_BYTES	512
/* After the 32-byte block header, magic, version, flags, three feature words, uuid. */
#define POOL_NAME_OFF	88
#define POOL_NAME_LEN	64
#define BRANCH_NAME_LEN	128
/* How far into the device a branch record is looked for. */
#define SEARCH_BLOCKS	4096

static uint32_t crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = ~0u;
	int k;

	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (crc & 1 ? 0x82f63b78 : 0);
	}
	return ~crc;
}

/* A block's checksum: ~crc32c(~0) over bytes 4..len, little-endian. */
static void stamp(uint8_t *blk, size_t len)
{
	uint32_t c = crc32c(blk + 4, len - 4);

	blk[0] = c;
	blk[1] = c >> 8;
	blk[2] = c >> 16;
	blk[3] = c >> 24;
}

static int unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex) / 2, i;
	unsigned int v;

	if (strlen(hex) % 2 || n >= max)
		return -1;
	memset(out, 0, max);
	for (i = 0; i < n; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !v)
			return -1;
		out[i] = v;
	}
	return 0;
}

static int rw(int fd, uint8_t *buf, off_t at, int write_it)
{
	ssize_t r = write_it ? pwrite(fd, buf, BLOCK, at) : pread(fd, buf, BLOCK, at);

	return r == BLOCK ? 0 : -1;
}

static const char synopsis[] = "vela-craft DEV pool-name HEX | branch-name OLD HEX | bad-csum";

static int bad_arguments(void)
{
	fprintf(stderr, "usage: %s\n", synopsis);
	return 2;
}

int main(int argc, char **argv)
{
	static uint8_t blk[BLOCK];
	uint8_t name[BRANCH_NAME_LEN], old[BRANCH_NAME_LEN];
	off_t at;
	size_t i;
	int fd;

	if (argc < 3)
		return bad_arguments();
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || rw(fd, blk, 0, 0)) {
		perror(argv[1]);
		return 1;
	}
	if (!strcmp(argv[2], "pool-name") && argc == 4) {
		if (unhex(argv[3], name, POOL_NAME_LEN))
			return bad_arguments();
		memcpy(blk + POOL_NAME_OFF, name, POOL_NAME_LEN);
		stamp(blk, SB_BYTES);
		at = 0;
	} else if (!strcmp(argv[2], "bad-csum") && argc == 3) {
		blk[100] ^= 0xff;
		at = 0;
	} else if (!strcmp(argv[2], "branch-name") && argc == 5) {
		if (strlen(argv[3]) >= BRANCH_NAME_LEN || unhex(argv[4], name, BRANCH_NAME_LEN))
			return bad_arguments();
		memset(old, 0, sizeof(old));
		memcpy(old, argv[3], strlen(argv[3]));
		for (at = BLOCK; at < (off_t)SEARCH_BLOCKS * BLOCK; at += BLOCK) {
			if (rw(fd, blk, at, 0))
				break;
			for (i = 0; i + BRANCH_NAME_LEN <= BLOCK; i++)
				if (!memcmp(blk + i, old, BRANCH_NAME_LEN))
					goto found;
		}
		fprintf(stderr, "vela-craft: no branch named '%s'\n", argv[3]);
		return 1;
found:
		memcpy(blk + i, name, BRANCH_NAME_LEN);
		stamp(blk, BLOCK);
	} else {
		return bad_arguments();
	}
	if (rw(fd, blk, at, 1) || fsync(fd)) {
		perror(argv[1]);
		return 1;
	}
	close(fd);
	return 0;
}
