#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Power cuts (R1): boot the VM on the same disks again and again, each
# time killing it at a random moment 2 to 12 s into the mixed workload of
# tests/vm/powercut-guest.sh.  Every boot after the first must recover:
# velactl check clean before activation, every branch's data acknowledged
# before its last completed flush present, in-flight batches whole or old
# per sector.  A last boot recovers, deactivates and checks again.
# VELA_POWERCUTS sets the number of cuts (make check: 10, check-full: 100).
# Disks: meta 64 MiB, data 256 MiB, state 256 MiB (the oracle).
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/ktap.sh"
cuts=${VELA_POWERCUTS:-10}
dir=$(mktemp -d /tmp/vela-powercut.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$top/build/logs/powercut
mkdir -p "$log"

vm() {
	"$top/tests/vm/run-vm" --disk-dir "$dir" --disk meta:64M --disk data:256M \
		--disk state:256M --timeout 300 "$@" -- sh tests/vm/powercut-guest.sh
}

ktap_plan $((cuts + 1))
survived=0
for i in $(seq 1 "$cuts"); do
	out=$(vm --kill-from '^VELA-CLOCK$' --kill-random 2:12 2>&1)
	rc=$?
	echo "$out" >"$log/boot-$i.log"
	summary=$(echo "$out" | grep -E '^(FRESH|RECOVERED|RECOVERY-FAILED)' | head -n 1)
	if [ $rc = 137 ] && echo "$summary" | grep -q -E '^(FRESH|RECOVERED)'; then
		ktap_pass "cut $i: ${summary}; cut at $(echo "$out" | sed -n 's/^# run-vm: power cut: //p')"
		survived=$((survived + 1))
	else
		ktap_fail "cut $i" "run-vm exit $rc" "$(echo "$out" | tail -n 20)"
	fi
done
out=$(vm --env VELA_POWERCUT_FINAL=1 2>&1)
rc=$?
echo "$out" >"$log/final.log"
if [ $rc = 0 ] && echo "$out" | grep -q '^FINAL'; then
	ktap_pass "after $survived cuts: $(echo "$out" | grep '^RECOVERED'); deactivated: $(echo "$out" | sed -n 's/^FINAL //p')"
else
	ktap_fail "final recovery and check" "run-vm exit $rc" "$(echo "$out" | tail -n 20)"
fi
ktap_finish
