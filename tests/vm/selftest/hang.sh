#!/bin/sh
# Rig self-test: a test that outlives its timeout fails.
sleep 60
