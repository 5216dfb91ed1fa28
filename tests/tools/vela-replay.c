// SPDX-License-Identifier: GPL-2.0-only
/*
 * vela-replay: replay a dm-log-writes log onto a device, stopping at flush
 * points to run a check.
 *
 *   vela-replay LOG DEV MAX-STOPS CHECK-COMMAND
 *
 * The log (written by the kernel's dm-log-writes target) is a superblock
 * in its first sector (magic, version, number of entries, sector size),
 * then one entry per logged bio in completion-to-media order: a header
 * sector (target sector, sector count, flags, length of the mark text
 * that follows the header in that sector), then, unless it is a discard
 * or a mark, the written data.  Writes are only logged once a flush made
 * them durable, so replaying up to a flush entry gives what the device
 * held the moment that flush completed.
 *
 * Every flush, FUA and mark entry is a stop candidate.  At most MAX-STOPS
 * of them (0: all), spread evenly and always including every mark, get
 * CHECK-COMMAND run through sh with VELA_REPLAY_ENTRY (the entry index),
 * VELA_REPLAY_KIND (flush, fua or mark), VELA_REPLAY_MARK (the latest
 * mark so far) and VELA_REPLAY_AT_MARK (1 when the stop is that mark).
 * The check must leave DEV unchanged.  A failing check stops the replay.
 * The last line says how many entries were replayed and stops checked.
 * Exit status: 0, 1 when a check failed, 2 on an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>

#define LOG_MAGIC	0x6a736677736872ULL
#define LOG_VERSION	1
#define FLAG_FLUSH	(1u << 0)
#define FLAG_FUA	(1u << 1)
#define FLAG_DISCARD	(1u << 2)
#define FLAG_MARK	(1u << 3)

struct entry {
	uint64_t sector, nr_sectors, flags, data_len;
	char mark[256];
};

static int log_fd, dev_fd;
static uint32_t sector_size;
static uint64_t nr_entries;

static void die(const char *what)
{
	fprintf(stderr, "vela-replay: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void read_at(void *buf, size_t len, uint64_t off)
{
	ssize_t done = pread(log_fd, buf, len, off);

	if (done != (ssize_t)len) {
		if (done >= 0)
			errno = EIO;
		die("reading the log");
	}
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static void read_super(void)
{
	unsigned char sb[512];
	uint32_t ss;

	read_at(sb, sizeof(sb), 0);
	if (le64(sb) != LOG_MAGIC || le64(sb + 8) != LOG_VERSION) {
		fprintf(stderr, "vela-replay: not a dm-log-writes log (magic or version)\n");
		exit(2);
	}
	nr_entries = le64(sb + 16);
	memcpy(&ss, sb + 24, sizeof(ss));
	sector_size = le32toh(ss);
	if (sector_size < 512 || sector_size > 65536 || (sector_size & (sector_size - 1))) {
		fprintf(stderr, "vela-replay: bad sector size %u\n", sector_size);
		exit(2);
	}
}

/* Read the entry at @*pos (in log sectors) and move @*pos past it. */
static void read_entry(uint64_t *pos, struct entry *e)
{
	unsigned char *hdr = malloc(sector_size);
	size_t len;

	if (!hdr)
		die("allocating");
	read_at(hdr, sector_size, *pos * sector_size);
	e->sector = le64(hdr);
	e->nr_sectors = le64(hdr + 8);
	e->flags = le64(hdr + 16);
	e->data_len = le64(hdr + 24);
	e->mark[0] = 0;
	if (e->flags & FLAG_MARK) {
		len = e->data_len < sizeof(e->mark) - 1 ? e->data_len : sizeof(e->mark) - 1;
		if (len > sector_size - 32)
			len = sector_size - 32;
		memcpy(e->mark, hdr + 32, len);
		e->mark[len] = 0;
	}
	free(hdr);
	*pos += 1;
	if (!(e->flags & (FLAG_DISCARD | FLAG_MARK)))
		*pos += e->nr_sectors;
}

