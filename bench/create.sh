#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# P4: the end-to-end time of `velactl create-branch` (metadata change, dm
# device created and resumed, /dev/mapper node ready) for the 1st and the
# 1000th branch of a pool, and of a fully mapped 1 GiB against a fully
# mapped 16 GiB volume; beside it the same operation with dm-thin
# (create_snap, dmsetup create, dmsetup mknodes) on the same sizes, in the
# same VM boot.  Both volumes are mapped in their metadata only, by
# bench/populate (dm-vela) and thin_restore (dm-thin): creating a branch or
# snapshot reads metadata only, and writing 17 GiB through the emulated NVMe
# would take many minutes.  Beside them: a bare `dmsetup create` of a
# dm-linear device, the floor for making any dm device, and `velactl list`
# of a pool of 10,000 branches (wall time and peak memory).  It prints
# figures; it does not pass or fail.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/vela-bench-create.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$top/build/logs/bench-create.log
mkdir -p "$(dirname "$log")"

truncate -s 256M "$dir/meta.img"
truncate -s 20G "$dir/data.img"
truncate -s 64M "$dir/tmeta.img"
truncate -s 20G "$dir/tdata.img"
"$top/userspace/velactl" format --metadata "$dir/meta.img" --data "$dir/data.img" \
	--block-size 64k --name bench >/dev/null
"$top/build/bench/populate" "$dir/meta.img" vol-1g 1024
"$top/build/bench/populate" "$dir/meta.img" vol-16g 16384
# The list benchmark's pool: a 64 MiB volume and 9,999 branches of it.
truncate -s 64M "$dir/lmeta.img"
truncate -s 1G "$dir/ldata.img"
"$top/userspace/velactl" format --metadata "$dir/lmeta.img" --data "$dir/ldata.img" \
	--block-size 64k --name many >/dev/null
"$top/build/bench/populate" "$dir/lmeta.img" vol 64 9999
cat >"$dir/thin.xml" <<XML
<superblock uuid="" time="0" transaction="1" flags="0" version="2" data_block_size="128" nr_data_blocks="327680">
  <device dev_id="1" mapped_blocks="16384" transaction="0" creation_time="0" snap_time="0">
    <range_mapping origin_begin="0" data_begin="0" length="16384" time="0"/>
  </device>
  <device dev_id="2" mapped_blocks="262144" transaction="0" creation_time="0" snap_time="0">
    <range_mapping origin_begin="0" data_begin="16384" length="262144" time="0"/>
  </device>
</superblock>
XML
thin_restore -q -i "$dir/thin.xml" -o "$dir/tmeta.img"

"$top/tests/vm/run-vm" --disk-dir "$dir" --disk meta:256M --disk data:20G \
	--disk tmeta:64M --disk tdata:20G --disk lmeta:64M --disk ldata:1G --timeout 1800 -- sh bench/create-guest.sh 2>&1 |
	tee "$log" | grep -E '^(P4|LIST|#)' || true
echo
printf '%-6s %-30s %10s %10s %10s\n' impl case median_ms min_ms max_ms
grep '^P4 ' "$log" | while read -r _ impl what median min max; do
	printf '%-6s %-30s %10s %10s %10s\n' "$impl" "$what" "$median" "$min" "$max"
done
echo
printf '%-40s %10s %10s %10s %12s\n' "velactl, 10,000 branches" median_ms min_ms max_ms max_rss_KiB
grep '^LIST ' "$log" | while read -r _ what median min max kib; do
	printf '%-40s %10s %10s %10s %12s\n' "$what" "$median" "$min" "$max" "$kib"
done
