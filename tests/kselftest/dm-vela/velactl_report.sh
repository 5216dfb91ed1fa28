#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# velactl list's report options against the real module: -o +FIELD, -O
# (ascending and -FIELD descending, ties in id order), -S on a size, a
# name regex and a boolean, --units, --separator, --noheadings,
# --nameprefixes (eval'd), -S and -O with --json (checked with jq),
# list POOL/NAME, a selection that matches nothing, a bad selection, and
# pools in name order.  Four branches own known amounts of data: vol and
# golden none, ci-small one 64 KiB block, ci-big 32 of them.
# Devices: $VELA_DISK_meta, $VELA_DISK_data, and two loop devices on tmpfs.
. "$(dirname "$0")/../../lib/ktap.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
P=rep
M=/dev/mapper
tab=$(printf '\t')

# same DESCRIPTION WANT COMMAND...: COMMAND's stdout is exactly WANT.
same() {
	desc=$1 want=$2
	shift 2
	got=$("$@" 2>/tmp/report.err)
	rc=$?
	if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then
		ktap_pass "$desc"
	else
		ktap_fail "$desc" "exit $rc: $*" "want:" "$want" "got:" "$got" \
			"$(cat /tmp/report.err)"
	fi
}

# names ARGS...: the names velactl list -H -o name ARGS prints, on one line.
names() {
	velactl list "$P" -H -o name "$@" | tr '\n' ' ' | sed 's/ $//'
}

modprobe dm-vela
modprobe loop
ktap_plan 29

velactl init "$P" --metadata "$meta" --data "$data" --force >/dev/null
velactl create "$P/vol" --size 64M >/dev/null
dd if=/dev/urandom of="$M/$P@vol" bs=64k count=4 oflag=direct 2>/dev/null
velactl create-branch "$P/vol" ci-big >/dev/null
velactl create-branch "$P/vol" ci-small >/dev/null
velactl create-branch "$P/vol" golden >/dev/null
velactl protect "$P/golden"
dd if=/dev/urandom of="$M/$P@ci-big" bs=64k count=32 oflag=direct 2>/dev/null
dd if=/dev/urandom of="$M/$P@ci-small" bs=64k count=1 oflag=direct 2>/dev/null
# exclusive is exact as of the pool's last commit: it commits every second.
i=0
while [ $i -lt 20 ] &&
      [ "$(velactl list "$P/ci-big" -H -o exclusive --bytes)" != 2097152 ]; do
	sleep 0.5
	i=$((i + 1))
done
same "the pool committed: ci-big owns 2 MiB, ci-small 64 KiB" "2097152 65536" \
	sh -c "echo \$(velactl list $P/ci-big -H -o exclusive --bytes) \$(velactl list $P/ci-small -H -o exclusive --bytes)"

# --- -o, -O, -S ---------------------------------------------------------------
ktap_expect_exit "-o +id adds a field after the default ones" 0 \
	"^$P${tab}ci-big${tab}vol${tab}64.0MiB${tab}2.0MiB${tab}.*${tab}$M/$P@ci-big${tab}[0-9]+\$" \
	velactl list "$P" -H -o +id
same "without -O: id order" "vol ci-big ci-small golden" names
same "-O exclusive: ascending, ties in id order" "vol golden ci-small ci-big" names -O exclusive
same "-O -exclusive: descending, ties in id order" "ci-big ci-small vol golden" \
	names -O -exclusive
same "-O name" "ci-big ci-small golden vol" names -O name
same "-S on a size: exclusive>1m" "ci-big" names -S 'exclusive>1m'
same "-S on a size and a name regex" "ci-big ci-small" \
	names -S 'exclusive>32k && name=~ci-'
same "-S with || and a bare size (MiB, as lvs)" "vol ci-big golden" \
	names -S "exclusive>1 || name=~'^[gv]'"
same "-S on a yes/no field" "golden" names -S 'protected=yes'
same "a selection that matches nothing prints the headings only" \
	"NAME  EXCLUSIVE" velactl list "$P" -o name,exclusive -S 'size>1t'
ktap_expect_exit "a bad -S is a usage error that names the field" 2 \
	"-S 'bogus>1': Unrecognised selection field: bogus" velactl list "$P" -S 'bogus>1'
ktap_expect_exit "a bad -S value is a usage error that says where" 2 \
	"Selection syntax error at 'x'" velactl list "$P" -S 'size>1x'

# --- text formats ---------------------------------------------------------------
same "--units m" "64.00m${tab}2.00m" velactl list "$P/ci-big" -H -o size,exclusive --units m
same "--units H (powers of 1000)" "67.11M${tab}2.10M" \
	velactl list "$P/ci-big" -H -o size,exclusive --units H
