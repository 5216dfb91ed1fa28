#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# velactl's pool and branch administration against the real module: every
# subcommand's happy path, --help, a bad option, a missing device or
# branch, a bad name, and init's refusal of devices that hold data.  JSON
# output is parsed with jq.  Data written through the devices is checked
# with vela-io, so "the branch holds what its parent had" is tested, not
# assumed.  There is no udev in the guest: velactl must make the nodes.
# Devices: $VELA_DISK_meta (metadata), $VELA_DISK_data (data).
. "$(dirname "$0")/../../lib/ktap.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
P=adm

# json FILTER COMMAND...: COMMAND's stdout through jq -e FILTER.
json() {
	filter=$1
	shift
	"$@" >/tmp/json.out 2>/tmp/json.err && jq -e "$filter" /tmp/json.out >/dev/null
}

# Every command that takes a POOL/NAME: bad option, bad name, missing branch.
refusals() {	# refusals COMMAND [ARGS after POOL/NAME]
	cmd=$1
	shift
	ktap_expect_exit "$cmd --help prints its usage" 0 "usage: velactl $cmd" \
		velactl "$cmd" --help
	ktap_expect_exit "$cmd: a bad option is a usage error" 2 "unknown option" \
		velactl "$cmd" --frobnicate "$P/vol" "$@"
	ktap_expect_exit "$cmd: a bad name is a usage error" 2 "invalid name" \
		velactl "$cmd" "$P/bad name" "$@"
	ktap_expect_exit "$cmd: a missing branch exits 4 and says how to list them" 4 \
		"$P/ghost: no such volume or branch: 'velactl list $P'" velactl "$cmd" "$P/ghost" "$@"
}

modprobe dm-vela
ktap_plan 113

# --- init ---------------------------------------------------------------
dd if=/dev/zero of="$meta" bs=1M count=4 2>/dev/null
dd if=/dev/zero of="$data" bs=1M count=4 2>/dev/null
mkfs.ext4 -q -F "$data"
ktap_expect_exit "init --help prints its usage" 0 "usage: velactl init" velactl init --help
ktap_expect_exit "init: a bad option is a usage error" 2 "unknown option" \
	velactl init "$P" --metadata "$meta" --data "$data" --frobnicate
ktap_expect_exit "init: a bad pool name is a usage error" 2 "invalid pool name 'a@b'" \
	velactl init a@b --metadata "$meta" --data "$data"
ktap_expect_exit "init: a missing device exits 4 and names it" 4 "/dev/nonexistent" \
	velactl init "$P" --metadata /dev/nonexistent --data "$data"
ktap_expect_exit "init refuses a device with a filesystem, names it and the flag" 1 \
	"data device $data already holds ext4.*--force" \
	velactl init "$P" --metadata "$meta" --data "$data"
ktap_expect_exit "...and wrote nothing: the filesystem is still there" 1 'TYPE="ext4"' \
	velactl probe "$data"
dmsetup create holder --table "0 8 linear $meta 0"
ktap_expect_exit "init refuses a device that is in use, even with --force" 6 \
	"metadata device $meta is in use" \
	velactl init "$P" --metadata "$meta" --data "$data" --force
dmsetup remove holder
exec 4<"$meta"
ktap_expect_exit "init refuses a device a process has open, naming the process" 6 \
	"metadata device $meta is open by process [0-9]+" \
	velactl init "$P" --metadata "$meta" --data "$data" --force
exec 4<&-
ktap_expect_exit "init --force formats and activates the pool" 0 "pool $P: .*active" \
	velactl init "$P" --metadata "$meta" --data "$data" --block-size 64k --force
ktap_expect_exit "init refuses a pool name that exists (exit 5)" 5 "a pool named '$P' exists" \
	velactl init "$P" --metadata "$meta" --data "$data" --force
ktap_expect_exit "init --force wiped the old filesystem signature" 0 "no signature found" \
	velactl probe "$data"

# --- scan, status -------------------------------------------------------
ktap_expect_exit "scan finds the pool, active" 0 "^$P +active +$meta +$data" velactl scan
if json ".schema == 1 and (.pools[] | select(.name == \"$P\") | .active == true and .block_size == 65536 and (.uuid | test(\"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$\")))" velactl scan --json; then
	ktap_pass "scan --json parses, with the pool's block size and its UUID with dashes"
else
	ktap_fail "scan --json parses, with the pool's block size and its UUID with dashes" "$(cat /tmp/json.out /tmp/json.err)"
