// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl: administer dm-vela pools and branches.
 *
 * Exit codes (docs/velactl.8): 0 success, 1 failure, 2 usage error, and
 * the EXIT_* codes in velactl.h that scripts test for.
 */

#include <blkid.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "velactl.h"

struct command {
	const char *name;
	const char *alias;
	const char *synopsis;
	const char *help;
	int (*run)(int argc, char **argv);
};

static const struct command *find_command(const char *name);



/* velactl version: this tool's version and the kernel targets' versions. */
static int cmd_version(int argc, char **argv)
{
	struct loaded_target t[VELA_NR_TARGETS];
	int i, n;

	(void)argv;
	if (argc > 1) {
		usage_error("version takes no arguments");
		return EXIT_USAGE;
	}
	printf("velactl %s\n", VELA_PACKAGE_VERSION);

	n = loaded_targets(t, ARRAY_SIZE(t));
	if (n < 0) {
		fprintf(stderr,
			"velactl: cannot query device-mapper: is dm-mod loaded and are you root?\n");
		return EXIT_FAILURE;
	}
	for (i = 0; i < n; i++)
		printf("kernel target %s %u.%u.%u\n", t[i].name, t[i].version[0],
		       t[i].version[1], t[i].version[2]);
	if (!n) {
		fprintf(stderr,
			"velactl: the dm-vela kernel module is not loaded: run 'modprobe dm-vela'\n");
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}


/*
 * velactl probe DEVICE: report any signature libblkid finds.  Exit 0 when
 * the device carries none, 1 when it does or cannot be read, so a script can
 * use it as "is this device free to format?".
 */
static int cmd_probe(int argc, char **argv)
{
	blkid_probe pr;
	int r;

	if (argc != 2 || argv[1][0] == '-') {
		usage_error("probe takes exactly one DEVICE, and no options");
		return EXIT_USAGE;
	}
	pr = new_probe(argv[1]);
	if (!pr) {
		fprintf(stderr, "velactl: cannot open %s: %s\n", argv[1],
			strerror(errno ? errno : EIO));
		return EXIT_FAILURE;
	}
	r = blkid_do_safeprobe(pr);
	switch (r) {
	case 0:
		printf("%s: signature found:", argv[1]);
		print_probe_value(pr, "TYPE");
		print_probe_value(pr, "PTTYPE");
		print_probe_value(pr, "UUID");
		print_probe_value(pr, "LABEL");
		putchar('\n');
		r = EXIT_FAILURE;
		break;
	case 1:
		printf("%s: no signature found\n", argv[1]);
		r = EXIT_SUCCESS;
		break;
	case -2:
		printf("%s: several conflicting signatures found\n", argv[1]);
		r = EXIT_FAILURE;
		break;
	default:
		fprintf(stderr, "velactl: cannot probe %s: %s\n", argv[1],
			strerror(errno ? errno : EIO));
		r = EXIT_FAILURE;
		break;
	}
	blkid_free_probe(pr);
	return r;
}

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "help", NULL, "help [COMMAND]", "Show the commands, or one command's usage.",
	  cmd_help },
	{ "version", NULL, "version",
	  "Show velactl's version and the loaded kernel targets' versions.",
	  cmd_version },
	{ "init", NULL, "init POOL --metadata DEV --data DEV [--block-size SIZE] [--force]",
	  "Make a pool on two devices and activate it.  Both devices are probed with\n"
	  "libblkid first: a device with any signature (filesystem, LVM PV, partition\n"
	  "table, RAID member, or an existing dm-vela pool) is refused unless --force\n"
	  "is given, and a device that is mounted or open is always refused, as are\n"
	  "two devices that share a byte (one device by two names, a partition and its\n"
	  "disk, dm ranges on one disk, two paths to one LUN): nothing is written\n"
	  "until every check passed.\n"
	  "SIZE is the data block size: a power of two from 4k to 1m (default 64k).",
	  cmd_init },
	{ "create", NULL,
	  "create POOL/VOLUME (--size SIZE | --origin DEV) [--limit SIZE] [--no-autoactivate] [--json]",
	  "Create a volume and activate it; print its device path.  --size makes an\n"
	  "empty (thin) volume.  --origin makes a volume over a read-only external\n"
	  "origin: DEV is read, never written, and never copied; it must not change\n"
	  "while the volume or any branch of it exists (its size and sample blocks\n"
	  "are verified at every activation).  --limit caps the data the volume may\n"
	  "own alone.  --no-autoactivate: 'velactl activate POOL' and boot skip it.",
	  cmd_create },
	{ "create-branch", "branch",
	  "create-branch POOL/PARENT NAME [--limit SIZE] [--no-autoactivate] [--new-fs-uuid] [--json]",
	  "Create a writable copy-on-write branch of a volume or of any branch, in\n"
	  "constant time, and activate it; print its device path.  The parent may be\n"
	  "in use: the branch holds every write to it completed before the command.\n"
	  "--new-fs-uuid gives the branch's filesystem a UUID of its own (ext4:\n"
	  "e2fsck -p then tune2fs -U random; XFS: xfs_admin -U generate), so it can\n"
	  "be mounted beside its parent; if that fails, the branch is not created.",
	  cmd_create_branch },
	{ "list", "ls",
	  "list [POOL | POOL/NAME] [--tree] [-o [+]FIELD,...] [-O [-]FIELD,...] [-S SELECTION] [--json] [-H] [--noheadings] [--separator STRING] [--nameprefixes] [--units UNIT] [--bytes]",
	  "List the volumes and branches of every active pool (pools by name), of\n"
	  "POOL, or the one branch POOL/NAME (with --tree, its subtree).\n"
	  "Fields: pool name id parent depth size path active mapped exclusive shared\n"
	  "usage_gen limit ctime open fstype origin protected autoactivate.\n"
	  "Default: pool,name,parent,size,exclusive,shared,open,path; -o +FIELD adds\n"
	  "to it; -o help describes each field.  mapped is current; exclusive and\n"
	  "shared are exact as of the pool's last commit (generation usage_gen; the\n"
	  "pool commits every second): exclusive is what deleting the branch frees.\n"
	  "-O sorts (-FIELD: descending); -S selects rows as lvs does, for example\n"
	  "-S 'exclusive>1g && name=~ci-' (a size without a unit is in MiB; -S help\n"
	  "lists the operators).  --tree shows lineage.  -H prints no header and\n"
	  "separates fields with tabs; --noheadings, --separator, --nameprefixes\n"
	  "(VELA_FIELD='value') and --units (h b s k m g t p e r; upper case: powers\n"
	  "of 1000) are lvs's; --bytes prints exact byte counts.  --json is always\n"
	  "exact, and -S and -O apply to it too.",
	  cmd_list },
	{ "delete", "remove",
	  "delete POOL/NAME [--recursive [--yes]]",
	  "Delete a volume or branch and its device.  Refused while its device is\n"
	  "open, while it is protected, or while it has children unless --recursive\n"
	  "(which deletes the whole subtree, children first, and refuses if any of it\n"
	  "is open or protected).  --recursive asks first on a terminal; without one\n"
	  "it needs --yes.",
	  cmd_delete },
	{ "rename", NULL, "rename POOL/NAME NEW-NAME",
	  "Rename a volume or branch and its device.  Refused while the device is open.",
	  cmd_rename },
	{ "resize", NULL, "resize POOL/NAME --size SIZE",
	  "Grow a volume or branch (and its device, online).  Shrinking is refused.",
	  cmd_resize },
	{ "protect", NULL, "protect POOL/NAME",
	  "Make a branch read-only (a golden image): writes to it fail at once, and\n"
	  "it cannot be deleted until unprotected.",
	  cmd_protect },
	{ "unprotect", NULL, "unprotect POOL/NAME",
	  "Make a protected branch writable again.",
	  cmd_unprotect },
	{ "limit", NULL, "limit POOL/NAME SIZE|none",
	  "Cap the data a branch may own alone, so one runaway branch cannot fill the\n"
	  "pool: past it, writes that need new space fail with ENOSPC on that branch\n"
	  "only.  SIZE is rounded up to whole data blocks; none removes the cap.",
	  cmd_limit },
	{ "activate", NULL, "activate POOL | POOL/NAME | --all",
	  "Activate a pool and every branch of it that autoactivates, or one branch\n"
	  "by name (also one created with --no-autoactivate).  --all finds every pool\n"
	  "on the machine by its superblock and rebuilds every device, with its\n"
	  "name, size and lineage, from the pool's metadata alone.",
	  cmd_activate },
	{ "deactivate", NULL, "deactivate POOL | POOL/NAME | --all",
	  "Remove a pool's devices (or one branch's), committing the metadata.\n"
	  "Refused, with nothing removed, while any device of it is open.",
	  cmd_deactivate },
	{ "scan", NULL, "scan [--json]",
	  "List the pools found on this machine's block devices, active or not, by name.",
	  cmd_scan },
	{ "status", NULL, "status POOL [--json]",
	  "Show a pool's mode, data and metadata use, needs_check and transaction id.",
	  cmd_status },
	{ "extend", NULL, "extend POOL [--data] [--metadata]",
	  "Grow the pool online into its data and metadata devices after the devices\n"
	  "themselves grew (lvextend, a larger partition, ...): one reload picks up\n"
	  "both; the flags say which growth to report.",
	  cmd_extend },
	{ "rename-pool", NULL, "rename-pool POOL NEW-NAME",
	  "Rename an inactive pool (its superblock, in one commit).",
	  cmd_rename_pool },
	{ "import-clone", NULL, "import-clone NEW-NAME --metadata DEV --data DEV [--force]",
	  "Give a pool copied block for block (a cloned LUN, a dd image) a new name and\n"
	  "a new UUID, so that it and the original can both be active.  Its devices\n"
	  "must not be in use.  --force accepts a data label of another UUID, to finish\n"
	  "an import-clone of these devices that a crash cut short.",
	  cmd_import_clone },
	{ "remove-pool", NULL, "remove-pool POOL [--force] [--yes]",
	  "Erase an inactive pool's signatures from its metadata and data devices.\n"
	  "Refused while it holds volumes or branches, unless --force (which destroys\n"
	  "them).  Asks first on a terminal; without one it needs --yes.",
	  cmd_remove_pool },
	{ "format", NULL, "format --metadata DEV|FILE --data DEV|FILE [--block-size SIZE] [--name NAME] [--force]",
	  "Format a pool on a metadata and a data device (or image files), from userspace,\n"
	  "without activating it (init formats and activates).\n"
	  "Refuses a device that carries any signature unless --force is given, and\n"
	  "always a device in use, one too small, or two that share a byte: nothing\n"
	  "is written until every check passed.\n"
	  "SIZE is the data block size: 4k to 1m, a power of two (default 64k).",
	  cmd_format },
	{ "check", NULL, "check [-q | --json] [--clear-needs-check | --held] [--force] DEV|FILE|POOL",
	  "Verify the metadata: checksums, tree structure, every reference count\n"
	  "against a full walk, and the branch table.  With --held, check the view\n"
	  "a live pool holds (reserve_metadata_snap): every tree and mapping, not\n"
	  "the counts.  A POOL is found by scanning: an active one is checked through a\n"
	  "view it holds for the duration (as --held), an inactive one directly.\n"
	  "Exit 0 clean, 1 problems found, 2 usage error, 3 the device could not be\n"
	  "opened or read, 6 --clear-needs-check on an active pool.",
	  cmd_check },
	{ "dump", NULL, "dump [--mappings] [--held] DEV|FILE|POOL",
	  "Print the metadata as JSON: the superblock and the branches with their\n"
	  "lineage, and with --mappings every mapping.  With --held, from the view\n"
	  "a live pool holds (reserve_metadata_snap); a POOL name holds one itself\n"
	  "when the pool is active.",
	  cmd_dump },
	{ "diff", NULL, "diff POOL/A [POOL/B] [--json] [--bytes]",
	  "The byte ranges in which two volumes or branches differ, or with one\n"
	  "branch, what it changed since its branch point (its last merge), and\n"
	  "the total.  Computed from the metadata trees, skipping what they share,\n"
	  "so its cost follows the differences; an active pool is read through a\n"
	  "view it holds for the duration.  A block rewritten since it was shared\n"
	  "differs even if it holds the same bytes.",
	  cmd_diff },
	{ "merge", NULL,
	  "merge POOL/CHILD [--into PARENT] [--strategy three-way|child-wins|replace] [--dry-run] [--delete-child] [--force] [--yes] [--json]",
	  "Bring a branch's changes into its parent, in the metadata only: no data\n"
	  "is copied, and a power cut leaves the state before or after it.\n"
	  "three-way (default): the parent takes every block the child changed since\n"
	  "the branch point; if the parent changed any of them too, nothing changes\n"
	  "and the conflicting ranges are listed (exit 8).  child-wins: conflicts take\n"
	  "the child's version.  replace: the parent becomes exactly the child\n"
	  "(rollback, promotion).  If the parent did not change, any strategy is a\n"
	  "fast-forward.  The parent must not be open: its device is suspended for the\n"
	  "merge.  On a filesystem or database only fast-forward and replace run\n"
	  "without --force.  Afterwards the child's branch point is the merge point.\n"
	  "replace asks first on a terminal; without one it needs --yes.",
	  cmd_merge },
	{ "repair", NULL, "repair [--force] SOURCE TARGET",
	  "Rebuild the space maps from a full walk of the trees, writing a new\n"
	  "metadata device or image, never in place.  SOURCE is a metadata device,\n"
	  "an image or an inactive POOL; it is only read, and its space maps are not\n"
	  "read at all.  TARGET is a new image file (created as large as SOURCE) or a\n"
	  "device without a signature (--force overrides).  The result is checked.\n"
	  "Damage in the trees themselves is reported, and nothing is written.",
	  cmd_repair },
	{ "probe", NULL, "probe DEVICE",
	  "Report any signature (filesystem, partition table, RAID, LVM, ...) on DEVICE.\n"
	  "Exit 0 if there is none, 1 if there is one or DEVICE cannot be read.",
	  cmd_probe },
};

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name) ||
		    (commands[i].alias && !strcmp(commands[i].alias, name)))
			return &commands[i];
	return NULL;
}

