#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Run the kselftest-format suite tests/kselftest/dm-vela in one VM boot, in
# the order of its Makefile's TEST_PROGS, with its settings' timeout per test.
# make check-debug (scripts/check-debug) sets VELA_TEST_TIMEOUT (per test),
# VELA_VM_TIMEOUT (the whole boot), VELA_KMEMLEAK and VELA_HUNG_TASK_TIMEOUT,
# which go to the guest runner, and run-vm's VELA_GUEST_* variables.
# VELA_TESTS="a.sh b.sh" runs those tests only.
top=$(cd "$(dirname "$0")/../.." && pwd)
suite=tests/kselftest/dm-vela
cd "$top"
progs=${VELA_TESTS:-$(make -s -C "$suite" print-progs)}
timeout=${VELA_TEST_TIMEOUT:-$(sed -n 's/^timeout=//p' "$suite/settings")}
count=$(echo "$progs" | wc -w)
# meta and data serve most tests; flush_replay.sh logs to lwbase/log and
# replays onto replay; branch_origin.sh reads origin (sparse files: they
# cost what is written).
# VELA_REPLAY_STOPS (flush_replay.sh), VELA_RAND_PHASES and VELA_RAND_SEED
# (pool_random.sh) go to the guest when set.
exec tests/vm/run-vm --timeout "${VELA_VM_TIMEOUT:-$((timeout * count + 120))}" \
	--disk meta:256M --disk data:2G --disk lwbase:320M --disk log:1G --disk replay:320M \
	--disk origin:64M \
	${VELA_REPLAY_STOPS:+--env VELA_REPLAY_STOPS=$VELA_REPLAY_STOPS} \
	${VELA_RAND_PHASES:+--env VELA_RAND_PHASES=$VELA_RAND_PHASES} \
	${VELA_RAND_SEED:+--env VELA_RAND_SEED=$VELA_RAND_SEED} \
	${VELA_TEST_TIMEOUT:+--env VELA_TEST_TIMEOUT=$VELA_TEST_TIMEOUT} \
	${VELA_KMEMLEAK:+--env VELA_KMEMLEAK=$VELA_KMEMLEAK} \
	${VELA_HUNG_TASK_TIMEOUT:+--env VELA_HUNG_TASK_TIMEOUT=$VELA_HUNG_TASK_TIMEOUT} -- \
	tests/vm/run-tests "$suite" $progs
