#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# A pool's identity and end: import-clone gives a block-for-block copy of a
# pool a new name and UUID so both are active at once, each with its own
# data; rename-pool renames an inactive pool; remove-pool erases an inactive
# pool's signatures, refusing one that holds branches without --force, and
# without --yes when there is no terminal to ask.  Killed between their two
# writes (stop points), import-clone --force and remove-pool, run again,
# finish.  Pools on loop devices over files in /tmp; nothing else is used.
. "$(dirname "$0")/../../lib/ktap.sh"
. "$(dirname "$0")/../../lib/stop.sh"

M=/dev/mapper
modprobe dm-vela
modprobe loop
ktap_plan 26

loops=""
# attach FILE: a loop device over FILE, its path printed.
attach() {
	l=$(losetup -f)
	losetup "$l" "$1"
	loops="$loops $l"
	echo "$l"
}

# kill_at POINT ARGS...: "velactl ARGS" stopped at POINT, then killed.
kill_at() {
	point=$1
	shift
	VELACTL_TEST_STOP=$point velactl "$@" </dev/null >/tmp/kill.out 2>&1 &
	pid=$!
	wait_stopped $pid || ktap_diag "velactl $* never reached $point: $(cat /tmp/kill.out)"
	kill -KILL $pid
	wait $pid
}

truncate -s 16M /tmp/m1
truncate -s 64M /tmp/d1
m1=$(attach /tmp/m1)
d1=$(attach /tmp/d1)
velactl init orig --metadata "$m1" --data "$d1" --force >/dev/null
velactl create orig/vol --size 8M >/dev/null
dd if=/dev/urandom of=/tmp/vol.img bs=64k count=128 2>/dev/null
dd if=/tmp/vol.img of="$M/orig@vol" bs=64k oflag=direct 2>/dev/null
velactl create-branch orig/vol b >/dev/null
velactl deactivate orig >/dev/null

# --- import-clone -----------------------------------------------------------------
cp /tmp/m1 /tmp/m2
cp /tmp/d1 /tmp/d2
m2=$(attach /tmp/m2)
d2=$(attach /tmp/d2)
ktap_expect_exit "a block-for-block copy: two pools named orig, and activate refuses both" 1 \
	"two pools are named 'orig'" velactl activate orig
ktap_expect_exit "import-clone: a usage error without --data" 2 "want NEW-NAME --metadata DEV --data DEV" \
	velactl import-clone clone --metadata "$m2"
ktap_expect_exit "import-clone of one pool's metadata with another pool's data is refused" 1 \
	"names another pool than the metadata" sh -c \
	"truncate -s 16M /tmp/m3 && truncate -s 64M /tmp/d3 && velactl format --metadata /tmp/m3 --data /tmp/d3 --name other >/dev/null && velactl import-clone clone --metadata $m2 --data /tmp/d3"
ktap_expect_exit "import-clone to the name both copies carry is refused" 1 "two pools are named 'orig'" \
	velactl import-clone orig --metadata "$m2" --data "$d2"
ktap_expect_exit "import-clone gives the copy a new name and UUID" 0 \
	"pool clone: imported from $m2 \\(was 'orig'\\) and $d2, with a new UUID" \
	velactl import-clone clone --metadata "$m2" --data "$d2"
ktap_check "the original activates" velactl activate orig
ktap_check "...and so does the clone, at the same time" velactl activate clone
ktap_expect_exit "the two pools have different UUIDs" 0 "" sh -c \
	"[ \"\$(velactl status orig | grep ^uuid)\" != \"\$(velactl status clone | grep ^uuid)\" ]"
ktap_expect_exit "the clone's volume holds the original's data" 0 "" sh -c \
	"head -c 8388608 $M/clone@vol | cmp -s - /tmp/vol.img && head -c 8388608 $M/orig@vol | cmp -s - /tmp/vol.img"
