// SPDX-License-Identifier: GPL-2.0-only
/*
 * vela-io: the data oracle for the VM tests.  Every write goes to the
 * device under test (O_DIRECT) and to an oracle file holding what the
 * device must read back.
 *
 *   vela-io write DEV ORACLE SEED COUNT BLOCK_BYTES
 *	COUNT writes of 512 B, 4 KiB or BLOCK_BYTES, chosen at random, at
 *	random offsets aligned to their size, with data derived from SEED.
 *   vela-io verify DEV ORACLE [DEV ORACLE]...
 *	read each DEV whole (O_DIRECT) and compare it with its ORACLE.
 *   vela-io fill DEV BYTE
 *	write BYTE over all of DEV.
 *   vela-io fsync DEV
 *	flush DEV's volatile cache (fsync); exit 1 if the flush fails.
 *   vela-io seqwrite DEV LOG COUNT BLOCK_BYTES
 *	COUNT whole-block writes, round robin over DEV's blocks, write n
 *	filling its block with the 64-bit value n; after each write returns,
 *	append "block n" to LOG (so LOG lists acknowledged writes only).
 *   vela-io seqcheck DEV LOG BLOCK_BYTES
 *	every block of DEV holds one value throughout (no torn block), and
 *	no older one than the last write LOG lists for it.
 *
 *   vela-io batch DEV|- ORACLE|- SEED COUNT BLOCK_BYTES
 *	as write, but the COUNT pieces fall in COUNT distinct blocks, so no
 *	sector is written twice; "-" skips the device or the oracle, so the
 *	same batch (same SEED) can be applied to each separately.
 *   vela-io load STATE OFFSET FILE
 *	copy FILE to STATE at OFFSET (O_DIRECT, padded with zeros to 4 KiB),
 *	then fdatasync: the power-cut test's durable state.
 *   vela-io save STATE OFFSET BYTES FILE
 *	copy BYTES of STATE at OFFSET into FILE.
 *   vela-io time COMMAND [ARGS]...
 *	run COMMAND (its stdout to /dev/null) and print its wall-clock time in
 *	milliseconds with microsecond precision on stdout (busybox has no
 *	clock finer than 10 ms); exit with its status.
 *   vela-io rss COMMAND [ARGS]...
 *	the same, then its peak resident memory in KiB on the same line.
 *   vela-io either DEV OLD NEW
 *	every 512-byte sector of DEV equals OLD's or NEW's (a batch cut short
 *	before its flush); prints how many sectors hold the new data.
 *
 * Exit status: 0 when done (or equal), 1 on a mismatch, 2 on an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/fs.h>

#define ALIGN_BYTES	4096
#define CHUNK_BYTES	(1 << 20)

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void die(const char *what, const char *name)
{
	fprintf(stderr, "vela-io: %s %s: %s\n", what, name, strerror(errno));
	exit(2);
}

static int open_dev(const char *name, int flags)
{
	int fd = open(name, flags | O_DIRECT);

	if (fd < 0)
		die("cannot open", name);
	return fd;
}

static uint64_t dev_bytes(int fd, const char *name)
{
	struct stat st;
	uint64_t bytes;

	if (fstat(fd, &st))
		die("cannot stat", name);
	if (!S_ISBLK(st.st_mode))
		return st.st_size;
	if (ioctl(fd, BLKGETSIZE64, &bytes))
		die("cannot size", name);
	return bytes;
}

static void *buffer(size_t bytes)
{
	void *p;

	if (posix_memalign(&p, ALIGN_BYTES, bytes)) {
		fprintf(stderr, "vela-io: out of memory\n");
		exit(2);
	}
	return p;
}

static void must_pwrite(int fd, const void *buf, size_t len, uint64_t off, const char *name)
{
	ssize_t done = pwrite(fd, buf, len, off);

	if (done != (ssize_t)len) {
		if (done >= 0)
			errno = EIO;
		die("write failed on", name);
	}
}

static void must_pread(int fd, void *buf, size_t len, uint64_t off, const char *name)
{
	ssize_t done = pread(fd, buf, len, off);

	if (done != (ssize_t)len) {
		if (done >= 0)
			errno = EIO;
		die("read failed on", name);
	}
}

static int do_write(char **argv)
{
	int dev = open_dev(argv[0], O_WRONLY);
	int oracle = open(argv[1], O_WRONLY);
	uint64_t count = strtoull(argv[3], NULL, 0), size, off, bytes, i, j;
	uint64_t sizes[3] = { 512, 4096, strtoull(argv[4], NULL, 0) };
	uint64_t *buf;

	if (oracle < 0)
		die("cannot open", argv[1]);
	rng_state = strtoull(argv[2], NULL, 0) * 2654435761ULL + 1;
	bytes = dev_bytes(dev, argv[0]);
	buf = buffer(sizes[2] > 4096 ? sizes[2] : 4096);
	for (i = 0; i < count; i++) {
		size = sizes[rnd() % 3];
		off = rnd() % (bytes / size) * size;
		for (j = 0; j < size / 8; j++)
			buf[j] = rnd();
		must_pwrite(dev, buf, size, off, argv[0]);
		must_pwrite(oracle, buf, size, off, argv[1]);
	}
	if (fsync(dev) || fsync(oracle))
		die("fsync failed on", argv[0]);
	return 0;
}

static int verify_one(char **argv)
{
	int dev = open_dev(argv[0], O_RDONLY);
	int oracle = open(argv[1], O_RDONLY);
	uint64_t bytes, off, len, i;
	unsigned char *a, *b;

	if (oracle < 0)
		die("cannot open", argv[1]);
	bytes = dev_bytes(dev, argv[0]);
	if (bytes != dev_bytes(oracle, argv[1])) {
		fprintf(stderr, "vela-io: %s has %llu bytes, the oracle %llu\n", argv[0],
			(unsigned long long)bytes,
			(unsigned long long)dev_bytes(oracle, argv[1]));
		return 1;
	}
	a = buffer(CHUNK_BYTES);
	b = buffer(CHUNK_BYTES);
	for (off = 0; off < bytes; off += len) {
		len = bytes - off < CHUNK_BYTES ? bytes - off : CHUNK_BYTES;
		must_pread(dev, a, len, off, argv[0]);
		must_pread(oracle, b, len, off, argv[1]);
		if (!memcmp(a, b, len))
			continue;
		for (i = 0; a[i] == b[i]; i++)
			;
		fprintf(stderr, "vela-io: %s differs from %s at byte %llu (0x%02x, expected 0x%02x)\n",
			argv[0], argv[1], (unsigned long long)(off + i), a[i], b[i]);
		return 1;
	}
	return 0;
}

/* One piece per block, in COUNT distinct blocks chosen at random. */
static int do_batch(char **argv)
{
	int dev = strcmp(argv[0], "-") ? open_dev(argv[0], O_WRONLY) : -1;
	int oracle = strcmp(argv[1], "-") ? open(argv[1], O_WRONLY) : -1;
	uint64_t count = strtoull(argv[3], NULL, 0), bs = strtoull(argv[4], NULL, 0);
	uint64_t sizes[3] = { 512, 4096, bs }, nr_blocks, size, off, b, i, j;
	uint64_t *buf, *order, t;

	if (oracle < 0 && strcmp(argv[1], "-"))
		die("cannot open", argv[1]);
	nr_blocks = (dev >= 0 ? dev_bytes(dev, argv[0]) : dev_bytes(oracle, argv[1])) / bs;
	if (count > nr_blocks)
		count = nr_blocks;
	order = calloc(nr_blocks, sizeof(*order));
	buf = buffer(bs);
	if (!order)
		die("out of memory for", argv[0]);
	rng_state = strtoull(argv[2], NULL, 0) * 2654435761ULL + 1;
	for (b = 0; b < nr_blocks; b++)
		order[b] = b;
	for (b = nr_blocks - 1; b > 0; b--) {
		j = rnd() % (b + 1);
		t = order[b];
		order[b] = order[j];
		order[j] = t;
	}
	for (i = 0; i < count; i++) {
		size = sizes[rnd() % 3];
		off = order[i] * bs + rnd() % (bs / size) * size;
		for (j = 0; j < size / 8; j++)
			buf[j] = rnd();
		if (dev >= 0)
			must_pwrite(dev, buf, size, off, argv[0]);
		if (oracle >= 0)
			must_pwrite(oracle, buf, size, off, argv[1]);
	}
	if ((dev >= 0 && fsync(dev)) || (oracle >= 0 && fsync(oracle)))
		die("fsync failed on", argv[0]);
	return 0;
}

