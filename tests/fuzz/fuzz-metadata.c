// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: arbitrary bytes as a metadata device.  Opening, the
 * checker, and read-only walks of every branch and mapping must either
 * reject the image or handle it consistently: no crash, no hang, no
 * out-of-bounds access (ASan/UBSan are on).
 *
 * Input: one mode byte, then the image (at most 64 blocks).  Mode bit 0
 * set: the harness first restamps each block's block number and checksum,
 * so mutations reach the structure behind the checksums instead of dying
 * at them.
 *
 * Oracle: a superblock that vela_sb_validate() (the pure check velactl's
 * probe and the checker share) rejects must be rejected by an open and by
 * the checker too; the three must never disagree that way.
 */
#include "vela-check.h"
#include "bufio-user.h"

#define MAX_BLOCKS 64

static void restamp(u8 *image, size_t nr_blocks)
{
	struct vela_block_header *hdr;
	size_t i;

	for (i = 0; i < nr_blocks; i++) {
		hdr = (struct vela_block_header *)(image + i * VELA_BLOCK_SIZE);
		hdr->blocknr = cpu_to_le64(i);
		hdr->csum = cpu_to_le32(vela_block_csum(hdr, i ? VELA_BLOCK_SIZE :
							 VELA_SUPERBLOCK_BYTES));
	}
}

static int count_mapping(void *context, u64 lblock, u64 pblock)
{
	(*(u64 *)context)++;
	return 0;
}

static int walk_branch(void *context, u64 id, const struct vela_branch_info *info)
{
	u64 n = 0, pblock;
	bool shared;

	vela_md_walk_mappings(context, id, count_mapping, &n);
	vela_md_lookup(context, id, 0, &pblock, &shared);
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static u8 image[MAX_BLOCKS * VELA_BLOCK_SIZE];
	struct vela_check_report report = { 0 };
	struct vela_md_info info;
	struct block_device *bdev;
	struct vela_md *md;
	size_t nr_blocks;
	char why[96];
	bool sb_valid;
	int checked;

	if (size < 1)
		return 0;
	nr_blocks = min_t(size_t, max_t(size_t, DIV_ROUND_UP(size - 1, VELA_BLOCK_SIZE), 16),
			  MAX_BLOCKS);
	memset(image, 0, sizeof(image));
	memcpy(image, data + 1, min(size - 1, sizeof(image)));
	if (data[0] & 1)
		restamp(image, nr_blocks);

	bdev = vela_bdev_create_mem(nr_blocks * VELA_BLOCK_SIZE);
	if (IS_ERR(bdev))
		return 0;
	vela_bdev_write(bdev, 0, image, nr_blocks * VELA_BLOCK_SIZE);
	vela_bdev_flush(bdev);

	sb_valid = !vela_sb_validate((const struct vela_superblock *)image, nr_blocks, why,
				     sizeof(why));
	checked = vela_check(bdev, &report);
	md = vela_md_open(bdev, true);
	if (!sb_valid && (!checked || !IS_ERR(md))) {
		fprintf(stderr, "superblock invalid (%s), but %s opened it\n", why,
			checked ? "vela_md_open()" : "vela_check()");
		abort();
	}
	if (!IS_ERR(md)) {
		vela_md_info(md, &info);
		vela_md_walk_branches(md, walk_branch, md);
		vela_md_close(md);
	}
	vela_bdev_close(bdev);
	return 0;
}
