// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-filter.c: which block devices a scan may open, from
 * /etc/vela/vela.conf, in LVM's words:
 *
 *   filter = [ "a|^/dev/nvme|", "r|.*|" ]
 *   devices = [ "/dev/nvme0n1p1", "/dev/disk/by-id/nvme-eui.0025...-part2" ]
 *
 * filter: patterns tried in order, "a" to accept and "r" to reject, each an
 * extended regular expression between a delimiter of its own choosing; the
 * first pattern that matches any name of a device (/dev/KNAME, its
 * /dev/disk/by-* links, /dev/mapper/NAME for a dm device) decides, and a
 * device no pattern matches is accepted.  devices: when present, only the
 * devices listed (by any path that resolves to them) are scanned at all.
 * Each setting is one line; '#' starts a comment.  A file that does not
 * parse stops every scan with the line and the reason: a half-applied
 * filter could open exactly the device it was written to keep out.
 */
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "velactl.h"

#define VELA_CONF		"/etc/vela/vela.conf"
#define MAX_PATTERNS		64
#define MAX_LISTED		256

struct device_filter {
	struct {
		regex_t re;
		bool accept;
	} pattern[MAX_PATTERNS];
	size_t nr_patterns;
	dev_t listed[MAX_LISTED];
	size_t nr_listed;
	bool has_devices;
};

/*
 * The quoted strings of "[ "x", "y" ]" in @s, one at a time: the next one's
 * start in *@item (NUL-terminated in place) or NULL at the end; -EINVAL when
 * the list is not one.
 */
static int next_item(char **s, char **item)
{
	char *p = *s, *end;

	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	if (*p == ']') {
		*item = NULL;
		*s = p + 1;
		return 0;
	}
	if (*p != '"')
		return -EINVAL;
	end = strchr(p + 1, '"');
	if (!end)
		return -EINVAL;
	*end = '\0';
	*item = p + 1;
	*s = end + 1;
	return 0;
}

static int add_pattern(struct device_filter *f, const char *item, char *why, size_t len)
{
	const char *close;
	char *re;
	int r;

	if ((item[0] != 'a' && item[0] != 'r') || !item[1]) {
		snprintf(why, len, "\"%s\": a pattern is a|REGEX| or r|REGEX|", item);
		return -EINVAL;
	}
	close = strrchr(item + 2, item[1]);
	if (!close || f->nr_patterns == MAX_PATTERNS) {
		snprintf(why, len, "\"%s\": %s", item, close ? "too many patterns" :
			 "the regular expression is not closed by its delimiter");
		return -EINVAL;
	}
	re = strndup(item + 2, close - item - 2);
	if (!re)
		return -ENOMEM;
	r = regcomp(&f->pattern[f->nr_patterns].re, re, REG_EXTENDED | REG_NOSUB);
	free(re);
	if (r) {
		snprintf(why, len, "\"%s\": not a regular expression", item);
		return -EINVAL;
	}
	f->pattern[f->nr_patterns++].accept = item[0] == 'a';
	return 0;
}

static int add_listed(struct device_filter *f, const char *item, char *why, size_t len)
{
	struct stat st;

	f->has_devices = true;
	/* A device that is not here now is not scanned: that is no error. */
	if (stat(item, &st) || !S_ISBLK(st.st_mode))
		return 0;
	if (f->nr_listed == MAX_LISTED) {
		snprintf(why, len, "more than %d devices", MAX_LISTED);
		return -EINVAL;
	}
	f->listed[f->nr_listed++] = st.st_rdev;
	return 0;
}

