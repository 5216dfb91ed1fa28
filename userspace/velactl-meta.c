// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-meta.c: the offline metadata commands: format, check, dump and
 * repair.  They run the kernel's own metadata code (libvela) on a device,
 * an image file, or a pool named on the command line (an active one read
 * through a view it holds).  init formats through format_pool() here; diff
 * and merge's conflict list read the metadata in velactl-merge.c.  The
 * devices format and repair write are checked, locked and held through
 * velactl-devices.c before a byte is written.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vela-check.h"
#include "bufio-user.h"
#include "velactl.h"

struct block_device *open_dev(const char *path, bool read_only)
{
	struct block_device *bdev = vela_bdev_open_file(path, read_only);

	if (IS_ERR(bdev))
		fprintf(stderr, "velactl: cannot open %s: %s\n", path, strerror(-PTR_ERR(bdev)));
	return bdev;
}

static int write_data_label(struct block_device *data, const u8 *uuid, u32 block_sectors);

int write_data_label_at(const char *path, const u8 *uuid, u32 block_sectors)
{
	struct block_device *bdev = vela_bdev_open_file(path, false);
	int r;

	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	r = write_data_label(bdev, uuid, block_sectors);
	vela_bdev_close(bdev);
	return r;
}

static int write_data_label(struct block_device *data, const u8 *uuid, u32 block_sectors)
{
	struct vela_data_label label;

	BUILD_BUG_ON(sizeof(label) != 512);
	memset(&label, 0, sizeof(label));
	label.version = cpu_to_le32(VELA_FORMAT_VERSION);
	label.magic = cpu_to_le64(VELA_DATA_LABEL_MAGIC);
	memcpy(label.pool_uuid, uuid, sizeof(label.pool_uuid));
	label.data_block_sectors = cpu_to_le32(block_sectors);
	label.csum = cpu_to_le32(vela_block_csum(&label, sizeof(label)));
	if (vela_bdev_write(data, 0, &label, sizeof(label)))
		return -EIO;
	return vela_bdev_flush(data);
}

/* dm-vela's own signatures, which libblkid does not know. */
static int vela_signature(const char *path, char *desc, size_t len)
{
	struct block_device *bdev = vela_bdev_open_file(path, true);
	const struct vela_superblock *sb;
	const struct vela_data_label *label;
	u8 sector[VELA_SUPERBLOCK_BYTES] = { 0 };
	u64 dev_blocks;
	char why[96];
	int r;

	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	dev_blocks = vela_bdev_size(bdev) / VELA_BLOCK_SIZE;
	r = vela_bdev_size(bdev) >= sizeof(sector) ?
	    vela_bdev_read(bdev, 0, sector, sizeof(sector)) : 0;
	vela_bdev_close(bdev);
	if (r)
		return r;
	sb = (const void *)sector;
	label = (const void *)sector;
	/* Judged as an open would judge it; a damaged one still counts. */
	if (le64_to_cpu(sb->magic) == VELA_SUPERBLOCK_MAGIC) {
		if (vela_sb_validate(sb, dev_blocks, why, sizeof(why)))
			snprintf(desc, len, "dm-vela pool metadata (damaged: %s)", why);
		else
			snprintf(desc, len, "dm-vela pool metadata");
		return 1;
	}
	if (le64_to_cpu(label->magic) == VELA_DATA_LABEL_MAGIC) {
		snprintf(desc, len, "dm-vela pool data");
		return 1;
	}
	return 0;
}

/* Refuse a device with any signature, unless forced; @probe is the file to read. */
static int refuse_signature(const char *what, const char *path, const char *probe, bool force)
{
	char desc[160];
	int r = vela_signature(probe, desc, sizeof(desc));

	if (!r)
		r = find_signature(probe, desc, sizeof(desc));

	if (r < 0) {
		fprintf(stderr, "velactl: cannot probe %s device %s: %s\n", what, path,
			strerror(-r));
		return -1;
	}
	if (r && !force) {
		fprintf(stderr,
			"velactl: %s device %s already holds %s, and formatting would destroy it: use --force if you are sure\n",
			what, path, desc);
		return -1;
	}
	return 0;
}

