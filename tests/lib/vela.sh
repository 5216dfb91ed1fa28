# SPDX-License-Identifier: GPL-2.0-only
#
# Helpers for the VM tests that drive the targets with dmsetup; sourced
# after ktap.sh.  The pool device is always named "pool".

# The pool's change id as this test last saw it: admin() keeps it.
change=0

# admin VERB ARGS...: an admin message with the current change id; the
# reply (a new id, for the verbs that reply) in $reply.
admin() {
	verb=$1
	shift
	reply=$(dmsetup message pool 0 "$verb" "$change" "$@") || return 1
	change=$((change + 1))
}

# pool_field N: field N of the pool's status (1 is the generation).
pool_field() {
	dmsetup status pool | awk -v n="$(($1 + 3))" '{ print $n }'
}

# kernel_refusal REASON COMMAND...: true if COMMAND fails and the kernel log
# written meanwhile carries REASON; otherwise $refusal_why says what happened.
refusal_no=0
kernel_refusal() {
	refusal_reason=$1
	shift
	refusal_no=$((refusal_no + 1))
	echo "vela-refusal $refusal_no" >/dev/kmsg
	if refusal_out=$("$@" 2>&1); then
		refusal_why="accepted: $*"
		return 1
	fi
	refusal_log=$(dmesg | sed -n "/vela-refusal $refusal_no\$/,\$p")
	if ! echo "$refusal_log" | grep -q -F -- "$refusal_reason"; then
		refusal_why="expected reason: $refusal_reason
command: $*
output: $refusal_out
kernel log:
$refusal_log"
		return 1
	fi
}

# expect_refusal DESCRIPTION REASON COMMAND...: kernel_refusal as a test case.
expect_refusal() {
	refusal_desc=$1
	shift
	if kernel_refusal "$@"; then
		ktap_pass "$refusal_desc"
	else
		ktap_fail "$refusal_desc" "$refusal_why"
	fi
}
