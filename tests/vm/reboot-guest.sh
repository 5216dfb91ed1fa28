#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The guest side of the reboot test (tests/host/reboot.sh).
#
# VELA_REBOOT_PHASE=build: make a pool with a tree of volumes and branches
# (an external origin volume among them, a protected golden branch, a
# --no-autoactivate CI branch), write data to each and flush it, record
# every branch's checksum and the list output on $VELA_DISK_state, print
# POWER-OFF-NOW and wait for the host to pull the plug.  No deactivation:
# this is a machine losing power, not a clean shutdown.
#
# VELA_REBOOT_PHASE=verify: `velactl activate --all` must find the pool by
# scanning and bring back every autoactivating device with its name, size,
# lineage and content; the --no-autoactivate branch comes back by name.
# KTAP on stdout.
set -u
. /vela/tests/lib/ktap.sh
meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
origin=${VELA_DISK_origin:?}
state=${VELA_DISK_state:?}
P=boot
FIELDS=name,parent,depth,size,mapped,exclusive,shared,protected,autoactivate,origin

sums() {	# the checksum of every active device, by name
	velactl list "$P" -H -o name,path | while read -r name path; do
		[ "$path" = - ] || echo "$name $(md5sum <"$path" | cut -d' ' -f1)"
	done
}

write() {	# write BRANCH SEED: 1 MiB of data at an offset chosen by SEED, flushed
	dd if=/dev/urandom of="/dev/mapper/$P@$1" bs=64k count=16 seek=$((($2 * 37) % 900)) \
		conv=fsync 2>/dev/null
}

modprobe dm-vela
case ${VELA_REBOOT_PHASE:?} in
build)
	# The origin carries a filesystem, so velactl records it by its UUID
	# and must find it again by scanning, held by the branches over it.
	dd if=/dev/urandom of="$origin" bs=1M count=16 conv=fsync 2>/dev/null
	mkfs.ext4 -q -F "$origin"
	velactl init "$P" --metadata "$meta" --data "$data" --block-size 64k --force >/dev/null &&
	velactl create "$P/prod" --size 128M >/dev/null &&
	velactl create "$P/replica" --origin "$origin" >/dev/null &&
	write prod 1 &&
	velactl create-branch "$P/prod" golden >/dev/null && write golden 2 &&
	velactl create-branch "$P/golden" ci-1 >/dev/null && write ci-1 3 &&
	velactl create-branch "$P/golden" ci-2 --no-autoactivate >/dev/null && write ci-2 4 &&
	velactl create-branch "$P/ci-1" ci-1-fix >/dev/null && write ci-1-fix 5 &&
	velactl create-branch "$P/replica" replica-test >/dev/null && write replica-test 6 &&
	velactl create-branch "$P/replica" replica-ro >/dev/null &&
	velactl protect "$P/golden" &&
	write prod 7 || { echo "BUILD-FAILED"; exit 1; }
	sums >/tmp/manifest
	velactl list "$P" --json -o "$FIELDS" | jq -S . >/tmp/list.json
	{ cat /tmp/manifest; echo ---; cat /tmp/list.json; } >/tmp/state
	dd if=/tmp/state of="$state" bs=1M conv=sync,fsync 2>/dev/null
	echo "BUILT $(wc -l </tmp/manifest) devices"
	echo "POWER-OFF-NOW"
	sleep 600
	;;
verify)
	dd if="$state" bs=1M count=1 2>/dev/null | tr -d '\000' >/tmp/state
	sed '/^---$/,$d' /tmp/state >/tmp/manifest
	sed '1,/^---$/d' /tmp/state >/tmp/list.want
	ktap_plan 8
	ktap_expect_exit "nothing of the pool is active after the power-off" 0 "" \
		sh -c "! dmsetup ls | grep -q '@'"
	ktap_expect_exit "velactl activate --all finds the pool and activates 7 devices" 0 \
		"pool $P: active, 7 devices activated" velactl activate --all
	ktap_expect_exit "the --no-autoactivate branch stayed inactive" 0 "^ci-2 +no\$" \
		velactl list "$P" -o name,active
	ktap_expect_exit "it activates by name" 0 "/dev/mapper/$P@ci-2" velactl activate "$P/ci-2"
	velactl list "$P" --json -o "$FIELDS" | jq -S . >/tmp/list.got
	ktap_expect_exit "names, lineage, sizes, space, protection and origin as before" 0 "" \
		sh -c "diff /tmp/list.want /tmp/list.got"
	sums >/tmp/manifest.got
	ktap_expect_exit "every device's content is identical ($(wc -l </tmp/manifest) devices)" 0 "" \
		sh -c "diff /tmp/manifest /tmp/manifest.got"
	ktap_expect_exit "the origin was recorded by its filesystem UUID" 0 "^replica.UUID=" \
		velactl list "$P" -H -o name,origin
	ktap_expect_exit "the golden branch is still protected" 1 "" sh -c \
		"dd if=/dev/zero of=/dev/mapper/$P@golden bs=4k count=1 oflag=direct 2>/dev/null"
	velactl deactivate "$P" >/dev/null && velactl check "$meta" >/dev/null || ktap_fail "clean deactivate and check"
	ktap_finish
	;;
esac
