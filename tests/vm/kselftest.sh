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
exec tests/vm/run-vm --timeout $((timeout * count + 120)) -- \
	tests/vm/run-tests "$suite" $progs
