#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# layers.sh: the rules of docs/hacking.md, checked on the built objects and
# the sources, so that a change that breaks the layering fails here:
# - the target's files see the metadata store only through vela-meta.h
#   (no vela-meta-internal.h, no space map, transaction or B-tree header,
#   and no call into those layers);
# - velactl's files call each other downwards only (no cycle, from nm);
# - nothing in kernel/ names a path outside kernel/;
# - no C file in kernel/ or userspace/ is over 1,200 lines.
# Run after a build (tests/check runs it after the build stage).
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/ktap.sh"
cd "$top" || exit 1

target_files="kernel/vela-target.h kernel/vela-pool.c kernel/vela-commit.c kernel/vela-io.c
	kernel/vela-branch.c kernel/vela-origin.c kernel/vela-msg.c"
velactl_objs=$(cd userspace && ls velactl*.c | sed 's/\.c$//')

ktap_plan 5

# shellcheck disable=SC2086
bad=$(grep -n -E '#include "vela-(meta-internal|sm|tm|btree|block|u64map)\.h"' $target_files)
# shellcheck disable=SC2086
calls=$(grep -n -E '\bvela_(sm|tm|btree|bm|u64map)_[a-z_]+\(|__vela_md_' $target_files)
if [ -z "$bad$calls" ]; then
	ktap_pass "layers: the target reaches the metadata only through vela-meta.h"
else
	ktap_fail "layers: the target reaches the metadata only through vela-meta.h" "$bad" "$calls"
fi

# Each velactl object's undefined symbols, resolved to the object defining
# them, give the call graph between files; tsort finds a cycle.
edges=$(
	for f in $velactl_objs; do
		[ -e "build/obj/$f.o" ] || { echo "missing build/obj/$f.o" >&2; exit 1; }
		nm --defined-only "build/obj/$f.o" | awk -v f="$f" '$2 ~ /^[TDBR]$/ { print $3, f }'
	done >/tmp/velactl-defs.$$ &&
	for f in $velactl_objs; do
		nm -u "build/obj/$f.o" | awk '{ print $NF }' | sort -u |
			join -o 2.2 - <(sort /tmp/velactl-defs.$$) | sed "s/^/$f /"
	done | sort -u
)
rc=$?
rm -f /tmp/velactl-defs.$$
if [ $rc -ne 0 ] || [ -z "$edges" ]; then
	ktap_fail "layers: velactl's files call downwards only" "no call graph (is velactl built?)"
elif cycle=$(printf '%s\n' "$edges" | tsort 2>&1 >/dev/null) && [ -z "$cycle" ]; then
	ktap_pass "layers: velactl's files call downwards only ($(printf '%s\n' "$edges" | wc -l) edges, no cycle)"
else
	ktap_fail "layers: velactl's files call downwards only" "$cycle" "$edges"
fi

paths=$(grep -n -E '#include "\.\./' kernel/*.c kernel/*.h)
if [ -z "$paths" ]; then
	ktap_pass "layers: kernel/ names no path outside itself"
else
	ktap_fail "layers: kernel/ names no path outside itself" "$paths"
fi

long=$(wc -l kernel/*.c kernel/*.h userspace/*.c userspace/*.h userspace/lib/*.c |
	awk '$2 != "total" && $2 !~ /\.mod\.c$/ && $1 > 1200 { print }')
if [ -z "$long" ]; then
	ktap_pass "layers: no file in kernel/ or userspace/ is over 1,200 lines"
else
	ktap_fail "layers: no file in kernel/ or userspace/ is over 1,200 lines" "$long"
fi

# The store's API is CPU-endian: no on-disk record crosses it.
leak=$(grep -n -E 'struct vela_disk_|le(16|32|64)_to_cpu' $target_files userspace/*.c |
	grep -v -E 'label|sb->')
if [ -z "$leak" ]; then
	ktap_pass "layers: no on-disk record reaches the target or velactl through the store's API"
else
	ktap_fail "layers: no on-disk record reaches the target or velactl through the store's API" "$leak"
fi
ktap_finish
