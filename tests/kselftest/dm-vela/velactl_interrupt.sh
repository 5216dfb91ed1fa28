#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# No velactl command leaves what velactl cannot repair (issue 13, item 1).
# Each multi-step command is stopped at each of its steps with a stop point
# (VELACTL_TEST_STOP=POINT makes velactl stop itself there), then sent
# SIGKILL, SIGINT, SIGTERM or SIGHUP; SIGPIPE comes from a reader that goes
# away.  Afterwards `velactl activate --all` and `velactl check` must leave
# the pool clean: no held metadata view, no suspended device, every device
# under its branch's name, and every branch's data as before the command or
# (for a step past the point of no return) as after it.  Then real signals
# at random times, over commands that leave the data as it was.
# Devices: $VELA_DISK_meta, $VELA_DISK_data.
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/stop.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
P=intr
M=/dev/mapper

modprobe dm-vela
ktap_plan 29
velactl init "$P" --metadata "$meta" --data "$data" --force >/dev/null
velactl create "$P/vol" --size 16M >/dev/null
dd if=/dev/urandom of="$M/$P@vol" bs=64k count=64 oflag=direct 2>/dev/null
velactl create-branch "$P/vol" keep >/dev/null

sum() {
	md5sum <"$M/$P@$1" | cut -d' ' -f1
}

# interrupt SIGNAL POINT ARGS...: "velactl ARGS" stopped at POINT, then sent
# SIGNAL (and let go, unless SIGKILL).  Its exit code in $rc, its output in
# /tmp/intr.out.
interrupt() {
	sig=$1 point=$2
	shift 2
	VELACTL_TEST_STOP=$point velactl "$@" </dev/null >/tmp/intr.out 2>&1 &
	pid=$!
	if ! wait_stopped $pid; then
		ktap_diag "velactl $* never reached $point: $(cat /tmp/intr.out)"
		kill -KILL $pid 2>/dev/null
	fi
	kill "-$sig" $pid
	[ "$sig" = KILL ] || kill -CONT $pid
	wait $pid
	rc=$?
}

# The pool is clean: activate --all and check succeed, no view is held, no
# device of the pool is suspended.
clean() {
	velactl activate "$P" >/tmp/act.out 2>&1 || { cat /tmp/act.out; return 1; }
	velactl check "$P" >/tmp/chk.out 2>&1 || { cat /tmp/act.out /tmp/chk.out; return 1; }
	velactl status "$P" | grep -q "^held view: *none" || { velactl status "$P"; return 1; }
	for d in /sys/block/dm-*; do
		if [ "$(cat "$d/dm/suspended")" = 1 ]; then
			echo "$(cat "$d/dm/name") is suspended"
			return 1
		fi
	done
	[ "$(sum keep)" = "$keep" ] || { echo "keep changed"; return 1; }
}

keep=$(sum keep)

# --- a held metadata view ------------------------------------------------------
interrupt KILL view-held check "$P"
ktap_expect_exit "check killed (SIGKILL) holding the view: the status line names its holder" 0 \
	" [0-9]+ velactl:check:$pid\$" dmsetup status "@$P"
ktap_expect_exit "...velactl status releases it, naming the gone holder" 0 \
	"released the metadata view velactl check \(pid $pid\) held, which is gone" velactl status "$P"
ktap_expect_exit "...and no view is held any more" 0 "^held view: +none" velactl status "$P"
interrupt KILL view-held dump "$P"
ktap_expect_exit "dump killed holding the view: activate releases it and says so" 0 \
	"released the metadata view velactl dump \(pid $pid\) held, which is gone" velactl activate "$P"
interrupt INT view-held check "$P"
ktap_expect_exit "check interrupted (SIGINT): exit 130, the view released on the way out" 0 "" \
	sh -c "[ $rc = 130 ] && velactl status $P | grep -q '^held view: *none'"
interrupt TERM view-held diff "$P/keep"
ktap_expect_exit "diff terminated (SIGTERM): exit 143, the view released" 0 "" \
	sh -c "[ $rc = 143 ] && velactl status $P | grep -q '^held view: *none'"
velactl dump --mappings "$P" 2>/tmp/pipe.err | head -c 10 >/dev/null
ktap_expect_exit "dump into a pipe closed early (SIGPIPE): the view released" 0 "^held view: +none" \
	velactl status "$P"
# Another tool's view is not velactl's to release, but check --force may.
change=$(dmsetup status "@$P" | awk '{ print $5 }')
dmsetup message "@$P" 0 reserve_metadata_snap "$change" mytool >/dev/null
ktap_expect_exit "another tool's view: status names it and keeps it" 0 \
	"held view: +[0-9]+ \(held by mytool\)" velactl status "$P"
ktap_expect_exit "...check refuses it (exit 6), naming the holder" 6 "held by 'mytool', not by velactl" \
	velactl check "$P"
ktap_expect_exit "...check --force releases it, and checks" 0 "released the metadata view 'mytool' held \(--force\)" \
	velactl check "$P" --force
