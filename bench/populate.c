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
 * With BRANCHES, it then takes that many branches of the volume, named
 * NAME-1, NAME-2 and so on, none autoactivating: the pool for timing
 * `velactl list` over 10,000 branches, which one create_branch message
 * each would take the emulated guest half an hour to make.
 *
 * usage: populate METADATA-DEV-OR-IMAGE NAME SIZE-IN-MIB [BRANCHES]
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
	u64 id, branch_id, lblock, pblock, nr_lblocks, size_sectors, i, nr_branches;
	char branch_name[160];
	struct vela_md *md;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: populate METADATA NAME SIZE-IN-MIB [BRANCHES]\n");
		return 2;
	}
	nr_branches = argc == 5 ? strtoull(argv[4], NULL, 10) : 0;
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
	for (i = 1; i <= nr_branches; i++) {
		snprintf(branch_name, sizeof(branch_name), "%s-%llu", argv[2], i);
		must(vela_md_create_branch(md, id, branch_name, VELA_BRANCH_NO_AUTOACTIVATE, 0,
					   &branch_id), "branch");
		if (i % 1000 == 0)
			must(vela_md_commit(md), "commit");
	}
	must(vela_md_commit(md), "commit");
	printf("%s: %llu blocks mapped, %llu branches\n", argv[2], nr_lblocks, nr_branches);
	vela_md_close(md);
	vela_bdev_close(bdev);
	return 0;
}