static int show_command_help(const char *name)
{
	const struct command *cmd = find_command(name);

	printf("usage: velactl %s\n\n%s\n", cmd->synopsis, cmd->help);
	if (cmd->alias)
		printf("Alias: %s\n", cmd->alias);
	return EXIT_SUCCESS;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *cmd;
	size_t i;

	if (argc > 2) {
		usage_error("help takes at most one COMMAND");
		return EXIT_USAGE;
	}
	if (argc == 2) {
		cmd = find_command(argv[1]);
		if (!cmd) {
			usage_error("unknown command '%s'", argv[1]);
			return EXIT_USAGE;
		}
		return show_command_help(cmd->name);
	}
	printf("usage: velactl [-v] [-q] [--wait SECONDS | --nowait] COMMAND [ARGS]\n"
	       "       velactl --version\n\nCommands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		printf("  %s\n", commands[i].synopsis);
	printf("\nSee velactl(8) for details.\n");
	return EXIT_SUCCESS;
}

/* Commands a signal may stop at any point: they only read, and hold nothing. */
static bool changes_nothing(const struct command *cmd)
{
	static const char *const readers[] = { "help", "version", "list", "scan", "probe" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(readers); i++)
		if (!strcmp(cmd->name, readers[i]))
			return true;
	return false;
}

/* --wait SECONDS: a whole number of seconds, at most a day. */
static int set_lock_wait(const char *arg)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = isdigit((unsigned char)arg[0]) ? strtoul(arg, &end, 10) : ULONG_MAX;
	if (v == ULONG_MAX || errno || *end || v > 86400) {
		usage_error("--wait %s: want a whole number of seconds from 0 to 86400", arg);
		return EXIT_USAGE;
	}
	lock_wait_seconds = v;
	return 0;
}

