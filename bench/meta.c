// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench/meta: the metadata code's speed and size, measured on the real
 * code (libvela) over a memory device.  bench/meta.sh runs it natively for
 * rates and under callgrind for instruction counts (P10), and prints the
 * table.  Each measured region is bracketed by callgrind client requests,
 * which do nothing when not running under valgrind.
 *
 * usage: meta [--mappings N] [--branches N]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <valgrind/callgrind.h>

#include "vela-meta.h"
#include "bufio-user.h"

static u64 mappings = 1000000, branches = 10000, rng = 88172645463325252ULL;

static u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void must(int r, const char *what)
{
	if (r) {
		fprintf(stderr, "bench/meta: %s failed: %d\n", what, r);
		exit(1);
	}
}

static u64 metadata_used(struct vela_md *md)
{
	struct vela_md_info info;

	must(vela_md_commit(md), "commit");
	must(vela_md_info(md, &info), "info");
	return info.metadata_nr_blocks - info.metadata_nr_free;
}

/* Fill @id with @n mappings in the given order; returns inserts per second. */
static double fill(struct vela_md *md, u64 id, u64 *order, u64 n)
{
	double t = now();
	u64 i, pblock;

	for (i = 0; i < n; i++) {
		must(vela_md_alloc_data_block(md, &pblock), "alloc");
		must(vela_md_map(md, id, order[i], pblock), "map");
		if (i % 20000 == 19999)
			must(vela_md_commit(md), "commit");
	}
	must(vela_md_commit(md), "commit");
	return n / (now() - t);
}

/* Print a "name value" line for bench/meta.sh to collect. */
static void report(const char *name, double value)
{
	printf("%s %.2f\n", name, value);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "mappings", required_argument, NULL, 'm' },
		{ "branches", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 }
	};
	struct vela_md_format_params fp = {
		.pool_name = "bench", .data_block_sectors = 128,	/* 64 KiB */
		.data_nr_blocks = 1ULL << 24,
	};
	struct block_device *bdev;
	u64 *order, i, j, t, vol_random, vol_seq, id, pblock, used0, used1, n;
	struct vela_md *md;
	double t0;
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 'm')
			mappings = strtoull(optarg, NULL, 10);
		else if (opt == 'b')
			branches = strtoull(optarg, NULL, 10);
		else
			return 2;
	}
	vela_compat_seed_random(1);
	order = malloc(mappings * sizeof(*order));
	bdev = vela_bdev_create_mem(1ULL << 29);	/* 512 MiB of metadata */
	if (!order || IS_ERR(bdev))
		return 1;
	must(vela_md_format(bdev, &fp), "format");
	md = vela_md_open(bdev, false);
	if (IS_ERR(md))
		return 1;

	/* Random fill: a shuffled permutation of 0..N-1. */
	for (i = 0; i < mappings; i++)
		order[i] = i;
	for (i = mappings - 1; i > 0; i--) {
		j = rnd() % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	used0 = metadata_used(md);
	must(vela_md_create_volume(md, "random", mappings * 128, 0, 1, &vol_random), "volume");
	report("insert_per_sec_random", fill(md, vol_random, order, mappings));
	used1 = metadata_used(md);
	report("metadata_bytes_per_mapping_random",
	       (double)(used1 - used0) * VELA_BLOCK_SIZE / mappings);

	/* Sequential fill. */
	for (i = 0; i < mappings; i++)
		order[i] = i;
	must(vela_md_create_volume(md, "sequential", mappings * 128, 0, 1, &vol_seq), "volume");
	used0 = used1;
	report("insert_per_sec_sequential", fill(md, vol_seq, order, mappings));
	used1 = metadata_used(md);
	report("metadata_bytes_per_mapping_sequential",
	       (double)(used1 - used0) * VELA_BLOCK_SIZE / mappings);

	/* Lookups on the random volume, warm cache. */
	n = 1000000;
	t0 = now();
	for (i = 0; i < n; i++)
		must(vela_md_lookup_try(md, vol_random, rnd() % mappings, &pblock), "lookup");
	report("lookup_per_sec", n / (now() - t0));

	/* Instruction counts: each region is collected and dumped alone. */
	n = 10000;
	CALLGRIND_TOGGLE_COLLECT;
	for (i = 0; i < n; i++)
		must(vela_md_lookup_try(md, vol_random, rnd() % mappings, &pblock), "lookup");
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_DUMP_STATS_AT("lookup x10000");

	CALLGRIND_TOGGLE_COLLECT;
	for (i = 0; i < n; i++) {
		must(vela_md_alloc_data_block(md, &pblock), "alloc");
		must(vela_md_map(md, vol_random, rnd() % mappings, pblock), "map");
	}
	must(vela_md_commit(md), "commit");
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_DUMP_STATS_AT("insert x10000");

	/* Branch creation: the 1st and the Nth, timed and counted alone. */
	CALLGRIND_TOGGLE_COLLECT;
	t0 = now();
	must(vela_md_create_branch(md, vol_random, "branch-1", 0, 1, &id), "branch");
	report("branch_create_first_usec", (now() - t0) * 1e6);
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_DUMP_STATS_AT("branch first");
	for (i = 2; i < branches; i++) {
		char name[32];

		snprintf(name, sizeof(name), "branch-%llu", (unsigned long long)i);
		must(vela_md_create_branch(md, vol_random, name, 0, 1, &id), "branch");
		if (i % 1000 == 0)
			must(vela_md_commit(md), "commit");
	}
	must(vela_md_commit(md), "commit");
	CALLGRIND_TOGGLE_COLLECT;
	t0 = now();
	must(vela_md_create_branch(md, vol_random, "branch-last", 0, 1, &id), "branch");
	report("branch_create_last_usec", (now() - t0) * 1e6);
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_DUMP_STATS_AT("branch last");
	must(vela_md_commit(md), "commit");

	vela_md_close(md);
	vela_bdev_close(bdev);
	free(order);
	return 0;
}
