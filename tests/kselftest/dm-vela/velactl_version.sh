#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# velactl checks the kernel targets' version: with a dm-vela module whose
# targets claim major version 1 (built by make test-tools), every command
# that talks to the kernel refuses and says which module to install; with
# the matching module it works again.
. "$(dirname "$0")/../../lib/ktap.sh"

mismatch=/vela-mismatch/dm-vela.ko
if [ ! -e "$mismatch" ]; then
	echo "TAP version 13"
	echo "1..0 # SKIP no mismatched module (make test-tools builds it)"
	exit 4
fi
ktap_plan 4
modprobe -r dm-vela 2>/dev/null
modprobe dm-bufio
modprobe libcrc32c
ktap_check "load a dm-vela whose targets are version 1.x" insmod "$mismatch"
ktap_expect_exit "velactl names both versions and the module to install" 1 \
	"target is version 1\\.[0-9]+\\.[0-9]+, but velactl .* needs 0\\.[0-9]+ or a later 0\\.x: install the matching module" \
	velactl list
ktap_check "unload it" rmmod dm_vela
ktap_expect_exit "with the matching module velactl works again" 0 "kernel target vela-pool 0\\." \
	sh -c "modprobe dm-vela && velactl version"
ktap_finish
