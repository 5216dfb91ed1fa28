// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench/populate: make a fully mapped volume in a formatted pool's metadata,
 * with the real metadata code (libvela), without writing its data.  The
 * P4 benchmark (bench/create.sh) needs 1 GiB and 16 GiB volumes whose every
 * block is mapped; writing 16 GiB through the emulated NVMe would take
 * minutes and measure nothing more, since branch creation reads metadata
 * only.  The data blocks are allocated in order and never written (they
 * read as whatever the data device holds).
 *
 * usage: populate METADATA-DEV-OR-IMAGE NAME SIZE-IN-MIB
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vela-meta.h"
#include "bufio-user.h"

static void must(int r, const char *what)
{
	if (r) {
		fprintf(stderr, "bench/populate: %s failed: %d\n", what, r);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct block_device *bdev;
	struct vela_md_info info;
	u64 id, lblock, pblock, nr_lblocks, size_sectors;
	struct vela_md *md;

	if (argc != 4) {
		fprintf(stderr, "usage: populate METADATA NAME SIZE-IN-MIB\n");
		return 2;
	}
	size_sectors = strtoull(argv[3], NULL, 10) << 11;
	bdev = vela_bdev_open_file(argv[1], false);
	if (IS_ERR(bdev))
		must(PTR_ERR(bdev), argv[1]);
	md = vela_md_open(bdev, false);
	if (IS_ERR(md))
		must(PTR_ERR(md), "open");
	must(vela_md_info(md, &info), "info");
	nr_lblocks = size_sectors / info.data_block_sectors;
	must(vela_md_create_volume(md, argv[2], size_sectors, 0, 0, &id), "create");
	for (lblock = 0; lblock < nr_lblocks; lblock++) {
		must(vela_md_alloc_data_block(md, &pblock), "alloc");
		must(vela_md_map(md, id, lblock, pblock), "map");
		if (lblock % 20000 == 19999)
			must(vela_md_commit(md), "commit");
	}
	must(vela_md_commit(md), "commit");
	printf("%s: %llu blocks mapped\n", argv[2], nr_lblocks);
	vela_md_close(md);
	vela_bdev_close(bdev);
	return 0;
}
