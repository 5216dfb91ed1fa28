#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# K7: does polling branch usage stall the I/O of other branches?  A volume
# with BENCH_USAGE_MIB MiB mapped in 4 KiB blocks (default 4096: 1M
# mappings, all exclusive, so every walk reads the whole tree) is made in
# the metadata by bench/populate.  In the VM, fio writes new blocks of
# another volume (4 KiB, QD1, direct), once alone and once while a loop
# polls `dmsetup status` of the big volume and `velactl list`: every poll
# after a commit walks 1M mappings.  It prints the completion latencies of
# both runs and what the polls did; it does not pass or fail.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/vela-bench-usage.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$top/build/logs/bench-usage.log
mkdir -p "$(dirname "$log")"
mib=${BENCH_USAGE_MIB:-4096}

truncate -s 512M "$dir/meta.img"
truncate -s $((mib + 2048))M "$dir/data.img"
"$top/userspace/velactl" format --metadata "$dir/meta.img" --data "$dir/data.img" \
	--block-size 4k --name bench >/dev/null
start=$SECONDS
"$top/build/bench/populate" "$dir/meta.img" big "$mib"
echo "# populate: $((SECONDS - start)) s"

"$top/tests/vm/run-vm" --disk-dir "$dir" --disk meta:512M --disk "data:$((mib + 2048))M" \
	--mem 2048 --timeout 2400 --env "BENCH_SECONDS=${BENCH_SECONDS:-30}" \
	-- sh bench/usage-guest.sh 2>&1 | tee "$log" | grep -E '^(K7|#)' || true
