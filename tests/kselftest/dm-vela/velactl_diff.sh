#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# velactl diff against an oracle: the blocks whose contents differ, found by
# reading both devices block by block (every write is random data, so every
# changed block reads differently).  Between two branches and against a
# branch point, on an active pool (through the held view) and an inactive
# one (from the device).  Devices: $VELA_DISK_meta, $VELA_DISK_data.
. "$(dirname "$0")/../../lib/ktap.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
P=dif
M=/dev/mapper
BLOCK=65536
NBLOCKS=64

write_block() {	# write_block NAME BLOCK
	dd if=/dev/urandom of="$M/$P@$1" bs=$BLOCK count=1 seek="$2" oflag=direct 2>/dev/null
}

# oracle A B: "offset length" of each run of blocks whose contents differ.
oracle() {
	i=0 start=-1
	while [ $i -le $NBLOCKS ]; do
		same=1
		if [ $i -lt $NBLOCKS ]; then
			x=$(dd if="$M/$P@$1" bs=$BLOCK skip=$i count=1 2>/dev/null | md5sum)
			y=$(dd if="$M/$P@$2" bs=$BLOCK skip=$i count=1 2>/dev/null | md5sum)
			[ "$x" = "$y" ] || same=0
		fi
		if [ $same = 0 ] && [ $start -lt 0 ]; then
			start=$i
		elif [ $same = 1 ] && [ $start -ge 0 ]; then
			echo "$((start * BLOCK)) $(((i - start) * BLOCK))"
			start=-1
		fi
		i=$((i + 1))
	done
}

# reported ARGS...: velactl diff --json ARGS as "offset length" lines.
reported() {
	velactl diff --json "$@" | jq -r '.ranges[] | "\(.offset) \(.length)"'
}

check() {	# check DESCRIPTION WANT-FILE ARGS...
	desc=$1 want=$2
	shift 2
	if reported "$@" >/tmp/got && diff "$want" /tmp/got >/tmp/diff.out; then
		ktap_pass "$desc"
	else
		ktap_fail "$desc" "want:" "$(cat "$want")" "got:" "$(cat /tmp/got)"
	fi
}

modprobe dm-vela
ktap_plan 11
velactl init "$P" --metadata "$meta" --data "$data" --force >/dev/null
velactl create "$P/vol" --size $((NBLOCKS * BLOCK)) >/dev/null
dd if=/dev/urandom of="$M/$P@vol" bs=$BLOCK count=$NBLOCKS oflag=direct 2>/dev/null
velactl create-branch "$P/vol" child >/dev/null
velactl create-branch "$P/vol" sibling >/dev/null
for b in 3 4 10 40 41 42 63; do write_block child $b; done
for b in 20 41; do write_block vol $b; done

# Blocks 3-4, 10, 40-42 and 63, in bytes.
printf '%s\n' "196608 131072" "655360 65536" "2621440 196608" "4128768 65536" >/tmp/want.child
check "diff POOL/BRANCH: what the child changed since its branch point" /tmp/want.child "$P/child"
oracle vol child >/tmp/want.vc
check "diff of a branch and its parent equals the oracle (both sides' changes)" /tmp/want.vc \
	"$P/vol" "$P/child"
oracle child sibling >/tmp/want.cs
check "diff of two siblings equals the oracle" /tmp/want.cs "$P/child" "$P/sibling"
ktap_expect_exit "diff of a branch with itself is empty" 0 '"bytes": 0' \
	velactl diff --json "$P/child" "$P/child"
ktap_expect_exit "the total in bytes" 0 '"bytes": 458752' velactl diff --json "$P/child"
ktap_expect_exit "diff of a volume without a second name says it has no branch point" 2 \
	"is a volume" velactl diff "$P/vol"
velactl diff --json "$P/vol" >/tmp/diff.out 2>/tmp/diff.err
rc=$?
if [ $rc -eq 2 ] && [ ! -s /tmp/diff.out ] && grep -q "is a volume" /tmp/diff.err; then
	ktap_pass "diff --json of a volume: the refusal on stderr, no half document on stdout"
else
	ktap_fail "diff --json of a volume: the refusal on stderr, no half document on stdout" \
		"exit $rc" "$(cat /tmp/diff.out /tmp/diff.err)"
fi
ktap_expect_exit "diff of a missing branch exits 4" 4 "$P/ghost: no such" \
	velactl diff "$P/vol" "$P/ghost"
mkdir -p "/tmp/cwd/$P"
ktap_expect_exit "a directory named like the pool does not hide the pool" 0 '"bytes": 458752' \
	sh -c "cd /tmp/cwd && velactl diff --json $P/child"
velactl deactivate "$P" >/dev/null
check "on the inactive pool, read from the device: the same ranges" /tmp/want.vc \
	"$P/vol" "$P/child"
ktap_expect_exit "the held view was released while active, and the metadata is clean" 0 "clean" \
	velactl check "$P"
ktap_finish