/*
 * --wait SECONDS, --wait=SECONDS and --nowait may also follow the command
 * (before a "--"), as scripts put them: take them out of @argv so that no
 * command's own option table needs them.  Returns the new argc, or -1
 * (printed) on a bad value.
 */
static int take_lock_options(int argc, char **argv)
{
	int i, n = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[n++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--nowait")) {
			lock_wait_seconds = 0;
		} else if (!strncmp(argv[i], "--wait=", 7)) {
			if (set_lock_wait(argv[i] + 7))
				return -1;
		} else if (!strcmp(argv[i], "--wait")) {
			if (i + 1 == argc) {
				usage_error("--wait wants a number of seconds");
				return -1;
			}
			if (set_lock_wait(argv[++i]))
				return -1;
		} else {
			argv[n++] = argv[i];
		}
	}
	argv[n] = NULL;
	return n;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "wait", required_argument, NULL, 'w' },
		{ "nowait", no_argument, NULL, 'W' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command *cmd;
	int opt;

	/* Global options stop at the command name. */
	while ((opt = getopt_long(argc, argv, "+hqvV", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			return cmd_help(1, argv);
		case 'V':
			printf("velactl %s\n", VELA_PACKAGE_VERSION);
			return EXIT_SUCCESS;
		case 'v':
			verbose = true;
			break;
		case 'w':
			if (set_lock_wait(optarg))
				return EXIT_USAGE;
			break;
		case 'W':
			lock_wait_seconds = 0;
			break;
		case 'q':
			progress_quiet = true;
			break;
		default:
			fputs("Try 'velactl help' for the list of commands.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage_error("no command given");
		return EXIT_USAGE;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		usage_error("unknown command '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	argc = optind + take_lock_options(argc - optind, argv + optind);
	if (argc < optind)
		return EXIT_USAGE;
	for (opt = optind + 1; opt < argc && strcmp(argv[opt], "--"); opt++)
		if (!strcmp(argv[opt], "--help") || !strcmp(argv[opt], "-h"))
			return show_command_help(cmd->name);
	dm_log_setup(verbose);
	velactl_command = cmd->name;
	/* Only what changes nothing may die anywhere: the rest finish first. */
	if (!changes_nothing(cmd))
		defer_signals();
	return finish_signals(cmd->run(argc - optind, argv + optind));
}
