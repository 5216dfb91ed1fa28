#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Branch devices beyond the oracle: table-line errors, refusing to delete
# an active branch, golden (read-only) branches, allocation limits,
# discard, background
# reclaim back to the baseline, isolation of deleted data (R5), fio
# verify, ext4 on a volume and its branch, and both out-of-data-space
# modes with recovery by growing the data device.
# Devices: $VELA_DISK_meta (metadata) and $VELA_DISK_data (data); the
# pool's data device is a dm-linear slice of $VELA_DISK_data, 32 MiB
# (4096 blocks of 8 KiB) until the space tests grow it to 64 MiB.
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/vela.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
bs=16

activate() {	# activate ID SECTORS
	dmsetup create "b$1" --table "0 $2 vela /dev/mapper/pool $1" && dmsetup mknodes "b$1"
}
branch_field() {
	dmsetup status "b$1" | awk -v n="$(($2 + 3))" '{ print $n }'
}
data_used() {
	pool_field 4 | cut -d/ -f1
}
# wait_reclaimed: until the pool has no pending delete (at most 30 s).
wait_reclaimed() {
	n=0
	while [ "$(pool_field 6)" != 0 ] && [ $n -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ "$(pool_field 6)" = 0 ]
}
pool_table() {	# pool_table [FEATURES...]
	echo "0 $(blockdev --getsz /dev/mapper/data) vela-pool $meta /dev/mapper/data $bs $*"
}

modprobe dm-vela
ktap_plan 25
dmsetup create data --table "0 65536 linear $data 0" && dmsetup mknodes data
ktap_check "format a 32 MiB pool and activate it" sh -c \
	"velactl format --force --metadata $meta --data /dev/mapper/data --block-size 8k --name feat &&
	 dmsetup create pool --table '$(pool_table)' && dmsetup mknodes pool"
admin create_volume prod 8192 && prod=$reply

ktap_expect_exit "a branch id that does not exist is refused" 1 "" \
	dmsetup create bad --table "0 8192 vela /dev/mapper/pool 99"
ktap_expect_exit "a table longer than the branch is refused" 1 "" \
	dmsetup create bad --table "0 16384 vela /dev/mapper/pool $prod"
ktap_expect_exit "an origin for a branch that has none is refused" 1 "" \
	dmsetup create bad --table "0 8192 vela /dev/mapper/pool $prod $data"
ktap_expect_exit "a pool device that is not a vela-pool is refused" 1 "" \
	dmsetup create bad --table "0 8192 vela /dev/mapper/data $prod"
if dmesg | grep -q "No such branch in the pool" &&
   dmesg | grep -q "The table is longer than the branch" &&
   dmesg | grep -q "The pool device is not an active vela-pool"; then
	ktap_pass "each refusal names its reason in the kernel log"
else
	ktap_fail "each refusal names its reason in the kernel log" "$(dmesg | tail -n 8)"
fi

activate "$prod" 8192
truncate -s $((8192 * 512)) /tmp/prod
vela-io write /dev/mapper/b$prod /tmp/prod 7 300 8192
if [ "$(branch_field "$prod" 1)" -gt 0 ] && [ "$(branch_field "$prod" 4)" = - ]; then
	ktap_pass "branch status: mapped blocks counted, no parent for a volume"
else
	ktap_fail "branch status: mapped blocks counted, no parent for a volume" \
		"$(dmsetup status b$prod)"
fi

# Golden branches.
admin create_branch "$prod" golden && golden=$reply
admin set_read_only "$golden"
activate "$golden" 8192
cp /tmp/prod /tmp/golden
ktap_expect_exit "a write to a read-only (golden) branch fails" 1 "" \
	dd if=/dev/zero of=/dev/mapper/b$golden bs=4096 count=1 oflag=direct status=none
ktap_expect_exit "the golden branch still reads its data" 0 "" \
	vela-io verify /dev/mapper/b$golden /tmp/golden
ktap_expect_exit "deleting an active branch is refused (EBUSY)" 1 "Device or resource busy" \
	dmsetup message pool 0 delete "$change" "$golden"

# Allocation limits: a capped branch cannot allocate past its cap; the
# pool and the other branches are unaffected; lifting the cap lets it on.
admin create_branch "$prod" capped && capped=$reply
admin set_limit "$capped" 10
activate "$capped" 8192
# The fsync commits, so the usage (as of the last commit) counts every write.
if ! dd if=/dev/zero of=/dev/mapper/b$capped bs=8192 count=20 oflag=direct status=none 2>/dev/null &&
   vela-io fsync /dev/mapper/b$capped &&
   [ "$(branch_field "$capped" 2)" = 10 ] && [ "$(pool_field 7)" = rw ] &&
   [ "$(branch_field "$capped" 6)" = "$(pool_field 1)" ] &&
   dmesg | grep -q "reached its allocation limit of 10 blocks"; then
	ktap_pass "set_limit: a branch capped at 10 blocks cannot own an 11th; the pool stays rw; usage as of the last commit"
