#!/bin/sh
# Rig self-test: a kernel-log problem line during a test fails that test,
# even though the test itself exits 0.
echo "WARNING: CPU: 0 PID: 1 at vela-rig-selftest" >/dev/kmsg
exit 0
