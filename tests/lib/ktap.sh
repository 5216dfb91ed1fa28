# SPDX-License-Identifier: GPL-2.0-only
#
# KTAP helpers for dm-vela's shell tests (POSIX sh: used in the busybox
# guest and on the host).  A test script calls ktap_plan, then one result
# function per case, then ktap_finish, which exits 0 only if every case
# passed or was skipped.

ktap_count=0
ktap_failed=0

ktap_plan() {
	echo "TAP version 13"
	echo "1..$1"
}

ktap_diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

ktap_pass() {
	ktap_count=$((ktap_count + 1))
	echo "ok $ktap_count $1"
}

ktap_fail() {
	ktap_count=$((ktap_count + 1))
	ktap_failed=$((ktap_failed + 1))
	echo "not ok $ktap_count $1"
	shift
	[ $# -eq 0 ] || ktap_diag "$@"
}

ktap_skip() {
	ktap_count=$((ktap_count + 1))
	echo "ok $ktap_count $1 # SKIP $2"
}

# ktap_check DESCRIPTION COMMAND...: pass if COMMAND succeeds; on failure
# show its output.
ktap_check() {
	desc=$1
	shift
	if ktap_out=$("$@" 2>&1); then
		ktap_pass "$desc"
	else
		ktap_fail "$desc" "command failed: $*" "$ktap_out"
	fi
}

# ktap_expect_exit DESCRIPTION STATUS PATTERN COMMAND...: pass if COMMAND
# exits with STATUS and its combined output matches the grep -E PATTERN.
ktap_expect_exit() {
	desc=$1 want=$2 pattern=$3
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" != "$want" ]; then
		ktap_fail "$desc" "exit $rc, expected $want: $*" "$out"
	elif ! printf '%s\n' "$out" | grep -q -E -- "$pattern"; then
		ktap_fail "$desc" "output does not match '$pattern'" "$out"
	else
		ktap_pass "$desc"
	fi
}

ktap_finish() {
	[ "$ktap_failed" -eq 0 ]
	exit $?
}
