#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The userspace unit tests (tests/unit/test-*.c, over libvela): each program
# runs twice, as its ASan+UBSan build and as its plain build under valgrind.
# One result per run, with the program's own KTAP indented as subtests; what
# it wrote to stderr (kernel-style log lines, sanitizer and valgrind reports)
# shows as diagnostics in place.  Outputs stay in build/logs/unit/.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/ktap.sh"
log=$top/build/logs/unit
rm -rf "$log"
mkdir -p "$log"

if ! make -C "$top" unit-tests >"$log/build.log" 2>&1; then
	ktap_plan 1
	ktap_fail "unit: build libvela and the unit tests" "$(tail -n 30 "$log/build.log")"
	ktap_finish
fi

names=$(cd "$top/tests/unit" && ls test-*.c 2>/dev/null | sed 's/\.c$//')
ktap_plan $((2 * $(echo "$names" | wc -w)))

# run DESCRIPTION OUTPUT COMMAND...: run a test program, print its KTAP
# indented, then the result of the run.
run() {
	desc=$1 out=$2
	shift 2
	"$@" >"$out" 2>&1
	rc=$?
	awk '/^(TAP version|KTAP version|1\.\.[0-9]|(not )?ok [0-9]|#)/ { print; next }
	     { print "# " $0 }' "$out" | sed 's/^/    /'
	if [ "$rc" -eq 0 ]; then
		ktap_pass "$desc"
	else
		ktap_fail "$desc" "exit status $rc; output in $out"
	fi
}

for name in $names; do
	run "unit: $name (ASan+UBSan)" "$log/$name.out" \
		"$top/build/tests/$name" --timeout 300
	if command -v valgrind >/dev/null 2>&1; then
		# valgrind is ~50x slower: the property test runs fewer operations.
		run "unit: $name (valgrind)" "$log/$name-plain.out" \
			env VELA_PROP_OPS=2000 valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite \
			"$top/build/tests/$name-plain" --timeout 300
	else
		ktap_skip "unit: $name (valgrind)" "valgrind is not installed"
	fi
done
ktap_finish
