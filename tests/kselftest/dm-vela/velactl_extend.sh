#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# velactl extend: the pool grows online into its data and metadata devices
# after they grew.  The devices are dm-linear slices (32 MiB of metadata,
# 64 MiB of data) that are reloaded larger, as lvextend would; a volume
# stays active and keeps its data throughout.  Then an out-of-data-space
# pool returns to rw through extend.
# Devices: $VELA_DISK_meta, $VELA_DISK_data.
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/stop.sh"

meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
P=ext

grow() {	# grow NAME SECTORS DEV: reload the linear device larger, online
	dmsetup suspend "$1" && dmsetup reload "$1" --table "0 $2 linear $3 0" &&
		dmsetup resume "$1"
}

# extend_resized_underneath SECTORS: velactl extend, stopped after it
# loaded the new table, while the data device becomes SECTORS long; its
# output in /tmp/ext.out, its exit status in $rc.
extend_resized_underneath() {
	VELACTL_TEST_STOP=suspend-recorded velactl extend "$P" </dev/null >/tmp/ext.out 2>&1 &
	pid=$!
	wait_stopped $pid || ktap_diag "extend never reached suspend-recorded: $(cat /tmp/ext.out)"
	grow edata "$1" "$data"
	kill -CONT $pid
	wait $pid
	rc=$?
}

modprobe dm-vela
ktap_plan 14
dmsetup create emeta --table "0 65536 linear $meta 0" && dmsetup mknodes emeta
dmsetup create edata --table "0 131072 linear $data 0" && dmsetup mknodes edata
velactl init "$P" --metadata /dev/mapper/emeta --data /dev/mapper/edata --force >/dev/null
velactl create "$P/vol" --size 256M >/dev/null
dd if=/dev/urandom of=/tmp/first.img bs=1M count=16 2>/dev/null
dd if=/tmp/first.img of="/dev/mapper/$P@vol" bs=1M oflag=direct 2>/dev/null

ktap_expect_exit "status: 64 MiB of data" 0 '"data_total": 67108864' velactl status "$P" --json
grow edata 262144 "$data"
ktap_expect_exit "extend --data picks up 128 MiB, online" 0 "data 1024 -> 2048 blocks" \
	velactl extend "$P" --data
ktap_expect_exit "status: 128 MiB of data" 0 '"data_total": 134217728' velactl status "$P" --json
grow emeta 131072 "$meta"
ktap_expect_exit "extend --metadata picks up 64 MiB" 0 "metadata 8192 -> 16384 blocks" \
	velactl extend "$P" --metadata
ktap_expect_exit "the volume kept its data" 0 "" sh -c \
	"head -c 16777216 /dev/mapper/$P@vol | cmp -s - /tmp/first.img"

# Fill the data device (writes fail at once with error_if_no_space): the
# pool runs out of space; extend, which keeps the table's features, brings
# it back.
dmsetup suspend "@$P" && dmsetup reload "@$P" --table \
	"0 $(blockdev --getsz /dev/mapper/edata) vela-pool /dev/mapper/emeta /dev/mapper/edata 128 1 error_if_no_space" &&
	dmsetup resume "@$P"
dd if=/dev/urandom of="/dev/mapper/$P@vol" bs=1M count=200 seek=16 oflag=direct 2>/dev/null
ktap_expect_exit "writing past the data device: out_of_data_space" 0 '"mode": "out_of_data_space"' \
	velactl status "$P" --json
grow edata 524288 "$data"
ktap_expect_exit "extend returns the pool to rw" 0 "mode: rw" velactl extend "$P"
# A reload that cannot resume: extend stopped after its load, the data
# device shrunk under the pool meanwhile.  Neither the new table nor the
# old one resumes, so the pool stays suspended: velactl says so and how to
# go on, and activate resumes it once the device is back.
extend_resized_underneath 262144
ktap_expect_exit "extend whose resume fails: exit 1, the pool stays suspended and velactl says so" 0 \
	"@$P stays suspended, and its I/O waits: .*'velactl activate $P' resumes it" \
	sh -c "cat /tmp/ext.out; [ $rc -eq 1 ] && dmsetup info @$P | grep -q SUSPENDED"
grow edata 524288 "$data"
ktap_expect_exit "activate resumes it once the data device is back" 0 "resumed @$P" \
	sh -c "velactl activate $P && ! dmsetup info @$P | grep -q SUSPENDED"
ktap_expect_exit "...and the volume kept its data" 0 "" sh -c \
	"head -c 16777216 /dev/mapper/$P@vol | cmp -s - /tmp/first.img"
# The other way a resume fails: the data device shrinks after the load,
# but not below what the pool uses.  The kernel refuses the new table and
# keeps the old one, which resumes and, reading the device's size as any
# resume does, grows the pool to the 384 MiB the device has: velactl says
# both, and exits 1.  extend run again then loads a table of that size.
grow edata 1048576 "$data"
extend_resized_underneath 786432
ktap_expect_exit "extend whose new table the kernel refuses: exit 1, the old table runs on, grown" 0 \
	"@$P runs on with its old table.*data 4096 -> 6144 blocks" \
	sh -c "cat /tmp/ext.out | tr '\n' ' '; [ $rc -eq 1 ] && ! dmsetup info @$P | grep -q SUSPENDED"
ktap_expect_exit "extend again: the table takes the device's size" 0 "data 6144 -> 6144 blocks" \
	sh -c "velactl extend $P --data && [ \$(dmsetup table @$P | awk '{ print \$2 }') -eq 786432 ]"
# A pool another tool suspended: extend refuses to take the suspension
# over (it would resume it when done), and leaves it as it is.
dmsetup suspend "@$P"
ktap_expect_exit "extend of a pool another tool suspended: refused, the suspension left alone" 1 \
	"@$P is suspended, not by velactl: left as it is" \
	sh -c "velactl extend $P; rc=\$?; dmsetup info @$P | grep -q SUSPENDED || exit 9; exit \$rc"
dmsetup resume "@$P"
ktap_check "deactivate and check" sh -c "velactl deactivate $P && velactl check /dev/mapper/emeta"
dmsetup remove emeta
dmsetup remove edata
ktap_finish
