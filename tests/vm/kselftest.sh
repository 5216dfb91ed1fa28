#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Run the kselftest-format suite tests/kselftest/dm-vela in one VM boot, in
# the order of its Makefile's TEST_PROGS, with its settings' timeout per test.
top=$(cd "$(dirname "$0")/../.." && pwd)
suite=tests/kselftest/dm-vela
cd "$top"
progs=$(make -s -C "$suite" print-progs)
timeout=$(sed -n 's/^timeout=//p' "$suite/settings")
count=$(echo "$progs" | wc -w)
# meta and data serve most tests; flush_replay.sh logs to lwbase/log and
# replays onto replay; branch_origin.sh reads origin (sparse files: they
# cost what is written).
exec tests/vm/run-vm --timeout $((timeout * count + 120)) \
	--disk meta:256M --disk data:2G --disk lwbase:320M --disk log:1G --disk replay:320M \
	--disk origin:64M \
	${VELA_REPLAY_STOPS:+--env VELA_REPLAY_STOPS=$VELA_REPLAY_STOPS} -- \
	tests/vm/run-tests "$suite" $progs