same "--units b" "67108864B${tab}2097152B" velactl list "$P/ci-big" -H -o size,exclusive --units b
same "--separator, with headings" "NAME,SIZE
ci-big,64.0MiB" velactl list "$P/ci-big" -o name,size --separator ,
same "--noheadings: aligned, no heading" "ci-big       2.0MiB
ci-small    64.0KiB" velactl list "$P" -o name,exclusive --noheadings -S 'name=~ci-'
same "--nameprefixes" "VELA_NAME='golden' VELA_PROTECTED='yes' VELA_DEPTH='1'" \
	velactl list "$P/golden" --nameprefixes -o name,protected,depth
same "--nameprefixes output is safe to eval" "ci-big 2097152" \
	sh -c "eval \"\$(velactl list $P/ci-big --nameprefixes --bytes -o name,exclusive)\" &&
	       echo \"\$VELA_NAME \$VELA_EXCLUSIVE\""

# --- JSON, POOL/NAME ------------------------------------------------------------
velactl list "$P" --json -S 'name=~ci-' -O -exclusive -o name,exclusive,protected >/tmp/report.json
if jq -e '.schema == 1 and ([.branches[].name] == ["ci-big", "ci-small"]) and
	  .branches[0].exclusive == 2097152 and .branches[1].protected == false' \
	/tmp/report.json >/dev/null; then
	ktap_pass "--json with -S and -O: selected, sorted, numbers as numbers"
else
	ktap_fail "--json with -S and -O: selected, sorted, numbers as numbers" "$(cat /tmp/report.json)"
fi
same "--json selecting nothing: an empty array" "[]" \
	sh -c "velactl list $P --json -S 'size>1t' | jq -c .branches"
same "list POOL/NAME lists that branch" "ci-small${tab}vol" \
	velactl list "$P/ci-small" -H -o name,parent
same "list POOL/NAME --tree lists its subtree" "vol
  \`- ci-big
  \`- ci-small
  \`- golden" velactl list "$P/vol" --tree -H -o name
ktap_expect_exit "list POOL/NAME of a missing branch exits 4" 4 \
	"$P/ghost: no such volume or branch" velactl list "$P/ghost"

# --- pools in name order ----------------------------------------------------------
dir=/mnt/report
mkdir -p $dir
mount -t tmpfs -o size=140m tmpfs $dir
truncate -s 64M $dir/meta $dir/data
lmeta=$(losetup -f) && losetup "$lmeta" $dir/meta
ldata=$(losetup -f) && losetup "$ldata" $dir/data
velactl init aaa --metadata "$lmeta" --data "$ldata" >/dev/null
velactl create aaa/one --size 1M >/dev/null
ktap_expect_exit "list: pools in name order" 0 "" \
	sh -c "velactl list -H -o pool | uniq | grep -x -e aaa -e $P | tr '\n' ' ' | grep -qx 'aaa $P '"
ktap_expect_exit "scan: pools in name order" 0 "" \
	sh -c "velactl scan | awk 'NR > 1 { print \$1 }' | sort -c"
# A pool whose branch table cannot be read is reported with exit 1, and
# the other pools are still listed.  Pool "bad" is real on disk, but the
# device under its dm name and UUID is a dm-thin pool (over scratch
# devices), whose table reads like a pool's and which refuses
# list_branches.
modprobe dm-thin-pool
for f in bmeta bdata tmeta tdata; do truncate -s 16M $dir/$f; done
bmeta=$(losetup -f) && losetup "$bmeta" $dir/bmeta
bdata=$(losetup -f) && losetup "$bdata" $dir/bdata
tmeta=$(losetup -f) && losetup "$tmeta" $dir/tmeta
tdata=$(losetup -f) && losetup "$tdata" $dir/tdata
velactl init bad --metadata "$bmeta" --data "$bdata" >/dev/null
buuid=$(velactl status bad --json | jq -r .uuid | tr -d -)
velactl deactivate bad >/dev/null
dmsetup create --uuid "VELA-POOL-$buuid" @bad --table "0 32768 thin-pool $tmeta $tdata 128 0"
ktap_expect_exit "list: an unreadable pool is reported, the others still listed (exit 1)" 1 \
	"pool 'bad': cannot read its branch table" \
	sh -c "velactl list -H -o pool,name >/tmp/list.out; rc=\$?; grep -q '^aaa[[:space:]]*one\$' /tmp/list.out && grep -q '^$P[[:space:]]' /tmp/list.out || exit 9; exit \$rc"
dmsetup remove @bad
for l in "$bmeta" "$bdata" "$tmeta" "$tdata"; do losetup -d "$l"; done
# Loaded, dm-thin-pool holds dm-bufio and dm-persistent-data, which
# module_unload.sh's modprobe -r dm-vela would try to remove after it.
modprobe -r dm-thin-pool
velactl deactivate aaa >/dev/null
losetup -d "$lmeta"
losetup -d "$ldata"
umount $dir
ktap_check "deactivate at the end" velactl deactivate "$P"
ktap_finish
