#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# velactl format, check and dump on image files: the happy paths, refusals,
# exit codes (0 clean, 1 problems, 2 usage, 3 unreadable), corrupt and
# truncated images, and JSON that a real parser accepts.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/ktap.sh"
velactl=$top/userspace/velactl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

m=$tmp/meta.img
d=$tmp/data.img
truncate -s 16M "$m"
truncate -s 256M "$d"

ktap_plan 71
ktap_expect_exit "format on blank images" 0 "formatted pool ci: .*4096 blocks of 4 KiB.*4096 blocks of 64 KiB" \
	"$velactl" format --metadata "$m" --data "$d" --name ci
ktap_expect_exit "check of a fresh pool is clean" 0 "clean: 0 branch" "$velactl" check "$m"
ktap_expect_exit "check -q prints nothing" 0 "^$" "$velactl" check -q "$m"
ktap_expect_exit "check --held without a held view says so (1)" 1 "no held metadata view" \
	"$velactl" check --held "$m"
ktap_expect_exit "check --held with --clear-needs-check is a usage error (2)" 2 "cannot --clear-needs-check" \
	"$velactl" check --held --clear-needs-check "$m"
ktap_expect_exit "dump --held without a held view says so (1)" 1 "no held metadata view" \
	"$velactl" dump --held "$m"
truncate -s 64M "$tmp/other.img" "$tmp/data2.img" "$tmp/data3.img"
ktap_expect_exit "format refuses existing pool metadata" 1 "metadata device .* already holds dm-vela pool metadata, and formatting would destroy it" \
	"$velactl" format --metadata "$m" --data "$tmp/other.img"
ktap_expect_exit "format refuses an existing pool's data device" 1 "already holds dm-vela pool data" \
	"$velactl" format --metadata "$tmp/other.img" --data "$d"
mkfs.ext4 -q -F "$tmp/other.img"
ktap_expect_exit "format refuses a device with a filesystem" 1 "already holds ext4" \
	"$velactl" format --metadata "$tmp/other.img" --data "$tmp/data2.img"
ktap_expect_exit "format --force overwrites" 0 "formatted pool" \
	"$velactl" format --force --block-size 4k --metadata "$m" --data "$d"
ktap_expect_exit "format: a block size that is not a power of two" 2 "power of two" \
	"$velactl" format --block-size 96k --metadata "$m" --data "$d"
ktap_expect_exit "format: a bad pool name" 2 "--name" \
	"$velactl" format --name 'a/b' --metadata "$m" --data "$d"
ktap_expect_exit "format: no data device" 2 "needs --metadata DEV and --data DEV" \
	"$velactl" format --metadata "$m"

# Validate before destroying (issue 13): the same bytes twice under any
# name are refused (2), and a refused format, even with --force, leaves
# every signature where it was.  Block devices (partitions, loops, dm
# ranges) are in tests/kselftest/dm-vela/velactl_format.sh.
truncate -s 64M "$tmp/same.img"
ln -s same.img "$tmp/alias.img"
ln -s meta.img "$tmp/meta-alias.img"
ln "$tmp/same.img" "$tmp/hard.img"
ktap_expect_exit "format: one image as metadata and data is refused (2)" 2 \
	"metadata file .*same.img and data file .*same.img overlap" \
	"$velactl" format --metadata "$tmp/same.img" --data "$tmp/same.img"
ktap_expect_exit "format: an image and a symlink to it are refused (2)" 2 "overlap" \
	"$velactl" format --metadata "$tmp/alias.img" --data "$tmp/same.img"
ktap_expect_exit "format: an image and a hard link to it are refused (2)" 2 "overlap" \
	"$velactl" format --force --metadata "$tmp/same.img" --data "$tmp/hard.img"
ktap_expect_exit "...and nothing was written on it" 0 "" \
	cmp -s -n 1048576 "$tmp/same.img" /dev/zero
ktap_expect_exit "init: one image twice is refused before the kernel is asked (2)" 2 "overlap" \
	"$velactl" init ci2 --metadata "$tmp/same.img" --data "$tmp/alias.img"
