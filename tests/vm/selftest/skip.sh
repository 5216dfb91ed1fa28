#!/bin/sh
# Rig self-test: exit code 4 is a kselftest skip.
exit 4
