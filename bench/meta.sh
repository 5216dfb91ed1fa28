#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# bench/meta.sh [MAPPINGS] [BRANCHES]: the metadata benchmark (targets P7
# and P10).  Runs build/bench/meta natively for rates and sizes, then under
# callgrind for instructions per operation, and prints one table.  Rates
# depend on the machine; instruction counts repeat exactly.  It prints
# figures and never fails on them.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
m=${1:-1000000}
b=${2:-10000}
make -s -C "$top" build/bench/meta >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$top/build/bench/meta" --mappings "$m" --branches "$b" >"$out/native"
valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$out/cg.%p" \
	"$top/build/bench/meta" --mappings "$m" --branches "$b" >/dev/null 2>"$out/cg.log"

val() { awk -v k="$1" '$1 == k { print $2 }' "$out/native"; }
# Instructions of the dump whose trigger names $1, divided by $2.
ir() {
	f=$(grep -l "^desc: Trigger: Client Request: $1\$" "$out"/cg.* | head -n 1)
	awk -v n="$2" '/^totals:/ { printf "%.0f", $2 / n }' "$f"
}

# dm-thin, computed from its documented on-disk format (4 KiB nodes, 32-byte
# node header, 8-byte keys and values, max entries rounded down to a
# multiple of 3: 252; a split leaves both halves half full, so a sequential
# fill leaves leaves at 126 entries and a random one at about ln 2 = 69%),
# plus its 2-bit-per-block data space map.
thin_seq=$(awk 'BEGIN { printf "%.1f", 4096 / 126 * (1 + 1 / 126) + 0.25 }')
thin_rand=$(awk 'BEGIN { printf "%.1f", 4096 / (252 * 0.693) * (1 + 1 / 174) + 0.25 }')

printf 'bench/meta: %s mappings, %s branches, 64 KiB data blocks\n\n' "$m" "$b"
printf '%-44s %14s\n' "figure" "value"
printf '%-44s %14s\n' "inserts/s, random order" "$(val insert_per_sec_random)"
printf '%-44s %14s\n' "inserts/s, sequential order" "$(val insert_per_sec_sequential)"
printf '%-44s %14s\n' "lookups/s (non-blocking, warm)" "$(val lookup_per_sec)"
printf '%-44s %14s\n' "instructions per lookup (callgrind)" "$(ir 'lookup x10000' 10000)"
printf '%-44s %14s\n' "instructions per insert, commits included" "$(ir 'insert x10000' 10000)"
printf '%-44s %14s\n' "instructions, 1st branch creation" "$(ir 'branch first' 1)"
printf '%-44s %14s\n' "instructions, ${b}th branch creation" "$(ir 'branch last' 1)"
printf '%-44s %14s\n' "usec, 1st branch creation" "$(val branch_create_first_usec)"
printf '%-44s %14s\n' "usec, ${b}th branch creation" "$(val branch_create_last_usec)"
printf '%-44s %14s\n' "metadata bytes/mapping, random fill" "$(val metadata_bytes_per_mapping_random)"
printf '%-44s %14s\n' "  dm-thin from its format, random fill" "$thin_rand"
printf '%-44s %14s\n' "metadata bytes/mapping, sequential fill" "$(val metadata_bytes_per_mapping_sequential)"
printf '%-44s %14s\n' "  dm-thin from its format, sequential fill" "$thin_seq"