ktap_expect_exit "format: a missing device exits 4 and names it" 4 "missing.img" \
	"$velactl" format --metadata "$tmp/same.img" --data "$tmp/missing.img"
truncate -s 100K "$tmp/swap.img"
truncate -s 60K "$tmp/swap-meta.img"
mkswap "$tmp/swap.img" >/dev/null 2>&1
mkswap "$tmp/swap-meta.img" >/dev/null 2>&1
ktap_expect_exit "format --force: a data device too small is refused (1)" 1 "data device .* is too small" \
	"$velactl" format --force --metadata "$tmp/same.img" --data "$tmp/swap.img"
ktap_expect_exit "...and its swap signature is still there" 1 'TYPE="swap"' \
	"$velactl" probe "$tmp/swap.img"
ktap_expect_exit "format --force: a metadata device too small is refused (1)" 1 \
	"metadata device .* is too small" \
	"$velactl" format --force --metadata "$tmp/swap-meta.img" --data "$tmp/same.img"
ktap_expect_exit "...and its swap signature is still there" 1 'TYPE="swap"' \
	"$velactl" probe "$tmp/swap-meta.img"
ktap_expect_exit "repair into a symlink to its source never writes in place (2)" 2 "never writes in place" \
	"$velactl" repair "$m" "$tmp/meta-alias.img"
# Two formats of the same images at once, with different names: the
# images' locks make them queue, so one formats and the other finds its
# pool and refuses; they never both write.
truncate -s 16M "$tmp/race.m"
truncate -s 64M "$tmp/race.d"
ok=0
for i in 1 2 3 4 5 6 7 8; do
	dd if=/dev/zero of="$tmp/race.m" bs=64k count=1 conv=notrunc 2>/dev/null
	dd if=/dev/zero of="$tmp/race.d" bs=64k count=1 conv=notrunc 2>/dev/null
	"$velactl" format --metadata "$tmp/race.m" --data "$tmp/race.d" --name a$i >/dev/null 2>&1 &
	"$velactl" format --metadata "$tmp/race.d" --data "$tmp/race.m" --name b$i >/dev/null 2>&1
	rc_b=$?
	wait $!
	rc_a=$?
	[ $((rc_a + rc_b)) -eq 1 ] && ok=$((ok + 1))
done
if [ $ok -eq 8 ]; then
	ktap_pass "two formats of one pair at once: exactly one formats, 8 times of 8"
else
	ktap_fail "two formats of one pair at once: exactly one formats, 8 times of 8" "$ok of 8"
fi
# A format waits for the devices' locks as for a pool's: --nowait gives up
# at once (6), naming the device.
flock "$tmp/race.m" sleep 2 &
holder=$!
sleep 0.5
ktap_expect_exit "format --nowait on a locked image: exit 6, nothing done" 6 \
	"metadata device .*race.m is locked by another velactl" \
	"$velactl" --nowait format --force --metadata "$tmp/race.m" --data "$tmp/race.d"
wait $holder
# Sizes and limits near 2^64 are refused, never rounded up past it to 0
# (2^64 - 1, 2^64 - 512, and just past the 2^64 - 1 MiB cap).
for v in 18446744073709551615 18446744073709551104 18446744073708503041; do
	ktap_expect_exit "create --size $v is too large (2)" 2 "too large" \
		"$velactl" create ci/v --size $v
done
ktap_expect_exit "create --limit 2^64 - 1 is too large (2)" 2 "too large" \
	"$velactl" create ci/v --size 1g --limit 18446744073709551615
ktap_expect_exit "create-branch --limit 2^64 - 1 is too large (2)" 2 "too large" \
	"$velactl" create-branch ci/v b --limit 18446744073709551615
ktap_expect_exit "resize --size 2^64 - 1 is too large (2)" 2 "too large" \
	"$velactl" resize ci/v --size 18446744073709551615
ktap_expect_exit "limit 2^64 - 1 is too large (2)" 2 "too large" \
	"$velactl" limit ci/v 18446744073709551615
out=$("$velactl" create ci/v --size 18446744073708503040 2>&1)
rc=$?
if [ $rc -ne 2 ] && ! printf '%s' "$out" | grep -q "too large"; then
	ktap_pass "create --size 2^64 - 1 MiB, the cap, passes the size check"
