// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vela: the pool's admin messages (dmsetup message <pool> 0 ...).
 *
 * Contract:
 * - A message that changes the pool is "<verb> <change id> <arguments>".
 *   The change id must equal the pool's (the status line's second field),
 *   or the message fails with -ESTALE and changes nothing.
 * - One message runs at a time (admin_lock), with share_lock held
 *   exclusively, so the data path changes no metadata meanwhile.
 * - A message that succeeds is committed before it returns; one that fails
 *   is aborted and leaves the pool as it was.
 * - list_branches and find_branch only read: no change id, any mode.
 * - Adding a verb is a msg_*() handler, a line in pool_messages[] and its
 *   entry in docs/dm-vela.rst.
 *
 * Messages and the data path
 * --------------------------
 * A message first commits what the data path did, so its abort, should
 * it fail, never drops an acknowledged write.
 *
 * A message that changes what a branch's devices may do (taking a branch
 * from it, protecting it, limiting it, merging it) goes through
 * update_devices(): their exclusive bits are cleared and the I/O epoch is
 * drained, so no fast-path write that judged a block exclusive lands in it
 * once it is shared.  From then on every write to the branch takes the slow
 * path, which sees the change; if the message fails, the slow path sets the
 * bits again as it goes.
 *
 * Messages and activation
 * -----------------------
 * A branch table checks its record and joins the pool's device list under
 * admin_lock (branch_ctr()), so no message falls in between: a delete sees
 * the device and refuses, a protect or a limit reaches it.  A merge needs
 * the parent's devices suspended or absent, and a resume waits for
 * admin_lock, so none comes back while the merge runs.
 */

#include <linux/ctype.h>
#include <linux/delay.h>
#include <linux/sched/mm.h>

#include "vela-target.h"

static int parse_id(const char *arg, u64 *v)
{
	return kstrtou64(arg, 10, v) ? -EINVAL : 0;
}

/* What an admin change does to the active devices of one branch. */
struct device_update {
	bool set_read_only;	/* apply @read_only */
	bool read_only;
	bool shared;		/* a branch was taken: it owns nothing alone */
	bool set_limit;		/* apply @limit */
	u64 limit;
};

/*
 * With share_lock held exclusively: apply @u to every device of branch
 * @id, clear their exclusive bits, and wait for the fast-path writes
 * already past their bit test.  From here on every write to @id goes
 * through the slow path, which sees the branch's new sharing, protection
 * and limit.  (If the message then fails, the bits come back as the slow
 * path sets them again.)
 */
static void update_devices(struct vela_pool *pool, u64 id, const struct device_update *u)
{
	struct branch_c *bc;

	lockdep_assert_held_write(&pool->share_lock);
	mutex_lock(&pool->devs_lock);
	list_for_each_entry(bc, &pool->branch_devs, list) {
		if (bc->id != id)
			continue;
		if (u->set_read_only)
			WRITE_ONCE(bc->read_only, u->read_only);
		if (u->shared)
			atomic64_set(&bc->owned, 0);
		if (u->set_limit)
			WRITE_ONCE(bc->limit, u->limit);
		vela_excl_clear_all(bc);
	}
	mutex_unlock(&pool->devs_lock);
	vela_pool_drain_io(pool);
}

static bool branch_is_active(struct vela_pool *pool, u64 id)
{
	struct branch_c *bc;
	bool active = false;

	mutex_lock(&pool->devs_lock);
	list_for_each_entry(bc, &pool->branch_devs, list)
		active |= bc->id == id;
	mutex_unlock(&pool->devs_lock);
	return active;
}

/*
 * The options the create messages take after their arguments, in any
 * order: "no_autoactivate" (velactl activates the branch only by name) and
 * "limit=<data blocks>" (as set_limit), so a branch never exists without
 * them.
 */
struct create_options {
	u32 flags;
	u64 limit;
};

