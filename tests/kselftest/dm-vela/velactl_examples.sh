#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Every example of velactl(8) (its EXAMPLES section) and of README.md ("Using
# velactl") runs, as the documents print it, read from the documents
# themselves (tests/lib/examples.awk), so an example that is edited is
# tested as edited.  Each command is one case: it must exit 0, and where the
# document shows output, its standard output must agree with it: a table
# must have the header shown and the rows shown, in order, with the same
# indentation and words but for sizes, numbers and times, which differ;
# any other line shown must be among the lines printed.  Pipelines fail
# with their velactl (pipefail), and "a; b" fails with a.
#
# What the test supplies, and nothing else:
# - devices: the documents' device names map to this VM's disks and loop
#   devices (below); velactl(8)'s data partition is a dm-linear device named
#   like the LV vg/ci-data, and lvextend is a shell function that grows it;
# - scale: "exclusive>1g" runs as "exclusive>1m", so the two job branches
#   need megabytes, not gigabytes, of writes;
# - the world an example assumes, set up before its block: CI_JOB_ID and
#   its mount point; the job branches whose list is shown; a reboot (the
#   pools deactivated) before "activate --all"; a live database volume
#   mounted at /srv/db for the golden image; an empty working directory;
# - util-linux's fsfreeze by its path, which busybox's shell would not run.
# A block this test does not know yet fails on its own commands, so a new
# example cannot go untested.  Devices: $VELA_DISK_meta, $VELA_DISK_data.
. "$(dirname "$0")/../../lib/ktap.sh"

top=$(cd "$(dirname "$0")/../../.." && pwd)
meta=${VELA_DISK_meta:?}
data=${VELA_DISK_data:?}
M=/dev/mapper
work=/tmp/examples
modprobe dm-vela
modprobe loop
modprobe ext4

rm -rf "$work"
mkdir -p "$work/cwd"
awk -v doc=man -f "$top/tests/lib/examples.awk" "$top/docs/velactl.8" >"$work/man.steps"
awk -v doc=md -f "$top/tests/lib/examples.awk" "$top/README.md" >"$work/readme.steps"
man_commands=$(grep -c '^C ' "$work/man.steps")
readme_commands=$(grep -c '^C ' "$work/readme.steps")
ktap_plan $((2 + man_commands + readme_commands))

# The extraction itself can fail, and an example can vanish: the counts
# are pinned (change them with the documents).
ktap_expect_exit "velactl(8) EXAMPLES: 8 blocks, 31 commands" 0 "" \
	sh -c "[ $(grep -c '^B ' "$work/man.steps") -eq 8 ] && [ $man_commands -eq 31 ]"
ktap_expect_exit "README.md's 'Using velactl': 13 commands" 0 "" \
	sh -c "[ $readme_commands -eq 13 ]"

loops=""
# attach FILE SIZE: a loop device over a new sparse FILE, its path printed.
attach() {
	truncate -s "$2" "$1"
	l=$(losetup -f)
	losetup "$l" "$1"
	loops="$loops $l"
	echo "$l"
}

# blank DEVICE...: no signature left from an earlier test.
blank() {
	for dev; do
		dd if=/dev/zero of="$dev" bs=1M count=4 2>/dev/null
	done
}

# util-linux's fsfreeze: busybox's shell would run its own applet, which
# has no -f and -u.
fsfreeze() {
	/usr/sbin/fsfreeze "$@"
}

# lvextend -L +SIZE vg/ci-data: the one LVM command the examples use.  The
# LV is a dm-linear device over part of $data; it grows to all of it.
lvextend() {
	[ "$*" = "-L +100G vg/ci-data" ] || { echo "lvextend: only '-L +100G vg/ci-data' is known here" >&2; return 2; }
	dmsetup reload vg-ci--data --table "0 $(blockdev --getsz "$data") linear $data 0" &&
		dmsetup resume vg-ci--data
}

# setup_for COMMAND: what the example block starting with COMMAND assumes.
setup_for() {
	case "$1" in
	"job=job-\$CI_JOB_ID")
		CI_JOB_ID=1234
		mkdir -p /mnt/job-1234 ;;
	"velactl list ci -H --bytes"*)
		# the two jobs the listing shows, one with more written than the other
		for job in 1234:4 1229:2; do
			velactl create-branch ci/base "job-${job%:*}" --no-autoactivate \
				--limit 10G >/dev/null &&
				dd if=/dev/urandom of="$M/ci@job-${job%:*}" bs=1M count="${job#*:}" \
					oflag=direct conv=fsync 2>/dev/null
		done ;;
	"velactl activate --all")
		# a reboot: nothing active
		velactl deactivate --all >/dev/null ;;
	"fsfreeze -f /srv/db")
		# a live database volume in its own pool
		velactl init prod --metadata "$(attach "$work/prod-meta" 16M)" \
			--data "$(attach "$work/prod-data" 512M)" >/dev/null &&
			velactl create prod/db --size 200G >/dev/null &&
			mkfs.ext4 -q -N 4096 -J size=4 "$M/prod@db" &&
			mkdir -p /srv/db && mount "$M/prod@db" /srv/db &&
			echo "table rows" >/srv/db/rows && sync ;;
	"velactl probe /dev/nvme1n1"*)
		cd "$work/cwd" || return 1 ;;
	esac
}