else
	ktap_fail "create --size 2^64 - 1 MiB, the cap, passes the size check" "exit $rc" "$out"
fi

if "$velactl" dump "$m" >"$tmp/dump.json" 2>&1 &&
   python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1
assert d["superblock"]["data_block_sectors"] == 8, d
assert d["superblock"]["data_blocks"] == 65536, d
assert d["branches"] == []' "$tmp/dump.json" 2>"$tmp/py.err"; then
	ktap_pass "dump prints JSON a parser accepts, with the superblock"
else
	ktap_fail "dump prints JSON a parser accepts, with the superblock" \
		"$(cat "$tmp/dump.json" "$tmp/py.err")"
fi

ktap_expect_exit "check of a missing file is unreadable (3)" 3 "cannot open" \
	"$velactl" check "$tmp/missing.img"
ktap_expect_exit "check with no device is a usage error" 2 "one metadata DEV" "$velactl" check
truncate -s 1M "$tmp/zero.img"
ktap_expect_exit "check of a blank image: no superblock (1)" 1 "no valid dm-vela superblock" \
	"$velactl" check "$tmp/zero.img"
cp "$m" "$tmp/bad.img"
printf '\377' | dd of="$tmp/bad.img" bs=1 seek=100 conv=notrunc 2>/dev/null
ktap_expect_exit "check of a corrupt superblock (1)" 1 "no valid dm-vela superblock" \
	"$velactl" check "$tmp/bad.img"
ktap_expect_exit "format refuses a damaged superblock, and says why" 1 \
	"already holds dm-vela pool metadata \\(damaged: checksum mismatch\\)" \
	"$velactl" format --metadata "$tmp/bad.img" --data "$tmp/data3.img"
cp "$m" "$tmp/short.img"
truncate -s 32K "$tmp/short.img"
ktap_expect_exit "check of a truncated image (1)" 1 "no valid dm-vela superblock" \
	"$velactl" check "$tmp/short.img"
ktap_expect_exit "check --clear-needs-check on a clean pool" 0 "needs_check cleared" \
	"$velactl" check --clear-needs-check "$m"

# repair: a pool with a fully mapped volume (bench/populate, the real
# metadata code) rebuilt into new images.  The unit tests break space maps
# and trees; here the command's contract.
make -s -C "$top" build/bench/populate >/dev/null
"$top/build/bench/populate" "$m" vol 64 >/dev/null
ktap_expect_exit "repair into a new image: created, rebuilt, checked clean" 0 \
	"new.img: clean: 1 branch.es., [0-9]+ metadata and 16385 data blocks" "$velactl" repair "$m" "$tmp/new.img"
"$velactl" dump --mappings "$m" | sed 1,3d >"$tmp/a.json"
"$velactl" dump --mappings "$tmp/new.img" | sed 1,3d >"$tmp/b.json"
if [ -s "$tmp/a.json" ] && cmp -s "$tmp/a.json" "$tmp/b.json" && grep -q '"mappings"' "$tmp/a.json"; then
	ktap_pass "the repaired metadata holds the same branches and mappings"
else
	ktap_fail "the repaired metadata holds the same branches and mappings" \
		"$(diff "$tmp/a.json" "$tmp/b.json" | head -n 20)"
fi
# check --json: one object on every path, the exit codes unchanged.
# check_json WANT-EXIT JQ-FILTER IMAGE: the exit code, and the filter holds.
check_json() {
	"$velactl" check --json "$3" >"$tmp/check.json" 2>/dev/null
	rc=$?
	[ $rc = "$1" ] && jq -e "$2" "$tmp/check.json" >/dev/null
}
ktap_expect_exit "check --json of a clean pool: result clean, its figures as numbers" 0 "" \
	check_json 0 '.schema == 1 and .result == "clean" and .problems == [] and .branches == 1 and .data_blocks_used == 16385' "$m"
