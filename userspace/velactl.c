// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl: administer dm-vela pools and branches.
 *
 * Exit codes (docs/velactl.8): 0 success, 1 failure, 2 usage error.
 */

#include <blkid.h>
#include <errno.h>
#include <getopt.h>
#include <libdevmapper.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "velactl.h"

static const char *const vela_target_names[] = { "vela-pool", "vela" };

struct command {
	const char *name;
	const char *synopsis;
	const char *help;
	int (*run)(int argc, char **argv);
};

static const struct command *find_command(const char *name);

void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("velactl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'velactl help' for the list of commands.\n", stderr);
}

/*
 * libdevmapper prints its own diagnostics by default (levels are syslog
 * priorities, with flag bits above them).  Keep them for -v and
 * let each command print one message that names the device, the reason and
 * the next step instead.
 */
static int verbose;

__printf(5, 0)
static void dm_log_quiet(int level, const char *file, int line, int dm_errno,
			 const char *fmt, ...)
{
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno;
	if (!verbose || LOG_PRI(level) > LOG_WARNING)
		return;
	va_start(ap, fmt);
	fputs("libdevmapper: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static bool is_vela_target(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vela_target_names); i++)
		if (!strcmp(name, vela_target_names[i]))
			return true;
	return false;
}

/* velactl version: this tool's version and the kernel targets' versions. */
static int cmd_version(int argc, char **argv)
{
	struct dm_versions *target, *last;
	struct dm_task *dmt;
	int found = 0;

	(void)argv;
	if (argc > 1) {
		usage_error("version takes no arguments");
		return EXIT_USAGE;
	}
	printf("velactl %s\n", VELA_PACKAGE_VERSION);

	dmt = dm_task_create(DM_DEVICE_LIST_VERSIONS);
	if (!dmt || !dm_task_run(dmt)) {
		fprintf(stderr,
			"velactl: cannot query device-mapper: is dm-mod loaded and are you root?\n");
		if (dmt)
			dm_task_destroy(dmt);
		return EXIT_FAILURE;
	}
	target = dm_task_get_versions(dmt);
	do {
		last = target;
		if (is_vela_target(target->name)) {
			printf("kernel target %s %u.%u.%u\n", target->name,
			       target->version[0], target->version[1],
			       target->version[2]);
			found++;
		}
		target = (struct dm_versions *)((char *)target + target->next);
	} while (last != target);
	dm_task_destroy(dmt);

	if (!found) {
		fprintf(stderr,
			"velactl: the dm-vela kernel module is not loaded: run 'modprobe dm-vela'\n");
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

static void print_probe_value(blkid_probe pr, const char *name)
{
	const char *value;

	if (!blkid_probe_lookup_value(pr, name, &value, NULL))
		printf(" %s=\"%s\"", name, value);
}

static blkid_probe new_probe(const char *path)
{
	blkid_probe pr = blkid_new_probe_from_filename(path);

	if (!pr)
		return NULL;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE |
					  BLKID_SUBLKS_UUID |
					  BLKID_SUBLKS_LABEL);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	return pr;
}

int find_signature(const char *path, char *desc, size_t len)
{
	blkid_probe pr = new_probe(path);
	const char *value;
	int r;

	if (!pr)
		return -(errno ? errno : EIO);
	r = blkid_do_safeprobe(pr);
	if (r == 0) {
		if (blkid_probe_lookup_value(pr, "TYPE", &value, NULL) &&
		    blkid_probe_lookup_value(pr, "PTTYPE", &value, NULL))
			value = "unknown";
		snprintf(desc, len, "%s", value);
		r = 1;
	} else if (r == -2) {
		snprintf(desc, len, "several conflicting signatures");
		r = 1;
	} else if (r == 1) {
		r = 0;
	} else {
		r = -(errno ? errno : EIO);
	}
	blkid_free_probe(pr);
	return r;
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

	if (argc != 2) {
		usage_error("probe takes exactly one DEVICE");
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
	{ "help", "help [COMMAND]", "Show the commands, or one command's usage.",
	  cmd_help },
	{ "version", "version",
	  "Show velactl's version and the loaded kernel targets' versions.",
	  cmd_version },
	{ "format", "format --metadata DEV|FILE --data DEV|FILE [--block-size SIZE] [--name NAME] [--force]",
	  "Format a pool on a metadata and a data device (or image files), from userspace.\n"
	  "Refuses a device that carries any signature unless --force is given.\n"
	  "SIZE is the data block size: 4k to 1m, a power of two (default 64k).",
	  cmd_format },
	{ "check", "check [-q] [--clear-needs-check | --held] DEV|FILE",
	  "Verify the metadata: checksums, tree structure, every reference count\n"
	  "against a full walk, and the branch table.  With --held, check the view\n"
	  "a live pool holds (reserve_metadata_snap): every tree and mapping, not\n"
	  "the counts.  Exit 0 clean, 1 problems found, 2 usage error, 3 the device\n"
	  "could not be opened or read.",
	  cmd_check },
	{ "dump", "dump [--mappings] [--held] DEV|FILE",
	  "Print the metadata as JSON: the superblock and the branches with their\n"
	  "lineage, and with --mappings every mapping.  With --held, from the view\n"
	  "a live pool holds (reserve_metadata_snap).",
	  cmd_dump },
	{ "probe", "probe DEVICE",
	  "Report any signature (filesystem, partition table, RAID, LVM, ...) on DEVICE.\n"
	  "Exit 0 if there is none, 1 if there is one or DEVICE cannot be read.",
	  cmd_probe },
};

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
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
		printf("usage: velactl %s\n\n%s\n", cmd->synopsis, cmd->help);
		return EXIT_SUCCESS;
	}
	printf("usage: velactl [-v] COMMAND [ARGS]\n"
	       "       velactl --version\n\nCommands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		printf("  %s\n", commands[i].synopsis);
	printf("\nSee velactl(8) for details.\n");
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command *cmd;
	int opt;

	/* Global options stop at the command name. */
	while ((opt = getopt_long(argc, argv, "+hvV", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			return cmd_help(1, argv);
		case 'V':
			printf("velactl %s\n", VELA_PACKAGE_VERSION);
			return EXIT_SUCCESS;
		case 'v':
			verbose = 1;
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
	dm_log_with_errno_init(dm_log_quiet);
	return cmd->run(argc - optind, argv + optind);
}
