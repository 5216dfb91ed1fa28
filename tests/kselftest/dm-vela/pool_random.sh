#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# A randomised driver through the kernel.  tests/tools/vela-rand.c, from a
# seed, sends a pool with branches a random mix of admin messages
# (create_volume, create_branch, delete, set_read_only, set_writable,
# rename, resize), activations and deactivations, suspends and resumes of
# branch devices and of the pool, reloads of both with the same table line,
# and I/O on the active branches: writes of 512 B, 4 KiB, 8 KiB and 16 KiB
# (straddling blocks) with O_DIRECT, O_DSYNC writes (REQ_FUA, checked with
# the block_bio_queue tracepoint), discards, reads and fsyncs.  In about one
# phase in four, at a random operation, the metadata device (a dm-linear
# slice of $VELA_DISK_meta) is switched to the error target or to dm-flakey
# (error_writes, or every I/O while down).
#
# After a phase without a fault: every branch equals its oracle exactly
# (inactive ones activated for it), the branch table equals the model,
# velactl check --held passes on the live pool, and now and then the pool is
# deactivated and checked offline.  After a fault: once the pool is ro or
# fail, every flush, write, discard and message fails; the metadata checks
# clean offline (needs_check may be set) and is cleared; reactivated, every
# block of every branch holds its state at the last durable point (a
# successful fsync, O_DSYNC write, discard or admin message) or a state
# acknowledged after it, never a mix, never another branch's data.
#
# VELA_RAND_SEED (default 1729) and VELA_RAND_PHASES (default 12, about
# a minute in the TCG guest) choose the run; make check-full runs 100
# phases.  Each phase draws from its own stream of the seed, so a failing
# phase N replays with the same seed and N phases (timing, such as which
# commits dm-flakey lets through, still varies).  VELA_RAND_VERBOSE=1 prints
# every operation; VELA_RAND_FAULT_PCT (default 25) sets the share of
# phases with a fault.  No phase starts after VELA_RAND_SECONDS (default:
# the per-test timeout less a minute); the phases left are skipped.
# Devices: a 64 MiB dm-linear slice of $VELA_DISK_meta; data on a loop
# device over tmpfs, where a discard passed down reads back as zeros (the
# emulated NVMe keeps the old data), so a discard the kernel must not pass
# down shows.  8 KiB blocks, volumes of 8 or 16 MiB.
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/vela.sh"

meta=${VELA_DISK_meta:?}
msize=131072
seed=${VELA_RAND_SEED:-1729}
phases=${VELA_RAND_PHASES:-12}
# No phase starts within a minute of the runner's per-test timeout.
limit=${VELA_TEST_TIMEOUT:-$(sed -n 's/^timeout=//p' "$(dirname "$0")/settings")}
export VELA_RAND_SECONDS=${VELA_RAND_SECONDS:-$((${limit:-600} - 60))}

modprobe dm-vela
modprobe dm-flakey
modprobe loop
ktap_plan $((phases + 3))

mkdir -p /mnt/randdata
mount -t tmpfs -o size=600m tmpfs /mnt/randdata
truncate -s 512M /mnt/randdata/data
data=$(losetup -f)
losetup "$data" /mnt/randdata/data
# The tracepoint that shows an O_DSYNC write arriving with REQ_FUA.
grep -q ' /sys/kernel/tracing ' /proc/mounts || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
ktap_check "format the pool (8 KiB blocks) on a dm-linear metadata device" sh -c \
	"dmsetup create mdev --table '0 $msize linear $meta 0' && dmsetup mknodes mdev &&
	 velactl format --force --metadata /dev/mapper/mdev --data $data --block-size 8k --name rand"

vela-rand "$seed" "$phases" 2 mdev "$meta" $msize "$data"
rc=$?
ktap_count=$((ktap_count + phases))
[ $rc -eq 0 ] || ktap_failed=$((ktap_failed + 1))
if [ $rc -ne 0 ]; then
	ktap_diag "replay: VELA_RAND_SEED=$seed VELA_RAND_PHASES=$phases" \
		"(tests/vm/run-vm ... --env VELA_RAND_SEED=$seed --env VELA_RAND_PHASES=$phases)"
fi
for d in $(dmsetup ls | awk '/^b[0-9]/ { print $1 }'); do dmsetup remove "$d"; done
dmsetup remove pool 2>/dev/null
ktap_check "the metadata checks clean at the end" velactl check /dev/mapper/mdev
if dmsetup remove mdev && losetup -d "$data" && umount /mnt/randdata; then
	ktap_pass "every device is released"
else
	ktap_fail "every device is released" "$(dmsetup ls)"
fi
ktap_finish
