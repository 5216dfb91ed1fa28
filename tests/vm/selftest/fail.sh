#!/bin/sh
# Rig self-test: a non-zero exit fails the test.
exit 1