cp "$m" "$tmp/bad2.img"
printf '\377' | dd of="$tmp/bad2.img" bs=1 seek=$((9 * 4096 + 100)) conv=notrunc 2>/dev/null
ktap_expect_exit "check --json of a damaged tree: exit 1, result problems, each one a string" 0 "" \
	check_json 1 '.result == "problems" and (.problems | length) > 0 and (.problems[0] | test("metadata block 9"))' "$tmp/bad2.img"
ktap_expect_exit "check --json of a blank image: exit 1, result no_superblock" 0 "" \
	check_json 1 '.result == "no_superblock"' "$tmp/zero.img"
ktap_expect_exit "check --json of a missing file: exit 3, result unreadable" 0 "" \
	check_json 3 '.result == "unreadable"' "$tmp/missing.img"
ktap_expect_exit "check --json with -q is a usage error" 2 "pick one" "$velactl" check --json -q "$m"
# Progress: a check of a pool with 2 M mappings (8,500 metadata blocks)
# runs long enough to show it on a terminal (script(1)); never without one,
# never with -q.
truncate -s 128M "$tmp/big.m"
truncate -s 9G "$tmp/big.d"
"$velactl" format --metadata "$tmp/big.m" --data "$tmp/big.d" --name big --block-size 4k >/dev/null
"$top/build/bench/populate" "$tmp/big.m" vol 8192 >/dev/null
ktap_expect_exit "check on a terminal shows progress on stderr: a percentage with a rate" 0 \
	"checking: [0-9]+% \([0-9]+ of [0-9]+ metadata blocks, [0-9]+/s\)" \
	script -qec "$velactl check $tmp/big.m" /dev/null
ktap_expect_exit "...without a terminal, none" 0 "" sh -c \
	"! $velactl check $tmp/big.m 2>&1 | grep -q checking:"
ktap_expect_exit "...and none with -q on a terminal" 0 "" sh -c \
	"! script -qec '$velactl -q check $tmp/big.m' /dev/null | grep -q checking:"
rm -f "$tmp/big.m" "$tmp/big.d"
# Signals: a repair stopped once its target exists, then sent SIGINT, stops
# at its next read, removes the target it made, and ends by the signal.
VELACTL_TEST_STOP=repair-target-open "$velactl" repair "$m" "$tmp/int.img" 2>"$tmp/int.err" &
pid=$!
k=0
while [ $k -lt 100 ] && [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != T ]; do
	sleep 0.1
	k=$((k + 1))
done
kill -INT $pid
kill -CONT $pid
wait $pid
rc=$?
if [ $rc = 130 ] && [ ! -e "$tmp/int.img" ] && grep -q "stopped by INT" "$tmp/int.err"; then
	ktap_pass "repair interrupted (SIGINT) removes the target it made and exits 130"
else
	ktap_fail "repair interrupted (SIGINT) removes the target it made and exits 130" "exit $rc" \
		"$(ls -l "$tmp/int.img" 2>&1)" "$(cat "$tmp/int.err")"
