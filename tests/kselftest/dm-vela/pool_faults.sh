#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Metadata I/O errors.  The metadata device is a dm-linear slice of
# $VELA_DISK_meta (64 MiB) that the test swaps for dm-flakey dropping every
# write (error_writes, down 1 s in every 2 s), then for the error target.
# A failed commit puts the pool in read-only mode with needs_check set and
# one kernel log line; reads go on, writes fail; a pool whose needs_check
# could not even be written goes to fail mode.  After
# velactl check --clear-needs-check the pool is writable again.  Then a
# corrupt block in one volume's mapping tree: that volume cannot activate,
# the pool goes read-only with needs_check, the other volume still reads.
# Data: $VELA_DISK_data, 8 KiB blocks; one 4 MiB volume.
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/vela.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
msize=131072

swap_meta() {	# swap_meta TABLE: replace the metadata device's table
	dmsetup suspend --nolockfs --noflush mdev && dmsetup reload mdev --table "$1" &&
		dmsetup resume mdev
}
# write_until_failure: write and fsync until a write fails (at most 40 s).
write_until_failure() {
	n=0
	while [ $n -lt 40 ]; do
		vela-io write /dev/mapper/vol /tmp/vol $n 20 8192 2>/dev/null || return 0
		n=$((n + 1))
		sleep 0.5
	done
	return 1
}
# wait_mode MODE: until the pool's mode is MODE (at most 20 s).
wait_mode() {
	n=0
	while [ "$(pool_field 7)" != "$1" ] && [ $n -lt 200 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	[ "$(pool_field 7)" = "$1" ]
}
activate() {
	dmsetup create pool --table "0 $(blockdev --getsz "$data") vela-pool /dev/mapper/mdev $data 16" &&
		dmsetup mknodes pool &&
		dmsetup create vol --table "0 8192 vela /dev/mapper/pool 1" && dmsetup mknodes vol
}
deactivate() {
	dmsetup remove vol
	dmsetup remove pool
}

modprobe dm-vela
modprobe dm-flakey
ktap_plan 16
dmsetup create mdev --table "0 $msize linear $meta 0" && dmsetup mknodes mdev
velactl format --force --metadata /dev/mapper/mdev --data "$data" --block-size 8k --name faults >/dev/null
dmsetup create pool --table "0 $(blockdev --getsz "$data") vela-pool /dev/mapper/mdev $data 16" &&
	dmsetup mknodes pool
admin create_volume vol 8192
activate_vol() {
	dmsetup create vol --table "0 8192 vela /dev/mapper/pool 1" && dmsetup mknodes vol
}
activate_vol
truncate -s $((8192 * 512)) /tmp/vol
vela-io write /dev/mapper/vol /tmp/vol 1 100 8192

echo "vela-faults flaky" >/dev/kmsg
swap_meta "0 $msize flakey $meta 0 1 1 1 error_writes"
if write_until_failure && wait_mode ro; then
	ktap_pass "a failed metadata commit puts the pool in read-only mode"
else
	ktap_fail "a failed metadata commit puts the pool in read-only mode" "$(dmsetup status pool)"
fi
swap_meta "0 $msize linear $meta 0"
log=$(dmesg | sed -n '/vela-faults flaky$/,$p' | grep "pool is read-only and needs_check is set")
if [ "$(echo "$log" | grep -c .)" = 1 ]; then
	ktap_pass "one kernel log line says so: $log"
else
	ktap_fail "one kernel log line says the pool is read-only with needs_check" "$log"
fi
# The mode changes at the fault; needs_check once degrade has written it.
n=0
while [ "$(pool_field 8)" != needs_check ] && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
ktap_expect_exit "status shows needs_check" 0 "" test "$(pool_field 8)" = needs_check
ktap_expect_exit "reads are still served" 0 "" \
	dd if=/dev/mapper/vol of=/dev/null bs=64k iflag=direct status=none
ktap_expect_exit "writes fail" 1 "" \
	dd if=/dev/zero of=/dev/mapper/vol bs=8k count=1 oflag=direct status=none
ktap_expect_exit "admin messages are refused (EROFS)" 1 "Read-only file system" \
	dmsetup message pool 0 create_volume "$change" other 100
deactivate
ktap_expect_exit "velactl check is clean and reports needs_check" 0 "needs_check is set" \
	velactl check /dev/mapper/mdev
dmsetup create pool --table "0 $(blockdev --getsz "$data") vela-pool /dev/mapper/mdev $data 16" &&
	dmsetup mknodes pool
ktap_expect_exit "reactivated with needs_check set, the pool stays read-only" 0 "" \
	test "$(pool_field 7)" = ro
dmsetup remove pool
ktap_check "velactl check --clear-needs-check" velactl check --clear-needs-check /dev/mapper/mdev
activate
if [ "$(pool_field 7)" = rw ] && vela-io write /dev/mapper/vol /tmp/vol 99 20 8192; then
	ktap_pass "after the check the pool is writable again"
else
	ktap_fail "after the check the pool is writable again" "$(dmsetup status pool)"
fi

# A metadata device that fails every I/O: even needs_check cannot be written.
swap_meta "0 $msize error"
if write_until_failure && wait_mode fail; then
	ktap_pass "when needs_check cannot be written either, the pool goes to fail mode"
else
	ktap_fail "when needs_check cannot be written either, the pool goes to fail mode" \
		"$(dmsetup status pool)"
fi
swap_meta "0 $msize linear $meta 0"
deactivate
ktap_check "the metadata still checks clean at its last commit" velactl check /dev/mapper/mdev

# A checksum failure in one branch's tree: that branch cannot activate,
# the pool goes read-only with needs_check, the other volume still reads.
velactl format --force --metadata /dev/mapper/mdev --data "$data" --block-size 8k \
	--name faults >/dev/null
dmsetup create pool --table "0 $(blockdev --getsz "$data") vela-pool /dev/mapper/mdev $data 16" &&
	dmsetup mknodes pool
change=0
admin create_volume bad 8192 && bad=$reply
admin create_volume good 8192 && good=$reply
for v in $bad $good; do
	dmsetup create "v$v" --table "0 8192 vela /dev/mapper/pool $v" && dmsetup mknodes "v$v"
	truncate -s $((8192 * 512)) "/tmp/v$v"
	vela-io write "/dev/mapper/v$v" "/tmp/v$v" "$v" 50 8192
	dmsetup remove "v$v"
done
dmsetup remove pool
root=$(velactl dump /dev/mapper/mdev | sed -n "s/.*\"id\": $bad, .*\"mapping_root\": \([0-9]*\).*/\1/p")
dd if=/dev/urandom of=/dev/mapper/mdev bs=4096 seek="$root" count=1 conv=notrunc oflag=direct \
	status=none
dmsetup create pool --table "0 $(blockdev --getsz "$data") vela-pool /dev/mapper/mdev $data 16" &&
	dmsetup mknodes pool
ktap_expect_exit "the branch with a corrupt tree block (block $root) cannot activate" 1 "" \
	dmsetup create "v$bad" --table "0 8192 vela /dev/mapper/pool $bad"
if [ "$(pool_field 7)" = ro ] && [ "$(pool_field 8)" = needs_check ]; then
	ktap_pass "the checksum failure puts the pool in ro with needs_check"
else
	ktap_fail "the checksum failure puts the pool in ro with needs_check" "$(dmsetup status pool)"
fi
dmsetup create "v$good" --table "0 8192 vela /dev/mapper/pool $good" && dmsetup mknodes "v$good"
ktap_expect_exit "the other volume still reads its data" 0 "" \
	vela-io verify "/dev/mapper/v$good" "/tmp/v$good"
dmsetup remove "v$good"
dmsetup remove pool
ktap_expect_exit "velactl check finds the bad block" 1 "problem" velactl check /dev/mapper/mdev
dmsetup remove mdev
ktap_finish
