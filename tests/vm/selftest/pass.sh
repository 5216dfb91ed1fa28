#!/bin/sh
# Rig self-test: a clean test passes.
echo "ok 1 nothing to see"
exit 0
