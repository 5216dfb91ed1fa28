#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Twenty `velactl create-branch` calls started at once on one pool all
# succeed, with distinct names and devices, and every branch holds its
# parent's data.  Two calls with the same name give one success and one
# clear "exists" error (exit 5).  A tool that changes the pool without
# velactl's lock (dmsetup, moving the change id) makes velactl retry, not
# fail or overwrite.
#
# Locks before reads: a command stopped just after it took the pool's lock
# (VELACTL_TEST_STOP=locked:POOL) holds it while another queues, so each race is
# played in one order, exactly.  The queued command must act on the state
# the first one left: two activates both succeed; an activate --all behind a
# deactivate activates again; a create-branch behind a deactivate says the
# pool is not active.  --nowait and --wait SECONDS give up with exit 6 and
# name the holder.  Devices: $VELA_DISK_meta, $VELA_DISK_data.
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/stop.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
P=conc
N=20

modprobe dm-vela
ktap_plan 21
velactl init "$P" --metadata "$meta" --data "$data" --force >/dev/null
velactl create "$P/vol" --size 64M >/dev/null
dd if=/dev/urandom of=/tmp/vol.img bs=64k count=4 2>/dev/null
dd if=/tmp/vol.img of="/dev/mapper/$P@vol" bs=64k oflag=direct 2>/dev/null

i=1
while [ $i -le $N ]; do
	(velactl create-branch "$P/vol" "ci-$i" >/tmp/out.$i 2>&1; echo $? >/tmp/rc.$i) &
	i=$((i + 1))
done
wait
ok=0 bad=""
i=1
while [ $i -le $N ]; do
	if [ "$(cat /tmp/rc.$i)" = 0 ] && [ "$(cat /tmp/out.$i)" = "/dev/mapper/$P@ci-$i" ]; then
		ok=$((ok + 1))
	else
		bad="$bad ci-$i: rc $(cat /tmp/rc.$i) $(cat /tmp/out.$i);"
	fi
	i=$((i + 1))
done
if [ $ok = $N ]; then
	ktap_pass "$N concurrent create-branch calls all succeeded, each printing its own path"
else
	ktap_fail "$N concurrent create-branch calls all succeeded, each printing its own path" "$bad"
fi
names=$(velactl list "$P" -H -o name | grep -c '^ci-')
devs=$(dmsetup ls | grep -c "^$P@ci-")
ids=$(velactl list "$P" -H -o id | sort -u | wc -l)
if [ "$names" = $N ] && [ "$devs" = $N ] && [ "$ids" = $((N + 1)) ]; then
	ktap_pass "$N distinct branches, $N distinct devices, $((N + 1)) distinct ids"
else
	ktap_fail "$N distinct branches and devices" "names $names devices $devs ids $ids"
fi
bad=""
i=1
while [ $i -le $N ]; do
	head -c 262144 "/dev/mapper/$P@ci-$i" | cmp -s - /tmp/vol.img || bad="$bad ci-$i"
	i=$((i + 1))
done
if [ -z "$bad" ]; then
	ktap_pass "every branch reads its parent's data"
else
	ktap_fail "every branch reads its parent's data" "differ:$bad"
fi

(velactl create-branch "$P/vol" same >/tmp/out.a 2>&1; echo $? >/tmp/rc.a) &
(velactl create-branch "$P/vol" same >/tmp/out.b 2>&1; echo $? >/tmp/rc.b) &
wait
rcs=$(cat /tmp/rc.a /tmp/rc.b | sort | tr '\n' ' ')
if [ "$rcs" = "0 5 " ] && cat /tmp/out.a /tmp/out.b | grep -q "$P/same: the name exists"; then
	ktap_pass "two calls with one name: one success, one 'exists' (exit 5)"
else
	ktap_fail "two calls with one name: one success, one 'exists' (exit 5)" "exit codes $rcs" \
		"$(cat /tmp/out.a /tmp/out.b)"
fi
ktap_expect_exit "...and exactly one device of that name" 0 "" \
	sh -c "[ \$(dmsetup ls | grep -c '^$P@same') = 1 ]"

# Another tool moves the change id between velactl's status read and its
# message: velactl retries with the fresh id.  dmsetup racing in a loop.
change() {
	dmsetup status "@$P" | awk '{ print $5 }'
}
(
	j=0
	while [ $j -lt 40 ]; do
		c=$(change)
		dmsetup message "@$P" 0 set_limit "$c" 1 0 2>/dev/null
		j=$((j + 1))
	done
) &
bad=""
i=1
while [ $i -le 10 ]; do
	velactl create-branch "$P/vol" "race-$i" >/dev/null 2>/tmp/race.err || bad="$bad race-$i: $(cat /tmp/race.err)"
	i=$((i + 1))
done
wait
if [ -z "$bad" ]; then
	ktap_pass "create-branch succeeds while dmsetup moves the change id (ESTALE is retried)"
else
	ktap_fail "create-branch succeeds while dmsetup moves the change id" "$bad"
fi

# Concurrent deletes of distinct branches: all succeed, and the space comes back.
i=1
while [ $i -le $N ]; do
	(velactl delete "$P/ci-$i" >/tmp/out.$i 2>&1; echo $? >/tmp/rc.$i) &
	i=$((i + 1))
