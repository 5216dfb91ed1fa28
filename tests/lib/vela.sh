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