static int parse_create_options(unsigned int argc, char **argv, struct create_options *o,
				const char **why)
{
	unsigned int i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "no_autoactivate")) {
			o->flags |= VELA_BRANCH_NO_AUTOACTIVATE;
		} else if (!strncmp(argv[i], "limit=", 6)) {
			if (parse_id(argv[i] + 6, &o->limit)) {
				*why = "limit= takes a number of data blocks";
				return -EINVAL;
			}
		} else {
			*why = "unknown option (want no_autoactivate or limit=<data blocks>)";
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * After a create message made branch @id (if @r is 0): its limit, in the
 * same transaction as its creation, and the reply, its id.
 */
static int finish_create(struct vela_pool *pool, int r, u64 id, const struct create_options *o,
			 char *reply, size_t len)
{
	if (!r && o->limit)
		r = vela_md_set_new_branch_limit(pool->md, id, o->limit);
	if (!r)
		snprintf(reply, len, "%llu", id);
	return r;
}

/* create_volume <change id> <name> <size in sectors> [options]: replies the new id. */
static int msg_create_volume(struct vela_pool *pool, unsigned int argc, char **argv,
			     char *reply, size_t len, const char **why)
{
	struct create_options o;
	u64 size, id = 0;
	int r;

	if (parse_id(argv[3], &size) || !size) {
		*why = "the size must be a positive number of sectors";
		return -EINVAL;
	}
	r = parse_create_options(argc - 4, argv + 4, &o, why);
	if (r)
		return r;
	r = vela_md_create_volume(pool->md, argv[2], size, o.flags, ktime_get_real_seconds(),
				  &id);
	return finish_create(pool, r, id, &o, reply, len);
}

/*
 * create_origin_volume <change id> <name> <origin dev> <origin id> [options]: a volume
 * as large as the read-only origin device, reading its unmapped blocks
 * from it; the origin's size and fingerprint are recorded, with <origin id>
 * (1..63 printable characters) as its identity.  Replies the new id.
 */
static int msg_create_origin_volume(struct vela_pool *pool, unsigned int argc, char **argv,
				    char *reply, size_t len, const char **why)
{
	struct vela_md_origin origin = { .sample_count = VELA_ORIGIN_SAMPLES };
	size_t id_len = strlen(argv[4]), i;
	struct create_options o;
	u64 id = 0;
	int r;

	for (i = 0; i < id_len; i++)
		if (!isgraph(argv[4][i]))
			break;
	if (!id_len || id_len >= sizeof(origin.id) || i < id_len) {
		*why = "the origin id must be 1 to 63 printable characters";
		return -EINVAL;
	}
	memcpy(origin.id, argv[4], id_len);
	r = parse_create_options(argc - 5, argv + 5, &o, why);
	if (r)
		return r;
	origin.flags = o.flags;
	r = vela_origin_sample_path(argv[3], &origin);
	if (r) {
		*why = "cannot read the origin device (it must be at least 4 KiB)";
		return r == -ENOENT || r == -ENXIO || r == -ENOTBLK ? -ENOENT : r;
	}
	r = vela_md_create_origin_volume(pool->md, argv[2], &origin, ktime_get_real_seconds(),
					 &id);
	return finish_create(pool, r, id, &o, reply, len);
}

/* create_branch <change id> <parent id> <name> [options]: replies the new id. */
static int msg_create_branch(struct vela_pool *pool, unsigned int argc, char **argv,
			     char *reply, size_t len, const char **why)
{
	struct create_options o;
	u64 parent, id = 0;
	int r;

	if (parse_id(argv[2], &parent)) {
		*why = "the parent id is not a number";
		return -EINVAL;
	}
	r = parse_create_options(argc - 4, argv + 4, &o, why);
	if (r)
		return r;
	update_devices(pool, parent, &(struct device_update){ .shared = true });
	r = vela_md_create_branch(pool->md, parent, argv[3], o.flags, ktime_get_real_seconds(),
				  &id);
	return finish_create(pool, r, id, &o, reply, len);
}

/* delete <change id> <id> */
static int msg_delete(struct vela_pool *pool, unsigned int argc, char **argv,
		      char *reply, size_t len, const char **why)
{
	u64 id;
	int r;

	if (parse_id(argv[2], &id)) {
		*why = "the branch id is not a number";
		return -EINVAL;
	}
	if (branch_is_active(pool, id)) {
		*why = "the branch is active: remove its device first";
		return -EBUSY;
	}
	r = vela_md_delete_branch(pool->md, id);
	if (r == -EPERM)
		*why = "the branch is protected: set_writable first";
	return r == -ENOTEMPTY ? -EBUSY : r;
}

/* rename <change id> <id> <new name> */
static int msg_rename(struct vela_pool *pool, unsigned int argc, char **argv,
		      char *reply, size_t len, const char **why)
{
	u64 id;

	if (parse_id(argv[2], &id)) {
		*why = "the branch id is not a number";
		return -EINVAL;
	}
	return vela_md_rename_branch(pool->md, id, argv[3]);
}

/* set_read_only <change id> <id>, set_writable <change id> <id> */
static int set_read_only(struct vela_pool *pool, char **argv, bool read_only,
			 const char **why)
{
	u64 id;
	int r;

	if (parse_id(argv[2], &id)) {
		*why = "the branch id is not a number";
		return -EINVAL;
	}
	r = vela_md_set_branch_flags(pool->md, id, read_only ? VELA_BRANCH_READ_ONLY : 0,
				     read_only ? 0 : VELA_BRANCH_READ_ONLY);
	if (!r)
		update_devices(pool, id, &(struct device_update){ .set_read_only = true,
							  .read_only = read_only });
	return r;
}

static int msg_set_read_only(struct vela_pool *pool, unsigned int argc, char **argv,
			     char *reply, size_t len, const char **why)
{
	return set_read_only(pool, argv, true, why);
}

static int msg_set_writable(struct vela_pool *pool, unsigned int argc, char **argv,
			    char *reply, size_t len, const char **why)
{
	return set_read_only(pool, argv, false, why);
}

/* resize <change id> <id> <size in sectors>: growth only */
static int msg_resize(struct vela_pool *pool, unsigned int argc, char **argv,
		      char *reply, size_t len, const char **why)
{
	u64 id, size;
	int r;

	if (parse_id(argv[2], &id) || parse_id(argv[3], &size)) {
		*why = "the branch id and the size must be numbers";
		return -EINVAL;
	}
	r = vela_md_resize_branch(pool->md, id, size);
	if (r == -EINVAL)
		*why = "shrinking a branch is not supported";
	return r;
}

/* set_limit <change id> <id> <data blocks>: 0 removes the limit */
static int msg_set_limit(struct vela_pool *pool, unsigned int argc, char **argv,
			 char *reply, size_t len, const char **why)
{
	u64 id, limit;
	int r;

	if (parse_id(argv[2], &id) || parse_id(argv[3], &limit)) {
		*why = "the branch id and the limit must be numbers";
		return -EINVAL;
	}
	r = vela_md_set_branch_limit(pool->md, id, limit);
	if (!r)
		update_devices(pool, id, &(struct device_update){ .set_limit = true,
							  .limit = limit });
	return r;
}

/*
 * merge <change id> <child id> three_way|child_wins|replace [dry_run]:
 * the child's changes since its branch point into its parent, in the
 * metadata only (vela_md_merge()).  The parent's device must be suspended
 * or absent: the kernel cannot see whether it is open or mounted, and a
 * filesystem must not see its blocks change under it.  The child's writes
 * are drained first.  Replies "<taken> <conflicts> <fast forward 0|1>".
 */
static int msg_merge(struct vela_pool *pool, unsigned int argc, char **argv,
		     char *reply, size_t len, const char **why)
{
	static const char *const strategies[] = {
		[VELA_MERGE_THREE_WAY] = "three_way",
		[VELA_MERGE_CHILD_WINS] = "child_wins",
		[VELA_MERGE_REPLACE] = "replace",
	};
	struct vela_merge_result res;
	struct vela_branch_info rec;
	struct branch_c *bc;
	bool dry_run = false, parent_live = false;
	u64 child, parent;
	int strategy, r;

	if (parse_id(argv[2], &child)) {
		*why = "the branch id is not a number";
		return -EINVAL;
	}
	for (strategy = ARRAY_SIZE(strategies) - 1; strategy >= 0; strategy--)
		if (!strcmp(argv[3], strategies[strategy]))
			break;
	if (strategy < 0 || (argc == 5 && strcmp(argv[4], "dry_run"))) {
		*why = "want a strategy (three_way, child_wins or replace) and optionally dry_run";
		return -EINVAL;
	}
	dry_run = argc == 5;
	r = vela_md_get_branch(pool->md, child, &rec);
	if (r)
		return r;
	parent = rec.parent_id;
	if (parent == VELA_NO_PARENT) {
		*why = "a volume has no parent to merge into";
		return -EINVAL;
	}
	r = vela_md_get_branch(pool->md, parent, &rec);
	if (r)
		return r;
	if (rec.flags & VELA_BRANCH_READ_ONLY && !dry_run) {
		*why = "the parent is protected (set_read_only): make it writable first";
		return -EPERM;
	}
	/* Held: a resume waits for admin_lock (branch_preresume()). */
	lockdep_assert_held(&pool->admin_lock);
	mutex_lock(&pool->devs_lock);
	list_for_each_entry(bc, &pool->branch_devs, list)
		parent_live |= bc->id == parent && bc->live;
	mutex_unlock(&pool->devs_lock);
	if (parent_live && !dry_run) {
		*why = "the parent's device is live: suspend or remove it first";
		return -EBUSY;
	}
	if (!dry_run) {
		/* Both sides share blocks afterwards: no exclusive fast path. */
		update_devices(pool, child, &(struct device_update){ .shared = true });
		update_devices(pool, parent, &(struct device_update){ .shared = true });
	}
	r = vela_md_merge(pool->md, child, strategy, dry_run, NULL, NULL, &res);
	if (r == -ECANCELED)
		*why = "conflicts: the parent changed blocks the child changed too (use child_wins or replace)";
	if (!r)
		snprintf(reply, len, "%llu %llu %d", res.taken, res.conflicts, res.fast_forward);
	return r;
}

/*
 * reserve_metadata_snap <change id> [<holder>]: replies the held view's root
 * block.  The holder tag is kept with the view and shown in the status line.
 */
static int msg_reserve_metadata_snap(struct vela_pool *pool, unsigned int argc, char **argv,
				     char *reply, size_t len, const char **why)
{
	const char *holder = argc > 2 ? argv[2] : NULL;
	u64 root;
	int r;

	if (holder && !vela_md_valid_holder(holder)) {
		*why = "the holder must be 1 to 31 printable characters";
		return -EINVAL;
	}
	r = vela_md_hold(pool->md, holder, &root);
	if (r == -EBUSY)
		*why = "a metadata view is already held: release it first";
	if (!r)
		snprintf(reply, len, "%llu", root);
	return r;
}

/* release_metadata_snap <change id> */
static int msg_release_metadata_snap(struct vela_pool *pool, unsigned int argc, char **argv,
				     char *reply, size_t len, const char **why)
{
	int r = vela_md_release_hold(pool->md);

	if (r == -ENOENT)
		*why = "no metadata view is held";
	/*
	 * Blocks only the view kept are free from this commit: no read still
	 * in flight may meet their next owner (as for discards).
	 */
	if (!r)
		vela_pool_drain_io(pool);
	return r;
}

struct pool_message {
	const char *verb;
	unsigned int argc;	/* the verb included */
	bool replies;
	unsigned int optional;	/* trailing options it accepts */
	/* On success, a replying handler writes its reply into @reply. */
	int (*handle)(struct vela_pool *pool, unsigned int argc, char **argv, char *reply,
		      size_t len, const char **why);
};

static const struct pool_message pool_messages[] = {
	{ "create_volume", 4, true, 2, msg_create_volume },
	{ "create_branch", 4, true, 2, msg_create_branch },
	{ "create_origin_volume", 5, true, 2, msg_create_origin_volume },
	{ "delete", 3, false, 0, msg_delete },
	{ "rename", 4, false, 0, msg_rename },
	{ "set_read_only", 3, false, 0, msg_set_read_only },
	{ "set_writable", 3, false, 0, msg_set_writable },
	{ "resize", 4, false, 0, msg_resize },
	{ "set_limit", 4, false, 0, msg_set_limit },
	{ "reserve_metadata_snap", 2, true, 1, msg_reserve_metadata_snap },
	{ "release_metadata_snap", 2, false, 0, msg_release_metadata_snap },
	{ "merge", 4, true, 1, msg_merge },
};

static const char *errno_reason(int r)
{
	switch (r) {
	case -EEXIST:
		return "a branch with this name exists";
	case -ENOENT:
		return "no such branch";
	case -EBUSY:
		return "the branch has children";
	case -EINVAL:
		return "invalid name: 1 to 127 of A-Z a-z 0-9 . _ + - (not starting with -)";
	case -ENOSPC:
		return "the metadata device is full";
	default:
		return "metadata error";
	}
}

/*
 * list_branches <from id> [<rows>] [no_usage]: the branch table, read-only, in
 * pages that always fit the reply buffer (libdevmapper re-issues a message whose reply
 * overflowed).  The first line is "<change id> <next id>|-": ask again from
 * <next id> while it is not "-", and start over if the change id moved.
 * Then one line per branch, id order:
 *
 *   <id> <parent id>|- <depth> <size sectors> <ctime> <flags> <mapped blocks>
 *   <exclusive blocks> <shared blocks> <limit blocks> <uuid> <name> <origin id>|-
 *   <usage generation>
 *
 * The exclusive and shared counts are as of the last commit, which the
 * usage generation names (vela_md_committed_usage()); the rest is current.
 *
 * At most <rows> rows when given.  With no_usage, the three usage fields
 * are "-" and no usage walk runs (a branch whose tree is all its own has
 * one as large as the tree).  It changes nothing, so it works in every
 * pool mode and takes no change id.
 */
#define LIST_HEADER_BYTES	48
#define LIST_ROW_BYTES		512	/* the longest row is under 450 */

static int msg_list_branches(struct vela_pool *pool, const char *dev, unsigned int argc,
			     char **argv, char *result, unsigned int maxlen)
{
	struct vela_branch_info rec;
	u64 from, id, parent, rows = U64_MAX;
	struct vela_md_usage usage = { 0 };
	struct vela_md_info info;
	unsigned int sz = LIST_HEADER_BYTES, len, noio;
	char header[LIST_HEADER_BYTES], parent_id[24], excl[24], shared[24], gen[24];
	bool with_usage = true;
	char *row;
	int r;

	/* no_usage: the rows without the usage walk, for callers that print none. */
	if (argc >= 3 && !strcmp(argv[argc - 1], "no_usage")) {
		with_usage = false;
		argc--;
	}
	if (argc < 2 || argc > 3 || parse_id(argv[1], &from) ||
	    (argc == 3 && (parse_id(argv[2], &rows) || !rows))) {
		DMERR("%s: message list_branches takes the id to list from, a number of rows and no_usage",
		      dev);
		return -EINVAL;
	}
	if (maxlen < LIST_HEADER_BYTES + 2 * LIST_ROW_BYTES) {
		DMERR("%s: message list_branches: the reply buffer is too small", dev);
		return -ENOBUFS;
	}
	row = kmalloc(LIST_ROW_BYTES, GFP_KERNEL);
	if (!row)
		return -ENOMEM;

	mutex_lock(&pool->admin_lock);
	noio = memalloc_noio_save();
	vela_md_info(pool->md, &info);
	for (; rows; rows--) {
		r = vela_md_next_branch(pool->md, from, &id, &rec);
		if (r)
			break;
		strscpy(excl, "-", sizeof(excl));
		strscpy(shared, "-", sizeof(shared));
		strscpy(gen, "-", sizeof(gen));
		if (with_usage) {
			r = vela_md_committed_usage(pool->md, id, &usage);
			if (r)
				break;
			snprintf(excl, sizeof(excl), "%llu", usage.exclusive);
			snprintf(shared, sizeof(shared), "%llu", usage.shared);
			snprintf(gen, sizeof(gen), "%llu", usage.generation);
		}
		parent = rec.parent_id;
		if (parent == VELA_NO_PARENT)
			strscpy(parent_id, "-", sizeof(parent_id));
		else
			snprintf(parent_id, sizeof(parent_id), "%llu", parent);
		len = scnprintf(row, LIST_ROW_BYTES,
				"%llu %s %u %llu %llu %u %llu %s %s %llu %16phN %s %s %s\n",
				id, parent_id, rec.depth, rec.size_sectors, rec.ctime, rec.flags,
				rec.mapped_blocks, excl, shared, rec.alloc_limit_blocks, rec.uuid,
				rec.name, rec.origin_id[0] ? rec.origin_id : "-", gen);
		if (sz + len >= maxlen)
			break;
		memcpy(result + sz, row, len);
		sz += len;
		from = id + 1;
	}
	memalloc_noio_restore(noio);
	mutex_unlock(&pool->admin_lock);
	kfree(row);

	/* Want of memory fails this listing only; a bad block stops the pool. */
	if (r == -ENOMEM) {
		DMERR("%s: message list_branches: out of memory", dev);
		return r;
	}
	if (r && r != -ENODATA) {
		DMERR("%s: message list_branches: reading the branch table failed (%d)", dev, r);
		vela_metadata_error(pool, "read", r);
		return r;
	}
	if (r == -ENODATA || (!r && !rows && vela_md_next_branch(pool->md, from, &id, &rec)))
		len = scnprintf(header, sizeof(header), "%llu -\n", info.change_id);
	else
		len = scnprintf(header, sizeof(header), "%llu %llu\n", info.change_id, from);
	/* Close the gap between the header and the rows. */
	memcpy(result, header, len);
	memmove(result + len, result + LIST_HEADER_BYTES, sz - LIST_HEADER_BYTES);
	result[len + sz - LIST_HEADER_BYTES] = '\0';
	return 1;
}

/* find_branch <name>: replies the branch's id; read-only, like list_branches. */
static int msg_find_branch(struct vela_pool *pool, const char *dev, unsigned int argc,
			   char **argv, char *result, unsigned int maxlen)
{
	u64 id;
	int r;

	if (argc != 2) {
		DMERR("%s: message find_branch takes one argument, a name", dev);
		return -EINVAL;
	}
	r = vela_md_find_branch(pool->md, argv[1], &id);
	if (r == -ENOENT)
		return r;	/* an answer, not an error worth a log line */
	if (r) {
		DMERR("%s: message find_branch: reading the name index failed (%d)", dev, r);
		vela_metadata_error(pool, "read", r);
		return r;
	}
	snprintf(result, maxlen, "%llu", id);
	return 1;
}

/*
 * Commit an admin message's change.  A commit short of memory wrote
 * nothing and keeps the transaction whole, so it is tried again for up to
 * a second; the change cannot simply be aborted, since some messages have
 * changed live devices already (update_devices()).  Any other failure may
 * have reached the disk with the superblock: only degrade's needs_check
 * commit, which writes it again, makes the next transaction safe.
 */
static int commit_message(struct vela_pool *pool, const char **why)
{
	unsigned int tries;
	int r;

	for (tries = 0; tries < 10; tries++) {
		r = vela_md_commit(pool->md);
		if (r != -ENOMEM)
			break;
		msleep(100);
	}
	if (r) {
		*why = "the metadata commit failed";
		vela_metadata_error(pool, "commit", r);
	}
	return r;
}

/*
 * Admin messages, each "<verb> <change id> <arguments>".  The change id must
 * equal the pool's (the second field of the status line), or the message
 * fails with -ESTALE and changes nothing.  A message that succeeds is
 * committed before it returns; one that fails leaves the pool as it was.
 * A reply is one short line (a new id, the held view's root, or merge's
 * three numbers), so it never overflows the ioctl buffer and the message
 * is never re-issued by libdevmapper.  list_branches and find_branch, which
 * only read, are answered apart: list_branches pages its multi-line reply
 * to fit the buffer (msg_list_branches()).
 */
int vela_pool_message(struct dm_target *ti, unsigned int argc, char **argv, char *result,
		      unsigned int maxlen)
{
	const char *dev = dm_device_name(dm_table_get_md(ti->table));
	struct vela_pool *pool = ((struct pool_c *)ti->private)->pool;
	const struct pool_message *m = NULL;
	const char *why = NULL;
	struct vela_md_info info;
	u64 change_id;
	char reply[64];		/* merge's is the longest: 43 bytes */
	unsigned int i, noio;
	int r;

	if (argc && !strcasecmp(argv[0], "list_branches"))
		return msg_list_branches(pool, dev, argc, argv, result, maxlen);
	if (argc && !strcasecmp(argv[0], "find_branch"))
		return msg_find_branch(pool, dev, argc, argv, result, maxlen);
	for (i = 0; argc && i < ARRAY_SIZE(pool_messages); i++)
		if (!strcasecmp(argv[0], pool_messages[i].verb))
			m = &pool_messages[i];
	if (!m) {
		DMERR("%s: unknown message '%s'", dev, argc ? argv[0] : "");
		return -EINVAL;
	}
	if (argc < m->argc || argc > m->argc + m->optional) {
		DMERR("%s: message %s takes %u arguments%s", dev, m->verb, m->argc - 1,
		      m->optional ? " and options" : "");
		return -EINVAL;
	}
	if (parse_id(argv[1], &change_id)) {
		DMERR("%s: message %s: the change id is not a number", dev, m->verb);
		return -EINVAL;
	}
	mutex_lock(&pool->admin_lock);
	noio = memalloc_noio_save();
	down_write(&pool->share_lock);
	reply[0] = '\0';
	vela_md_info(pool->md, &info);
	if (pool_mode(pool) >= POOL_READ_ONLY) {
		r = -EROFS;
		why = "the pool is read-only";
	} else if (pool_mode(pool) == POOL_OUT_OF_METADATA_SPACE && m->handle != msg_delete &&
		   m->handle != msg_release_metadata_snap) {
		r = -ENOSPC;
		why = "metadata space is down to its reserve: only delete is allowed (or grow the metadata device)";
	} else if (change_id != info.change_id) {
		r = -ESTALE;
		why = "stale change id: read the pool status and retry";
	} else {
		/* What the data path did is durable before anything can abort. */
		r = vela_pool_commit_locked(pool, false);
		if (r == -ENOMEM) {
			why = "no memory to commit the pool's pending changes: try again";
		} else if (r) {
			r = -EIO;
			why = "committing the pool's pending changes failed";
		} else {
			r = m->handle(pool, argc, argv, reply, sizeof(reply), &why);
			if (!r)
				r = commit_message(pool, &why);
			if (r)
				vela_md_abort(pool->md);
		}
	}
	up_write(&pool->share_lock);
	memalloc_noio_restore(noio);
	mutex_unlock(&pool->admin_lock);

	if (r) {
		DMERR("%s: message %s: %s (%d)", dev, m->verb, why ? why : errno_reason(r), r);
		return r;
	}
	/* A delete left work for the background reclaim. */
	queue_work(pool->commit_wq, &pool->reclaim_work);
	if (!m->replies)
		return 0;
	snprintf(result, maxlen, "%s", reply);
	return 1;
}