/* Undo a superblock written by a format whose data label then failed. */
static void erase_superblock(struct block_device *meta)
{
	u8 zero[VELA_BLOCK_SIZE] = { 0 };

	if (vela_bdev_write(meta, 0, zero, sizeof(zero)) || vela_bdev_flush(meta))
		fprintf(stderr, "velactl: and erasing its superblock failed too: rerun format with --force\n");
}

/*
 * Everything that can refuse comes before the first write: the devices
 * overlap, are in use, are too small, would fail the kernel's own format
 * (run first on a memory device of the same size), or carry a signature
 * without @force.  The data label is written last: it is what makes the
 * pair a pool for scan, so a failed format leaves no pool behind, and a
 * label that cannot be written erases the new superblock again.
 */
static int format_claimed(struct claim *mc, struct claim *dc, const char *name,
			  uint64_t block_bytes, bool force)
{
	struct vela_md_format_params p = { .pool_name = name };
	struct block_device *meta = NULL, *data = NULL, *mem;
	int r;

	p.data_block_sectors = block_bytes >> SECTOR_SHIFT;
	p.data_dev_size_sectors = dc->size >> SECTOR_SHIFT;
	p.data_nr_blocks = dc->size / block_bytes;
	p.now = time(NULL);
	if (p.data_nr_blocks < 2)
		return fail(EXIT_FAILURE, "data device %s is too small: it holds %llu blocks of %llu bytes, at least 2 are needed",
			    dc->path, p.data_nr_blocks, (unsigned long long)block_bytes);
	if (p.data_nr_blocks > VELA_MAX_DATA_BLOCKS)
		return fail(EXIT_FAILURE, "data device %s is too large: it holds %llu blocks of %llu bytes, at most %llu are supported: use a larger --block-size",
			    dc->path, p.data_nr_blocks, (unsigned long long)block_bytes,
			    VELA_MAX_DATA_BLOCKS);
	if (mc->size < 16 * VELA_BLOCK_SIZE)
		return fail(EXIT_FAILURE, "metadata device %s is too small: at least 64 KiB is needed",
			    mc->path);
	if (getrandom(p.uuid, sizeof(p.uuid), 0) != sizeof(p.uuid))
		return fail(EXIT_FAILURE, "cannot get random bytes for the pool UUID");
	p.uuid[6] = (p.uuid[6] & 0x0f) | 0x40;
	p.uuid[8] = (p.uuid[8] & 0x3f) | 0x80;
	mem = vela_bdev_create_mem(mc->size);
	r = IS_ERR(mem) ? PTR_ERR(mem) : vela_md_format(mem, &p);
	if (!IS_ERR(mem))
		vela_bdev_close(mem);
	if (r)
		return fail(EXIT_FAILURE, "cannot format metadata device %s: %s; nothing was written",
			    mc->path, strerror(-r));
	if (refuse_signature("metadata", mc->path, mc->fd_path, force) ||
	    refuse_signature("data", dc->path, dc->fd_path, force))
		return EXIT_FAILURE;

	/* Leave no stale filesystem or PV signature for scanners to find. */
	if (force && (wipe_signatures(mc->fd_path) || wipe_signatures(dc->fd_path)))
		return fail(EXIT_FAILURE, "cannot erase the old signatures on %s or %s",
			    mc->path, dc->path);
	meta = vela_bdev_open_file(mc->fd_path, false);
	data = IS_ERR(meta) ? meta : vela_bdev_open_file(dc->fd_path, false);
	if (IS_ERR(data)) {
		r = fail(EXIT_FAILURE, "cannot open %s or %s: %s", mc->path, dc->path,
			 strerror(-PTR_ERR(data)));
		goto out;
	}
	r = vela_md_format(meta, &p);
	if (r) {
		r = fail(EXIT_FAILURE, "cannot format metadata device %s: %s", mc->path,
			 strerror(-r));
		goto out;
	}
	if (write_data_label(data, p.uuid, p.data_block_sectors)) {
		r = fail(EXIT_FAILURE, "cannot write the label on data device %s", dc->path);
		erase_superblock(meta);
		goto out;
	}
	printf("formatted pool %s: metadata %s (%llu blocks of 4 KiB), data %s (%llu blocks of %llu KiB)\n",
	       p.pool_name, mc->path, vela_bdev_size(meta) / VELA_BLOCK_SIZE, dc->path,
	       p.data_nr_blocks, (unsigned long long)block_bytes >> 10);
out:
	if (!IS_ERR_OR_NULL(data))
		vela_bdev_close(data);
	if (!IS_ERR_OR_NULL(meta))
		vela_bdev_close(meta);
	return r;
}

