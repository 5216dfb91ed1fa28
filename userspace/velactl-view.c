// SPDX-License-Identifier: GPL-2.0-only
/*
 * velactl-view.c: the pool's held metadata view, taken by check, dump and
 * diff of a live pool with a holder tag, and released when its velactl
 * is gone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "velactl.h"

#define HOLDER_PREFIX	"velactl:"

int hold_view(const struct pool *p)
{
	char reply[32];

	return pool_admin(p, reply, sizeof(reply), "reserve_metadata_snap " HOLDER_PREFIX "%s:%d",
			  velactl_command, (int)getpid());
}

int release_view(const struct pool *p)
{
	return pool_admin(p, NULL, 0, "release_metadata_snap");
}

/* "velactl check (pid 42)" for a tag "velactl:check:42"; else the tag. */
static const char *describe_holder(const char *tag, char *buf, size_t len)
{
	const char *colon;

	if (!strncmp(tag, HOLDER_PREFIX, strlen(HOLDER_PREFIX))) {
		tag += strlen(HOLDER_PREFIX);
		colon = strrchr(tag, ':');
		if (colon) {
			snprintf(buf, len, "velactl %.*s (pid %s)", (int)(colon - tag), tag, colon + 1);
			return buf;
		}
	}
	snprintf(buf, len, "'%s'", strcmp(tag, "?") ? tag : "an unnamed holder");
	return buf;
}

/* Is the velactl named by tag "velactl:COMMAND:PID" still running? */
static bool holder_alive(const char *tag)
{
	const char *colon = strrchr(tag, ':');

	return colon && velactl_running(strtol(colon + 1, NULL, 10));
}

int clear_stale_view(const struct pool *p, bool force, bool refuse_foreign)
{
	struct pool_status st;
	char who[96];
	bool ours;
	int r;

	r = pool_status(p, &st);
	if (r || !strcmp(st.held_root, "-"))
		return 0;
	ours = !strncmp(st.held_by, HOLDER_PREFIX, strlen(HOLDER_PREFIX));
	describe_holder(st.held_by, who, sizeof(who));
	/*
	 * Our lock says no velactl here holds it.  One that runs all the same
	 * shares no /run with us (a container): its view is not ours to drop.
	 */
	if (ours && holder_alive(st.held_by)) {
		fprintf(stderr, "velactl: pool '%s': the metadata view is held by %s, which runs without this machine's pool lock (another /run?): left alone\n",
			p->name, who);
		return refuse_foreign ? EXIT_BUSY : 0;
	}
	if (!ours && !force) {
		if (refuse_foreign)
			return fail(EXIT_BUSY, "pool '%s': a metadata view is held by %s, not by velactl: release it with that tool, or with 'velactl check %s --force'",
				    p->name, who, p->name);
		fprintf(stderr, "velactl: pool '%s': a metadata view is held by %s, not by velactl; it keeps the space of deleted branches until released ('velactl check %s --force' releases it)\n",
			p->name, who, p->name);
		return 0;
	}
	r = release_view(p);
	if (r == -EROFS) {
		/* A read-only pool takes no message: the view stays until it is writable. */
		fprintf(stderr, "velactl: pool '%s' is read-only (mode %s): the metadata view %s left stays held until it is writable again\n",
			p->name, st.mode, who);
		return 0;
	}
	if (r && r != -ENOENT)
		return fail(EXIT_FAILURE, "pool '%s': releasing the metadata view left by %s failed: %s",
			    p->name, who, strerror(-r));
	/* Our lock is held, so a velactl holder is gone: killed, or the machine went down. */
	fprintf(stderr, "velactl: pool '%s': released the metadata view %s held%s\n", p->name, who,
		ours ? ", which is gone" : " (--force)");
	return 0;
}
