#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Every flush point (R2).  The pool's metadata (64 MiB) and data (256 MiB)
# devices are two dm-linear slices of one dm-log-writes device over
# $VELA_DISK_lwbase (log on $VELA_DISK_log), so the log has one order for
# both.  The workload: format, then 30 steps of write batches (12 pieces
# of 512 B, 4 KiB or 8 KiB in distinct blocks, then fsync) on 256 KiB
# branches, and branch creates (up to 6 branches); after each step a
# log mark, and a copy of every branch's oracle as of that mark.
#
# vela-replay (tests/tools/vela-replay.c) then replays the log onto the
# fresh $VELA_DISK_replay up to flush, FUA and mark entries (every mark,
# and an even sample of VELA_REPLAY_STOPS flush/FUA points, default 60:
# about 100 stops in all; 0: every one, as make check-full does) and at
# each: velactl check is clean, the pool activates (read-only), and every
# branch equals its oracle at a mark, or between marks holds, per
# 512-byte sector, the data of the mark before or the mark after.
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/vela.sh"

base=${VELA_DISK_lwbase:?}
log=${VELA_DISK_log:?}
replay=${VELA_DISK_replay:?}
stops=${VELA_REPLAY_STOPS:-60}
vol=512
marks=/tmp/marks
cur=/tmp/cur
mkdir -p "$marks" "$cur"

n=0
mark() {	# record mark m$n: the log entry and the oracle
	dmsetup message lw 0 mark "m$n" || return 1
	mkdir -p "$marks/$n"
	cp "$cur"/* "$marks/$n/"
	echo "$n" >"$marks/last"
	n=$((n + 1))
}

modprobe dm-vela
modprobe dm-log-writes
ktap_plan 4
dmsetup create lw --table "0 $(blockdev --getsz "$base") log-writes $base $log" &&
	dmsetup mknodes lw &&
	dmsetup create lmeta --table "0 131072 linear /dev/mapper/lw 0" &&
	dmsetup create ldata --table "0 524288 linear /dev/mapper/lw 131072" &&
	dmsetup mknodes
velactl format --metadata /dev/mapper/lmeta --data /dev/mapper/ldata --block-size 8k \
	--name replay >/dev/null
sync
dmsetup message lw 0 mark formatted
dmsetup create pool --table "0 524288 vela-pool /dev/mapper/lmeta /dev/mapper/ldata 16" &&
	dmsetup mknodes pool
admin create_volume vol $vol && id=$reply
dmsetup create "b$id" --table "0 $vol vela /dev/mapper/pool $id" && dmsetup mknodes "b$id"
truncate -s $((vol * 512)) "$cur/$id"
ids=$id
mark

failed=
step=1
while [ $step -le 30 ]; do
	set -- $ids
	count=$#
	shift $((step * 5 % count))
	x=$1
	if [ $((step % 5)) = 0 ] && [ "$count" -lt 6 ]; then
		admin create_branch "$x" "r$step" || { failed="create_branch"; break; }
		dmsetup create "b$reply" --table "0 $vol vela /dev/mapper/pool $reply" &&
			dmsetup mknodes "b$reply" || { failed="activate"; break; }
		cp "$cur/$x" "$cur/$reply"
		ids="$ids $reply"
	else
		vela-io batch "/dev/mapper/b$x" "$cur/$x" "$step" 12 8192 ||
			{ failed="batch $step"; break; }
	fi
	mark || { failed="mark $step"; break; }
	step=$((step + 1))
done
for id in $ids; do dmsetup remove "b$id"; done
dmsetup remove pool
entries=$(dmsetup status lw | awk '{ print $4 }')
dmsetup remove ldata
dmsetup remove lmeta
dmsetup remove lw
if [ -z "$failed" ]; then
	ktap_pass "recorded 30 steps over $(echo $ids | wc -w) branches: $entries log entries, $n marks"
else
	ktap_fail "recorded the workload" "$failed"
fi

cat >/tmp/replay-check.sh <<'CHECK'
# One stop of the replay: see flush_replay.sh.
mark=$VELA_REPLAY_MARK
case $mark in
'') exit 0 ;;			# before the format completed
m*) n=${mark#m} ;;
*) n=$(cat /tmp/marks/last) ;;	# "formatted" comes first; the end mark last
esac
[ "$mark" = formatted ] && n=
fail() {
	echo "# stop at entry $VELA_REPLAY_ENTRY ($VELA_REPLAY_KIND after mark '$mark'): $*"
	exit 1
}
cleanup() {
	for d in $(dmsetup ls | awk '/^r/ { print $1 }' | sort -r); do
		case $d in rpool|rmeta|rdata) ;; *) dmsetup remove "$d" ;; esac
	done
	dmsetup remove rpool 2>/dev/null
	dmsetup remove rdata
	dmsetup remove rmeta
}
dmsetup create --readonly rmeta --table "0 131072 linear $VELA_DISK_replay 0"
dmsetup create --readonly rdata --table "0 524288 linear $VELA_DISK_replay 131072"
dmsetup mknodes rmeta
dmsetup mknodes rdata
out=$(velactl check /dev/mapper/rmeta 2>&1) || { cleanup; fail "velactl check: $out"; }
[ -n "$n" ] || { cleanup; exit 0; }
dmsetup create --readonly rpool --table "0 524288 vela-pool /dev/mapper/rmeta /dev/mapper/rdata 16 1 read_only" &&
	dmsetup mknodes rpool || { cleanup; fail "the pool does not activate"; }
next=$((n + 1))
for f in /tmp/marks/$n/*; do
	id=${f##*/}
	dmsetup create --readonly "r$id" --table "0 512 vela /dev/mapper/rpool $id" &&
		dmsetup mknodes "r$id" || { cleanup; fail "branch $id does not activate"; }
	if [ "$VELA_REPLAY_AT_MARK" = 1 ] || [ ! -e "/tmp/marks/$next/$id" ]; then
		out=$(vela-io verify "/dev/mapper/r$id" "$f" 2>&1) ||
			{ cleanup; fail "branch $id differs from its oracle: $out"; }
	else
		out=$(vela-io either "/dev/mapper/r$id" "$f" "/tmp/marks/$next/$id" 2>&1) ||
			{ cleanup; fail "branch $id: $out"; }
	fi
done
cleanup
exit 0
CHECK
out=$(vela-replay "$log" "$replay" "$stops" "sh /tmp/replay-check.sh" 2>&1)
rc=$?
if [ $rc = 0 ]; then
	ktap_pass "$(echo "$out" | tail -n 1)"
else
	ktap_fail "every checked flush point: metadata clean, pool activates, branches match" "$out"
fi
echo "$out" | grep -q "(0 marks)" && ktap_fail "the log has marks" "$out" || ktap_pass "the log has the workload's marks"
ktap_expect_exit "no replay device left behind" 0 "" test -z "$(dmsetup ls | grep '^r')"
ktap_finish
