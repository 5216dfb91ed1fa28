#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# bench/io: boot the test VM once and print the I/O figures of targets.md
# (P1, P2, P3, P5, P6, P9) for dm-vela against raw NVMe, dm-linear, dm-thin
# and dm-snapshot.  See bench/io-guest.sh and docs/benchmarks.md.
# BENCH_SECONDS sets the length of each timed fio run (default 8).
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
out=$(tests/vm/run-vm --disk meta:1G --disk data:2G --mem 2048 --timeout 2400 \
	--env "BENCH_SECONDS=${BENCH_SECONDS:-8}" -- sh bench/io-guest.sh 2>&1)
rc=$?
echo "$out" | sed -n '/^BENCH-RESULTS$/,$p' | sed 1d
[ $rc = 0 ] || { echo "$out" | tail -n 30; exit 1; }