done
wait
bad=""
i=1
while [ $i -le $N ]; do
	[ "$(cat /tmp/rc.$i)" = 0 ] || bad="$bad ci-$i: $(cat /tmp/out.$i);"
	i=$((i + 1))
done
if [ -z "$bad" ]; then
	ktap_pass "$N concurrent deletes all succeeded"
else
	ktap_fail "$N concurrent deletes all succeeded" "$bad"
fi
ktap_expect_exit "...no ci- branch or device is left" 0 "" sh -c \
	"! velactl list $P -H -o name | grep -q '^ci-' && ! dmsetup ls | grep -q '^$P@ci-'"
# --- the lock ---------------------------------------------------------------
# Run "velactl $*" in the background, stopped just after it took the lock.
start_holder() {
	VELACTL_TEST_STOP=locked:$P velactl "$@" >/tmp/holder.out 2>&1 &
	holder=$!
	wait_stopped $holder || ktap_diag "the holder did not stop: $(cat /tmp/holder.out)"
}

# Run "velactl $*" in the background, queued behind the holder.
start_waiter() {
	velactl "$@" >/tmp/waiter.out 2>&1 &
	waiter=$!
	wait_queued $waiter || ktap_diag "the waiter did not queue: $(cat /tmp/waiter.out)"
}

# Let the holder go; both exit codes in $rc_holder and $rc_waiter.
release_both() {
	kill -CONT $holder
	wait $holder
	rc_holder=$?
	wait $waiter
	rc_waiter=$?
}

start_holder create-branch "$P/vol" held-1
ktap_expect_exit "--nowait: exit 6, naming the holder's command and pid" 6 \
	"pool '$P' is locked by velactl create-branch $P/vol held-1 \(pid $holder\): try again later" \
	velactl --nowait create-branch "$P/vol" other
t0=$(date +%s)
ktap_expect_exit "--wait 1 after the command: gives up with exit 6 and the holder" 6 \
	"pool '$P' is still locked by velactl create-branch $P/vol held-1 \(pid $holder\) after 1 s: nothing was done" \
	velactl create-branch "$P/vol" other --wait 1
t1=$(date +%s)
ktap_expect_exit "...after waiting about a second" 0 "" sh -c "[ $((t1 - t0)) -ge 1 ] && [ $((t1 - t0)) -le 5 ]"
ktap_expect_exit "...and made nothing" 0 "" sh -c "! velactl list $P -H -o name | grep -qx other"
kill -CONT $holder
wait $holder
rc_holder=$?
ktap_expect_exit "the holder, let go, completes" 0 "^held-1\$" sh -c \
	"[ $rc_holder = 0 ] && velactl list $P -H -o name | grep -x held-1"
ktap_expect_exit "--wait with a bad value is a usage error" 2 "want a whole number of seconds" \
	velactl --wait soon list "$P"

velactl deactivate "$P" >/dev/null
start_holder activate "$P"
start_waiter activate "$P"
release_both
if [ $rc_holder = 0 ] && [ $rc_waiter = 0 ] && dmsetup info "@$P" >/dev/null 2>&1; then
	ktap_pass "two activates at once: both succeed; the second finds the pool active"
else
	ktap_fail "two activates at once: both succeed" "exit $rc_holder and $rc_waiter" \
		"$(cat /tmp/holder.out /tmp/waiter.out)"
fi

start_holder deactivate "$P"
start_waiter activate --all
release_both
if [ $rc_holder = 0 ] && [ $rc_waiter = 0 ] && grep -q "pool $P: active" /tmp/waiter.out &&
   [ -b "/dev/mapper/$P@vol" ]; then
	ktap_pass "activate --all queued behind deactivate activates the pool and its volume again"
else
	ktap_fail "activate --all queued behind deactivate" "exit $rc_holder and $rc_waiter" \
		"$(cat /tmp/holder.out /tmp/waiter.out)"
fi

start_holder activate --all
start_waiter deactivate "$P"
release_both
if [ $rc_holder = 0 ] && [ $rc_waiter = 0 ] && ! dmsetup info "@$P" >/dev/null 2>&1; then
	ktap_pass "deactivate queued behind activate --all leaves the pool inactive"
else
	ktap_fail "deactivate queued behind activate --all" "exit $rc_holder and $rc_waiter" \
		"$(cat /tmp/holder.out /tmp/waiter.out)"
fi

velactl activate "$P" >/dev/null
start_holder deactivate "$P"
start_waiter create-branch "$P/vol" late
release_both
if [ $rc_holder = 0 ] && [ $rc_waiter = 1 ] &&
   grep -q "pool '$P' is not active: run 'velactl activate $P'" /tmp/waiter.out; then
	ktap_pass "create-branch queued behind deactivate says the pool is not active (exit 1)"
else
	ktap_fail "create-branch queued behind deactivate" "exit $rc_holder and $rc_waiter" \
		"$(cat /tmp/holder.out /tmp/waiter.out)"
fi
velactl activate "$P" >/dev/null
ktap_expect_exit "...and made no branch" 0 "" sh -c "! velactl list $P -H -o name | grep -qx late"

ktap_check "deactivate" velactl deactivate "$P"
ktap_check "the metadata checks clean" velactl check "$meta"
ktap_finish
