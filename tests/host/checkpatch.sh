#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Every C file and header is clean under the kernel's checkpatch.pl
# (--no-tree -f), taken from Debian's linux-source-6.1 and cached.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/ktap.sh"
cache=${VELA_CACHE:-/var/cache/dm-vela}
cp_dir=$cache/checkpatch

if [ ! -e "$cp_dir/scripts/checkpatch.pl" ]; then
	tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
	if [ -z "$tarball" ]; then
		echo "TAP version 13"
		echo "1..1"
		echo "not ok 1 checkpatch.pl available # linux-source-6.1 is not installed: make test-deps"
		exit 1
	fi
	mkdir -p "$cp_dir.new"
	tar -xf "$tarball" -C "$cp_dir.new" --strip-components=1 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	rm -rf "$cp_dir"
	mv "$cp_dir.new" "$cp_dir"
fi

cd "$top"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find kernel userspace tests bench -name '*.[ch]')
ktap_plan $(echo "$files" | wc -w)
for f in $files; do
	ignore=$(awk -v f="$f" '$1 == f { printf "%s%s", sep, $2; sep = "," }' \
		 tests/host/checkpatch.ignore)
	if out=$(perl "$cp_dir/scripts/checkpatch.pl" --no-tree --terse --show-types \
		 ${ignore:+--ignore "$ignore"} -f "$f" 2>&1); then
		ktap_pass "checkpatch $f"
	else
		ktap_fail "checkpatch $f" "$out"
	fi
done
ktap_finish
