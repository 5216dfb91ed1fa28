#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The pool target on a formatted pool: activation, the status and table
# lines, the admin messages with their change-id compare-and-swap, every
# message error with its reason in the kernel log, a reload sharing the
# open metadata, and the metadata checking clean after deactivation.
# Devices: $VELA_DISK_meta (metadata) and $VELA_DISK_data (data), 64 KiB
# data blocks.
. "$(dirname "$0")/../../lib/ktap.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
len=$(blockdev --getsz "$data")
table="0 $len vela-pool $meta $data 128"
case_no=0

# expect_message DESCRIPTION REASON MESSAGE...: the message fails and the
# kernel log says REASON.
expect_message() {
	desc=$1 reason=$2
	shift 2
	case_no=$((case_no + 1))
	echo "vela-msg-case $case_no" >/dev/kmsg
	if out=$(dmsetup message pool 0 "$@" 2>&1); then
		ktap_fail "$desc" "message accepted: $*" "$out"
		return
	fi
	log=$(dmesg | sed -n "/vela-msg-case $case_no\$/,\$p")
	if echo "$log" | grep -q -F -- "$reason"; then
		ktap_pass "$desc"
	else
		ktap_fail "$desc" "expected reason: $reason" "dmsetup: $out" "kernel log:" "$log"
	fi
}

# status_field N: field N of the pool's status, after "0 LEN vela-pool".
status_field() {
	dmsetup status pool | awk -v n="$(($1 + 3))" '{ print $n }'
}

modprobe dm-vela
ktap_plan 51
ktap_check "velactl format on the NVMe namespaces" \
	velactl format --metadata "$meta" --data "$data" --block-size 64k --name kself
ktap_check "dmsetup create pool" dmsetup create pool --table "$table"

st=$(dmsetup status pool)
if echo "$st" | grep -q -E "^0 $len vela-pool 1 0 [0-9]+/[0-9]+ 1/[0-9]+ 0 0 rw - queue_if_no_space discard_passdown - -\$"; then
	ktap_pass "status: generation 1, change id 0, data block 0 used, no branches, rw, no view held (- -)"
else
	ktap_fail "status: generation 1, change id 0, data block 0 used, no branches, rw" "$st"
fi
tl=$(dmsetup table pool)
if echo "$tl" | grep -q -E "^0 $len vela-pool [0-9]+:[0-9]+ [0-9]+:[0-9]+ 128\$"; then
	ktap_pass "table line echoes the constructor's arguments"
else
	ktap_fail "table line echoes the constructor's arguments" "$tl"
fi

id=$(dmsetup message pool 0 create_volume 0 prod 2097152 2>&1)
if [ "$id" = 1 ] && [ "$(status_field 2)" = 1 ] && [ "$(status_field 5)" = 1 ]; then
	ktap_pass "create_volume replies id 1; change id and branch count move to 1"
else
	ktap_fail "create_volume replies id 1; change id and branch count move to 1" \
		"reply: $id" "$(dmsetup status pool)"
fi
expect_message "a stale change id is refused" "stale change id" create_volume 0 other 100
gen=$(status_field 1)
golden=$(dmsetup message pool 0 create_branch 1 1 golden 2>&1)
ci=$(dmsetup message pool 0 create_branch 2 "$golden" ci-1 2>&1)
if [ "$golden" = 2 ] && [ "$ci" = 3 ] && [ "$(status_field 5)" = 3 ]; then
	ktap_pass "create_branch of a volume and of a branch reply ids 2 and 3"
else
	ktap_fail "create_branch of a volume and of a branch reply ids 2 and 3" \
		"replies: $golden $ci" "$(dmsetup status pool)"
fi
if [ "$(status_field 1)" -gt "$gen" ]; then
	ktap_pass "each admin message is committed (the generation moves)"
else
	ktap_fail "each admin message is committed (the generation moves)" "$(dmsetup status pool)"
fi
expect_message "a duplicate name is refused" "a branch with this name exists" \
	create_branch 3 1 golden
