#!/bin/sh
# Rig self-test: a new taint flag other than O and E fails the test.
# 512 is TAINT_WARN ("W").
echo 512 >/proc/sys/kernel/tainted
exit 0
