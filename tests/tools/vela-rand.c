// SPDX-License-Identifier: GPL-2.0-only
/*
 * vela-rand: the randomised driver of pool_random.sh.  From a seed it sends
 * a pool with branches a random sequence of admin messages, table loads,
 * suspends and resumes, activations and I/O (writes of 512 B, 4 KiB, 8 KiB
 * and 16 KiB across a block boundary, O_DSYNC writes, discards, reads,
 * fsyncs), and in some phases switches the pool's metadata device to the
 * error target or to dm-flakey at a random moment.  It keeps the oracle in
 * memory and checks every branch against it after each phase.
 *
 *   vela-rand SEED PHASES KTAP_FIRST MDEV META_UNDER META_SECTORS DATA_DEV
 *
 * MDEV is the dm name of the metadata device (a dm-linear over META_UNDER of
 * META_SECTORS sectors, formatted with 8 KiB blocks); DATA_DEV the data
 * device.  It creates the pool device "pool" and branch devices "b<id>"
 * itself, through the device-mapper ioctls (a dmsetup exec per operation
 * would cost 100-200 ms in the test VM), and runs velactl for the checks.
 * Each phase is one KTAP result, numbered from KTAP_FIRST; diagnostics are
 * "# " lines.  VELA_RAND_VERBOSE=1 prints every operation as it runs;
 * VELA_RAND_FAULT_PCT (default 25) is the share of phases with a fault;
 * no phase starts after VELA_RAND_SECONDS (default 540, inside the
 * suite's 600 s per test): the phases left are skipped, and said so.
 * At the end every device is removed (the caller checks the metadata).
 *
 * The oracle.  Each branch has an image of what it must read ("latest").
 * A point where the pool is known durable is a successful fsync, O_DSYNC
 * write (REQ_FUA), discard or admin message: each completes after a commit
 * of the pool's whole transaction.  Since that point, each block a branch
 * changed keeps the list of its states: the state at the durable point,
 * then after each acknowledged operation; a write that failed adds the
 * state it would have made (it may have landed in place), a discard that
 * failed the zeroed block (allowed only when its commit may have reached
 * the disk: a flakey device that left the pool in fail mode).  Without a
 * fault every branch must equal its latest image exactly.  After a fault,
 * each block must equal one of its states: a committed mapping holds the
 * block as of some time at or after the durable point, never a mix, never
 * another branch's data.  Once the pool is seen degraded (ro or fail),
 * every write, discard, flush and admin message must fail, and reads must
 * not, unless the metadata device fails reads too (the error target, or
 * dm-flakey without error_writes).  An admin message that failed with EIO
 * in a fault window is settled against the branch table after the
 * recovery: it may have reached the disk only in fail mode on dm-flakey.
 *
 * Each phase draws from its own random stream of the seed, so the same
 * seed and phase count replay a failing phase (up to timing: which
 * commits dm-flakey lets through).
 *
 * Exit status: 0 when every phase passed, 1 on a failure, 2 on an error
 * of the rig (a device that cannot be set up).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>

#define BS		8192ULL		/* data block size (16 sectors) */
#define BS_SECTORS	16
#define MAX_LIVE	10		/* branches in the pool at once */
#define MAX_SLOTS	4096
#define HOT_BLOCKS	64		/* most I/O goes to the first 512 KiB */
#define DM_BUF		(256 * 1024)
#define CHUNK		(1024 * 1024)
#define ARRAY_SIZE(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* History flags: how a block state came about. */
#define ST_ACKED	0		/* the durable state, or acknowledged */
#define ST_FAILED_WRITE	1		/* a write that failed: may have landed */
#define ST_FAILED_DISC	2		/* a discard whose commit failed */

enum fault_kind { F_NONE, F_ERROR, F_FLAKEY_EW, F_FLAKEY_ALL };
static const char *const fault_names[] = { "none", "error", "flakey-error_writes", "flakey-all" };

enum op {
	OP_WRITE, OP_DSYNC, OP_DISCARD, OP_READ, OP_FSYNC,
	OP_CREATE_VOLUME, OP_CREATE_BRANCH, OP_DELETE, OP_SET_RO, OP_SET_RW, OP_RENAME,
	OP_RESIZE, OP_ACTIVATE, OP_DEACTIVATE, OP_SUSPEND, OP_RESUME, OP_SUSPEND_POOL,
	OP_RESUME_POOL, OP_RELOAD_POOL, OP_RELOAD_BRANCH, NR_OPS
};
static const char *const op_names[] = {
	"write", "dsync_write", "discard", "read", "fsync",
	"create_volume", "create_branch", "delete", "set_read_only", "set_writable", "rename",
	"resize", "activate", "deactivate", "suspend", "resume", "suspend_pool",
	"resume_pool", "reload_pool", "reload_branch",
};
static const int op_weights[] = {
	28, 5, 6, 8, 5,
	2, 6, 3, 2, 2, 2,
	1, 5, 3, 2, 4, 1,
	4, 2, 2,
};

struct hist {
	int n, cap;
	uint8_t *flags;
	uint8_t **st;
};

struct branch {
	int live;
	uint64_t id, parent;		/* parent 0: a volume */
	char name[64];
	int prot;
	uint64_t bytes;			/* the model's size */
	uint8_t *img;			/* latest */
	struct hist **h;		/* per block, since the durable point */
	int active, susp, fd;
	uint64_t dev_bytes;		/* the device's table size */
	dev_t dev;
	int keep_active;		/* reactivate after a recovery */
};

/* An admin message that failed in a fault window: it may have landed. */
enum { P_CREATE, P_DELETE, P_RENAME, P_PROT, P_RESIZE };
struct pending {
	int kind;
	int slot;			/* the branch it is about (P_CREATE: parent or -1) */
	char name[64];			/* P_CREATE: the new name; P_RENAME: the new name */
	uint64_t size;			/* P_CREATE of a volume, P_RESIZE */
	int prot;			/* P_PROT: the new flag */
	uint8_t *snap;			/* P_CREATE of a branch: the parent's image */
	uint64_t snap_bytes;
};

static struct branch br[MAX_SLOTS];
static int nr_slots;
static struct pending pend[64];
static int nr_pend;

static uint64_t rng_state;
static int dm_ctl = -1;
static const char *mdev_name, *meta_under, *data_dev;
static uint64_t meta_sectors, data_sectors;
static char mdev_path[256];
static uint64_t change_id;
static int pool_susp;
static int verbose;
static unsigned int fault_pct = 25;	/* phases with a fault, in percent */
static double max_seconds = 540;	/* no phase starts after this */
static int ktap_no;
static uint64_t name_counter;

/* The phase in progress. */
static int phase_no;
static int failed;			/* failures in this phase */
static char *oplog;			/* the phase's operations, printed on failure */
static size_t oplog_len, oplog_cap;
static uint64_t op_seq;
static uint64_t durable_op;		/* op_seq of the last durable point */
static int fault_on;			/* a fault window: from the switch to the recovery */
static int meta_faulty;			/* the metadata device is not linear */
static enum fault_kind fault_kind;
static int degraded_seen;		/* the pool's mode was seen ro or fail */
static char final_mode[32];
static int allow_landing;		/* failed admin messages and discards may have landed */

