#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The VM rig checks itself: exit status, per-test verdicts (skip, failure,
# timeout, kernel-log problems, taint), a guest kernel crash, and a power cut
# followed by a reboot on the same disk images.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/ktap.sh"
run_vm=$top/tests/vm/run-vm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect DESCRIPTION OUTPUT-FILE PATTERN: grep -E PATTERN in the output.
expect() {
	if grep -q -E -- "$3" "$2"; then
		ktap_pass "$1"
	else
		ktap_fail "$1" "no line matches '$3' in:" "$(cat "$2")"
	fi
}

ktap_plan 11

"$run_vm" --timeout 180 -- 'exit 3' >"$tmp/exit.out" 2>&1
rc=$?
if [ $rc -eq 3 ]; then
	ktap_pass "run-vm exits with the guest command's status"
else
	ktap_fail "run-vm exits with the guest command's status" "exit $rc" "$(cat "$tmp/exit.out")"
fi

"$run_vm" --timeout 240 -- tests/vm/run-tests tests/vm/selftest \
	pass.sh skip.sh fail.sh kernel_warning.sh taint.sh hang.sh >"$tmp/suite.out" 2>&1
expect "a passing test is ok" "$tmp/suite.out" '^ok 1 selftests: selftest: pass.sh$'
expect "exit code 4 is a skip" "$tmp/suite.out" '^ok 2 selftests: selftest: skip.sh # SKIP'
expect "a failing test is not ok" "$tmp/suite.out" '^not ok 3 selftests: selftest: fail.sh # exit=1'
expect "a kernel-log problem fails the test that logged it, with the excerpt" \
	"$tmp/suite.out" '^not ok 4 selftests: selftest: kernel_warning.sh # kernel problem'
expect "the excerpt shows the log line" "$tmp/suite.out" '^# .*WARNING: CPU: 0 PID: 1 at vela-rig-selftest'
expect "a new taint flag fails the test" "$tmp/suite.out" '^not ok 5 selftests: selftest: taint.sh # kernel tainted: new flags 512'
expect "a test past its timeout fails" "$tmp/suite.out" '^not ok 6 selftests: selftest: hang.sh # TIMEOUT'

"$run_vm" --timeout 180 -- 'echo c >/proc/sysrq-trigger' >"$tmp/crash.out" 2>&1
rc=$?
if [ $rc -eq 125 ] && grep -q 'Kernel panic' "$tmp/crash.out" &&
   grep -q '^not ok' "$tmp/crash.out"; then
	ktap_pass "a guest kernel crash fails the run and shows the console"
else
	ktap_fail "a guest kernel crash fails the run and shows the console" "exit $rc" \
		"$(cat "$tmp/crash.out")"
fi

# Power cut at a random moment while the guest writes numbered 4 KiB blocks
# with O_DIRECT and fsync, then reboot on the same images: every block the
# guest reported written must be there.
writer='i=0; while [ $i -lt 100000 ]; do
	printf "block %08d\n" $i | dd of=$VELA_DISK_data bs=4096 seek=$i conv=sync,notrunc,fsync oflag=direct 2>/dev/null || exit 1
	echo "wrote $i"; i=$((i + 1)); done'
"$run_vm" --timeout 180 --disk-dir "$tmp/disks" --disk data:64M \
	--kill-random 2:6 -- "$writer" >"$tmp/cut.out" 2>&1
rc=$?
last=$(sed -n 's/^wrote \([0-9]*\)$/\1/p' "$tmp/cut.out" | tail -n 1)
if [ $rc -eq 137 ] && [ -n "$last" ] && grep -q '^# run-vm: power cut' "$tmp/cut.out"; then
	ktap_pass "a power cut at a random moment kills the VM mid-workload (after block $last)"
else
	ktap_fail "a power cut at a random moment kills the VM mid-workload" "exit $rc" \
		"$(tail -n 20 "$tmp/cut.out")"
	last=
fi
verifier="i=0; while [ \$i -le ${last:-0} ]; do
	want=\$(printf 'block %08d' \$i)
	got=\$(dd if=\$VELA_DISK_data bs=4096 skip=\$i count=1 2>/dev/null | head -n 1)
	[ \"\$got\" = \"\$want\" ] || { echo \"block \$i: '\$got'\"; exit 1; }
	i=\$((i + 1)); done; echo verified \$i"
"$run_vm" --timeout 180 --disk-dir "$tmp/disks" --disk data:64M -- "$verifier" \
	>"$tmp/reboot.out" 2>&1
rc=$?
if [ -n "$last" ] && [ $rc -eq 0 ]; then
	ktap_pass "after the reboot every acknowledged block is on disk ($((last + 1)) blocks)"
else
	ktap_fail "after the reboot every acknowledged block is on disk" "exit $rc" \
		"$(tail -n 20 "$tmp/reboot.out")"
fi
ktap_finish
