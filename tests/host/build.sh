#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The build is a test too: the module builds with W=1 and no warning, velactl
# with -Wall -Wextra -Werror.  Logs stay in build/logs/.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/ktap.sh"
log=$top/build/logs
mkdir -p "$log"

ktap_plan 3
if make -C "$top" module >"$log/module.log" 2>&1 &&
   ! grep -q -i 'warning:' "$log/module.log"; then
	ktap_pass "build: kernel/dm-vela.ko with W=1, no warnings"
else
	ktap_fail "build: kernel/dm-vela.ko with W=1, no warnings" "$(tail -n 30 "$log/module.log")"
fi
if make -C "$top" velactl >"$log/velactl.log" 2>&1; then
	ktap_pass "build: userspace/velactl with -Wall -Wextra -Werror"
else
	ktap_fail "build: userspace/velactl with -Wall -Wextra -Werror" "$(tail -n 30 "$log/velactl.log")"
fi
if make -C "$top" test-tools >"$log/test-tools.log" 2>&1; then
	ktap_pass "build: the guest test tools (build/tools/) with -Wall -Wextra -Werror"
else
	ktap_fail "build: the guest test tools (build/tools/) with -Wall -Wextra -Werror" \
		"$(tail -n 30 "$log/test-tools.log")"
fi
ktap_finish