fi
ktap_expect_exit "status shows mode, needs_check and transaction id" 0 \
	"mode: +rw" velactl status "$P"
if json '.schema == 1 and .mode == "rw" and .needs_check == false and .transaction_id == 0 and .data_used == 65536 and (.data_total | type == "number")' velactl status "$P" --json; then
	ktap_pass "status --json: numbers as numbers"
else
	ktap_fail "status --json: numbers as numbers" "$(cat /tmp/json.out /tmp/json.err)"
fi
ktap_expect_exit "status of a missing pool exits 4" 4 "no pool named 'nopool'" velactl status nopool
ktap_expect_exit "status: a bad option is a usage error" 2 "unknown option" velactl status "$P" --frob

# --- create, create-branch ------------------------------------------------
ktap_expect_exit "create prints the new device's path" 0 "^/dev/mapper/$P@vol\$" \
	velactl create "$P/vol" --size 64M
ktap_expect_exit "...and the node exists without udev" 0 "" test -b "/dev/mapper/$P@vol"
ktap_expect_exit "create: an existing name exits 5" 5 "$P/vol: the name exists" \
	velactl create "$P/vol" --size 64M
ktap_expect_exit "...and left no device behind" 0 "" sh -c "[ \$(dmsetup ls | grep -c '$P@') = 1 ]"
ktap_expect_exit "create: a size of nothing is a usage error" 2 "--size 0x" velactl create "$P/v2" --size 0x
ktap_expect_exit "create without --size or --origin is a usage error" 2 "one of --size" \
	velactl create "$P/v2"
ktap_expect_exit "create in a missing pool exits 4" 4 "no pool named 'nopool'" \
	velactl create nopool/v --size 1M
ktap_expect_exit "create: a name too long for POOL@NAME is a usage error" 2 "at most 127 bytes" \
	velactl create "$P/$(printf 'x%.0s' $(seq 1 125))" --size 1M
ktap_expect_exit "create --origin on a missing device exits 4" 4 "/dev/nonexistent" \
	velactl create "$P/o" --origin /dev/nonexistent
dd if=/dev/urandom of=/tmp/vol.img bs=64k count=4 2>/dev/null
dd if=/tmp/vol.img of="/dev/mapper/$P@vol" bs=64k oflag=direct 2>/dev/null
# same_as_vol DEV: DEV starts with what was written to the volume.
same_as_vol() {
	head -c 262144 "$1" | cmp -s - /tmp/vol.img
}
ktap_expect_exit "create-branch prints the branch's path" 0 "^/dev/mapper/$P@golden\$" \
	velactl create-branch "$P/vol" golden
ktap_expect_exit "the branch reads what its parent held" 0 "" same_as_vol "/dev/mapper/$P@golden"
ktap_expect_exit "branch (alias) of a branch, with --no-autoactivate and --limit" 0 "$P@ci-1" \
	velactl branch "$P/golden" ci-1 --no-autoactivate --limit 1M
ktap_expect_exit "create-branch --json" 0 "" sh -c \
	"velactl create-branch $P/golden ci-2 --json | jq -e '.schema == 1 and .name == \"ci-2\" and .path == \"/dev/mapper/$P@ci-2\"'"
ktap_expect_exit "create-branch: an existing name exits 5" 5 "the name exists" \
	velactl create-branch "$P/vol" golden
ktap_expect_exit "create-branch of a missing parent exits 4" 4 "$P/ghost: no such" \
	velactl create-branch "$P/ghost" x
ktap_expect_exit "create-branch: a bad new name is a usage error" 2 "invalid name" \
	velactl create-branch "$P/vol" "x@y"
ktap_expect_exit "create-branch --size is refused: the parent decides" 2 "takes its size" \
	velactl create-branch "$P/vol" x --size 1G

# --- list -----------------------------------------------------------------
ktap_expect_exit "list shows every branch with its parent" 0 "ci-2 +golden" velactl list "$P"
ktap_expect_exit "list --tree indents lineage" 0 "^$P +    \`- ci-1" velactl list "$P" --tree -o pool,name
tab=$(printf '\t')
ktap_expect_exit "list -H: tab-separated, no header" 0 "^vol$tab-${tab}64.0MiB\$" \
	velactl list "$P" -H -o name,parent,size
ktap_expect_exit "list --bytes: exact sizes" 0 "^vol +67108864\$" velactl list "$P" --bytes -o name,size
ktap_expect_exit "list -o with an unknown field is a usage error" 2 "unknown field 'bogus'" \
	velactl list "$P" -o name,bogus
