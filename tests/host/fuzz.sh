#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# fuzz.sh [SECONDS]: run the libFuzzer target on the metadata parsing and
# checking code (tests/fuzz/fuzz-metadata.c) for SECONDS (default 60), from
# a seed corpus of real images that tests/fuzz/gen-corpus.c writes.  Any
# crash, sanitizer report, leak or hang (10 s per input) fails; its input is
# kept in build/fuzz/artifacts/ to replay with
# `build/fuzz/fuzz-metadata build/fuzz/artifacts/<file>`.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/ktap.sh"
seconds=${1:-60}
dir=$top/build/fuzz
mkdir -p "$dir/logs"

ktap_plan 2
if ! make -C "$top" build/fuzz/fuzz-metadata build/fuzz/gen-corpus >"$dir/logs/build.log" 2>&1; then
	ktap_fail "fuzz: build the fuzzer and the corpus generator" "$(tail -n 30 "$dir/logs/build.log")"
	ktap_skip "fuzz: ${seconds}s on the metadata code" "build failed"
	ktap_finish
fi
rm -rf "$dir/corpus" "$dir/artifacts"
mkdir -p "$dir/corpus" "$dir/artifacts"
if "$dir/gen-corpus" "$dir/corpus" >"$dir/logs/corpus.log" 2>&1; then
	ktap_pass "fuzz: seed corpus of $(ls "$dir/corpus" | wc -l) real images"
else
	ktap_fail "fuzz: seed corpus" "$(cat "$dir/logs/corpus.log")"
fi

"$dir/fuzz-metadata" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-max_len=262145 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
	"$dir/corpus" >"$dir/logs/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/logs/fuzz.log")
if [ $rc -eq 0 ] && [ -z "$(ls "$dir/artifacts")" ]; then
	ktap_pass "fuzz: ${seconds}s on the metadata code, ${runs:-?} inputs, no crash, hang or leak"
else
	ktap_fail "fuzz: ${seconds}s on the metadata code" "exit $rc; artifacts: $(ls "$dir/artifacts")" \
		"$(grep -v '^#[0-9]' "$dir/logs/fuzz.log" | tail -n 40)"
fi
ktap_finish
