#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# velactl's command line on the host: help, version, usage errors (exit 2),
# and libblkid probing of image files.  Needs no kernel.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/ktap.sh"
velactl=$top/userspace/velactl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
truncate -s 16M "$tmp/zero.img"
truncate -s 16M "$tmp/ext4.img"
mkfs.ext4 -q -F "$tmp/ext4.img"

commands=$("$velactl" help | sed -n 's/^  \([a-z-]*\).*/\1/p')
ktap_plan $((20 + 2 * $(echo "$commands" | wc -w)))
ktap_expect_exit "--version prints the package version" 0 "^velactl $version\$" "$velactl" --version
ktap_expect_exit "help lists the commands" 0 "probe DEVICE" "$velactl" help
ktap_expect_exit "--help is help" 0 "^usage: velactl" "$velactl" --help
ktap_expect_exit "help COMMAND shows its usage" 0 "^usage: velactl probe DEVICE" "$velactl" help probe
ktap_expect_exit "help of an unknown command is a usage error" 2 "unknown command 'nosuch'" "$velactl" help nosuch
ktap_expect_exit "no command is a usage error" 2 "no command given" "$velactl"
ktap_expect_exit "an unknown option is a usage error" 2 "velactl help" "$velactl" --bogus
ktap_expect_exit "an unknown command is a usage error" 2 "unknown command 'frobnicate'" "$velactl" frobnicate
ktap_expect_exit "version with an argument is a usage error" 2 "takes no arguments" "$velactl" version extra
ktap_expect_exit "probe without a device is a usage error" 2 "exactly one DEVICE" "$velactl" probe
ktap_expect_exit "probe of a missing device names it" 1 "cannot open $tmp/missing" "$velactl" probe "$tmp/missing"
ktap_expect_exit "probe of a blank image finds nothing" 0 "no signature found" "$velactl" probe "$tmp/zero.img"
ktap_expect_exit "probe of an ext4 image reports ext4" 1 'TYPE="ext4"' "$velactl" probe "$tmp/ext4.img"
ktap_expect_exit "--wait with a word is a usage error" 2 "--wait soon: want a whole number of seconds" \
	"$velactl" --wait soon version
ktap_expect_exit "--wait past a day is a usage error" 2 "from 0 to 86400" "$velactl" version --wait=86401
ktap_expect_exit "--wait at the end wants its value" 2 "--wait wants a number of seconds" \
	"$velactl" probe "$tmp/zero.img" --wait
ktap_expect_exit "an abbreviated long option is refused, a destructive one included" 2 \
	"format: unknown option '--meta': write '--metadata' in full" \
	"$velactl" format --meta "$tmp/a" --dat "$tmp/b" --fo
ktap_expect_exit "...and so is an abbreviation with =" 2 "unknown option '--blo': write '--block-size' in full" \
	"$velactl" format --metadata "$tmp/a" --data "$tmp/b" --blo=64k
ktap_expect_exit "--nowait and --wait after the command are taken out of its arguments" 0 \
	"no signature found" "$velactl" probe --nowait "$tmp/zero.img" --wait 3
# The man page names the target version velactl requires, and its example.
want=$(sed -n 's/^#define TARGET_MIN_MINOR[[:space:]]*\([0-9]*\).*/\1/p' "$top/userspace/velactl-dm.c")
if [ -n "$want" ] && grep -q "version 0.x with x at least $want " "$top/docs/velactl.8" &&
   grep -q "^kernel target vela\\\\-pool 0\.$want\.0\$" "$top/docs/velactl.8"; then
	ktap_pass "velactl(8) states the minimum target version velactl checks (0.$want)"
else
	ktap_fail "velactl(8) states the minimum target version velactl checks (0.${want:-?})" \
		"$(grep -n 'at least\|kernel target' "$top/docs/velactl.8")"
fi
# Every command: its own --help, and a bad option is a usage error (exit 2)
# that names it, before anything touches a device or the kernel.
for c in $commands; do
	ktap_expect_exit "$c --help shows its usage" 0 "^usage: velactl $c" "$velactl" "$c" --help
	ktap_expect_exit "$c --frobnicate is a usage error" 2 "frobnicate|takes no arguments|unknown command|no options" \
		"$velactl" "$c" --frobnicate
done
ktap_finish