if json "
	.schema == 1 and (.branches | length) == 4 and
	(.branches[] | select(.name == \"ci-1\") |
		.parent == \"golden\" and .depth == 2 and .autoactivate == false and
		.limit == 1048576 and .size == 67108864 and .open == 0 and
		(.ctime | type == \"number\")) and
	(.branches[] | select(.name == \"vol\") |
		.parent == null and .mapped == 262144 and .exclusive == 0 and .shared == 262144)
	" velactl list "$P" --json -o name,parent,depth,size,mapped,exclusive,shared,limit,ctime,open,autoactivate,path; then
	ktap_pass "list --json: lineage, flags and exact space, numbers as numbers"
else
	ktap_fail "list --json: lineage, flags and exact space, numbers as numbers" "$(cat /tmp/json.out /tmp/json.err)"
fi
mkfs.ext4 -q "/dev/mapper/$P@ci-2"
ktap_expect_exit "list shows the filesystem type (libblkid)" 0 "^ci-2 +ext4\$" \
	velactl list "$P" -o name,fstype

# --- protect, limit, rename, resize -----------------------------------------
refusals protect
ktap_check "protect makes a branch read-only" velactl protect "$P/golden"
ktap_expect_exit "...writes to it fail" 1 "" sh -c \
	"dd if=/dev/zero of=/dev/mapper/$P@golden bs=4k count=1 oflag=direct 2>/dev/null"
ktap_expect_exit "...and list shows it" 0 "^golden +yes\$" velactl list "$P" -o name,protected
velactl create-branch "$P/vol" keep >/dev/null
velactl protect "$P/keep"
ktap_expect_exit "delete refuses a protected branch (exit 6), and says how" 6 \
	"$P/keep is protected: 'velactl unprotect $P/keep' first" velactl delete "$P/keep"
keep_id=$(velactl list "$P" -H -o name,id | awk '$1 == "keep" { print $2 }')
velactl deactivate "$P/keep" >/dev/null
change=$(dmsetup status "@$P" | awk '{ print $5 }')
ktap_expect_exit "the kernel refuses it too (dmsetup delete: EPERM, target 0.10)" 0 "^keep\$" sh -c \
	"! dmsetup message @$P 0 delete $change $keep_id 2>/dev/null && velactl list $P -H -o name | grep -x keep"
velactl unprotect "$P/keep"
ktap_check "...and once unprotected, it deletes" velactl delete "$P/keep"
ktap_check "unprotect makes it writable again" velactl unprotect "$P/golden"
refusals unprotect
refusals limit 1G
refusals resize --size 1G
ktap_expect_exit "limit: a bad size is a usage error" 2 "want a size" velactl limit "$P/vol" lots
ktap_check "limit none removes the cap" velactl limit "$P/ci-1" none
ktap_expect_exit "...and list shows no limit" 0 "^ci-1 +-\$" velactl list "$P" -o name,limit
refusals rename x
ktap_expect_exit "rename: a bad new name is a usage error" 2 "invalid name" \
	velactl rename "$P/ci-1" "a/b"
ktap_expect_exit "rename: to an existing name exits 5" 5 "the name exists" \
	velactl rename "$P/ci-1" golden
ktap_check "rename renames the branch and its device" velactl rename "$P/ci-1" ci-one
ktap_expect_exit "...the device moved with it" 0 "" sh -c \
	"test -b /dev/mapper/$P@ci-one && ! test -e /dev/mapper/$P@ci-1"
ktap_expect_exit "resize: shrinking is refused" 1 "shrinking is not supported" \
	velactl resize "$P/ci-one" --size 1M
ktap_check "resize grows the branch and its live device" velactl resize "$P/ci-one" --size 128M
ktap_expect_exit "...the device is 128 MiB" 0 "^262144\$" blockdev --getsz "/dev/mapper/$P@ci-one"

# --- delete -----------------------------------------------------------------
refusals delete
ktap_expect_exit "delete refuses a branch with children, and says how" 6 \
	"it has 2 child branches.*--recursive" velactl delete "$P/golden"
exec 3<"/dev/mapper/$P@ci-2"
ktap_expect_exit "delete --recursive refuses when any of the subtree is open" 6 \
	"$P/ci-2 is open.*nothing was deleted" velactl delete "$P/golden" --recursive
ktap_expect_exit "deactivate refuses a pool with an open device" 6 "$P/ci-2 is open" \
	velactl deactivate "$P"
exec 3<&-
ktap_check "delete removes a leaf and its device" velactl delete "$P/ci-one"
ktap_expect_exit "...gone from list and /dev/mapper" 0 "" sh -c \
	"! velactl list $P -H -o name | grep -qx ci-one && ! test -e /dev/mapper/$P@ci-one"
velactl protect "$P/ci-2"
ktap_expect_exit "delete --recursive refuses when any of the subtree is protected" 6 \
	"$P/ci-2 is protected.*nothing was deleted" velactl delete "$P/golden" --recursive --yes
velactl unprotect "$P/ci-2"
ktap_expect_exit "delete --recursive without --yes and no terminal: exit 2, nothing deleted" 2 \
	"delete 2 branches of pool $P: ci-2, golden: add --yes to confirm" \
	sh -c "velactl delete $P/golden --recursive </dev/null"
ktap_expect_exit "...on a terminal it asks, and 'n' deletes nothing (exit 1)" 1 \
	"not confirmed; nothing changed" \
	sh -c "printf 'n\\n' | script -qec 'velactl delete $P/golden --recursive' /dev/null"
ktap_expect_exit "...both are still there" 0 "" sh -c \
	"[ \$(velactl list $P -H -o name | grep -c -x -e golden -e ci-2) = 2 ]"
ktap_expect_exit "delete --recursive asks on a terminal and deletes the subtree on y" 0 \
	"delete 2 branches of pool $P: ci-2, golden\\? \\[y/N\\]" \
	sh -c "printf 'y\\n' | script -qec 'velactl delete $P/golden --recursive' /dev/null"
ktap_expect_exit "...only the volume is left" 0 "^vol\$" velactl list "$P" -H -o name

# --- activate, deactivate -----------------------------------------------------
velactl create-branch "$P/vol" manual --no-autoactivate >/dev/null
velactl create-branch "$P/vol" auto >/dev/null
ktap_check "deactivate removes every device of the pool" velactl deactivate "$P"
ktap_expect_exit "...nothing of it is left in device-mapper" 0 "" sh -c "! dmsetup ls | grep -q '$P'"
ktap_expect_exit "scan shows it inactive" 0 "^$P +inactive" velactl scan
ktap_expect_exit "init refuses a device that holds a dm-vela pool without --force" 1 \
	"already holds dm-vela pool metadata.*--force" velactl init other --metadata "$meta" --data "$data"
ktap_expect_exit "list of an inactive pool says how to activate it" 1 "velactl activate $P" \
	velactl list "$P"
ktap_expect_exit "activate: a bad option is a usage error" 2 "unknown option" velactl activate --frob
ktap_expect_exit "activate --all finds the pool by its superblock" 0 "pool $P: active, 2 devices" \
	velactl activate --all
ktap_expect_exit "...the --no-autoactivate branch stayed inactive" 0 "^manual +no +-\$" \
	velactl list "$P" -o name,active,path
ktap_expect_exit "activate POOL/NAME activates it by name" 0 "/dev/mapper/$P@manual" \
	velactl activate "$P/manual"
ktap_expect_exit "the volume's data survived deactivation" 0 "" same_as_vol "/dev/mapper/$P@vol"
ktap_expect_exit "activate of a missing pool exits 4" 4 "no pool named" velactl activate nopool

# --- extend -------------------------------------------------------------------
ktap_expect_exit "extend: a second pool is a usage error" 2 "want POOL" \
	velactl extend "$P" other
ktap_expect_exit "extend --data with nothing to grow says so" 0 "nothing grew" \
	velactl extend "$P" --data

# --- check and dump by pool name ---------------------------------------------
ktap_expect_exit "check POOL on an active pool reads a held view" 0 "held view consistent: 3 branch" \
	velactl check "$P"
if json '.schema == 1 and .superblock.view == "held" and (.branches | length) == 3' velactl dump "$P"; then
	ktap_pass "dump POOL on an active pool: the held view as JSON"
else
	ktap_fail "dump POOL on an active pool: the held view as JSON" "$(cat /tmp/json.out /tmp/json.err)"
fi
ktap_expect_exit "...and the view is released afterwards" 0 "held view: +none" velactl status "$P"
ktap_expect_exit "check --clear-needs-check refuses an active pool" 6 "deactivate it first" \
	velactl check --clear-needs-check "$P"
ktap_check "deactivate at the end" velactl deactivate "$P"
ktap_expect_exit "check POOL on an inactive pool reads the device: clean" 0 "clean: 3 branch" \
	velactl check "$P"
ktap_expect_exit "dump POOL on an inactive pool reads the device" 0 '"view": "committed"' \
	velactl dump "$P"
ktap_finish