ktap_expect_exit "...the pool is clean" 0 "" clean

# --- merge: the parent suspended ---------------------------------------------
before=$(sum vol)
velactl create-branch "$P/vol" child >/dev/null
dd if=/dev/urandom of="$M/$P@child" bs=64k count=4 seek=8 oflag=direct 2>/dev/null
after=$(sum child)
interrupt KILL parent-suspended merge "$P/child" --strategy replace --yes
ktap_expect_exit "merge killed with the parent suspended: activate resumes it, saying why" 0 \
	"resumed $P@vol, which a velactl that is gone left suspended" velactl activate "$P"
ktap_expect_exit "...the merge did not happen: the parent is as before" 0 "" \
	sh -c "[ \$(md5sum <$M/$P@vol | cut -d' ' -f1) = $before ]"
ktap_expect_exit "...clean" 0 "" clean
interrupt KILL merged merge "$P/child" --strategy replace --yes
ktap_expect_exit "merge killed after the merge, before the resume: check resumes the parent" 0 \
	"resumed $P@vol" velactl check "$P"
ktap_expect_exit "...the parent holds the merge (after), read through a fresh page cache" 0 "" \
	sh -c "[ \$(md5sum <$M/$P@vol | cut -d' ' -f1) = $after ]"
ktap_expect_exit "...clean" 0 "" clean
before=$(sum vol)
dd if=/dev/urandom of="$M/$P@child" bs=64k count=4 seek=20 oflag=direct 2>/dev/null
after=$(sum child)
interrupt INT parent-suspended merge "$P/child" --strategy replace --yes
ktap_expect_exit "merge sent SIGINT with the parent suspended: it finishes, then exits 130" 0 "" \
	sh -c "[ $rc = 130 ] && grep -q 'merged $P/child into vol' /tmp/intr.out && [ \$(md5sum <$M/$P@vol | cut -d' ' -f1) = $after ]"
ktap_expect_exit "...clean" 0 "" clean

# --- rename: the metadata renamed, the device not yet ---------------------------
interrupt KILL renamed-in-metadata rename "$P/child" kid
ktap_expect_exit "rename killed between the message and the dm rename: activate finishes it" 0 \
	"renamed device $P@child to $P@kid" velactl activate "$P"
ktap_expect_exit "...the device is under its new name only" 0 "" \
	sh -c "[ -b $M/$P@kid ] && [ ! -e $M/$P@child ]"
interrupt HUP renamed-in-metadata rename "$P/kid" child
ktap_expect_exit "rename sent SIGHUP at the same step: it finishes, then exits 129" 0 "" \
	sh -c "[ $rc = 129 ] && [ -b $M/$P@child ] && [ ! -e $M/$P@kid ]"

# --- create-branch: made, not yet active ------------------------------------------
interrupt KILL created create-branch "$P/vol" late
ktap_expect_exit "create-branch killed before activation: activate activates the branch" 0 \
	"pool $P: active, 1 device activated" velactl activate "$P"
ktap_expect_exit "...it reads its parent" 0 "" sh -c "cmp -s $M/$P@late $M/$P@vol"

# --- delete --recursive ---------------------------------------------------------
velactl create-branch "$P/late" late2 >/dev/null
interrupt INT deleted-one delete "$P/late" --recursive --yes
ktap_expect_exit "delete --recursive interrupted (SIGINT) after one: exit 130, says so; the rest is intact" 0 \
	"interrupted after 1 of 2; the rest of the tree is intact" sh -c "[ $rc = 130 ] && cat /tmp/intr.out"
ktap_expect_exit "...the same delete again finishes it" 0 "deleted $P/late" \
	velactl delete "$P/late" --recursive --yes

# --- real signals at random times ----------------------------------------------------
# Over commands whose data stays as it was: any moment is fine.
bad=""
i=0
while [ $i -lt 12 ]; do
	case $((i % 4)) in
	0) set -- create-branch "$P/vol" "r$i" ;;
	1) set -- rename "$P/r$((i - 1))" "s$i" ;;
	2) set -- check "$P" ;;
	3) set -- delete "$P/s$((i - 2))" ;;
	esac
	velactl "$@" >/dev/null 2>&1 &
	pid=$!
	usleep $(($(od -An -N2 -tu2 /dev/urandom) * 8))
	kill -KILL $pid 2>/dev/null
	wait $pid
	out=$(clean 2>&1) || bad="$bad [$i: velactl $*: $out]"
	i=$((i + 1))
done
if [ -z "$bad" ]; then
	ktap_pass "12 commands killed (SIGKILL) at random times: activate --all and check leave the pool clean"
else
	ktap_fail "commands killed at random times leave the pool clean" "$bad"
fi
ktap_expect_exit "the volume's data never changed" 0 "" sh -c "[ \$(md5sum <$M/$P@keep | cut -d' ' -f1) = $keep ]"

velactl deactivate "$P" >/dev/null
ktap_check "the metadata checks clean" velactl check "$meta"
ktap_finish