# agrees: the output in $work/out agrees with the lines the document shows
# in $work/expected (empty: nothing to compare).  A table (a first line
# that starts with NAME) must have the same header and the same rows in
# the same order, each with the same indentation and the same words, but
# for sizes, numbers and times, which depend on the run.  Any other line
# shown must be among the lines printed.
agrees() {
	[ -s "$work/expected" ] || return 0
	if head -n 1 "$work/expected" | grep -q '^NAME '; then
		want=$(head -n 1 "$work/expected" | tr -s ' ')
		got=$(head -n 1 "$work/out" | tr -s ' ' | sed 's/ *$//')
		[ "$want" = "$got" ] || { echo "header '$got', expected '$want'"; return 1; }
		sed 1d "$work/expected" >"$work/expected.rows"
		sed 1d "$work/out" >"$work/out.rows"
		awk '
		function shape(line,	n, i, f, out) {
			match(line, /^ */)
			out = RLENGTH
			n = split(line, f, " ")
			for (i = 1; i <= n; i++) {
				if (f[i] ~ /^[0-9.]+(B|KiB|MiB|GiB|TiB|PiB)?$/ ||
				    f[i] ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T/)
					f[i] = "*"
				out = out " " f[i]
			}
			return out
		}
		NR == FNR { want[FNR] = shape($0); rows = FNR; next }
		{
			got = FNR
			if (shape($0) != want[FNR]) {
				print "row " FNR " is \"" $0 "\", expected the shape \"" want[FNR] "\""
				bad = 1
			}
		}
		END {
			if (got != rows) {
				print got + 0 " rows, expected " rows
				bad = 1
			}
			exit bad
		}' "$work/expected.rows" "$work/out.rows"
		return
	fi
	while IFS= read -r line; do
		grep -qxF -- "$line" "$work/out" || { echo "no line '$line'"; return 1; }
	done <"$work/expected"
}

# run_steps DOC STEPS-FILE SED-SCRIPT: each command, with its devices
# substituted by SED-SCRIPT, run in this shell (an example's variables
# reach the commands after it); the block's setup first.
run_steps() {
	doc=$1 steps=$2 subst=$3
	pending=""
	: >"$work/expected"
	# one extra empty step ends the last command
	{ cat "$steps"; echo "E"; } >"$work/steps"
	while IFS= read -r step; do
		kind=${step%% *}
		text=${step#? }
		case "$kind" in
		O) printf '%s\n' "$text" >>"$work/expected"; continue ;;
		B) new_block=1 ;;
		esac
		if [ -n "$pending" ]; then
			# "a; b" runs as "a && b", so that a failing a is seen too
			cmd=$(printf '%s\n' "$pending" | sed "$subst; s/; /\\&\\& /g")
			eval "$cmd" </dev/null >"$work/out" 2>"$work/err"
			rc=$?
			if [ $rc -ne 0 ]; then
				ktap_fail "$doc: $pending" "exit $rc: $cmd" "$(cat "$work/out" "$work/err")"
			elif why=$(agrees); then
				ktap_pass "$doc: $pending"
			else
				ktap_fail "$doc: $pending" "$why" "$(cat "$work/out" "$work/err")"
			fi
			pending=""
			: >"$work/expected"
		fi
		if [ "$kind" = C ]; then
			if [ -n "$new_block" ]; then
				setup_for "$text" || ktap_diag "setup for '$text' failed"
				new_block=""
			fi
			pending=$text
		fi
	done <"$work/steps"
	cd / || return 1
}

# A velactl that fails in a pipeline fails its command (jq exits 0 on
# no input).
set -o pipefail

# --- velactl(8) -----------------------------------------------------------------
velactl deactivate --all >/dev/null 2>&1
blank "$meta" "$data"
dmsetup create vg-ci--data --table "0 $(($(blockdev --getsz "$data") * 3 / 4)) linear $data 0"
dmsetup mknodes vg-ci--data
probe_me=$(attach "$work/blank" 64M)
run_steps "velactl(8)" "$work/man.steps" "
s|/dev/nvme0n1p1|$meta|g
s|/dev/nvme0n1p2|$M/vg-ci--data|g
s|/dev/nvme1n1|$probe_me|g
s|exclusive>1g|exclusive>1m|g"

umount /srv/db 2>/dev/null
velactl deactivate --all >/dev/null 2>&1
dmsetup remove vg-ci--data

# --- README.md ------------------------------------------------------------------
blank "$meta" "$data"
replica=$(attach "$work/replica" 64M)
dd if=/dev/urandom of="$replica" bs=1M count=8 2>/dev/null
run_steps "README.md" "$work/readme.steps" "
s|/dev/nvme0n1|$meta|g
s|/dev/nvme1n1|$data|g
s|/dev/sdb|$replica|g"

velactl deactivate --all >/dev/null 2>&1
for l in $loops; do losetup -d "$l"; done
blank "$meta" "$data"
rm -rf "$work"
ktap_finish
