#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Power cuts during merges: boot the VM on the same disks again and again,
# killing it 1 to 8 s into a loop of writes to a branch and child-wins
# merges into its parent (tests/vm/merge-powercut-guest.sh).  After every
# cut the parent must hold exactly the state before the merge in flight or
# the state after it, and the metadata must check clean.  A last boot
# recovers, deactivates and checks.  VELA_MERGE_POWERCUTS sets the number
# of cuts (default 10).  Disks: meta 64 MiB, data 256 MiB, state 16 MiB.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/ktap.sh"
cuts=${VELA_MERGE_POWERCUTS:-10}
dir=$(mktemp -d /tmp/vela-merge-powercut.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$top/build/logs/merge-powercut
mkdir -p "$log"

vm() {
	"$top/tests/vm/run-vm" --disk-dir "$dir" --disk meta:64M --disk data:256M \
		--disk state:16M --timeout 300 "$@" -- sh tests/vm/merge-powercut-guest.sh
}

ktap_plan $((cuts + 1))
mid=0
for i in $(seq 1 "$cuts"); do
	out=$(vm --kill-from '^VELA-CLOCK$' --kill-random 1:8 2>&1)
	rc=$?
	echo "$out" >"$log/boot-$i.log"
	summary=$(echo "$out" | grep -E '^(FRESH|RECOVERED|RECOVERY-FAILED)' | head -n 1)
	if [ $rc = 137 ] && echo "$summary" | grep -q -E '^(FRESH|RECOVERED)'; then
		ktap_pass "cut $i: $summary"
		echo "$summary" | grep -q 'a merge in flight' && mid=$((mid + 1))
	else
		ktap_fail "cut $i" "run-vm exit $rc" "$(echo "$out" | tail -n 20)"
	fi
done
out=$(vm --env VELA_POWERCUT_FINAL=1 2>&1)
rc=$?
echo "$out" >"$log/final.log"
if [ $rc = 0 ] && echo "$out" | grep -q '^FINAL'; then
	ktap_pass "after $cuts cuts ($mid during a merge): $(echo "$out" | grep '^RECOVERED'); deactivated: $(echo "$out" | sed -n 's/^FINAL //p')"
else
	ktap_fail "final recovery and check" "run-vm exit $rc" "$(echo "$out" | tail -n 20)"
fi
ktap_finish