/* Counters. */
static uint64_t cnt_op[NR_OPS], cnt_phase_op[NR_OPS];
static uint64_t cnt_faults[4], cnt_mode_ro, cnt_mode_fail, cnt_escalated;
static uint64_t cnt_compares, cnt_blocks_compared, cnt_held_checks, cnt_offline_checks;
static uint64_t cnt_durable, cnt_post_fault_checks, cnt_table_checks, cnt_reconciled;
static uint64_t cnt_old_blocks, cnt_read_errors;
static int fua_verified = -1;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void fatal(const char *fmt, ...)
{
	va_list ap;

	printf("# vela-rand: rig error: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		fatal("out of memory (%zu bytes)", n);
	return p;
}

static void *xalign(size_t n)
{
	void *p;

	if (posix_memalign(&p, 4096, n))
		fatal("out of memory (%zu bytes)", n);
	return p;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* Log an operation of the phase: kept, printed on failure or when verbose. */
static void logop(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1;
	if (oplog_len + n + 64 > oplog_cap) {
		oplog_cap = (oplog_cap + n + 64) * 2;
		oplog = realloc(oplog, oplog_cap);
		if (!oplog)
			fatal("out of memory for the log");
	}
	oplog_len += sprintf(oplog + oplog_len, "%4" PRIu64 " %s\n", op_seq, line);
	if (verbose) {
		printf("#   %4" PRIu64 " %s\n", op_seq, line);
		fflush(stdout);
	}
}

/* A failure of the phase: say what, once per line. */
static void fail(const char *fmt, ...)
{
	va_list ap;

	if (++failed > 30) {
		if (failed == 31)
			printf("# FAIL phase %d: more failures follow, not shown\n", phase_no);
		return;
	}
	printf("# FAIL phase %d op %" PRIu64 ": ", phase_no, op_seq);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* ---- device-mapper ioctls ---- */

static struct dm_ioctl *dm_buf;

static struct dm_ioctl *dm_init(const char *name, uint32_t flags)
{
	memset(dm_buf, 0, DM_BUF);
	dm_buf->version[0] = DM_VERSION_MAJOR;
	dm_buf->version[1] = 0;
	dm_buf->version[2] = 0;
	dm_buf->data_size = DM_BUF;
	dm_buf->data_start = sizeof(struct dm_ioctl);
	dm_buf->flags = flags;
	if (name)
		snprintf(dm_buf->name, sizeof(dm_buf->name), "%s", name);
	return dm_buf;
}

static int dm_call(unsigned long cmd)
{
	if (ioctl(dm_ctl, cmd, dm_buf))
		return -errno;
	return 0;
}

static int dm_load(const char *name, uint64_t sectors, const char *type, const char *params)
{
	struct dm_ioctl *io = dm_init(name, 0);
	struct dm_target_spec *spec = (void *)((char *)io + io->data_start);

	io->target_count = 1;
	spec->sector_start = 0;
	spec->length = sectors;
	snprintf(spec->target_type, sizeof(spec->target_type), "%s", type);
	snprintf((char *)(spec + 1), 4096, "%s", params);
	spec->next = 0;
	return dm_call(DM_TABLE_LOAD);
}

static int dm_clear(const char *name)
{
	dm_init(name, 0);
	return dm_call(DM_TABLE_CLEAR);
}

static int dm_suspend(const char *name, int noflush)
{
	dm_init(name, DM_SUSPEND_FLAG | (noflush ? DM_NOFLUSH_FLAG | DM_SKIP_LOCKFS_FLAG : 0));
	return dm_call(DM_DEV_SUSPEND);
}

static int dm_resume(const char *name)
{
	dm_init(name, 0);
	return dm_call(DM_DEV_SUSPEND);
}

static int dm_remove(const char *name)
{
	char path[300];
	int r, tries;

	for (tries = 0; tries < 50; tries++) {
		dm_init(name, 0);
		r = dm_call(DM_DEV_REMOVE);
		if (r != -EBUSY)
			break;
		sleep_ms(100);
	}
	if (!r) {
		snprintf(path, sizeof(path), "/dev/mapper/%s", name);
		unlink(path);
	}
	return r;
}

/* dm_create NAME SECTORS TYPE PARAMS: create, load, resume, make the node. */
static int dm_create(const char *name, uint64_t sectors, const char *type, const char *params,
		     dev_t *devp)
{
	char path[300];
	uint64_t d;
	dev_t dev;
	int r;

	dm_init(name, 0);
	r = dm_call(DM_DEV_CREATE);
	if (r)
		return r;
	d = dm_buf->dev;
	dev = makedev((d >> 8) & 0xfff, (d & 0xff) | ((d >> 12) & 0xfff00));
	r = dm_load(name, sectors, type, params);
	if (!r)
		r = dm_resume(name);
	if (r) {
		int saved = r;

		dm_init(name, 0);
		dm_call(DM_DEV_REMOVE);
		return saved;
	}
	snprintf(path, sizeof(path), "/dev/mapper/%s", name);
	unlink(path);
	if (mknod(path, S_IFBLK | 0600, dev))
		fatal("mknod %s: %s", path, strerror(errno));
	if (devp)
		*devp = dev;
	return 0;
}

/* The status (or, with DM_STATUS_TABLE_FLAG, table) string of NAME. */
static int dm_status(const char *name, uint32_t flags, char *out, size_t len)
{
	struct dm_ioctl *io = dm_init(name, flags);
	struct dm_target_spec *spec;
	int r = dm_call(DM_TABLE_STATUS);

	if (r)
		return r;
	if (!io->target_count) {
		snprintf(out, len, "%s", "");
		return -ENODATA;
	}
	spec = (void *)((char *)io + io->data_start);
	snprintf(out, len, "%s", (char *)(spec + 1));
	return 0;
}

/* A message to the pool; its reply in REPLY.  Returns 0 or -errno. */
static int dm_message(const char *msg, char *reply, size_t len)
{
	struct dm_ioctl *io = dm_init("pool", 0);
	struct dm_target_msg *tmsg = (void *)((char *)io + io->data_start);
	int r;

	tmsg->sector = 0;
	snprintf(tmsg->message, 4096, "%s", msg);
	r = dm_call(DM_TARGET_MSG);
	if (reply && len) {
		reply[0] = 0;
		if (!r && (io->flags & DM_DATA_OUT_FLAG))
			snprintf(reply, len, "%s", (char *)io + io->data_start);
	}
	return r;
}

/* ---- pool status ---- */

struct pool_status {
	uint64_t generation, change;
	char mode[32], needs_check[32];
	int ok;
};

static struct pool_status pool_status(void)
{
	struct pool_status s = { 0 };
	char buf[1024], meta[64], data[64];
	uint64_t branches, pending;

	if (dm_status("pool", 0, buf, sizeof(buf)))
		return s;
	if (sscanf(buf, "%" SCNu64 " %" SCNu64 " %63s %63s %" SCNu64 " %" SCNu64 " %31s %31s",
		   &s.generation, &s.change, meta, data, &branches, &pending, s.mode,
		   s.needs_check) == 8)
		s.ok = 1;
	return s;
}

static const char *pool_mode(void)
{
	static char mode[32];
	struct pool_status s = pool_status();

	snprintf(mode, sizeof(mode), "%s", s.ok ? s.mode : "?");
	return mode;
}

static int mode_degraded(const char *m)
{
	return !strcmp(m, "ro") || !strcmp(m, "fail");
}

/* After an operation in a fault window: has the pool degraded? */
static void poll_mode(void)
{
	const char *m;

	if (!fault_on || degraded_seen)
		return;
	m = pool_mode();
	if (mode_degraded(m)) {
		degraded_seen = 1;
		logop("pool mode is now %s", m);
	}
}

/* ---- running programs ---- */

/* Run ARGV; its output (stdout and stderr) in OUT.  Returns the exit status. */
static int run(char *const argv[], char *out, size_t len)
{
	int pfd[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	fflush(stdout);
	if (pipe(pfd))
		fatal("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (!pid) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], out + got, len - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0)
		fatal("waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void print_indented(const char *text)
{
	const char *p = text, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		printf("#   %.*s\n", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
}

/* ---- the model ---- */

static uint64_t nblocks(const struct branch *b)
{
	return b->bytes / BS;
}

static void hist_free(struct hist *h)
{
	int i;

	if (!h)
		return;
	for (i = 0; i < h->n; i++)
		free(h->st[i]);
	free(h->st);
	free(h->flags);
	free(h);
}

static void hist_push(struct hist *h, const uint8_t *state, int flag)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 4;
		h->st = realloc(h->st, h->cap * sizeof(*h->st));
		h->flags = realloc(h->flags, h->cap);
		if (!h->st || !h->flags)
			fatal("out of memory for a block history");
	}
	h->st[h->n] = xmalloc(BS);
	memcpy(h->st[h->n], state, BS);
	h->flags[h->n] = flag;
	h->n++;
}

/* The block's history, begun with its state at the durable point. */
static struct hist *hist_of(struct branch *b, uint64_t blk)
{
	if (!b->h[blk]) {
		b->h[blk] = calloc(1, sizeof(struct hist));
		if (!b->h[blk])
			fatal("out of memory");
		hist_push(b->h[blk], b->img + blk * BS, ST_ACKED);
	}
	return b->h[blk];
}

static void branch_clear_hist(struct branch *b)
{
	uint64_t i;

	for (i = 0; i < nblocks(b); i++) {
		hist_free(b->h[i]);
		b->h[i] = NULL;
	}
}

/* A durable point: everything acknowledged so far is committed. */
static void mark_durable(const char *why)
{
	int i;

	for (i = 0; i < nr_slots; i++)
		if (br[i].live)
			branch_clear_hist(&br[i]);
	durable_op = op_seq;
	cnt_durable++;
	if (verbose)
		logop("durable point (%s)", why);
}

static struct branch *new_slot(void)
{
	struct branch *b;

	if (nr_slots == MAX_SLOTS)
		fatal("out of branch slots");
	b = &br[nr_slots++];
	memset(b, 0, sizeof(*b));
	b->fd = -1;
	return b;
}

static void branch_set_size(struct branch *b, uint64_t bytes)
{
	uint64_t old = b->bytes, oldblocks = old / BS;

	b->img = realloc(b->img, bytes);
	b->h = realloc(b->h, bytes / BS * sizeof(*b->h));
	if (!b->img || !b->h)
		fatal("out of memory for a %" PRIu64 "-byte image", bytes);
	memset(b->img + old, 0, bytes - old);
	memset(b->h + oldblocks, 0, (bytes / BS - oldblocks) * sizeof(*b->h));
	b->bytes = bytes;
}

static void branch_free(struct branch *b)
{
	branch_clear_hist(b);
	free(b->img);
	free(b->h);
	b->img = NULL;
	b->h = NULL;
	b->live = 0;
}

static int nr_live(void)
{
	int i, n = 0;

	for (i = 0; i < nr_slots; i++)
		n += br[i].live;
	return n;
}

static int has_children(const struct branch *b)
{
	int i;

	for (i = 0; i < nr_slots; i++)
		if (br[i].live && br[i].parent == b->id)
			return 1;
	return 0;
}

static struct branch *by_id(uint64_t id)
{
	int i;

	for (i = 0; i < nr_slots; i++)
		if (br[i].live && br[i].id == id)
			return &br[i];
	return NULL;
}

/* A random live branch satisfying PRED (NULL: any); NULL if none. */
typedef int (*pred_t)(const struct branch *);
static struct branch *pick(pred_t pred)
{
	int i, n = 0, k;

	for (i = 0; i < nr_slots; i++)
		if (br[i].live && (!pred || pred(&br[i])))
			n++;
	if (!n)
		return NULL;
	k = rnd_below(n);
	for (i = 0; i < nr_slots; i++)
		if (br[i].live && (!pred || pred(&br[i])) && !k--)
			return &br[i];
	return NULL;
}

static int p_io(const struct branch *b) { return b->active && !b->susp; }
static int p_active(const struct branch *b) { return b->active; }
static int p_inactive(const struct branch *b) { return !b->active; }
static int p_suspended(const struct branch *b) { return b->active && b->susp; }
static int p_leaf(const struct branch *b) { return !has_children(b); }
static int p_prot(const struct branch *b) { return b->prot; }
static int p_unprot(const struct branch *b) { return !b->prot; }
static int p_resizable(const struct branch *b) { return b->bytes < (24ULL << 20); }

static const char *bname(const struct branch *b)
{
	static char s[4][96];
	static int k;

	k = (k + 1) % 4;
	snprintf(s[k], sizeof(s[k]), "b%" PRIu64 "(%s%s)", b->id, b->name, b->prot ? ",ro" : "");
	return s[k];
}

/* ---- devices of branches ---- */

static int branch_up(struct branch *b, const char *why)
{
	char name[32], params[128];
	int r;

	snprintf(name, sizeof(name), "b%" PRIu64, b->id);
	snprintf(params, sizeof(params), "/dev/mapper/pool %" PRIu64, b->id);
	r = dm_create(name, b->bytes / 512, "vela", params, &b->dev);
	logop("activate %s (%s): %s", bname(b), why, r ? strerror(-r) : "ok");
	if (r)
		return r;
	snprintf(params, sizeof(params), "/dev/mapper/%s", name);
	b->fd = open(params, O_RDWR | O_DIRECT);
	if (b->fd < 0)
		fatal("open %s: %s", params, strerror(errno));
	b->active = 1;
	b->susp = 0;
	b->dev_bytes = b->bytes;
	return 0;
}

static int branch_down(struct branch *b, const char *why)
{
	char name[32];
	int r;

	snprintf(name, sizeof(name), "b%" PRIu64, b->id);
	if (b->susp) {
		r = dm_resume(name);
		logop("resume %s before removing it: %s", bname(b), r ? strerror(-r) : "ok");
		if (!r)
			b->susp = 0;
	}
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	r = dm_remove(name);
	logop("deactivate %s (%s): %s", bname(b), why, r ? strerror(-r) : "ok");
	if (r)
		fatal("cannot remove %s: %s", name, strerror(-r));
	b->active = 0;
	b->susp = 0;
	return 0;
}

/* ---- checking a block against the oracle ---- */

/* Why a read must not fail now. */
static const char *read_why(void)
{
	if (!meta_faulty)
		return " (no fault)";
	return degraded_seen ?
		" (the pool is degraded and its metadata device serves every read: reads are served from the last commit)" :
		" (the metadata device serves every read)";
}

/*
 * Whose data is DATA?  Another branch's state of the same block (latest or
 * in its history), or of any block: where a stray write came from.
 */
static void whose_data(const struct branch *self, uint64_t blk, const uint8_t *data)
{
	static const uint8_t zero[BS];
	int i, j, found = 0;
	uint64_t k, nz = 0;

	for (k = 0; k < BS; k += 512)
		nz += !memcmp(data + k, zero, 512);
	if (nz == BS / 512) {
		printf("#   the block reads zeros\n");
		return;
	}
	printf("#   %" PRIu64 " of its %llu sectors are zeros\n", nz, BS / 512);
	for (i = 0; i < nr_slots; i++) {
		const struct branch *o = &br[i];

		if (!o->live)
			continue;
		for (k = 0; k < nblocks(o) && found < 6; k++) {
			if (k != blk && !memcmp(o->img + k * BS, data, BS)) {
				printf("#   it equals %s's latest state of block %" PRIu64 "\n",
				       bname(o), k);
				found++;
			}
			if (k == blk && !memcmp(o->img + k * BS, data, BS)) {
				printf("#   it equals %s%s's latest state of that block\n",
				       o == self ? "this branch " : "", bname(o));
				found++;
			}
			if (o->h[k])
				for (j = 0; j < o->h[k]->n; j++)
					if (!memcmp(o->h[k]->st[j], data, BS)) {
						printf("#   it equals state %d (flag %d) of %s's history of block %" PRIu64 "\n",
						       j, o->h[k]->flags[j], bname(o), k);
						found++;
					}
		}
	}
	if (!found)
		printf("#   it equals no state any branch's oracle holds for any block\n");
}

static int state_allowed(int flag)
{
	return flag == ST_ACKED || flag == ST_FAILED_WRITE ||
	       (flag == ST_FAILED_DISC && allow_landing);
}

/*
 * Check block BLK of B that reads DATA.  EXACT: it must be the latest
 * state; otherwise any allowed state since the durable point.
 */
static int check_block(struct branch *b, uint64_t blk, const uint8_t *data, int exact,
		       const char *where)
{
	struct hist *h = b->h[blk];
	uint64_t i, s;
	int j;

	cnt_blocks_compared++;
	if (!memcmp(data, b->img + blk * BS, BS))
		return 0;
	if (!exact && h)
		for (j = 0; j < h->n; j++)
			if (state_allowed(h->flags[j]) && !memcmp(data, h->st[j], BS)) {
				if (j + 1 < h->n || h->flags[j] != ST_ACKED)
					cnt_old_blocks++;
				return 0;
			}
	for (i = 0; i < BS && data[i] == b->img[blk * BS + i]; i++)
		;
	s = (blk * BS + i) / 512;
	if (exact)
		fail("%s: %s block %" PRIu64 " (sector %" PRIu64 ", byte %" PRIu64 ") differs from the oracle (0x%02x, expected 0x%02x)%s",
		     where, bname(b), blk, s, blk * BS + i, data[i], b->img[blk * BS + i],
		     b->prot ? "; the branch is protected" : "");
	else
		fail("%s: %s block %" PRIu64 " (first differing sector %" PRIu64 ") is neither its state at the last durable point (op %" PRIu64 ") nor any state acknowledged since (%d states)%s",
		     where, bname(b), blk, s, durable_op, h ? h->n : 0,
		     b->prot ? "; the branch is protected" : "");
	whose_data(b, blk, data);
	return 1;
}

/*
 * Read the whole device of B and compare; ADOPT: take what it reads as the
 * new latest state (after a fault, once it passed).  Returns 0 if equal.
 */
static int verify_branch(struct branch *b, int exact, int adopt, const char *where)
{
	uint8_t *buf = xalign(CHUNK);
	uint64_t off, len, blk, errors = 0;
	ssize_t n;
	int bad = 0;

	cnt_compares++;
	for (off = 0; off < b->dev_bytes && bad < 3; off += len) {
		len = b->dev_bytes - off < CHUNK ? b->dev_bytes - off : CHUNK;
		n = pread(b->fd, buf, len, off);
		if (n != (ssize_t)len) {
			if (meta_faulty && (fault_kind == F_ERROR || fault_kind == F_FLAKEY_ALL)) {
				cnt_read_errors++;
				errors++;
				continue;
			}
			fail("%s: reading %s at byte %" PRIu64 " failed: %s%s", where, bname(b), off,
			     n < 0 ? strerror(errno) : "short read", read_why());
			bad++;
			continue;
		}
		for (blk = off / BS; blk < (off + len) / BS; blk++) {
			uint8_t *d = buf + (blk * BS - off);

			if (check_block(b, blk, d, exact, where)) {
				bad++;
				if (bad >= 3)
					break;
				continue;
			}
			if (adopt && b->h[blk]) {
				memcpy(b->img + blk * BS, d, BS);
				hist_free(b->h[blk]);
				b->h[blk] = NULL;
			}
		}
	}
	if (errors)
		logop("%s: %" PRIu64 " MiB chunks of %s could not be read (metadata reads fail)",
		      where, errors, bname(b));
	free(buf);
	return bad;
}

/* ---- I/O ---- */

static void fill_random(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t v = rnd();

		memcpy(p + i, &v, 8);
	}
}

/*
 * The offsets of the last writes, on any branch: a write often goes back
 * to one (the same block again, or in a branch, the block it shares).
 */
static uint64_t recent[32];
static unsigned int nr_recent;

/* An offset for an I/O of LEN bytes aligned to ALIGN in B's device. */
static uint64_t pick_offset(const struct branch *b, uint64_t len, uint64_t align)
{
	uint64_t span = b->dev_bytes, k = rnd_below(10), off;

	if (k < 4 && nr_recent) {
		off = recent[rnd_below(nr_recent < 32 ? nr_recent : 32)] / align * align;
		if (off + len <= span)
			return off;
	}
	if (k < 8 && span > HOT_BLOCKS * BS)
		span = HOT_BLOCKS * BS;
	return rnd_below((span - len) / align + 1) * align;
}

static void note_offset(uint64_t off)
{
	recent[nr_recent++ % 32] = off;
}

/* Record a write of LEN bytes at OFF: acknowledged (OK) or failed. */
static void model_write(struct branch *b, uint64_t off, const uint8_t *data, uint64_t len, int ok)
{
	uint64_t blk, first = off / BS, last = (off + len - 1) / BS;
	uint8_t *tmp = xmalloc(BS);

	for (blk = first; blk <= last; blk++) {
		uint64_t bstart = blk * BS, s = off > bstart ? off : bstart;
		uint64_t e = off + len < bstart + BS ? off + len : bstart + BS;
		struct hist *h;

		if (blk >= nblocks(b))
			break;
		h = hist_of(b, blk);
		if (ok) {
			memcpy(b->img + s, data + (s - off), e - s);
			hist_push(h, b->img + bstart, ST_ACKED);
		} else {
			memcpy(tmp, b->img + bstart, BS);
			memcpy(tmp + (s - bstart), data + (s - off), e - s);
			hist_push(h, tmp, ST_FAILED_WRITE);
		}
	}
	free(tmp);
}

static void model_discard(struct branch *b, uint64_t off, uint64_t len, int ok)
{
	uint64_t blk = (off + BS - 1) / BS, end = (off + len) / BS;
	static const uint8_t zero[BS];

	for (; blk < end && blk < nblocks(b); blk++) {
		struct hist *h = hist_of(b, blk);

		if (ok) {
			memset(b->img + blk * BS, 0, BS);
			hist_push(h, b->img + blk * BS, ST_ACKED);
		} else {
			hist_push(h, zero, ST_FAILED_DISC);
		}
	}
}

/*
 * Is a write to B expected to succeed?  1 yes, 0 must fail, -1 either
 * (a fault window before the pool was seen degraded).
 */
static int write_expect(const struct branch *b)
{
	if (b->prot || degraded_seen)
		return 0;
	return fault_on ? -1 : 1;
}

static void io_result(const char *what, struct branch *b, int ok, int expect, int err)
{
	if (expect == 1 && !ok)
		fail("%s on %s failed (%s) with no fault", what, bname(b), strerror(err));
	if (expect == 0 && ok)
		fail("%s on %s was acknowledged although it must fail (%s)", what, bname(b),
		     b->prot ? "the branch is protected" : "the pool was seen degraded");
}

static void op_write(struct branch *b, int dsync)
{
	static const uint64_t sizes[] = { 512, 4096, 8192, 16384 };
	uint64_t len = sizes[rnd_below(dsync ? 3 : 4)], off;
	uint8_t *buf = xalign(len);
	struct iovec iov;
	int expect = write_expect(b), ok, err = 0;
	ssize_t n;

	/* 16 KiB: at a 4 KiB offset, so it straddles block boundaries. */
	off = len == 16384 ? pick_offset(b, len, 4096) : pick_offset(b, len, len);
	note_offset(off);
	fill_random(buf, len);
	iov.iov_base = buf;
	iov.iov_len = len;
	n = pwritev2(b->fd, &iov, 1, off, dsync ? RWF_DSYNC : 0);
	ok = n == (ssize_t)len;
	if (!ok)
		err = n < 0 ? errno : EIO;
	logop("%s %s off %" PRIu64 " len %" PRIu64 ": %s", dsync ? "dsync_write" : "write",
	      bname(b), off, len, ok ? "ok" : strerror(err));
	io_result(dsync ? "an O_DSYNC write" : "a write", b, ok, expect, err);
	/* A write refused for protection or after the degrade must change nothing. */
	if (ok || expect != 0)
		model_write(b, off, buf, len, ok);
	if (ok && dsync && !degraded_seen)
		mark_durable("dsync write");
	free(buf);
}

static void op_discard(struct branch *b)
{
	uint64_t blocks = 1 + rnd_below(4), off, len, range[2];
	int expect = write_expect(b), ok, err = 0;

	if (rnd_below(3)) {
		len = blocks * BS;
		off = pick_offset(b, len, BS);
	} else {
		/* Partial blocks at either end stay mapped and unchanged. */
		len = blocks * BS + 4096;
		off = pick_offset(b, len, 4096);
	}
	range[0] = off;
	range[1] = len;
	ok = !ioctl(b->fd, BLKDISCARD, range);
	if (!ok)
		err = errno;
	logop("discard %s off %" PRIu64 " len %" PRIu64 ": %s", bname(b), off, len,
	      ok ? "ok" : strerror(err));
	io_result("a discard", b, ok, expect, err);
	if (ok || expect != 0)
		model_discard(b, off, len, ok);
	if (ok && !degraded_seen)
		mark_durable("discard");
}

static void op_read(struct branch *b)
{
	uint64_t blocks = 1 + rnd_below(4), len = blocks * BS, off, blk;
	uint8_t *buf = xalign(len);
	ssize_t n;

	off = pick_offset(b, len, BS);
	n = pread(b->fd, buf, len, off);
	logop("read %s off %" PRIu64 " len %" PRIu64 ": %s", bname(b), off, len,
	      n == (ssize_t)len ? "ok" : n < 0 ? strerror(errno) : "short");
	if (n != (ssize_t)len) {
		if (meta_faulty && (fault_kind == F_ERROR || fault_kind == F_FLAKEY_ALL))
			cnt_read_errors++;
		else
			fail("a read of %s failed: %s%s", bname(b), n < 0 ? strerror(errno) : "short",
			     read_why());
	} else {
		for (blk = 0; blk < blocks; blk++)
			if (check_block(b, off / BS + blk, buf + blk * BS, !fault_on, "read"))
				break;
	}
	free(buf);
}

static void op_fsync(struct branch *b)
{
	int ok = !fsync(b->fd), err = ok ? 0 : errno;

	logop("fsync %s: %s", bname(b), ok ? "ok" : strerror(err));
	if (!ok && !fault_on)
		fail("fsync of %s failed with no fault: %s", bname(b), strerror(err));
	if (ok && degraded_seen)
		fail("fsync of %s succeeded after the pool degraded (%s): writes acknowledged since the last commit were lost",
		     bname(b), pool_mode());
	else if (ok)
		mark_durable("fsync");
}

/* ---- admin messages ---- */

static void add_pending(int kind, int slot, const char *name, uint64_t size, int prot)
{
	struct pending *p;

	if (nr_pend == ARRAY_SIZE(pend))
		fatal("too many uncertain messages");
	p = &pend[nr_pend++];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->slot = slot;
	snprintf(p->name, sizeof(p->name), "%s", name ? name : "");
	p->size = size;
	p->prot = prot;
	if (kind == P_CREATE && slot >= 0) {
		p->snap_bytes = br[slot].bytes;
		p->snap = xmalloc(p->snap_bytes);
		memcpy(p->snap, br[slot].img, p->snap_bytes);
	}
}

/*
 * Send an admin message "VERB CHANGE ARGS".  Returns 0 on success (the
 * change id moves, a durable point), else -errno.  A failure with no fault
 * fails the phase; in a fault window it is expected once the pool is
 * degraded, and an EIO before that leaves the outcome uncertain
 * (*uncertain set).
 */
static int send_admin(char *reply, size_t len, int *uncertain, const char *fmt, ...)
{
	char args[256], msg[300], verb[32];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	if (sscanf(args, "%31s", verb) != 1)
		fatal("an empty admin message");
	snprintf(msg, sizeof(msg), "%s %" PRIu64 "%s", verb, change_id, args + strlen(verb));
	r = dm_message(msg, reply, len);
	if (r == -ESTALE) {
		/* Should not happen: this tool is the pool's only admin. */
		fail("message '%s' was refused as stale: the change id moved by itself", msg);
		change_id = pool_status().change;
		return r;
	}
	logop("message %s: %s%s%s", msg, r ? strerror(-r) : "ok", reply && *reply ? " -> " : "",
	      reply && *reply ? reply : "");
	if (uncertain)
		*uncertain = 0;
	if (!r) {
		change_id++;
		if (degraded_seen)
			fail("message '%s' succeeded although the pool was seen degraded", msg);
		else
			mark_durable("admin message");
		return 0;
	}
	if (!fault_on)
		fail("message '%s' failed with no fault: %s", msg, strerror(-r));
	else if (r != -EROFS && uncertain)
		*uncertain = 1;
	return r;
}

static struct branch *op_create_volume(void)
{
	uint64_t mib = 8 << rnd_below(2), id;
	char name[64], reply[64];
	struct branch *b;
	int unc;

	snprintf(name, sizeof(name), "v%" PRIu64, ++name_counter);
	if (send_admin(reply, sizeof(reply), &unc, "create_volume %s %" PRIu64, name, mib << 11)) {
		if (unc)
			add_pending(P_CREATE, -1, name, mib << 20, 0);
		return NULL;
	}
	id = strtoull(reply, NULL, 10);
	b = new_slot();
	b->live = 1;
	b->id = id;
	snprintf(b->name, sizeof(b->name), "%s", name);
	branch_set_size(b, mib << 20);
	return b;
}

static struct branch *op_create_branch(struct branch *parent)
{
	char name[64], reply[64];
	struct branch *b;
	int unc, pslot = parent - br;

	snprintf(name, sizeof(name), "c%" PRIu64, ++name_counter);
	if (send_admin(reply, sizeof(reply), &unc, "create_branch %" PRIu64 " %s", parent->id, name)) {
		if (unc)
			add_pending(P_CREATE, pslot, name, 0, 0);
		return NULL;
	}
	parent = &br[pslot];
	b = new_slot();
	b->live = 1;
	b->id = strtoull(reply, NULL, 10);
	b->parent = parent->id;
	snprintf(b->name, sizeof(b->name), "%s", name);
	branch_set_size(b, parent->bytes);
	memcpy(b->img, parent->img, parent->bytes);
	return b;
}

/* Protected means kept (target 0.10): the kernel refuses, and nothing changes. */
static void op_delete_protected(struct branch *b)
{
	char msg[96];
	int r;

	snprintf(msg, sizeof(msg), "delete %" PRIu64 " %" PRIu64, change_id, b->id);
	r = dm_message(msg, NULL, 0);
	logop("message %s (protected): %s", msg, r ? strerror(-r) : "ok");
	if (!r) {
		change_id++;
		fail("message '%s' deleted a protected branch", msg);
		branch_free(b);
	} else if (r != -EPERM && !fault_on) {
		fail("message '%s' failed with %s, not EPERM", msg, strerror(-r));
	}
}

static void op_delete(struct branch *b)
{
	int unc;

	if (b->active)
		branch_down(b, "to delete it");
	if (b->prot) {
		op_delete_protected(b);
		return;
	}
	if (send_admin(NULL, 0, &unc, "delete %" PRIu64, b->id)) {
		if (unc)
			add_pending(P_DELETE, b - br, NULL, 0, 0);
		return;
	}
	branch_free(b);
}

static void op_protect(struct branch *b, int prot)
{
	int unc;

	if (send_admin(NULL, 0, &unc, "%s %" PRIu64, prot ? "set_read_only" : "set_writable", b->id)) {
		if (unc)
			add_pending(P_PROT, b - br, NULL, 0, prot);
		return;
	}
	b->prot = prot;
}

static void op_rename(struct branch *b)
{
	char name[64];
	int unc;

	snprintf(name, sizeof(name), "n%" PRIu64, ++name_counter);
	if (send_admin(NULL, 0, &unc, "rename %" PRIu64 " %s", b->id, name)) {
		if (unc)
			add_pending(P_RENAME, b - br, name, 0, 0);
		return;
	}
	snprintf(b->name, sizeof(b->name), "%s", name);
}

static void op_resize(struct branch *b)
{
	uint64_t bytes = b->bytes + ((1 + rnd_below(4)) << 20);
	int unc;

	if (send_admin(NULL, 0, &unc, "resize %" PRIu64 " %" PRIu64, b->id, bytes / 512)) {
		if (unc)
			add_pending(P_RESIZE, b - br, NULL, bytes, 0);
		return;
	}
	branch_set_size(b, bytes);
}

/* ---- pool and metadata device tables ---- */

static char pool_params[512];

static void swap_meta(enum fault_kind kind)
{
	char params[256];
	const char *type;
	unsigned int up = 0, down = 0;
	int r;

	switch (kind) {
	case F_NONE:
		type = "linear";
		snprintf(params, sizeof(params), "%s 0", meta_under);
		break;
	case F_ERROR:
		type = "error";
		params[0] = 0;
		break;
	default:
		type = "flakey";
		up = rnd_below(3);
		down = 1 + rnd_below(2);
		snprintf(params, sizeof(params), "%s 0 %u %u%s", meta_under, up, down,
			 kind == F_FLAKEY_EW ? " 1 error_writes" : "");
		break;
	}
	meta_faulty = kind != F_NONE;
	r = dm_suspend(mdev_name, 1);
	if (!r)
		r = dm_load(mdev_name, meta_sectors, type, params);
	if (!r)
		r = dm_resume(mdev_name);
	logop("metadata device -> %s %s: %s", type, params, r ? strerror(-r) : "ok");
	if (r)
		fatal("cannot switch the metadata device to %s: %s", type, strerror(-r));
}

static void pool_create(void)
{
	int r = dm_create("pool", data_sectors, "vela-pool", pool_params, NULL);

	logop("create pool: %s", r ? strerror(-r) : "ok");
	if (r)
		fatal("cannot create the pool: %s", strerror(-r));
	pool_susp = 0;
	change_id = pool_status().change;
}

static void pool_remove(void)
{
	int r;

	if (pool_susp) {
		dm_resume("pool");
		pool_susp = 0;
	}
	r = dm_remove("pool");
	logop("remove pool: %s", r ? strerror(-r) : "ok");
	if (r)
		fatal("cannot remove the pool: %s", strerror(-r));
}

static void op_reload_pool(void)
{
	int r = dm_load("pool", data_sectors, "vela-pool", pool_params);

	if (!r)
		r = dm_resume("pool");
	else
		dm_clear("pool");
	logop("reload pool with the same line: %s", r ? strerror(-r) : "ok");
	if (!r)
		pool_susp = 0;
	if (r && !fault_on)
		fail("a reload of the pool with its own table line failed: %s", strerror(-r));
}

static void op_reload_branch(struct branch *b)
{
	char name[32], params[128];
	int r;

	snprintf(name, sizeof(name), "b%" PRIu64, b->id);
	snprintf(params, sizeof(params), "/dev/mapper/pool %" PRIu64, b->id);
	/* To the model's size: a resize takes effect on the device. */
	r = dm_load(name, b->bytes / 512, "vela", params);
	if (!r)
		r = dm_resume(name);
	else
		dm_clear(name);
	logop("reload %s to %" PRIu64 " sectors: %s", bname(b), b->bytes / 512,
	      r ? strerror(-r) : "ok");
	if (!r) {
		b->susp = 0;
		b->dev_bytes = b->bytes;
	} else if (!fault_on) {
		fail("a reload of %s failed: %s", bname(b), strerror(-r));
	}
}

static void resume_all(void)
{
	char name[32];
	int i, r;

	if (pool_susp) {
		r = dm_resume("pool");
		logop("resume pool: %s", r ? strerror(-r) : "ok");
		if (r)
			fatal("cannot resume the pool: %s", strerror(-r));
		pool_susp = 0;
	}
	for (i = 0; i < nr_slots; i++)
		if (br[i].live && br[i].active && br[i].susp) {
			snprintf(name, sizeof(name), "b%" PRIu64, br[i].id);
			r = dm_resume(name);
			logop("resume %s: %s", bname(&br[i]), r ? strerror(-r) : "ok");
			if (r)
				fatal("cannot resume %s: %s", name, strerror(-r));
			br[i].susp = 0;
		}
}

/* ---- checks ---- */

/* The pool's branch table (list_branches) against the model. */
struct row {
	uint64_t id, parent, size, flags;
	char name[128];
};

static int read_branch_table(struct row *rows, int max)
{
	char *reply = xmalloc(DM_BUF), *line, *save;
	int n = 0, r;

	r = dm_message("list_branches 0", reply, DM_BUF);
	if (r) {
		free(reply);
		return r;
	}
	line = strtok_r(reply, "\n", &save);	/* <change id> <next id>|- */
	while ((line = strtok_r(NULL, "\n", &save)) && n < max) {
		char parent[32], uuid[64], name[128];
		uint64_t depth, ctime, m, e, s, l;

		if (sscanf(line, "%" SCNu64 " %31s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
			   " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %63s %127s",
			   &rows[n].id, parent, &depth, &rows[n].size, &ctime, &rows[n].flags,
			   &m, &e, &s, &l, uuid, name) != 12)
			continue;
		rows[n].parent = strcmp(parent, "-") ? strtoull(parent, NULL, 10) : 0;
		snprintf(rows[n].name, sizeof(rows[n].name), "%s", name);
		n++;
	}
	free(reply);
	return n;
}

static void check_table(const char *where)
{
	struct row rows[64];
	int n = read_branch_table(rows, 64), i, j;

	cnt_table_checks++;
	if (n < 0) {
		fail("%s: list_branches failed: %s", where, strerror(-n));
		return;
	}
	for (i = 0; i < nr_slots; i++) {
		struct branch *b = &br[i];

		if (!b->live)
			continue;
		for (j = 0; j < n && rows[j].id != b->id; j++)
			;
		if (j == n) {
			fail("%s: %s is missing from the pool's branch table", where, bname(b));
			continue;
		}
		if (rows[j].parent != b->parent || strcmp(rows[j].name, b->name) ||
		    rows[j].size != b->bytes / 512 || !!(rows[j].flags & 1) != b->prot)
			fail("%s: %s is listed as parent %" PRIu64 " name %s size %" PRIu64 " flags %" PRIu64 "; expected parent %" PRIu64 " size %" PRIu64 " %s",
			     where, bname(b), rows[j].parent, rows[j].name, rows[j].size,
			     rows[j].flags, b->parent, b->bytes / 512,
			     b->prot ? "protected" : "writable");
	}
	for (j = 0; j < n; j++)
		if (!by_id(rows[j].id))
			fail("%s: the pool lists branch %" PRIu64 " (%s) that the model does not have",
			     where, rows[j].id, rows[j].name);
}

static void held_check(void)
{
	char cmd[64], *out = xmalloc(65536);
	char *const argv[] = { "velactl", "check", "--held", mdev_path, NULL };
	int r, st;

	snprintf(cmd, sizeof(cmd), "reserve_metadata_snap %" PRIu64, change_id);
	r = dm_message(cmd, NULL, 0);
	logop("message %s: %s", cmd, r ? strerror(-r) : "ok");
	if (r) {
		fail("reserve_metadata_snap failed: %s", strerror(-r));
		free(out);
		return;
	}
	st = run(argv, out, 65536);
	logop("velactl check --held %s: exit %d", mdev_path, st);
	cnt_held_checks++;
	if (st) {
		fail("velactl check --held on the live pool: exit %d", st);
		print_indented(out);
	}
	snprintf(cmd, sizeof(cmd), "release_metadata_snap %" PRIu64, change_id);
	r = dm_message(cmd, NULL, 0);
	logop("message %s: %s", cmd, r ? strerror(-r) : "ok");
	if (r)
		fail("release_metadata_snap failed: %s", strerror(-r));
	free(out);
}

/* velactl check on the inactive pool's metadata; NEEDS_CHECK: may be set. */
static void offline_check(int needs_check_ok, int clear)
{
	char *out = xmalloc(65536);
	char *const argv[] = { "velactl", "check", mdev_path, NULL };
	char *const argv_clear[] = { "velactl", "check", "--clear-needs-check", mdev_path, NULL };
	int st;

	st = run(argv, out, 65536);
	cnt_offline_checks++;
	logop("velactl check %s: exit %d%s", mdev_path, st,
	      strstr(out, "needs_check is set") ? " (needs_check is set)" : "");
	if (st) {
		fail("velactl check of the deactivated pool: exit %d", st);
		print_indented(out);
	} else if (!needs_check_ok && strstr(out, "needs_check is set")) {
		fail("needs_check is set with no fault");
		print_indented(out);
	}
	if (clear) {
		st = run(argv_clear, out, 65536);
		logop("velactl check --clear-needs-check %s: exit %d", mdev_path, st);
		if (st) {
			fail("velactl check --clear-needs-check: exit %d", st);
			print_indented(out);
		}
	}
	free(out);
}

/* Deactivate every branch and the pool (remembering which were active). */
static void branch_down_all(void)
{
	int i;

	resume_all();
	for (i = 0; i < nr_slots; i++) {
		br[i].keep_active = br[i].live && br[i].active;
		if (br[i].live && br[i].active)
			branch_down(&br[i], "all");
	}
	pool_remove();
}

/* Compare every branch (activating inactive ones for it). */
static void verify_all(int exact, int adopt, const char *where)
{
	int i;

	for (i = 0; i < nr_slots; i++) {
		struct branch *b = &br[i];
		int was = b->active;

		if (!b->live)
			continue;
		if (!was && branch_up(b, "to compare it")) {
			fail("%s: %s cannot be activated", where, bname(b));
			continue;
		}
		verify_branch(b, exact, adopt, where);
		if (!was || (!b->keep_active && adopt))
			branch_down(b, "compared");
	}
}

static void reactivate_kept(void)
{
	int i;

	for (i = 0; i < nr_slots; i++)
		if (br[i].live && br[i].keep_active && !br[i].active)
			if (branch_up(&br[i], "as before"))
				fail("%s cannot be activated again", bname(&br[i]));
}

/* The end of a phase without a fault. */
static void phase_check(int offline)
{
	int i;

	resume_all();
	for (i = 0; i < nr_slots; i++)
		if (br[i].live && br[i].active) {
			if (fsync(br[i].fd))
				fail("the closing fsync of %s failed: %s", bname(&br[i]), strerror(errno));
		}
	if (!failed)
		mark_durable("closing fsyncs");
	logop("check: fsync every active branch, compare every branch");
	verify_all(1, 0, "after the phase");
	check_table("after the phase");
	held_check();
	if (offline) {
		branch_down_all();
		offline_check(0, 0);
		pool_create();
		check_table("reactivated");
		reactivate_kept();
	}
}

/* ---- the fault window ---- */

/* Make the fault show: write and fsync until the pool degrades. */
static void force_degrade(void)
{
	double t0 = now_s();
	int tries;

	for (tries = 0; !degraded_seen && tries < 60; tries++) {
		struct branch *b = pick(p_io);

		if (tries == 20 && fault_kind != F_ERROR) {
			/* The flakey device let every commit through so far. */
			fault_kind = F_ERROR;
			cnt_escalated++;
			swap_meta(F_ERROR);
		}
		op_seq++;
		if (b && !b->prot) {
			op_write(b, 0);
			op_seq++;
			op_fsync(b);
		} else if (nr_live() < MAX_LIVE) {
			op_create_volume();
		} else {
			b = pick(p_inactive);
			if (b && !branch_up(b, "to write to it"))
				continue;
			sleep_ms(200);
		}
		poll_mode();
		if (!degraded_seen)
			sleep_ms(100);
	}
	/* A failed commit degrades the pool at once, in the background. */
	while (!degraded_seen && now_s() - t0 < 30) {
		sleep_ms(100);
		poll_mode();
	}
	if (!degraded_seen)
		fail("the pool did not degrade under a metadata fault (%s) in %.0f s: mode %s",
		     fault_names[fault_kind], now_s() - t0, pool_mode());
}

/*
 * Once degraded: every flush, write and discard on every active branch and
 * every admin message must fail; reads give each block a state since the
 * durable point.
 */
static void post_fault_checks(void)
{
	int i, r;

	cnt_post_fault_checks++;
	resume_all();
	for (i = 0; i < nr_slots; i++) {
		struct branch *b = &br[i];

		if (!b->live || !b->active)
			continue;
		op_seq++;
		op_fsync(b);
		op_seq++;
		op_write(b, 1);
		op_seq++;
		op_write(b, 0);
		op_seq++;
		op_discard(b);
		op_seq++;
		verify_branch(b, 0, 0, "read in the degraded pool");
	}
	op_seq++;
	if (nr_live()) {
		struct branch *b = pick(NULL);
		char name[64];

		snprintf(name, sizeof(name), "n%" PRIu64, ++name_counter);
		r = send_admin(NULL, 0, NULL, "rename %" PRIu64 " %s", b->id, name);
		if (!r)
			snprintf(b->name, sizeof(b->name), "%s", name);
		else if (r != -EROFS && r != -EIO)
			fail("an admin message in the degraded pool failed with %s, not EROFS",
			     strerror(-r));
	}
}

/* After recovery: settle the messages that failed in the fault window. */
static void reconcile(void)
{
	struct row rows[64];
	int n = read_branch_table(rows, 64), i, j;

	if (n < 0) {
		fail("list_branches after the recovery failed: %s", strerror(-n));
		return;
	}
	for (i = 0; i < nr_pend; i++) {
		struct pending *p = &pend[i];
		struct branch *b = p->slot >= 0 ? &br[p->slot] : NULL;
		int landed = 0, k = -1;

		switch (p->kind) {
		case P_CREATE:
			for (j = 0; j < n; j++)
				if (!strcmp(rows[j].name, p->name))
					k = j;
			landed = k >= 0;
			break;
		case P_DELETE:
			for (j = 0; j < n && rows[j].id != b->id; j++)
				;
			landed = j == n;
			break;
		case P_RENAME:
			for (j = 0; j < n && rows[j].id != b->id; j++)
				;
			landed = j < n && !strcmp(rows[j].name, p->name);
			break;
		case P_PROT:
			for (j = 0; j < n && rows[j].id != b->id; j++)
				;
			landed = j < n && !!(rows[j].flags & 1) == p->prot && p->prot != b->prot;
			break;
		case P_RESIZE:
			for (j = 0; j < n && rows[j].id != b->id; j++)
				;
			landed = j < n && rows[j].size == p->size / 512;
			break;
		}
		logop("the failed message (kind %d, %s) %s", p->kind, b ? bname(b) : p->name,
		      landed ? "is on disk" : "is not on disk");
		if (landed && !allow_landing)
			fail("an admin message that failed in the fault window is on disk, although the pool recorded needs_check (%s) or its device failed every write",
			     final_mode);
		if (landed) {
			cnt_reconciled++;
			switch (p->kind) {
			case P_CREATE: {
				struct branch *nb = new_slot();

				nb->live = 1;
				nb->id = rows[k].id;
				nb->parent = rows[k].parent;
				snprintf(nb->name, sizeof(nb->name), "%s", p->name);
				if (b) {
					branch_set_size(nb, p->snap_bytes);
					memcpy(nb->img, p->snap, p->snap_bytes);
				} else {
					branch_set_size(nb, p->size);
				}
				break;
			}
			case P_DELETE:
				branch_free(b);
				break;
			case P_RENAME:
				snprintf(b->name, sizeof(b->name), "%s", p->name);
				break;
			case P_PROT:
				b->prot = p->prot;
				break;
			case P_RESIZE:
				branch_set_size(b, p->size);
				break;
			}
		}
		free(p->snap);
	}
	nr_pend = 0;
}

/* The end of a phase with a fault. */
static void fault_recovery(void)
{
	struct pool_status st;
	int tries;

	resume_all();
	force_degrade();
	/*
	 * The needs_check commit retries for a few seconds (ro if it gets
	 * through, else fail): wait until the mode holds still.
	 */
	sleep_ms(2500);
	for (tries = 0; tries < 10; tries++) {
		struct pool_status a = pool_status(), b;

		sleep_ms(1000);
		b = pool_status();
		if (a.ok && b.ok && !strcmp(a.mode, b.mode) && !strcmp(a.needs_check, b.needs_check))
			break;
	}
	snprintf(final_mode, sizeof(final_mode), "%s", pool_mode());
	if (!strcmp(final_mode, "ro"))
		cnt_mode_ro++;
	else
		cnt_mode_fail++;
	allow_landing = !strcmp(final_mode, "fail") && fault_kind != F_ERROR;
	logop("pool degraded to %s (fault %s)", final_mode, fault_names[fault_kind]);
	post_fault_checks();
	swap_meta(F_NONE);
	branch_down_all();
	fault_on = 0;
	offline_check(1, 1);
	pool_create();
	st = pool_status();
	if (!st.ok || strcmp(st.mode, "rw") || strcmp(st.needs_check, "-"))
		fail("after velactl check --clear-needs-check the pool is %s %s, not rw",
		     st.mode, st.needs_check);
	reconcile();
	/* Every branch holds, per block, a state since the durable point. */
	verify_all(0, 1, "after the recovery");
	check_table("after the recovery");
	mark_durable("recovered");
	reactivate_kept();
	degraded_seen = 0;
	allow_landing = 0;
}

/* ---- a phase ---- */

static enum op pick_op(void)
{
	int total = 0, i, k;

	for (i = 0; i < NR_OPS; i++)
		total += op_weights[i];
	k = rnd_below(total);
	for (i = 0; i < NR_OPS; i++) {
		k -= op_weights[i];
		if (k < 0)
			return i;
	}
	return OP_WRITE;
}

/* Can OP run now?  (An I/O needs an active branch, a delete a leaf...) */
static int applicable(enum op op)
{
	switch (op) {
	case OP_WRITE: case OP_DSYNC: case OP_DISCARD: case OP_READ: case OP_FSYNC:
	case OP_SUSPEND:
		return pick(p_io) != NULL;
	case OP_CREATE_VOLUME: case OP_CREATE_BRANCH:
		return nr_live() < MAX_LIVE && (op == OP_CREATE_VOLUME || nr_live());
	case OP_DELETE:
		return nr_live() > 1 && pick(p_leaf);
	case OP_SET_RO:
		return pick(p_unprot) != NULL;
	case OP_SET_RW:
		return pick(p_prot) != NULL;
	case OP_RENAME:
		return nr_live() > 0;
	case OP_RESIZE:
		return pick(p_resizable) != NULL;
	case OP_ACTIVATE:
		return pick(p_inactive) != NULL;
	case OP_DEACTIVATE: case OP_RELOAD_BRANCH:
		return pick(p_active) != NULL;
	case OP_RESUME:
		return pick(p_suspended) != NULL;
	case OP_SUSPEND_POOL:
		return !pool_susp;
	case OP_RESUME_POOL:
		return pool_susp;
	case OP_RELOAD_POOL:
		return 1;
	default:
		return 0;
	}
}

/* One operation; one that cannot run now becomes another. */
static void one_op(enum op op)
{
	struct branch *b = NULL;

	if (!nr_live())
		op = OP_CREATE_VOLUME;
	if (!applicable(op))
		op = applicable(OP_WRITE) ? OP_WRITE : applicable(OP_ACTIVATE) ? OP_ACTIVATE :
		     OP_CREATE_BRANCH;
	if (!applicable(op))
		op = OP_DELETE;
	if (!applicable(op))
		return;
	switch (op) {
	case OP_WRITE: case OP_DSYNC: case OP_DISCARD: case OP_READ: case OP_FSYNC:
		b = pick(p_io);
		break;
	default:
		break;
	}
	cnt_op[op]++;
	cnt_phase_op[op]++;
	switch (op) {
	case OP_WRITE:
	case OP_DSYNC:
		op_write(b, op == OP_DSYNC);
		break;
	case OP_DISCARD:
		op_discard(b);
		break;
	case OP_READ:
		op_read(b);
		break;
	case OP_FSYNC:
		op_fsync(b);
		break;
	case OP_ACTIVATE:
		b = pick(p_inactive);
		if (b && branch_up(b, "random") && !fault_on)
			fail("activating %s failed with no fault", bname(b));
		break;
	case OP_DEACTIVATE:
		b = pick(p_active);
		if (b)
			branch_down(b, "random");
		break;
	case OP_CREATE_VOLUME:
		op_create_volume();
		break;
	case OP_CREATE_BRANCH:
		b = pick(NULL);
		if (b)
			op_create_branch(b);
		break;
	case OP_DELETE:
		b = pick(p_leaf);
		if (b)
			op_delete(b);
		break;
	case OP_SET_RO:
		b = pick(p_unprot);
		if (b)
			op_protect(b, 1);
		break;
	case OP_SET_RW:
		b = pick(p_prot);
		if (b)
			op_protect(b, 0);
		break;
	case OP_RENAME:
		b = pick(NULL);
		if (b)
			op_rename(b);
		break;
	case OP_RESIZE:
		b = pick(p_resizable);
		if (b)
			op_resize(b);
		break;
	case OP_SUSPEND:
		b = pick(p_io);
		if (b) {
			char name[32];
			int r;

			snprintf(name, sizeof(name), "b%" PRIu64, b->id);
			r = dm_suspend(name, rnd_below(2));
			logop("suspend %s: %s", bname(b), r ? strerror(-r) : "ok");
			if (!r)
				b->susp = 1;
			else if (!fault_on)
				fail("suspending %s failed: %s", bname(b), strerror(-r));
		}
		break;
	case OP_RESUME:
		b = pick(p_suspended);
		if (b) {
			char name[32];
			int r;

			snprintf(name, sizeof(name), "b%" PRIu64, b->id);
			r = dm_resume(name);
			logop("resume %s: %s", bname(b), r ? strerror(-r) : "ok");
			if (r)
				fatal("cannot resume %s: %s", name, strerror(-r));
			b->susp = 0;
		}
		break;
	case OP_SUSPEND_POOL:
		if (!pool_susp) {
			int r = dm_suspend("pool", 0);

			logop("suspend pool: %s", r ? strerror(-r) : "ok");
			if (!r)
				pool_susp = 1;
			else if (!fault_on)
				fail("suspending the pool failed: %s", strerror(-r));
		}
		break;
	case OP_RESUME_POOL:
		if (pool_susp) {
			int r = dm_resume("pool");

			logop("resume pool: %s", r ? strerror(-r) : "ok");
			if (r)
				fatal("cannot resume the pool: %s", strerror(-r));
			pool_susp = 0;
		}
		break;
	case OP_RELOAD_POOL:
		op_reload_pool();
		break;
	case OP_RELOAD_BRANCH:
		b = pick(p_active);
		if (b)
			op_reload_branch(b);
		break;
	default:
		break;
	}
}

static void print_counts(const char *prefix, const uint64_t *counts)
{
	char line[1024];
	size_t n = 0;
	uint64_t total = 0;
	int i;

	for (i = 0; i < NR_OPS; i++)
		total += counts[i];
	n += snprintf(line + n, sizeof(line) - n, "%s%" PRIu64 " ops:", prefix, total);
	for (i = 0; i < NR_OPS; i++)
		if (counts[i])
			n += snprintf(line + n, sizeof(line) - n, " %s %" PRIu64, op_names[i],
				      counts[i]);
	printf("# %s\n", line);
}

/* Check the branch devices' queues: do O_DSYNC writes reach them as FUA? */
static void check_fua(struct branch *b)
{
	char path[128], buf[64], line[512];
	char *trace = "/sys/kernel/tracing";
	unsigned int maj = major(b->dev), min = minor(b->dev);
	int fd, wc = 0, fua = 0, seen = 0;
	uint8_t *data = xalign(BS);
	struct iovec iov = { data, BS };
	FILE *f;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/write_cache", maj, min);
	f = fopen(path, "r");
	if (f && fgets(buf, sizeof(buf), f))
		wc = !strncmp(buf, "write back", 10);
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/fua", maj, min);
	f = fopen(path, "r");
	if (f && fgets(buf, sizeof(buf), f))
		fua = atoi(buf) == 1;
	if (f)
		fclose(f);
	/* The block_bio_queue tracepoint shows the flags a bio arrives with. */
	snprintf(path, sizeof(path), "%s/events/block/block_bio_queue/enable", trace);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		int tfd;

		snprintf(path, sizeof(path), "%s/trace", trace);
		tfd = open(path, O_WRONLY | O_TRUNC);
		if (tfd >= 0)
			close(tfd);
		if (write(fd, "1", 1) == 1) {
			memset(data, 0, BS);
			n = pwritev2(b->fd, &iov, 1, 0, RWF_DSYNC);
			if (write(fd, "0", 1) != 1)
				n = -1;
			f = fopen(path, "r");
			snprintf(buf, sizeof(buf), " %u,%u W", maj, min);
			while (f && fgets(line, sizeof(line), f)) {
				char *p = strstr(line, buf);

				if (p && strchr(p + strlen(buf), 'F') &&
				    strchr(p + strlen(buf), 'F') < strchr(p + strlen(buf), ' '))
					seen = 1;
			}
			if (f)
				fclose(f);
			logop("dsync_write %s off 0 len %llu (traced): %s", bname(b), BS,
			      n == BS ? "ok" : "failed");
			if (n == BS) {
				/* It was a write of zeros to block 0: record it. */
				model_write(b, 0, data, BS, 1);
				mark_durable("dsync write");
			}
		}
		close(fd);
	}
	free(data);
	fua_verified = wc && fua && seen;
	printf("# branch device %u:%u: write_cache %s, fua %d; an O_DSYNC O_DIRECT write %s\n",
	       maj, min, wc ? "write back" : "write through", fua,
	       fd < 0 ? "was not traced (no tracefs)" :
	       seen ? "arrives as a write with REQ_FUA (block_bio_queue rwbs WFS)" :
		      "did NOT arrive with REQ_FUA");
}

static int fault_at_op;

static void run_phase(int nr_ops, int with_fault, int offline)
{
	int fault_at = with_fault ? (int)rnd_below(nr_ops) : -1, i;
	enum fault_kind kind = F_ERROR + rnd_below(3);

	fault_at_op = fault_at;
	oplog_len = 0;
	failed = 0;
	memset(cnt_phase_op, 0, sizeof(cnt_phase_op));
	for (i = 0; i < nr_ops; i++) {
		op_seq++;
		if (i == fault_at) {
			fault_kind = kind;
			cnt_faults[kind]++;
			swap_meta(kind);
			fault_on = 1;
			degraded_seen = 0;
			op_seq++;
		}
		one_op(pick_op());
		poll_mode();
		if (fua_verified < 0) {
			struct branch *b = pick(p_io);

			if (b && !b->prot && !fault_on && !pool_susp)
				check_fua(b);
		}
	}
	op_seq++;
	if (fault_on)
		fault_recovery();
	else
		phase_check(offline);
}

int main(int argc, char **argv)
{
	uint64_t seed;
	int phases, p, nfailed = 0, phases_run = 0;
	double t0 = now_s(), tp;

	if (argc != 8) {
		fprintf(stderr, "usage: vela-rand SEED PHASES KTAP_FIRST MDEV META_UNDER META_SECTORS DATA_DEV\n");
		return 2;
	}
	seed = strtoull(argv[1], NULL, 0);
	phases = atoi(argv[2]);
	ktap_no = atoi(argv[3]);
	mdev_name = argv[4];
	meta_under = argv[5];
	meta_sectors = strtoull(argv[6], NULL, 0);
	data_dev = argv[7];
	verbose = getenv("VELA_RAND_VERBOSE") && atoi(getenv("VELA_RAND_VERBOSE"));
	if (getenv("VELA_RAND_FAULT_PCT"))
		fault_pct = atoi(getenv("VELA_RAND_FAULT_PCT"));
	if (getenv("VELA_RAND_SECONDS"))
		max_seconds = atof(getenv("VELA_RAND_SECONDS"));
	snprintf(mdev_path, sizeof(mdev_path), "/dev/mapper/%s", mdev_name);
	setvbuf(stdout, NULL, _IOLBF, 0);

	rng_state = seed * 2654435761ULL + 0x9e3779b97f4a7c15ULL;
	if (!rng_state)
		rng_state = 1;
	dm_ctl = open("/dev/mapper/control", O_RDWR);
	if (dm_ctl < 0)
		fatal("open /dev/mapper/control: %s", strerror(errno));
	dm_buf = xalign(DM_BUF);
	{
		int fd = open(data_dev, O_RDONLY);
		uint64_t bytes;

		if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes))
			fatal("cannot size %s", data_dev);
		close(fd);
		data_sectors = bytes / 512;
	}
	snprintf(pool_params, sizeof(pool_params), "%s %s %d", mdev_path, data_dev, BS_SECTORS);
	printf("# seed %" PRIu64 ", %d phases (replay: VELA_RAND_SEED=%" PRIu64 " VELA_RAND_PHASES=%d)\n",
	       seed, phases, seed, phases);
	pool_create();

	for (p = 1; p <= phases; p++) {
		int nr_ops, with_fault, offline;
		char head[64];

		if (now_s() - t0 > max_seconds) {
			printf("# time budget: %.0f s passed after %d phases (VELA_RAND_SECONDS=%.0f); the other %d are skipped\n",
			       now_s() - t0, p - 1, max_seconds, phases - p + 1);
			for (; p <= phases; p++)
				printf("ok %d phase %d # SKIP time budget\n", ktap_no++, p);
			break;
		}
		/*
		 * Each phase draws from its own stream: outcomes that vary from
		 * run to run (a commit let through by dm-flakey) change what the
		 * rest of a phase does, not how later phases begin.
		 */
		rng_state = (seed + 1) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)p * 0xbf58476d1ce4e5b9ULL;
		if (!rng_state)
			rng_state = 1;
		nr_ops = 25 + rnd_below(36);
		with_fault = rnd_below(100) < fault_pct;
		offline = !with_fault && !rnd_below(3);
		phase_no = p;
		phases_run = p;
		tp = now_s();
		run_phase(nr_ops, with_fault, offline);
		snprintf(head, sizeof(head), "phase %d: ", p);
		print_counts(head, cnt_phase_op);
		if (with_fault)
			printf("# phase %d: metadata fault %s at op %d of %d, pool degraded to %s; %d branches, %.1f s\n",
			       p, fault_names[fault_kind], fault_at_op + 1, nr_ops,
			       final_mode[0] ? final_mode : "?", nr_live(), now_s() - tp);
		else
			printf("# phase %d: no fault%s; %d branches, %.1f s\n", p,
			       offline ? ", offline check" : "", nr_live(), now_s() - tp);
		if (failed) {
			printf("# phase %d failed; its operations (seed %" PRIu64 "; the durable point was op %" PRIu64 "):\n",
			       p, seed, durable_op);
			fwrite(oplog, 1, oplog_len, stdout);
			printf("not ok %d phase %d (seed %" PRIu64 ")\n", ktap_no++, p, seed);
			nfailed++;
			break;
		}
		printf("ok %d phase %d%s\n", ktap_no++, p, with_fault ? " with a metadata fault" :
		       offline ? " (offline check)" : "");
		final_mode[0] = 0;
	}
	for (p++; p <= phases; p++)
		printf("ok %d phase %d # SKIP after the failure\n", ktap_no++, p);

	/* Tear down: every device, whatever state the failure left. */
	failed = 0;
	if (fault_on)
		swap_meta(F_NONE);
	branch_down_all();

	printf("# summary: seed %" PRIu64 ", %d phases run of %d, %.0f s\n", seed, phases_run, phases,
	       now_s() - t0);
	print_counts("summary: ", cnt_op);
	printf("# summary: fault switches %" PRIu64 " (error %" PRIu64 ", flakey error_writes %" PRIu64 ", flakey all I/O %" PRIu64 "; %" PRIu64 " escalated to error), degraded to ro %" PRIu64 ", to fail %" PRIu64 "\n",
	       cnt_faults[1] + cnt_faults[2] + cnt_faults[3], cnt_faults[1], cnt_faults[2],
	       cnt_faults[3], cnt_escalated, cnt_mode_ro, cnt_mode_fail);
	printf("# summary: checks: %" PRIu64 " branch compares (%" PRIu64 " blocks, %" PRIu64 " held an older state after a fault), %" PRIu64 " branch table checks, %" PRIu64 " held-view checks, %" PRIu64 " offline checks, %" PRIu64 " post-fault checks, %" PRIu64 " durable points, %" PRIu64 " uncertain messages landed, %" PRIu64 " reads failed under read faults; FUA %s\n",
	       cnt_compares, cnt_blocks_compared, cnt_old_blocks, cnt_table_checks,
	       cnt_held_checks, cnt_offline_checks, cnt_post_fault_checks, cnt_durable,
	       cnt_reconciled, cnt_read_errors,
	       fua_verified > 0 ? "verified" : fua_verified == 0 ? "NOT verified" : "not tried");
	return nfailed ? 1 : 0;
}
