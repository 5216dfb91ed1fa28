#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Malformed table lines are refused: dmsetup fails, the kernel log carries
# the reason from docs/dm-vela.rst, and no device is left behind.
# Devices: $VELA_DISK_meta and $VELA_DISK_data (any size).
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/vela.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
len=2097152

# expect_refused DESCRIPTION REASON TABLE: refused for REASON, nothing left.
expect_refused() {
	if ! kernel_refusal "$2" dmsetup create vela_bad --table "$3"; then
		dmsetup remove vela_bad >/dev/null 2>&1
		ktap_fail "$1" "$refusal_why"
	elif dmsetup info vela_bad >/dev/null 2>&1; then
		ktap_fail "$1" "a device was left behind"
		dmsetup remove vela_bad >/dev/null 2>&1
	else
		ktap_pass "$1"
	fi
}

modprobe dm-vela
ktap_plan 15
expect_refused "pool: no arguments" \
	"vela-pool: Invalid argument count" "0 $len vela-pool"
expect_refused "pool: too few arguments" \
	"vela-pool: Invalid argument count" "0 $len vela-pool $meta $data"
expect_refused "pool: too many arguments" \
	"vela-pool: Too many arguments after the pool features" \
	"0 $len vela-pool $meta $data 128 1 read_only extra"
expect_refused "pool: non-existent metadata device" \
	"vela-pool: Error opening metadata device" \
	"0 $len vela-pool /dev/vela-no-such-device $data 128"
expect_refused "pool: non-existent data device" \
	"vela-pool: Error opening data device" \
	"0 $len vela-pool $meta /dev/vela-no-such-device 128"
expect_refused "pool: block size is not a number" \
	"vela-pool: Invalid data block size: not a number" \
	"0 $len vela-pool $meta $data 12x"
expect_refused "pool: feature count is not a number" \
	"vela-pool: Invalid number of pool feature arguments" \
	"0 $len vela-pool $meta $data 128 x"
expect_refused "pool: block size not a power of two" \
	"vela-pool: Invalid data block size: not a power of two" \
	"0 $len vela-pool $meta $data 96"
expect_refused "pool: block size above 1 MiB" \
	"vela-pool: Invalid data block size: outside 8..2048 sectors" \
	"0 $len vela-pool $meta $data 4096"
expect_refused "pool: unknown feature" \
	"vela-pool: Unrecognised pool feature requested" \
	"0 $len vela-pool $meta $data 128 1 go_faster"
expect_refused "pool: low water mark is not a number" \
	"vela-pool: Invalid low water mark: not a number of blocks" \
	"0 $len vela-pool $meta $data 128 1 low_water_data=lots"
expect_refused "pool: same device for metadata and data" \
	"vela-pool: Metadata and data devices must be different devices" \
	"0 $len vela-pool $meta $meta 128"
expect_refused "pool: well-formed line on an unformatted metadata device" \
	"vela-pool: No valid dm-vela metadata on the metadata device" \
	"0 $len vela-pool $meta $data 128 2 read_only error_if_no_space"
expect_refused "branch: bad branch id" \
	"vela: Invalid branch id: not a number" "0 $len vela $meta one"
expect_refused "branch: too many arguments" \
	"vela: Invalid argument count" "0 $len vela $meta 1 $data extra"
ktap_finish
