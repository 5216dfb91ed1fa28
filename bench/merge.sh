#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# P8: diff and merge time with 1,000 changed blocks, on a fully mapped 1 GiB
# volume against a fully mapped 64 GiB one, in one VM boot.  Both must cost
# the same: the diff skips every subtree the branch still shares with its
# base, and the merge moves only the changed references.  The volumes are
# mapped in the metadata only (bench/populate, the real metadata code);
# the 1,000 blocks are written through the branch device.  Prints figures;
# it does not pass or fail.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/vela-bench-merge.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$top/build/logs/bench-merge.log
mkdir -p "$(dirname "$log")"

truncate -s 512M "$dir/meta.img"
truncate -s 70G "$dir/data.img"
"$top/userspace/velactl" format --metadata "$dir/meta.img" --data "$dir/data.img" \
	--block-size 64k --name bench >/dev/null
"$top/build/bench/populate" "$dir/meta.img" vol-1g 1024
"$top/build/bench/populate" "$dir/meta.img" vol-64g 65536

"$top/tests/vm/run-vm" --disk-dir "$dir" --disk meta:512M --disk data:70G \
	--timeout 1800 -- sh bench/merge-guest.sh 2>&1 | tee "$log" | grep -E '^(P8|#)' || true
echo
printf '%-18s %-8s %12s %12s %12s %12s\n' volume op median_ms min_ms max_ms nodes_read
grep '^P8 ' "$log" | while read -r _ vol op median min max nodes; do
	printf '%-18s %-8s %12s %12s %12s %12s\n' "$vol" "$op" "$median" "$min" "$max" "$nodes"
done
