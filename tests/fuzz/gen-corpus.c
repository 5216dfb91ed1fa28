// SPDX-License-Identifier: GPL-2.0-only
/*
 * Write the fuzzer's seed corpus: real metadata images built by the real
 * code, small enough for the fuzzer (at most 64 blocks), each prefixed with
 * the harness's mode byte.
 *
 * usage: gen-corpus DIR
 */
#include <stdio.h>
#include <stdlib.h>

#include "vela-meta.h"
#include "bufio-user.h"

#define NR_BLOCKS 64

static void save(struct block_device *bdev, const char *dir, const char *name, u8 mode)
{
	static u8 image[NR_BLOCKS * VELA_BLOCK_SIZE];
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-%u", dir, name, mode);
	if (vela_bdev_read(bdev, 0, image, sizeof(image)))
		exit(1);
	f = fopen(path, "w");
	if (!f || fwrite(&mode, 1, 1, f) != 1 || fwrite(image, sizeof(image), 1, f) != 1 ||
	    fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void must(int r, const char *what)
{
	if (r) {
		fprintf(stderr, "gen-corpus: %s: %d\n", what, r);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct vela_md_format_params fp = {
		.pool_name = "corpus", .data_block_sectors = 8, .data_nr_blocks = 40000,
	};
	struct block_device *bdev;
	struct vela_md *md;
	u64 vol, br, pblock, i;
	u8 mode;

	if (argc != 2) {
		fprintf(stderr, "usage: gen-corpus DIR\n");
		return 2;
	}
	vela_compat_seed_random(1);
	bdev = vela_bdev_create_mem(NR_BLOCKS * VELA_BLOCK_SIZE);
	if (IS_ERR(bdev))
		return 1;
	must(vela_md_format(bdev, &fp), "format");
	for (mode = 0; mode < 2; mode++)
		save(bdev, argv[1], "empty", mode);

	md = vela_md_open(bdev, false);
	if (IS_ERR(md))
		return 1;
	must(vela_md_create_volume(md, "prod", 1 << 20, 0, 1, &vol), "volume");
	for (i = 0; i < 600; i++) {
		must(vela_md_alloc_data_block(md, &pblock), "alloc");
		must(vela_md_map(md, vol, i * 3, pblock), "map");
	}
	must(vela_md_create_branch(md, vol, "golden", 0, 2, &br), "branch");
	for (i = 0; i < 50; i++) {
		must(vela_md_alloc_data_block(md, &pblock), "alloc");
		must(vela_md_map(md, br, i * 7, pblock), "map");
	}
	must(vela_md_create_branch(md, br, "ci-1", 0, 3, &vol), "branch");
	must(vela_md_commit(md), "commit");
	for (mode = 0; mode < 2; mode++)
		save(bdev, argv[1], "branches", mode);
	must(vela_md_delete_branch(md, vol), "delete");
	must(vela_md_commit(md), "commit");
	for (mode = 0; mode < 2; mode++)
		save(bdev, argv[1], "pending-delete", mode);
	vela_md_close(md);
	vela_bdev_close(bdev);
	return 0;
}