int format_pool(struct claim *mc, struct claim *dc, const char *name, uint64_t block_bytes,
		bool force, bool no_openers)
{
	int r;

	r = refuse_overlap(mc, dc, "a pool needs two devices apart");
	if (!r)
		r = claim_devices(mc, dc, no_openers);
	if (!r)
		r = format_claimed(mc, dc, name, block_bytes, force);
	/* The exclusive opens end here, so init can activate; the locks stay until exit. */
	release_claim(mc);
	release_claim(dc);
	return r;
}

int parse_block_size(const char *s, uint64_t *bytes)
{
	if (parse_size(s, bytes) || *bytes % 512 || !vela_valid_block_sectors(*bytes / 512))
		return -EINVAL;
	return 0;
}

int cmd_format(int argc, char **argv)
{
	static const struct option options[] = {
		{ "metadata", required_argument, NULL, 'm' },
		{ "data", required_argument, NULL, 'd' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "name", required_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	const char *meta_path = NULL, *data_path = NULL, *name = "vela";
	uint64_t block_bytes = 64 << 10;
	struct claim mc, dc;
	bool force = false;
	int opt, r;

	optind = 0;
	while ((opt = next_option(argc, argv, "m:d:b:n:f", options, "format")) != -1) {
		switch (opt) {
		case 'm':
			meta_path = optarg;
			break;
		case 'd':
			data_path = optarg;
			break;
		case 'b':
			if (parse_block_size(optarg, &block_bytes)) {
				usage_error("--block-size %s: want a power of two from 4k to 1m",
					    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			if (strlen(optarg) >= VELA_POOL_NAME_LEN || !vela_md_valid_name(optarg)) {
				usage_error("--name %s: want 1 to 63 of A-Z a-z 0-9 . _ + -", optarg);
				return EXIT_USAGE;
			}
			name = optarg;
			break;
		case 'f':
			force = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (!meta_path || !data_path || optind != argc) {
		usage_error("format needs --metadata DEV and --data DEV, and nothing else");
		return EXIT_USAGE;
	}
	r = open_claim(&mc, "metadata", meta_path, false);
	if (!r)
		r = open_claim(&dc, "data", data_path, false);
	if (!r)
		r = format_pool(&mc, &dc, name, block_bytes, force, false);
	return r;
}

/* --- progress: metadata blocks read and written ------------------------- */

static void count_io(size_t bytes)
{
	progress_add(bytes / VELA_BLOCK_SIZE);
}

/* The metadata blocks in use on @path (0 when it cannot tell), for a progress total. */
static u64 metadata_in_use(const char *path)
{
	struct block_device *bdev = vela_bdev_open_file(path, true);
	struct vela_md_info info;
	struct vela_md *md;
	u64 used = 0;

	if (IS_ERR(bdev))
		return 0;
	md = vela_md_open(bdev, true);
	if (!IS_ERR(md)) {
		if (!vela_md_info(md, &info))
			used = info.metadata_nr_blocks - info.metadata_nr_free;
		vela_md_close(md);
	}
	vela_bdev_close(bdev);
	return used;
}

void metadata_progress_begin(const char *what, const char *path, unsigned int passes)
{
	u64 total;

	if (progress_quiet || !isatty(STDERR_FILENO))
		return;
	total = metadata_in_use(path) * passes;
	progress_begin(what, "metadata blocks", total);
	vela_bdev_set_progress(count_io);
}

void metadata_progress_end(void)
{
	vela_bdev_set_progress(NULL);
	progress_end();
}

/* --- a metadata device, an image file, or a pool by name ------------------ */

int open_pool_metadata(const char *arg, struct pool_metadata *m, bool writing, bool may_be_path,
		       bool force_view)
{
	struct stat st;
	int r;

	/* A long read stops at a signal, and the view it holds is released. */
	vela_bdev_set_interrupt(catch_signals());
	memset(m, 0, sizeof(*m));
	snprintf(m->path, sizeof(m->path), "%s", arg);
	/* A path or an image file is read as before (a directory is neither). */
	if (may_be_path && (strchr(arg, '/') || (!stat(arg, &st) && !S_ISDIR(st.st_mode)) ||
			    !valid_pool_name(arg)))
		return 0;
	r = open_pool(arg, &m->pool, true);
	if (r)
		return r;
	snprintf(m->path, sizeof(m->path), "%s", m->pool.meta_path);
	if (!m->pool.active)
		return 0;
	if (writing)
		return fail(EXIT_BUSY, "pool '%s' is active: deactivate it first ('velactl deactivate %s')",
			    arg, arg);
	r = resume_left_suspended(&m->pool, force_view);
	if (!r)
		r = clear_stale_view(&m->pool, force_view, true);
	clear_left_cookies();
	if (r)
		return r;
	r = hold_view(&m->pool);
	if (r == -EBUSY)
		return fail(EXIT_BUSY, "pool '%s': another tool took its metadata view meanwhile: retry",
			    arg);
	if (r)
		return fail(EXIT_FAILURE, "pool '%s': cannot hold a view of its metadata: %s", arg,
			    strerror(-r));
	m->held = true;
	test_stop_point("view-held");
	return 0;
}

void close_pool_metadata(struct pool_metadata *m)
{
	int r;

	if (!m->held)
		return;
	r = release_view(&m->pool);
	if (r)
		fail(EXIT_FAILURE, "pool '%s': releasing its metadata view failed: %s; send release_metadata_snap",
		     m->pool.name, strerror(-r));
	m->held = false;
}

struct check_output {
	const char *path;
	bool quiet;
	/* --json: one object on stdout; the problems stream into its array. */
	bool json;
	u64 nr_printed;
};

/* check --json: the object's head, up to the opening of "problems". */
static void check_json_head(const struct check_output *out, const char *pool, const char *view)
{
	printf("{\"schema\": %d, \"path\": ", JSON_SCHEMA);
	json_string(out->path);
	printf(", \"pool\": ");
	if (pool)
		json_string(pool);
	else
		printf("null");
	printf(", \"view\": \"%s\", \"problems\": [", view);
}

/*
 * check --json: close the object with the result ("clean", "problems",
 * "no_superblock", "unreadable") and, when @report, its figures.
 */
static void check_json_tail(const struct check_output *out, const char *result,
			    const struct vela_check_report *report, bool cleared)
{
	printf("%s], \"result\": \"%s\"", out->nr_printed ? "\n  " : "", result);
	if (report)
		printf(", \"branches\": %llu, \"metadata_blocks_used\": %llu, \"data_blocks_used\": %llu, \"needs_check\": %s, \"needs_check_cleared\": %s",
		       report->nr_branches, report->nr_metadata_blocks_used,
		       report->nr_data_blocks_used,
		       report->needs_check && !cleared ? "true" : "false", cleared ? "true" : "false");
	printf("}\n");
}

static void print_problem(void *context, const char *msg)
{
	struct check_output *out = context;

	if (out->json) {
		printf("%s\n    ", out->nr_printed++ ? "," : "");
		json_string(msg);
	} else if (!out->quiet) {
		printf("%s: %s\n", out->path, msg);
	}
}

static int clear_needs_check(struct block_device *bdev, const char *path)
{
	struct vela_md *md = vela_md_open(bdev, false);
	int r;

	if (IS_ERR(md)) {
		r = PTR_ERR(md);
	} else {
		r = vela_md_set_needs_check(md, false);
		if (!r)
			r = vela_md_commit(md);
		vela_md_close(md);
	}
	if (r)
		fprintf(stderr, "velactl: cannot clear needs_check on %s: %s\n", path,
			strerror(-r));
	return r;
}

struct held_check {
	struct vela_md *md;
	u64 data_nr_blocks;
	u64 nr_branches, nr_mappings, nr_bad;
	u64 last_lblock;
	bool first;
};

static int held_mapping(void *context, u64 lblock, u64 pblock)
{
	struct held_check *hc = context;

	if ((!hc->first && lblock <= hc->last_lblock) || pblock >= hc->data_nr_blocks || !pblock)
		hc->nr_bad++;
	hc->first = false;
	hc->last_lblock = lblock;
	hc->nr_mappings++;
	return 0;
}

static int held_branch(void *context, u64 id, const struct vela_branch_info *info)
{
	struct held_check *hc = context;

	hc->nr_branches++;
	hc->first = true;
	return vela_md_walk_mappings(hc->md, id, held_mapping, hc);
}

/*
 * check --held: read every tree of the view a live pool holds (each block's
 * checksum and place are verified as it is read) and every mapping's range.
 * Reference counts belong to the live pool and are not compared.
 */
/* check --held --json: the tail, with the view's figures. */
static void held_json_tail(const struct check_output *out, const char *result,
			   const struct held_check *hc)
{
	printf("%s], \"result\": \"%s\"", out->nr_printed ? "\n  " : "", result);
	if (hc)
		printf(", \"branches\": %llu, \"mappings\": %llu", hc->nr_branches,
		       hc->nr_mappings);
	printf("}\n");
}

static int check_held(struct block_device *bdev, const struct check_output *out)
{
	struct held_check hc = { 0 };
	struct vela_md_info info;
	int r;

	hc.md = vela_md_open_held(bdev);
	if (IS_ERR(hc.md)) {
		r = PTR_ERR(hc.md);
		if (!out->quiet)
			fprintf(stderr, "velactl: %s: %s\n", out->path, r == -ENOENT ?
				"no held metadata view (reserve one with the pool's reserve_metadata_snap message)" :
				strerror(-r));
		if (out->json)
			held_json_tail(out, r == -ENOENT ? "no_view" : "unreadable", NULL);
		return r == -ENOENT ? EXIT_FAILURE : EXIT_UNREADABLE;
	}
	vela_md_info(hc.md, &info);
	hc.data_nr_blocks = info.data_nr_blocks;
	r = vela_md_walk_branches(hc.md, held_branch, &hc);
	vela_md_close(hc.md);
	if (r || hc.nr_bad) {
		if (out->json)
			held_json_tail(out, "problems", &hc);
		else if (!out->quiet)
			printf("%s: held view: %s\n", out->path, r ? strerror(-r) :
			       "mappings out of order or out of the data device");
		return EXIT_FAILURE;
	}
	if (out->json)
		held_json_tail(out, "clean", &hc);
	else if (!out->quiet)
		printf("%s: held view consistent: %llu branch(es), %llu mapping(s); the live pool's reference counts are not checked\n",
		       out->path, hc.nr_branches, hc.nr_mappings);
	return EXIT_SUCCESS;
}

static int check_metadata(const char *path, struct check_output *out,
			  struct vela_check_report *report, bool clear, bool held);

int cmd_check(int argc, char **argv)
{
	static const struct option options[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "clear-needs-check", no_argument, NULL, 'c' },
		{ "held", no_argument, NULL, 'h' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct check_output out = { 0 };
	struct vela_check_report report = { .problem = print_problem, .context = &out };
	struct pool_metadata target;
	bool clear = false, held = false, force = false;
	int opt, r;

	optind = 0;
	while ((opt = next_option(argc, argv, "q", options, "check")) != -1) {
		switch (opt) {
		case 'q':
			out.quiet = true;
			break;
		case 'c':
			clear = true;
			break;
		case 'h':
			held = true;
			break;
		case 'f':
			force = true;
			break;
		case 'j':
			out.json = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (out.json && out.quiet) {
		usage_error("check: --json and --quiet: pick one");
		return EXIT_USAGE;
	}
	if (held && clear) {
		usage_error("--held reads a live pool: it cannot --clear-needs-check");
		return EXIT_USAGE;
	}
	if (optind != argc - 1) {
		usage_error("check takes one metadata DEV or FILE, or a POOL");
		return EXIT_USAGE;
	}
	r = open_pool_metadata(argv[optind], &target, clear, true, force);
	if (r)
		return r;
	out.path = target.path;
	if (out.json)
		check_json_head(&out, target.pool.name[0] ? target.pool.name : NULL,
				held || target.held ? "held" : "committed");
	else if (!out.quiet)
		metadata_progress_begin("checking", target.path, 1);
	r = check_metadata(target.path, &out, &report, clear, held || target.held);
	metadata_progress_end();
	close_pool_metadata(&target);
	return r;
}

static int check_metadata(const char *path, struct check_output *out,
			  struct vela_check_report *report, bool clear, bool held)
{
	struct block_device *bdev;
	int r;

	out->path = path;
	bdev = vela_bdev_open_file(out->path, !clear);
	if (IS_ERR(bdev)) {
		if (!out->quiet)
			fprintf(stderr, "velactl: cannot open %s: %s\n", out->path,
				strerror(-PTR_ERR(bdev)));
		if (out->json)
			check_json_tail(out, "unreadable", NULL, false);
		return EXIT_UNREADABLE;
	}
	if (held) {
		r = check_held(bdev, out);
		metadata_progress_end();
		vela_bdev_close(bdev);
		return r;
	}
	r = vela_check(bdev, report);
	metadata_progress_end();	/* before the verdict is printed */
	if (r == -EILSEQ || r == -EOPNOTSUPP) {
		/* The superblock itself is bad: a problem, not an unreadable device. */
		if (out->json)
			check_json_tail(out, "no_superblock", NULL, false);
		else if (!out->quiet)
			printf("%s: no valid dm-vela superblock (%s)\n", out->path, strerror(-r));
		vela_bdev_close(bdev);
		return EXIT_FAILURE;
	}
	if (r) {
		if (!out->quiet)
			fprintf(stderr, "velactl: cannot read the metadata on %s: %s\n", out->path,
				strerror(-r));
		if (out->json)
			check_json_tail(out, "unreadable", NULL, false);
		vela_bdev_close(bdev);
		return EXIT_UNREADABLE;
	}
	if (report->nr_problems) {
		if (out->json)
			check_json_tail(out, "problems", report, false);
		else if (!out->quiet)
			printf("%s: %llu problem(s) found\n", out->path, report->nr_problems);
		vela_bdev_close(bdev);
		return EXIT_FAILURE;
	}
	if (clear && clear_needs_check(bdev, out->path)) {
		if (out->json)
			check_json_tail(out, "clean", report, false);
		vela_bdev_close(bdev);
		return EXIT_FAILURE;
	}
	if (out->json)
		check_json_tail(out, "clean", report, clear);
	else if (!out->quiet)
		printf("%s: clean: %llu branch(es), %llu metadata and %llu data blocks in use%s\n",
		       out->path, report->nr_branches, report->nr_metadata_blocks_used,
		       report->nr_data_blocks_used, clear ? "; needs_check cleared" :
		       report->needs_check ? "; needs_check is set: the pool stays read-only until --clear-needs-check" : "");
	vela_bdev_close(bdev);
	return EXIT_SUCCESS;
}

static void print_uuid(const u8 *u)
{
	int i;

	for (i = 0; i < 16; i++)
		printf("%s%02x", (i == 4 || i == 6 || i == 8 || i == 10) ? "-" : "", u[i]);
}

struct dump_state {
	struct vela_md *md;
	bool mappings;
	bool first;
	bool first_mapping;
	int error;
};

static int dump_mapping(void *context, u64 lblock, u64 pblock)
{
	struct dump_state *ds = context;

	printf("%s[%llu, %llu]", ds->first_mapping ? "" : ", ", lblock, pblock);
	ds->first_mapping = false;
	return 0;
}

static int dump_branch(void *context, u64 id, const struct vela_branch_info *b)
{
	struct dump_state *ds = context;

	printf("%s\n    {\"id\": %llu, \"name\": ", ds->first ? "" : ",", id);
	json_string(b->name);
	printf(", \"uuid\": \"");
	print_uuid(b->uuid);
	printf("\", \"parent\": ");
	if (b->parent_id == VELA_NO_PARENT)
		printf("null");
	else
		printf("%llu", b->parent_id);
	printf(", \"depth\": %u, \"size_sectors\": %llu, \"ctime\": %llu, \"flags\": %u, \"mapped_blocks\": %llu, \"alloc_limit_blocks\": %llu, \"branch_point_change_id\": %llu, \"mapping_root\": %llu, \"base_root\": %llu",
	       b->depth, b->size_sectors, b->ctime, b->flags, b->mapped_blocks,
	       b->alloc_limit_blocks, b->branch_point_change_id, b->mapping_root, b->base_root);
	printf(", \"origin\": ");
	if (b->flags & VELA_BRANCH_HAS_ORIGIN) {
		printf("{\"id\": ");
		json_string(b->origin_id);
		printf(", \"size_sectors\": %llu, \"sample_csum\": %u, \"sample_count\": %u}",
		       b->origin_size_sectors, b->origin_sample_csum, b->origin_sample_count);
	} else {
		printf("null");
	}
	if (ds->mappings) {
		printf(", \"mappings\": [");
		ds->first_mapping = true;
		ds->error = vela_md_walk_mappings(ds->md, id, dump_mapping, ds);
		printf("]");
	}
	printf("}");
	ds->first = false;
	return ds->error;
}

static int dump_metadata(const char *path, struct dump_state *ds, bool held);

int cmd_dump(int argc, char **argv)
{
	static const struct option options[] = {
		{ "mappings", no_argument, NULL, 'm' },
		{ "held", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct dump_state ds = { .first = true };
	struct pool_metadata target;
	bool held = false;
	int opt, r;

	optind = 0;
	while ((opt = next_option(argc, argv, "", options, "dump")) != -1) {
		if (opt == 'm')
			ds.mappings = true;
		else if (opt == 'h')
			held = true;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 1) {
		usage_error("dump takes one metadata DEV or FILE, or a POOL");
		return EXIT_USAGE;
	}
	r = open_pool_metadata(argv[optind], &target, false, true, false);
	if (r)
		return r;
	r = dump_metadata(target.path, &ds, held || target.held);
	close_pool_metadata(&target);
	return r;
}

static int dump_metadata(const char *path, struct dump_state *ds, bool held)
{
	struct block_device *bdev;
	struct vela_md_info info;
	int r;

	bdev = open_dev(path, true);
	if (IS_ERR(bdev))
		return EXIT_FAILURE;
	ds->md = held ? vela_md_open_held(bdev) : vela_md_open(bdev, true);
	if (held && PTR_ERR(ds->md) == -ENOENT) {
		fprintf(stderr, "velactl: no held metadata view on %s: reserve one with the pool's reserve_metadata_snap message\n",
			path);
		vela_bdev_close(bdev);
		return EXIT_FAILURE;
	}
	if (IS_ERR(ds->md)) {
		fprintf(stderr, "velactl: no valid dm-vela metadata on %s: %s\n", path,
			strerror(-PTR_ERR(ds->md)));
		vela_bdev_close(bdev);
		return EXIT_FAILURE;
	}
	r = vela_md_info(ds->md, &info);
	if (!r) {
		printf("{\n  \"schema\": %d,\n  \"superblock\": {\"uuid\": \"", JSON_SCHEMA);
		print_uuid(info.uuid);
		printf("\", \"pool_name\": ");
		json_string(info.pool_name);
		printf(", \"generation\": %llu, \"change_id\": %llu, \"ctime\": %llu, \"needs_check\": %s, \"data_block_sectors\": %u, \"metadata_blocks\": %llu, \"metadata_free_blocks\": %llu, \"data_blocks\": %llu, \"data_free_blocks\": %llu, \"pending_deletes\": %llu, \"held_root\": %llu, \"view\": \"%s\"},\n",
		       info.generation, info.change_id, info.ctime,
		       info.flags & VELA_SB_FLAG_NEEDS_CHECK ? "true" : "false",
		       info.data_block_sectors, info.metadata_nr_blocks, info.metadata_nr_free,
		       info.data_nr_blocks, info.data_nr_free, info.pending_deletes,
		       info.held_root, held ? "held" : "committed");
		printf("  \"branches\": [");
		r = vela_md_walk_branches(ds->md, dump_branch, ds);
		printf("\n  ]\n}\n");
	}
	if (r)
		fprintf(stderr, "velactl: cannot read the metadata on %s: %s\n", path,
			strerror(-r));
	vela_md_close(ds->md);
	vela_bdev_close(bdev);
	return r ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* A new image file as large as @source; -EEXIST when @path exists. */
static int create_image(const char *path, const char *source)
{
	struct block_device *src = vela_bdev_open_file(source, true);
	u64 size;
	int fd;

	if (IS_ERR(src))
		return PTR_ERR(src);
	size = vela_bdev_size(src);
	vela_bdev_close(src);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size)) {
		close(fd);
		unlink(path);
		return -EIO;
	}
	close(fd);
	return 0;
}

/*
 * The target: an existing device or image that shares no byte with the
 * source, locked and (a block device) held exclusively until the repair is
 * written; or a new image.  0 or an EXIT_* code (printed).
 */
static int claim_target(struct claim *sc, struct claim *tc, const char *target, bool force,
			bool *created)
{
	int r = create_image(target, sc->path);

	*created = !r;
	if (r && r != -EEXIST)
		return fail(EXIT_FAILURE, "cannot create %s: %s", target, strerror(-r));
	r = open_claim(tc, "repair target", target, false);
	if (!r && !*created)
		r = refuse_overlap(sc, tc, "repair never writes in place: name a new device or image as TARGET");
	if (!r)
		r = claim_devices(sc, tc, false);
	if (!r && !*created && refuse_signature("repair target", target, tc->fd_path, force))
		r = EXIT_FAILURE;
	return r;
}

static int repair_into(const char *source, const char *target, bool force)
{
	struct check_output out = { .path = source };
	struct vela_check_report report = { .problem = print_problem, .context = &out };
	struct claim sc, tc = { .excl_fd = -1 };
	struct block_device *src, *dst;
	bool created = false;
	int r;

	r = open_claim(&sc, "repair source", source, true);
	if (!r)
		r = claim_target(&sc, &tc, target, force, &created);
	if (r) {
		if (created)
			unlink(target);
		return r;
	}
	src = vela_bdev_open_file(sc.fd_path, true);
	dst = IS_ERR(src) ? src : vela_bdev_open_file(tc.fd_path, false);
	test_stop_point("repair-target-open");
	/* A walk of the source, then the rebuild's writes: two passes. */
	metadata_progress_begin("repairing", source, 2);
	r = IS_ERR(dst) ? PTR_ERR(dst) : vela_repair(src, dst, &report);
	metadata_progress_end();	/* before anything more is printed */
	if (!IS_ERR(dst))
		vela_bdev_close(dst);
	if (!IS_ERR(src))
		vela_bdev_close(src);
	release_claim(&tc);
	/* A failed repair leaves no half-written image behind. */
	if (r && created)
		unlink(target);
	switch (r) {
	case 0:
		break;
	case -EILSEQ:
	case -EOPNOTSUPP:
		fprintf(stderr, "velactl: %s: no valid dm-vela superblock: nothing to repair from\n",
			source);
		return EXIT_FAILURE;
	case -EUCLEAN:
		fprintf(stderr, "velactl: %s: the trees themselves are damaged (%llu problem(s) above); repair rebuilds the space maps only, so %s was not written\n",
			source, report.nr_problems, target);
		return EXIT_FAILURE;
	case -ENOSPC:
		fprintf(stderr, "velactl: %s is smaller than the metadata on %s: use a larger target\n",
			target, source);
		return EXIT_FAILURE;
	default:
		fprintf(stderr, "velactl: repairing %s into %s failed: %s\n", source, target,
			strerror(-r));
		return EXIT_FAILURE;
	}
	out.path = target;
	r = check_metadata(target, &out, &report, false, false);
	if (r)
		return r;
	printf("repaired into %s; %s was not changed.  To use it, replace the pool's metadata device with it (for example dd if=%s of=%s bs=1M conv=fsync while the pool is inactive), so that only one device carries the pool\n",
	       target, source, target, source);
	return EXIT_SUCCESS;
}

int cmd_repair(int argc, char **argv)
{
	static const struct option options[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct pool_metadata source;
	bool force = false;
	int opt, r;

	optind = 0;
	while ((opt = next_option(argc, argv, "f", options, "repair")) != -1) {
		if (opt != 'f')
			return EXIT_USAGE;
		force = true;
	}
	if (optind != argc - 2) {
		usage_error("repair takes a SOURCE (metadata DEV, FILE or inactive POOL) and a new TARGET");
		return EXIT_USAGE;
	}
	r = open_pool_metadata(argv[optind], &source, true, true, false);
	if (!r)
		r = repair_into(source.path, argv[optind + 1], force);
	close_pool_metadata(&source);
	return r;
}