static int is_stop(const struct entry *e)
{
	return e->flags & (FLAG_FLUSH | FLAG_FUA | FLAG_MARK);
}

/* Apply a write or a discard (as zeros) to the device. */
static void apply(uint64_t data_pos, const struct entry *e)
{
	uint64_t bytes = e->nr_sectors * sector_size;
	unsigned char *buf;

	if (!bytes || (e->flags & FLAG_MARK))
		return;
	buf = calloc(1, bytes);
	if (!buf)
		die("allocating");
	if (!(e->flags & FLAG_DISCARD))
		read_at(buf, bytes, data_pos * sector_size);
	if (pwrite(dev_fd, buf, bytes, e->sector * sector_size) != (ssize_t)bytes)
		die("writing the device");
	free(buf);
}

static int run_check(const char *cmd, uint64_t index, const struct entry *e,
		     const char *last_mark)
{
	char num[32];

	if (fsync(dev_fd))
		die("syncing the device");
	snprintf(num, sizeof(num), "%llu", (unsigned long long)index);
	setenv("VELA_REPLAY_ENTRY", num, 1);
	setenv("VELA_REPLAY_KIND", e->flags & FLAG_MARK ? "mark" :
		e->flags & FLAG_FLUSH ? "flush" : "fua", 1);
	setenv("VELA_REPLAY_MARK", last_mark, 1);
	setenv("VELA_REPLAY_AT_MARK", e->flags & FLAG_MARK ? "1" : "0", 1);
	return system(cmd);
}

int main(int argc, char **argv)
{
	uint64_t pos, i, nr_stops = 0, nr_marks = 0, every, seen = 0, checked = 0;
	char last_mark[256] = "";
	struct entry e;
	int r;

	if (argc != 5) {
		fprintf(stderr, "usage: vela-replay LOG DEV MAX-STOPS CHECK-COMMAND\n");
		return 2;
	}
	log_fd = open(argv[1], O_RDONLY);
	if (log_fd < 0)
		die(argv[1]);
	dev_fd = open(argv[2], O_WRONLY);
	if (dev_fd < 0)
		die(argv[2]);
	read_super();

	/* First pass: count the stop candidates, to spread the sample. */
	for (pos = 1, i = 0; i < nr_entries; i++) {
		read_entry(&pos, &e);
		nr_stops += is_stop(&e) != 0;
		nr_marks += (e.flags & FLAG_MARK) != 0;
	}
	every = strtoull(argv[3], NULL, 0);
	every = every && nr_stops > every ? (nr_stops + every - 1) / every : 1;

	for (pos = 1, i = 0; i < nr_entries; i++) {
		uint64_t data_pos = pos + 1;

		read_entry(&pos, &e);
		apply(data_pos, &e);
		if (e.flags & FLAG_MARK)
			snprintf(last_mark, sizeof(last_mark), "%s", e.mark);
		if (!is_stop(&e))
			continue;
		if (!(e.flags & FLAG_MARK) && seen++ % every)
			continue;
		r = run_check(argv[4], i, &e, last_mark);
		checked++;
		if (r) {
			printf("vela-replay: the check failed at entry %llu (%s, after mark '%s')\n",
			       (unsigned long long)i, getenv("VELA_REPLAY_KIND"), last_mark);
			printf("replayed %llu of %llu entries; checked %llu of %llu flush/FUA/mark points\n",
			       (unsigned long long)i + 1, (unsigned long long)nr_entries,
			       (unsigned long long)checked, (unsigned long long)nr_stops);
			return 1;
		}
	}
	printf("replayed %llu entries; checked %llu of %llu flush/FUA/mark points (%llu marks)\n",
	       (unsigned long long)nr_entries, (unsigned long long)checked,
	       (unsigned long long)nr_stops, (unsigned long long)nr_marks);
	return 0;
}