static int do_load(char **argv)
{
	int state = open_dev(argv[0], O_WRONLY), in = open(argv[2], O_RDONLY);
	uint64_t off = strtoull(argv[1], NULL, 0), bytes, padded;
	unsigned char *buf;

	if (in < 0)
		die("cannot open", argv[2]);
	bytes = dev_bytes(in, argv[2]);
	padded = (bytes + ALIGN_BYTES - 1) / ALIGN_BYTES * ALIGN_BYTES;
	buf = buffer(padded ? padded : ALIGN_BYTES);
	memset(buf, 0, padded);
	if (bytes)
		must_pread(in, buf, bytes, 0, argv[2]);
	if (padded)
		must_pwrite(state, buf, padded, off, argv[0]);
	if (fdatasync(state))
		die("fdatasync failed on", argv[0]);
	return 0;
}

static int do_save(char **argv)
{
	int state = open_dev(argv[0], O_RDONLY);
	int out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	uint64_t off = strtoull(argv[1], NULL, 0), bytes = strtoull(argv[2], NULL, 0);
	unsigned char *buf = buffer(bytes);

	if (out < 0)
		die("cannot create", argv[3]);
	must_pread(state, buf, bytes, off, argv[0]);
	if (write(out, buf, bytes) != (ssize_t)bytes)
		die("write failed on", argv[3]);
	return 0;
}

