#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Allocation failures in the kernel (K6).  On a kernel with fault
# injection (make check-debug's), failslab and fail_page_alloc fail one
# allocation in ten, sleeping ones included, in the kernel's worker
# threads (where the pool defers bios, copies blocks and commits), while 4 KiB
# writes land one by one on a branch (first writes, copies of blocks shared
# with a protected golden branch, overwrites) and the pool commits every
# second.  What a shortage may cost is one write: after it, every write
# that succeeded reads back, every other block holds its old or its new
# contents, the golden branch is untouched, the pool is still rw with no
# metadata failure logged, and the metadata checks clean.  Elsewhere (no
# /sys/kernel/debug/failslab) the test is skipped.
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/vela.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
inject="/sys/kernel/debug/failslab /sys/kernel/debug/fail_page_alloc"
blocks=256

ktap_plan 5
grep -q ' /sys/kernel/debug ' /proc/mounts ||
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
if [ ! -d /sys/kernel/debug/failslab ] || [ ! -d /sys/kernel/debug/fail_page_alloc ]; then
	for t in 1 2 3 4 5; do
		ktap_skip "allocation failure injection $t" "no failslab: not the debug kernel"
	done
	ktap_finish
	exit 0
fi

# set_injection TIMES: fail one allocation in ten, at most TIMES of them,
# in the tasks marked by mark_workers (the kernel's worker threads, where
# the pool's deferred bios, copies and commits run), not in this shell.
set_injection() {
	for f in $inject; do
		echo 0 >"$f/probability"
		echo Y >"$f/task-filter"
		echo N >"$f/ignore-gfp-wait"
		echo 0 >"$f/verbose"
		echo 1 >"$f/interval"
		echo "$1" >"$f/times"
	done
	[ -e /sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem ] &&
		echo N >/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem
	if [ "$1" != 0 ]; then
		for f in $inject; do
			echo 10 >"$f/probability"
		done
	fi
	return 0
}

# mark_workers: every kernel worker thread now running may fail.
mark_workers() {
	for d in /proc/[0-9]*; do
		case $(cat "$d/comm" 2>/dev/null) in
		kworker*) echo 1 >"$d/make-it-fail" 2>/dev/null ;;
		esac
	done
	return 0
}

modprobe dm-vela
velactl format --force --metadata "$meta" --data "$data" --block-size 4k --name slab >/dev/null
dmsetup create pool --table "0 $(blockdev --getsz "$data") vela-pool $meta $data 8" &&
	dmsetup mknodes pool
admin create_volume vol $((blocks * 8)) && vol=$reply
dmsetup create vol --table "0 $((blocks * 8)) vela /dev/mapper/pool $vol" && dmsetup mknodes vol
vela-io fill /dev/mapper/vol 0x11
admin create_branch "$vol" golden && golden=$reply
admin set_read_only "$golden"
dmsetup create golden --table "0 $((blocks * 8)) vela /dev/mapper/pool $golden" &&
	dmsetup mknodes golden
dmsetup remove vol
admin create_branch "$vol" work && work=$reply
dmsetup create work --table "0 $((blocks * 8)) vela /dev/mapper/pool $work" &&
	dmsetup mknodes work
dd if=/dev/mapper/golden of=/tmp/golden bs=1M iflag=direct status=none
for p in 0 1; do
	dd if=/dev/urandom of=/tmp/pattern.$p bs=4096 count=1 status=none
done

# Blocks 0-255 once each, then the first half again: every write is a copy
# of a shared block, or an overwrite of one this branch owns.
: >/tmp/acked
echo "vela-test: injection on" >/dev/kmsg
set_injection 300
i=0
while [ $i -lt $((blocks + blocks / 2)) ]; do
	[ $((i % 32)) = 0 ] && mark_workers
	b=$((i % blocks)) p=$((i / blocks))
	dd if=/tmp/pattern.$p of=/dev/mapper/work bs=4096 seek=$b count=1 oflag=direct \
		status=none 2>/dev/null && echo "$b $p" >>/tmp/acked
	i=$((i + 1))
done
unused=$(cat /sys/kernel/debug/failslab/times)
set_injection 0
vela-io fsync /dev/mapper/work
ktap_diag "$(wc -l </tmp/acked) of $((blocks + blocks / 2)) writes acknowledged under injection"

# Every acknowledged write reads back (the last acknowledged pattern of its
# block); every other block holds the volume's contents or a pattern.
bad=0
b=0
while [ $b -lt $blocks ]; do
	dd if=/dev/mapper/work of=/tmp/got bs=4096 skip=$b count=1 iflag=direct status=none
	want=$(awk -v b=$b '$1 == b { p = $2 } END { print p }' /tmp/acked)
	if [ -n "$want" ]; then
		cmp -s /tmp/got /tmp/pattern.$want || bad=$((bad + 1))
	else
		dd if=/tmp/golden of=/tmp/old bs=4096 skip=$b count=1 status=none
		cmp -s /tmp/got /tmp/old || cmp -s /tmp/got /tmp/pattern.0 ||
			cmp -s /tmp/got /tmp/pattern.1 || bad=$((bad + 1))
	fi
	b=$((b + 1))
done
if [ $bad = 0 ]; then
	ktap_pass "every acknowledged write reads back, every other block is old or new"
else
	ktap_fail "every acknowledged write reads back, every other block is old or new" \
		"$bad blocks wrong"
fi
ktap_expect_exit "the protected golden branch is untouched" 0 "" \
	vela-io verify /dev/mapper/golden /tmp/golden
if [ "$(pool_field 7)" = rw ] &&
   ! dmesg | sed -n '/vela-test: injection on$/,$p' | grep -q "metadata .* failed"; then
	ktap_pass "the pool is still rw, no metadata failure logged ($unused of 300 slab failures unused)"
else
	ktap_fail "the pool is still rw, no metadata failure logged" "$(dmsetup status pool)" \
		"$(dmesg | grep -E 'vela|device-mapper' | tail -n 8)"
fi
dmsetup remove work
dmsetup remove golden
dmsetup remove pool
ktap_check "velactl check is clean" velactl check "$meta"
ktap_check "no needs_check" sh -c "! velactl check $meta | grep -q needs_check"
ktap_finish