expect_message "a branch of a missing parent is refused" "no such branch" \
	create_branch 3 99 orphan
expect_message "an invalid name is refused" "invalid name" create_volume 3 'a/b' 100
expect_message "a zero size is refused" "size must be a positive number" create_volume 3 x 0
expect_message "deleting a branch with children is refused" "the branch has children" \
	delete 3 2
expect_message "deleting a missing branch is refused" "no such branch" delete 3 42
expect_message "an unknown message is refused" "unknown message 'frobnicate'" frobnicate 3
expect_message "a wrong argument count is refused" "message delete takes 2 arguments" delete 3
expect_message "a change id that is not a number is refused" "the change id is not a number" \
	delete x 3
ktap_check "delete a leaf branch" dmsetup message pool 0 delete 3 3
if [ "$(status_field 2)" = 4 ] && [ "$(status_field 5)" = 2 ] && [ "$(status_field 6)" = 0 ]; then
	ktap_pass "status after delete: change id 4, 2 branches, no pending delete (empty trees)"
else
	ktap_fail "status after delete: change id 4, 2 branches, no pending delete (empty trees)" \
		"$(dmsetup status pool)"
fi

ktap_check "rename a branch" dmsetup message pool 0 rename 4 2 golden-v2
ktap_check "protect a branch (set_read_only)" dmsetup message pool 0 set_read_only 5 2
ktap_check "grow a volume (resize)" dmsetup message pool 0 resize 6 1 4194304
expect_message "shrinking is refused" "shrinking a branch is not supported" resize 7 1 100
ktap_check "limit a branch's allocation (set_limit)" dmsetup message pool 0 set_limit 7 2 1000
expect_message "renaming onto an existing name is refused" "a branch with this name exists" \
	rename 8 2 prod
ktap_check "unprotect and protect again" sh -c \
	"dmsetup message pool 0 set_writable 8 2 && dmsetup message pool 0 set_read_only 9 2"

# The held metadata view: a live pool's branch table, consistent for
# velactl however the pool moves on.
held=$(dmsetup message pool 0 reserve_metadata_snap 10 2>&1)
if [ "$(status_field 11)" = "$held" ] && [ "$(status_field 2)" = 10 ] && [ "$(status_field 12)" = "?" ]; then
	ktap_pass "reserve_metadata_snap replies the held root, shown in the status (holder ?); the change id stays"
else
	ktap_fail "reserve_metadata_snap replies the held root, shown in the status" \
		"reply: $held" "$(dmsetup status pool)"
fi
expect_message "a second view is refused" "a metadata view is already held" \
	reserve_metadata_snap 10
dmsetup message pool 0 create_volume 10 after-the-view 100 >/dev/null
n=$(velactl dump --held "$meta" | grep -c '"id":')
if velactl dump --held "$meta" | grep -q '"view": "held"' && [ "$n" = 2 ]; then
	ktap_pass "velactl dump --held on the live pool lists the 2 branches of the view, not the 3rd made since"
else
	ktap_fail "velactl dump --held lists the view's 2 branches" "$(velactl dump --held "$meta" 2>&1)"
fi
ktap_expect_exit "velactl check --held checks the live pool's view" 0 "held view consistent: 2 branch" \
	velactl check --held "$meta"
ktap_check "release_metadata_snap" dmsetup message pool 0 release_metadata_snap 11
expect_message "releasing with no view held is refused" "no metadata view is held" \
	release_metadata_snap 11
ktap_expect_exit "with no view held, the holder field is -" 0 "^-\$" status_field 12
expect_message "a holder tag of 32 characters is refused" "the holder must be 1 to 31" \
	reserve_metadata_snap 11 0123456789abcdef0123456789abcdef
ktap_check "reserve_metadata_snap with a holder tag" \
	dmsetup message pool 0 reserve_metadata_snap 11 ci:job-7
ktap_expect_exit "...the status line shows the holder after the root (target 0.10)" 0 "^ci:job-7\$" \
	status_field 12
