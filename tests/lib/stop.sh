# SPDX-License-Identifier: GPL-2.0-only
# Helpers for tests that stop velactl at a step (VELACTL_TEST_STOP, see
# docs/testing.md) and watch it there.

# wait_stopped PID: until the process stopped itself (state T), at most 20 s.
wait_stopped() {
	_k=0
	while [ $_k -lt 200 ]; do
		[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
		sleep 0.1
		_k=$((_k + 1))
	done
	return 1
}

# wait_queued PID: until the process waits on a flock (a "->" line of
# /proc/locks), at most 20 s.
wait_queued() {
	_k=0
	while [ $_k -lt 200 ]; do
		grep -q -- "-> FLOCK .* $1 " /proc/locks && return 0
		sleep 0.1
		_k=$((_k + 1))
	done
	return 1
}
