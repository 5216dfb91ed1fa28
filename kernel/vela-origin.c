// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vela: external origins.
 *
 * A volume created with create_origin_volume reads its unmapped blocks
 * from a read-only block device outside the pool, the external origin
 * (a golden image, say).  The pool records the origin's size and a
 * fingerprint of it, a crc32c over blocks sampled across the device
 * (vela_origin_sample_sector()), when the volume is created, and every
 * branch table of the volume must name a device that still matches both:
 * a branch must never show data it never had.
 *
 * Contract:
 * - An origin is only ever read, and is never part of a transaction.
 * - vela_origin_sample_path() opens a device by path outside any table
 *   (for the create message); it is the only code that depends on the
 *   kernel version, through Kbuild's VELA_HAVE_BDEV_FILE_OPEN probe.
 * - vela_open_origin() holds the origin in a branch table and refuses one
 *   whose size or fingerprint differ from the branch record's.
 */

#include <linux/crc32c.h>
#include <linux/file.h>

#include "vela-target.h"

/* The fingerprint vela_origin_sample_sector() describes, read from @bdev. */
static int origin_fingerprint(struct block_device *bdev, u32 *csum)
{
	sector_t size = bdev_nr_sectors(bdev);
	struct page *page;
	struct bio *bio;
	unsigned int i;
	__le64 where;
	u32 crc = ~0u;
	int r = 0;

	if (size < VELA_ORIGIN_SAMPLE_SECTORS)
		return -EINVAL;
	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	for (i = 0; !r && i < VELA_ORIGIN_SAMPLES; i++) {
		u64 sector = vela_origin_sample_sector(size, i);

		bio = bio_alloc(bdev, 1, REQ_OP_READ, GFP_KERNEL);
		bio->bi_iter.bi_sector = sector;
		__bio_add_page(bio, page, VELA_ORIGIN_SAMPLE_SECTORS << SECTOR_SHIFT, 0);
		r = submit_bio_wait(bio);
		bio_put(bio);
		where = cpu_to_le64(sector);
		crc = crc32c(crc, &where, sizeof(where));
		crc = crc32c(crc, page_address(page), VELA_ORIGIN_SAMPLE_SECTORS << SECTOR_SHIFT);
	}
	__free_page(page);
	*csum = ~crc;
	return r;
}

/*
 * Read-open a block device by path, outside any table.  Kbuild probes
 * which API the kernel has (6.9 moved to files).
 */
#ifdef VELA_HAVE_BDEV_FILE_OPEN
int vela_origin_sample_path(const char *path, struct vela_md_origin *origin)
{
	struct file *f = bdev_file_open_by_path(path, BLK_OPEN_READ, NULL, NULL);
	int r;

	if (IS_ERR(f))
		return PTR_ERR(f);
	origin->size_sectors = bdev_nr_sectors(file_bdev(f));
	r = origin_fingerprint(file_bdev(f), &origin->sample_csum);
	fput(f);
	return r;
}
#else
int vela_origin_sample_path(const char *path, struct vela_md_origin *origin)
{
	struct block_device *bdev = blkdev_get_by_path(path, FMODE_READ, NULL);
	int r;

	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	origin->size_sectors = bdev_nr_sectors(bdev);
	r = origin_fingerprint(bdev, &origin->sample_csum);
	blkdev_put(bdev, FMODE_READ);
	return r;
}
#endif

/*
 * A branch of an origin volume reads its unmapped blocks from the origin,
 * which must be the very device recorded at creation: same size, same
 * fingerprint.  Anything else would show a branch data it never had.
 */
int vela_open_origin(struct dm_target *ti, struct branch_c *bc,
		     const struct vela_branch_info *rec, const char *path)
{
	bool has_origin = rec->flags & VELA_BRANCH_HAS_ORIGIN;
	u32 csum;
	int r;

	if (!has_origin && !path)
		return 0;
	if (!has_origin) {
		ti->error = "The branch has no external origin: drop the third argument";
		return -EINVAL;
	}
	if (!path) {
		ti->error = "The branch reads from an external origin: name it as the third argument";
		return -EINVAL;
	}
	if (rec->origin_sample_count != VELA_ORIGIN_SAMPLES) {
		ti->error = "The external origin's fingerprint has a sample count this version does not take";
		return -EINVAL;
	}
	r = dm_get_device(ti, path, FMODE_READ, &bc->origin_dev);
	if (r) {
		ti->error = "Error opening the external origin";
		return r;
	}
	bc->origin_sectors = bdev_nr_sectors(bc->origin_dev->bdev);
	r = -EINVAL;
	if (bc->origin_sectors != rec->origin_size_sectors)
		ti->error = "The external origin's size differs from the one recorded at creation";
	else if (origin_fingerprint(bc->origin_dev->bdev, &csum))
		ti->error = "Error reading the external origin";
	else if (csum != rec->origin_sample_csum)
		ti->error = "The external origin's sampled blocks differ from the ones recorded at creation: it is not the same origin, or it changed";
	else
		r = 0;
	if (r) {
		dm_put_device(ti, bc->origin_dev);
		bc->origin_dev = NULL;
	}
	return r;
}