static int parse_line(struct device_filter *f, char *line, char *why, size_t len)
{
	char *p, *item, key[16];
	bool is_filter;
	int n = 0, r;

	line[strcspn(line, "#\n")] = '\0';
	if (sscanf(line, " %15[a-z] = [%n", key, &n) != 1 || !n) {
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (!*p)
			return 0;
		snprintf(why, len, "want 'filter = [ ... ]' or 'devices = [ ... ]'");
		return -EINVAL;
	}
	if (strcmp(key, "filter") && strcmp(key, "devices")) {
		snprintf(why, len, "unknown setting '%s'", key);
		return -EINVAL;
	}
	is_filter = !strcmp(key, "filter");
	p = line + n;
	for (;;) {
		if (next_item(&p, &item)) {
			snprintf(why, len, "want a list of quoted strings, closed by ]");
			return -EINVAL;
		}
		if (!item)
			break;
		r = is_filter ? add_pattern(f, item, why, len) : add_listed(f, item, why, len);
		if (r)
			return r;
	}
	return 0;
}

void free_device_filter(struct device_filter *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->nr_patterns; i++)
		regfree(&f->pattern[i].re);
	free(f);
}

int load_device_filter(struct device_filter **out)
{
	struct device_filter *f;
	char line[4096], why[256];
	unsigned int nr = 0;
	FILE *file;
	int r = 0;

	*out = NULL;
	file = fopen(VELA_CONF, "re");
	if (!file)
		return errno == ENOENT ? 0 : fail(-errno, "cannot read " VELA_CONF ": %s",
						  strerror(errno));
	f = calloc(1, sizeof(*f));
	if (!f) {
		fclose(file);
		return -ENOMEM;
	}
	while (!r && fgets(line, sizeof(line), file)) {
		nr++;
		r = parse_line(f, line, why, sizeof(why));
	}
	fclose(file);
	if (r) {
		fail(EXIT_FAILURE, VELA_CONF ":%u: %s; no device is scanned until it is fixed", nr,
		     r == -ENOMEM ? "out of memory" : why);
		free_device_filter(f);
		return r;
	}
	*out = f;
	return 0;
}

/* The names of block device @kname: /dev/KNAME, /dev/disk/by-* links, /dev/mapper/NAME. */
static size_t device_names(const char *kname, char names[][PATH_MAX], size_t max)
{
	static const char *const dirs[] = { "/dev/disk/by-id", "/dev/disk/by-path",
		"/dev/disk/by-uuid", "/dev/disk/by-label", "/dev/disk/by-partuuid" };
	char path[PATH_MAX], target[PATH_MAX], dm[VELA_DM_NAME_LEN];
	struct dirent *e;
	const char *base;
	size_t n = 0, i;
	ssize_t len;
	DIR *d;

	snprintf(names[n++], PATH_MAX, "/dev/%s", kname);
	snprintf(path, sizeof(path), "/sys/class/block/%s/dm/name", kname);
	if (!read_sysfs(path, dm, sizeof(dm)))
		snprintf(names[n++], PATH_MAX, "/dev/mapper/%s", dm);
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		d = opendir(dirs[i]);
		while (d && n < max && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[i], e->d_name);
			len = readlink(path, target, sizeof(target) - 1);
			if (len < 0)
				continue;
			target[len] = '\0';
			base = strrchr(target, '/');
			if (!strcmp(base ? base + 1 : target, kname))
				snprintf(names[n++], PATH_MAX, "%s", path);
		}
		if (d)
			closedir(d);
	}
	return n;
}

bool device_accepted(const struct device_filter *f, const char *kname, dev_t dev)
{
	char (*names)[PATH_MAX];
	size_t i, j, n;
	bool found, accept = true;

	if (!f)
		return true;
	if (f->has_devices) {
		for (i = 0, found = false; i < f->nr_listed && !found; i++)
			found = f->listed[i] == dev;
		if (!found)
			return false;
	}
	if (!f->nr_patterns)
		return true;
	names = calloc(16, PATH_MAX);
	if (!names)
		return false;	/* no memory to judge: do not open it */
	n = device_names(kname, names, 16);
	for (i = 0; i < f->nr_patterns; i++) {
		for (j = 0; j < n; j++)
			if (!regexec(&f->pattern[i].re, names[j], 0, NULL, 0))
				break;
		if (j < n) {
			accept = f->pattern[i].accept;
			break;
		}
	}
	free(names);
	return accept;
}