else
	ktap_fail "set_limit: a branch capped at 10 blocks cannot own an 11th" \
		"$(dmsetup status b$capped)" "$(dmsetup status pool)"
fi
admin set_limit "$capped" 0
ktap_expect_exit "lifting the limit on the active branch lets it write again" 0 "" \
	dd if=/dev/zero of=/dev/mapper/b$capped bs=8192 count=20 oflag=direct status=none
dmsetup remove b$capped
admin delete "$capped"

# Discard.
mapped=$(branch_field "$prod" 1)
blkdiscard -o 0 -l 1048576 /dev/mapper/b$prod
dd if=/dev/zero of=/tmp/prod bs=1048576 count=1 conv=notrunc status=none
after=$(branch_field "$prod" 1)
if [ "$after" -lt "$mapped" ] && vela-io verify /dev/mapper/b$prod /tmp/prod; then
	ktap_pass "discard unmaps ($mapped -> $after blocks) and the range reads zeros"
else
	ktap_fail "discard unmaps and the range reads zeros" "mapped $mapped -> $after"
fi
ktap_expect_exit "the golden branch is untouched by its parent's discard" 0 "" \
	vela-io verify /dev/mapper/b$golden /tmp/golden

# Isolation (R5) and reclaim: a pattern on a deleted branch never shows
# through a new one, and the space comes back.
admin create_volume secret 8192 && secret=$reply
activate "$secret" 8192
vela-io fill /dev/mapper/b$secret 0xa5
dmsetup remove b$secret
used=$(data_used)
admin delete "$secret"
if wait_reclaimed && [ "$(data_used)" -lt "$used" ]; then
	ktap_pass "the deleted volume's blocks are reclaimed in the background ($used -> $(data_used))"
else
	ktap_fail "the deleted volume's blocks are reclaimed in the background" "$(dmsetup status pool)"
fi
admin create_volume fresh 8192 && fresh=$reply
activate "$fresh" 8192
truncate -s $((8192 * 512)) /tmp/fresh
admin create_branch "$fresh" fresh-b && freshb=$reply
activate "$freshb" 8192
cp /tmp/fresh /tmp/freshb
vela-io write /dev/mapper/b$fresh /tmp/fresh 11 200 8192
vela-io write /dev/mapper/b$freshb /tmp/freshb 12 200 8192
ktap_expect_exit "R5: new branches never read the deleted pattern (partial writes included)" 0 "" \
	vela-io verify /dev/mapper/b$fresh /tmp/fresh /dev/mapper/b$freshb /tmp/freshb

# fio with checksums, on a branch, while the usage of both branches is
# polled: the walks of the last commit run beside the commits the writes
# make (K7), and the metadata checks clean at the end.
(
	while [ ! -e /tmp/stop-polling ]; do
		dmsetup status "b$fresh" >/dev/null
		dmsetup status "b$freshb" >/dev/null
		dmsetup message pool 0 list_branches 0 >/dev/null
	done
) &
poller=$!
ktap_check "fio --verify=crc32c on a branch, its usage polled meanwhile" fio --name=verify \
	--filename=/dev/mapper/b$freshb --rw=randwrite --bs=4k --size=4m --direct=1 \
	--ioengine=psync --verify=crc32c --do_verify=1 --verify_fatal=1 --output=/tmp/fio.out
touch /tmp/stop-polling
wait $poller
for b in $fresh $freshb; do dmsetup remove b$b; done
admin delete "$freshb"
admin delete "$fresh"

# ext4 on a volume and its branch.
before_fs=$(data_used)
admin create_volume fs 32768 && fs=$reply
activate "$fs" 32768
mkfs.ext4 -q -F /dev/mapper/b$fs
admin create_branch "$fs" fs-b && fsb=$reply
activate "$fsb" 32768
modprobe ext4
mkdir -p /mnt/a /mnt/b
mount /dev/mapper/b$fs /mnt/a && mount /dev/mapper/b$fsb /mnt/b &&
	cp -a /vela/tests /mnt/a/ && dd if=/dev/urandom of=/mnt/b/blob bs=65536 count=16 status=none &&
	rm -rf /mnt/b/lost+found