dd if=/dev/zero of="$M/clone@vol" bs=64k count=4 oflag=direct 2>/dev/null
ktap_expect_exit "a write to the clone leaves the original as it was" 0 "" sh -c \
	"head -c 8388608 $M/orig@vol | cmp -s - /tmp/vol.img && ! head -c 8388608 $M/clone@vol | cmp -s - /tmp/vol.img"
ktap_expect_exit "import-clone of an active pool's devices is refused (exit 6)" 6 "in use" \
	velactl import-clone again --metadata "$m2" --data "$d2"

# --- rename-pool --------------------------------------------------------------------
ktap_expect_exit "rename-pool of an active pool is refused (exit 6)" 6 "the pool is active: run 'velactl deactivate clone'" \
	velactl rename-pool clone twin
velactl deactivate clone >/dev/null
ktap_expect_exit "rename-pool to a name that exists is refused (exit 5)" 5 "a pool named 'orig' exists" \
	velactl rename-pool clone orig
ktap_expect_exit "rename-pool to an invalid name is a usage error" 2 "invalid pool name" \
	velactl rename-pool clone "a/b"
ktap_expect_exit "rename-pool renames an inactive pool" 0 "^pool clone renamed to twin\$" \
	velactl rename-pool clone twin
ktap_expect_exit "...it activates under its new name, its branches with it" 0 "^b\$" sh -c \
	"velactl activate twin >/dev/null && velactl list twin -H -o name | grep -x b && ! velactl status clone"

# --- import-clone cut short, then finished -------------------------------------------
velactl deactivate twin >/dev/null
velactl deactivate orig >/dev/null
cp /tmp/m1 /tmp/m4
cp /tmp/d1 /tmp/d4
m4=$(attach /tmp/m4)
d4=$(attach /tmp/d4)
kill_at identity-set import-clone third --metadata "$m4" --data "$d4"
ktap_expect_exit "import-clone killed between the superblock and the data label: run again, it says so (exit 5)" 5 \
	"$m4 already carries the name 'third': an import-clone cut short\\? add --force" \
	velactl import-clone third --metadata "$m4" --data "$d4"
ktap_expect_exit "...and with --force it finishes" 0 "pool third: imported" \
	velactl import-clone third --metadata "$m4" --data "$d4" --force
ktap_expect_exit "...the pool activates, with the original's data" 0 "" sh -c \
	"velactl activate third >/dev/null && head -c 8388608 $M/third@vol | cmp -s - /tmp/vol.img"

# --- remove-pool ------------------------------------------------------------------------
ktap_expect_exit "remove-pool of an active pool is refused (exit 6)" 6 "the pool is active" \
	velactl remove-pool third --force --yes
velactl deactivate third >/dev/null
ktap_expect_exit "remove-pool of a pool with branches is refused without --force (exit 6)" 6 \
	"it holds 2 volumes and branches: delete them first, or add --force" velactl remove-pool third --yes
ktap_expect_exit "remove-pool without --yes and no terminal: exit 2, nothing removed" 2 "add --yes to confirm" \
	sh -c "velactl remove-pool third --force </dev/null"
kill_at data-label-erased remove-pool third --force --yes
ktap_expect_exit "remove-pool killed after the data label: the pool is still found, by its superblock" 0 \
	"^third " velactl scan
ktap_expect_exit "...and the same remove-pool finishes" 0 "^pool third removed: $m4 holds no dm-vela signature now" \
	velactl remove-pool third --force --yes
ktap_expect_exit "...no signature is left on either device" 0 "" sh -c \
	"velactl probe $m4 && velactl probe $d4 && ! velactl scan | grep -q '^third '"
ktap_expect_exit "the other pools are untouched" 0 "" sh -c \
	"velactl activate orig >/dev/null && velactl activate twin >/dev/null && head -c 8388608 $M/orig@vol | cmp -s - /tmp/vol.img"

velactl deactivate orig >/dev/null
velactl deactivate twin >/dev/null
for l in $loops; do
	losetup -d "$l"
done
rm -f /tmp/m1 /tmp/d1 /tmp/m2 /tmp/d2 /tmp/m3 /tmp/d3 /tmp/m4 /tmp/d4
ktap_finish