static int do_either(char **argv)
{
	int dev = open_dev(argv[0], O_RDONLY);
	int old = open(argv[1], O_RDONLY), new = open(argv[2], O_RDONLY);
	uint64_t bytes, s, nr_new = 0;
	unsigned char *d, *o, *n;

	if (old < 0 || new < 0)
		die("cannot open", old < 0 ? argv[1] : argv[2]);
	bytes = dev_bytes(dev, argv[0]);
	d = buffer(bytes);
	o = buffer(bytes);
	n = buffer(bytes);
	must_pread(dev, d, bytes, 0, argv[0]);
	must_pread(old, o, bytes, 0, argv[1]);
	must_pread(new, n, bytes, 0, argv[2]);
	for (s = 0; s < bytes; s += 512) {
		if (!memcmp(d + s, n + s, 512)) {
			nr_new += !!memcmp(o + s, n + s, 512);
			continue;
		}
		if (!memcmp(d + s, o + s, 512))
			continue;
		fprintf(stderr, "vela-io: %s sector %llu is neither the old nor the new data\n",
			argv[0], (unsigned long long)(s / 512));
		return 1;
	}
	printf("%llu sectors hold the new data\n", (unsigned long long)nr_new);
	return 0;
}

static int do_verify(int argc, char **argv)
{
	int i, r = 0;

	for (i = 0; i + 1 < argc; i += 2)
		r |= verify_one(argv + i);
	return r;
}