fi
# A reader that stops reading: dump ends by SIGPIPE (141) at once.
rc=$( ("$velactl" dump --mappings "$m" 2>/dev/null; echo $? >"$tmp/rc") | head -c 100 >/dev/null; cat "$tmp/rc")
ktap_expect_exit "dump into a pipe closed early ends by SIGPIPE (141)" 0 "" [ "$rc" = 141 ]
# Hostile bytes behind valid checksums (tests/tools/vela-craft.c): a pool
# name and a branch name with a quote, a backslash, terminal escapes and
# bytes that are not UTF-8 reach neither the terminal nor the JSON raw.
make -s -C "$top" build/tools/vela-craft >/dev/null
cp "$m" "$tmp/craft.img"
"$top/build/tools/vela-craft" "$tmp/craft.img" pool-name \
	"$(printf 'ci"\\\033[31m\377../x\302\233' | od -An -tx1 | tr -d ' \n')"
"$top/build/tools/vela-craft" "$tmp/craft.img" branch-name vol \
	"$(printf 'v\033]0;pwned\007\303\050' | od -An -tx1 | tr -d ' \n')"
if "$velactl" dump "$tmp/craft.img" >"$tmp/craft.json" 2>"$tmp/craft.err" &&
   ! LC_ALL=C grep -q "$(printf '[\033\007\377]')" "$tmp/craft.json" &&
   ! LC_ALL=C grep -q "$(printf '\302\233')" "$tmp/craft.json" &&
   python3 -c 'import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
assert d["superblock"]["pool_name"] == "ci\"\\\x1b[31m\ufffd../x\x9b", d["superblock"]
assert d["branches"][0]["name"] == "v\x1b]0;pwned\x07\ufffd(", d["branches"][0]' \
	"$tmp/craft.json" 2>"$tmp/py.err"; then
	ktap_pass "dump of crafted names: valid UTF-8 JSON, C0 and C1 controls and bad bytes escaped"
else
	ktap_fail "dump of crafted names: valid UTF-8 JSON, C0 and C1 controls and bad bytes escaped" \
		"$(cat -v "$tmp/craft.json" "$tmp/craft.err" "$tmp/py.err" | head -n 20)"
fi
ktap_expect_exit "check reports the crafted branch name (1)" 1 "branch 1: invalid name" \
	"$velactl" check "$tmp/craft.img"
mkfs.ext4 -q -F -L "$(printf 'x\033[2J')" "$tmp/label.img" 8M >/dev/null 2>&1
"$velactl" probe "$tmp/label.img" >"$tmp/probe.out" 2>&1
if grep -q 'LABEL="x\\u001b\[2J"' "$tmp/probe.out" &&
   ! LC_ALL=C grep -q "$(printf '\033')" "$tmp/probe.out"; then
	ktap_pass "probe prints a filesystem label's escape bytes escaped"
else
	ktap_fail "probe prints a filesystem label's escape bytes escaped" "$(cat -v "$tmp/probe.out")"
fi
# Contract fixes (velactl review, 1.6, 2.3, 2.5, 4.9): velactl's own option
# errors; a usage error in diff releases no view it never held; diff's
# POOL is a pool, never a file of that name in the working directory; and
# exit 3 stays check's.
for c in format check dump repair diff; do
	ktap_expect_exit "$c: an unknown option is velactl's own usage error (2)" 2 \
		"^velactl: $c: unknown option '--frobnicate'" "$velactl" "$c" --frobnicate x
done
out=$("$velactl" diff nopool 2>&1)
rc=$?
if [ $rc -eq 2 ] && ! printf '%s' "$out" | grep -q "releasing"; then
	ktap_pass "diff: a usage error is only a usage error"
else
	ktap_fail "diff: a usage error is only a usage error" "exit $rc" "$out"
fi
cp "$m" "$tmp/ci"
out=$(cd "$tmp" && "$velactl" diff ci/vol 2>&1)
rc=$?
# 1 where device-mapper is out of reach, 4 where no pool is named ci.
if { [ $rc -eq 1 ] || [ $rc -eq 4 ]; } &&
   ! printf '%s' "$out" | grep -q -E '"pool"|vol is a volume|ranges'; then
	ktap_pass "diff ci/vol never reads a file named ci in the working directory"
else
	ktap_fail "diff ci/vol never reads a file named ci in the working directory" "exit $rc" "$out"
fi
ktap_expect_exit "repair never writes in place (2)" 2 "never writes in place" \
	"$velactl" repair "$m" "$m"
ktap_expect_exit "repair refuses a target that holds a pool" 1 "already holds dm-vela pool metadata" \
	"$velactl" repair "$m" "$tmp/new.img"
ktap_expect_exit "repair --force overwrites it" 0 "repaired into" \
	"$velactl" repair --force "$m" "$tmp/new.img"
truncate -s 64K "$tmp/small.img"
ktap_expect_exit "repair into a target too small says so" 1 "smaller than the metadata" \
	"$velactl" repair --force "$m" "$tmp/small.img"
ktap_expect_exit "repair of something that is not a pool fails" 1 \
	"zero.img: no valid dm-vela superblock" "$velactl" repair "$tmp/zero.img" "$tmp/never.img"
ktap_expect_exit "...and leaves no target behind" 0 "" test ! -e "$tmp/never.img"
ktap_expect_exit "repair with one argument is a usage error" 2 "repair takes" "$velactl" repair "$m"
ktap_finish