umount /mnt/a
umount /mnt/b
ktap_expect_exit "ext4: e2fsck -fn on the volume after both changed" 0 "clean|files" e2fsck -fn /dev/mapper/b$fs
ktap_expect_exit "ext4: e2fsck -fn on its branch" 0 "clean|files" e2fsck -fn /dev/mapper/b$fsb
for b in $fs $fsb; do dmsetup remove b$b; done
admin delete "$fsb"
admin delete "$fs"
wait_reclaimed
if [ "$(data_used)" = "$before_fs" ]; then
	ktap_pass "deleting the ext4 volume and its branch returns used data to its baseline ($before_fs blocks)"
else
	ktap_fail "deleting the ext4 volume and its branch returns used data to its baseline" \
		"baseline $before_fs" "$(dmsetup status pool)"
fi

# K11: activating a branch and admin messages about it exclude each other.
# Race a device's creation against the branch's delete, and another's
# against set_read_only: either the device came first and the delete was
# refused (EBUSY), or the delete came first and the creation failed, never
# both; a device whose branch was protected meanwhile refuses writes.
# Before the fix the constructor read the record outside the admin lock,
# and an orphan device's first I/O put the pool read-only.
both=0 writable=0 i=0
while [ $i -lt 12 ]; do
	admin create_branch "$prod" "race-d$i" && victim=$reply
	admin create_branch "$prod" "race-p$i" && protect=$reply
	dmsetup create "race-d$i" --table "0 8192 vela /dev/mapper/pool $victim" \
		>/dev/null 2>&1 &
	creator=$!
	dmsetup create "race-p$i" --table "0 8192 vela /dev/mapper/pool $protect" \
		>/dev/null 2>&1 &
	protector=$!
	if admin delete "$victim" 2>/dev/null; then deleted=1; else deleted=0; fi
	admin set_read_only "$protect"
	if wait $creator; then created=1; else created=0; fi
	[ $created = 1 ] && [ $deleted = 1 ] && both=$((both + 1))
	if wait $protector; then
		dmsetup mknodes "race-p$i"
		dd if=/dev/zero of="/dev/mapper/race-p$i" bs=4096 count=1 oflag=direct \
			status=none 2>/dev/null && writable=$((writable + 1))
		dmsetup remove "race-p$i"
	fi
	[ $created = 1 ] && dmsetup remove "race-d$i"
	[ $deleted = 0 ] && admin delete "$victim"
	admin delete "$protect"
	i=$((i + 1))
done
if [ $both = 0 ] && [ $writable = 0 ] && [ "$(pool_field 7)" = rw ]; then
	ktap_pass "K11: 12 activations raced against delete and set_read_only: never both, never writable, pool rw"
else
	ktap_fail "K11: activations raced against delete and set_read_only" \
		"created and deleted: $both; writable after set_read_only: $writable" \
		"$(dmsetup status pool)"
fi

# Out of data space: error_if_no_space fails at once.
dmsetup suspend pool && dmsetup reload pool --table "$(pool_table 1 error_if_no_space)" &&
	dmsetup resume pool
admin create_volume big 131072 && big=$reply
activate "$big" 131072
if ! dd if=/dev/zero of=/dev/mapper/b$big bs=1M count=64 oflag=direct status=none 2>/dev/null &&
   [ "$(pool_field 7)" = out_of_data_space ]; then
	ktap_pass "error_if_no_space: a write past the data space fails; status says out_of_data_space"
else
	ktap_fail "error_if_no_space: a write past the data space fails" "$(dmsetup status pool)"
fi
# queue_if_no_space: the write waits, and growing the data device lets it finish.
dmsetup suspend pool && dmsetup reload pool --table "$(pool_table)" && dmsetup resume pool
dd if=/dev/zero of=/dev/mapper/b$big bs=1M count=40 oflag=direct status=none &
writer=$!
sleep 3
waiting=$(pool_field 7)
dmsetup suspend data && dmsetup reload data --table "0 131072 linear $data 0" &&
	dmsetup resume data
dmsetup suspend pool && dmsetup reload pool --table "$(pool_table)" && dmsetup resume pool
if wait $writer && [ "$waiting" = out_of_data_space ] && [ "$(pool_field 7)" = rw ]; then
	ktap_pass "queue_if_no_space: the write waits, then completes once the data device grew (mode back to rw)"
else
	ktap_fail "queue_if_no_space: the write waits, then completes once the data device grew" \
		"mode while waiting: $waiting" "$(dmsetup status pool)"
fi
if [ "$(pool_field 4 | cut -d/ -f2)" = 8192 ]; then
	ktap_pass "the pool records the grown data device (8192 blocks)"
else
	ktap_fail "the pool records the grown data device (8192 blocks)" "$(dmsetup status pool)"
fi

for b in $big $prod $golden; do dmsetup remove b$b; done
dmsetup remove pool
ktap_check "velactl check is clean" velactl check "$meta"
dmsetup remove data
ktap_finish