/* fsync DEV: exit 1 (saying why) if the device's flush fails. */
static int do_fsync(char **argv)
{
	int dev = open(argv[0], O_WRONLY);

	if (dev < 0)
		die("cannot open", argv[0]);
	if (fsync(dev)) {
		fprintf(stderr, "vela-io: fsync %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	close(dev);
	return 0;
}

static int do_fill(char **argv)
{
	int dev = open_dev(argv[0], O_WRONLY);
	uint64_t bytes = dev_bytes(dev, argv[0]), off, len;
	unsigned char *buf = buffer(CHUNK_BYTES);

	memset(buf, (int)strtol(argv[1], NULL, 0), CHUNK_BYTES);
	for (off = 0; off < bytes; off += len) {
		len = bytes - off < CHUNK_BYTES ? bytes - off : CHUNK_BYTES;
		must_pwrite(dev, buf, len, off, argv[0]);
	}
	if (fsync(dev))
		die("fsync failed on", argv[0]);
	return 0;
}

static int do_seqwrite(char **argv)
{
	int dev = open_dev(argv[0], O_WRONLY);
	FILE *log = fopen(argv[1], "a");
	uint64_t count = strtoull(argv[2], NULL, 0), bs = strtoull(argv[3], NULL, 0);
	uint64_t nr_blocks = dev_bytes(dev, argv[0]) / bs, n, j;
	uint64_t *buf = buffer(bs);

	if (!log)
		die("cannot open", argv[1]);
	setvbuf(log, NULL, _IONBF, 0);
	for (n = 1; n <= count; n++) {
		for (j = 0; j < bs / 8; j++)
			buf[j] = n;
		must_pwrite(dev, buf, bs, (n % nr_blocks) * bs, argv[0]);
		fprintf(log, "%llu %llu\n", (unsigned long long)(n % nr_blocks),
			(unsigned long long)n);
	}
	return 0;
}

static int do_seqcheck(char **argv)
{
	int dev = open_dev(argv[0], O_RDONLY);
	FILE *log = fopen(argv[1], "r");
	uint64_t bs = strtoull(argv[2], NULL, 0), nr_blocks, b, j, *want, *buf;
	unsigned long long lb, ln;
	int r = 0;

	if (!log)
		die("cannot open", argv[1]);
	nr_blocks = dev_bytes(dev, argv[0]) / bs;
	want = calloc(nr_blocks, sizeof(*want));
	buf = buffer(bs);
	if (!want)
		die("out of memory for", argv[1]);
	while (fscanf(log, "%llu %llu", &lb, &ln) == 2)
		if (lb < nr_blocks && ln > want[lb])
			want[lb] = ln;
	for (b = 0; b < nr_blocks; b++) {
		must_pread(dev, buf, bs, b * bs, argv[0]);
		for (j = 1; j < bs / 8 && buf[j] == buf[0]; j++)
			;
		if (j < bs / 8) {
			fprintf(stderr, "vela-io: block %llu is torn: %llu at word 0, %llu at word %llu\n",
				(unsigned long long)b, (unsigned long long)buf[0],
				(unsigned long long)buf[j], (unsigned long long)j);
			r = 1;
		} else if (buf[0] < want[b]) {
			fprintf(stderr, "vela-io: block %llu holds write %llu; write %llu was acknowledged before\n",
				(unsigned long long)b, (unsigned long long)buf[0],
				(unsigned long long)want[b]);
			r = 1;
		}
	}
	return r;
}

static int do_time(char **argv, bool rss)
{
	struct timespec t0, t1;
	int status, devnull;
	struct rusage ru;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0)
		die("cannot fork for", argv[0]);
	if (!pid) {
		devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		die("cannot wait for", argv[0]);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.3f", (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	if (rss)
		printf(" %ld", ru.ru_maxrss);
	printf("\n");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "time"))
		return do_time(argv + 2, false);
	if (argc >= 3 && !strcmp(argv[1], "rss"))
		return do_time(argv + 2, true);
	if (argc == 7 && !strcmp(argv[1], "write"))
		return do_write(argv + 2);
	if (argc >= 4 && argc % 2 == 0 && !strcmp(argv[1], "verify"))
		return do_verify(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "fsync"))
		return do_fsync(argv + 2);
	if (argc == 4 && !strcmp(argv[1], "fill"))
		return do_fill(argv + 2);
	if (argc == 7 && !strcmp(argv[1], "batch"))
		return do_batch(argv + 2);
	if (argc == 5 && !strcmp(argv[1], "load"))
		return do_load(argv + 2);
	if (argc == 6 && !strcmp(argv[1], "save"))
		return do_save(argv + 2);
	if (argc == 5 && !strcmp(argv[1], "either"))
		return do_either(argv + 2);
	if (argc == 6 && !strcmp(argv[1], "seqwrite"))
		return do_seqwrite(argv + 2);
	if (argc == 5 && !strcmp(argv[1], "seqcheck"))
		return do_seqcheck(argv + 2);
	fprintf(stderr, "usage: vela-io write DEV ORACLE SEED COUNT BLOCK_BYTES\n"
			"       vela-io verify DEV ORACLE [DEV ORACLE]...\n"
			"       vela-io fill DEV BYTE\n"
			"       vela-io fsync DEV\n"
			"       vela-io seqwrite DEV LOG COUNT BLOCK_BYTES\n"
			"       vela-io seqcheck DEV LOG BLOCK_BYTES\n"
			"       vela-io batch DEV|- ORACLE|- SEED COUNT BLOCK_BYTES\n"
			"       vela-io load STATE OFFSET FILE\n"
			"       vela-io save STATE OFFSET BYTES FILE\n"
			"       vela-io either DEV OLD NEW\n"
			"       vela-io time COMMAND [ARGS]...\n"
			"       vela-io rss COMMAND [ARGS]...\n");
	return 2;
}