ktap_check "...and it is released" dmsetup message pool 0 release_metadata_snap 11
ktap_expect_exit "velactl dump --held with no view says so" 1 "no held metadata view" \
	velactl dump --held "$meta"
dmsetup message pool 0 delete 11 4 >/dev/null

# A reload builds a second table on the same metadata device while the
# first is live: they share the open pool.
before=$(status_field 2)
ktap_check "reload and resume the pool" sh -c \
	"dmsetup reload pool --table '$table' && dmsetup resume pool"
if [ "$(status_field 2)" = "$before" ] && [ "$before" = 12 ]; then
	ktap_pass "the reloaded pool sees the same metadata"
else
	ktap_fail "the reloaded pool sees the same metadata" "$(dmsetup status pool)"
fi

# Create options, and the read-only messages velactl lists and finds with.
opt=$(dmsetup message pool 0 create_branch 12 1 opt no_autoactivate limit=16 2>&1)
expect_message "an unknown create option is refused" "unknown option" \
	create_branch 13 1 opt2 frobnicate
# Each row ends with the usage generation: admin messages commit, so the
# pool's current one.
rows=$(dmsetup message pool 0 list_branches 0)
gen=$(status_field 1)
if [ "$(echo "$rows" | head -n 1)" = "13 -" ] && [ "$(echo "$rows" | wc -l)" = 4 ] &&
   echo "$rows" | grep -q -E "^$opt 1 1 4194304 [0-9]+ 8 0 0 0 16 [0-9a-f]{32} opt - $gen\$"; then
	ktap_pass "list_branches: change id, no next page, 3 rows; create options set flags and limit"
else
	ktap_fail "list_branches: change id, no next page, 3 rows; create options set flags and limit" \
		"create_branch replied: $opt" "$rows"
fi
page=$(dmsetup message pool 0 list_branches 0 1)
if [ "$(echo "$page" | head -n 1)" = "13 2" ] && [ "$(echo "$page" | wc -l)" = 2 ] &&
   echo "$page" | grep -q -E "^1 - 0 4194304 [0-9]+ 0 0 0 0 0 [0-9a-f]{32} prod - $gen\$"; then
	ktap_pass "list_branches FROM 1: one row and the next id"
else
	ktap_fail "list_branches FROM 1: one row and the next id" "$page"
fi
ktap_expect_exit "list_branches ... no_usage: the usage fields are -, the rest as with them" 0 \
	"^1 - 0 4194304 [0-9]+ 0 0 - - 0 [0-9a-f]{32} prod - -\$" \
	dmsetup message pool 0 list_branches 0 1 no_usage
ktap_expect_exit "find_branch replies a name's id" 0 "^2\$" \
	dmsetup message pool 0 find_branch golden-v2
ktap_expect_exit "find_branch of a missing name fails" 1 "" \
	dmsetup message pool 0 find_branch nobody
expect_message "list_branches with a bad id is refused" "takes the id to list from" \
	list_branches x

ktap_expect_exit "a create with options moved the change id once" 0 "" \
	test "$(status_field 2)" = 13
ktap_check "dmsetup remove pool" dmsetup remove pool
out=$(velactl check "$meta" 2>&1)
if [ $? -eq 0 ] && velactl dump "$meta" | grep -q '"name": "golden-v2"'; then
	ktap_pass "velactl check is clean and dump lists the branches"
else
	ktap_fail "velactl check is clean and dump lists the branches" "$out"
fi
dump=$(velactl dump "$meta")
if echo "$dump" | grep -q -E '"id": 1, "name": "prod".*"size_sectors": 4194304' &&
   echo "$dump" | grep -q -E '"id": 2, "name": "golden-v2".*"flags": 1, .*"alloc_limit_blocks": 1000'; then
	ktap_pass "the metadata holds the new name, size, protection and limit"
else
	ktap_fail "the metadata holds the new name, size, protection and limit" "$dump"
fi
ktap_finish
