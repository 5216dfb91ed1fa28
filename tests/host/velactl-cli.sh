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
ktap_plan $((33 + 2 * $(echo "$commands" | wc -w)))
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
# list's report options are checked before anything touches the kernel.
ktap_expect_exit "list -o with an unknown field is a usage error" 2 "unknown field 'bogus'" \
	"$velactl" list -o name,bogus
ktap_expect_exit "list -o help describes the fields, sizes as sizes" 0 "^  exclusive +size " \
	"$velactl" list -o help
ktap_expect_exit "list -O with an unknown field is a usage error" 2 "-O: unknown field 'nosuch'" \
	"$velactl" list -O name,-nosuch
ktap_expect_exit "list -S with an unknown field is a usage error that names it" 2 \
	"-S 'bogus>1g': Unrecognised selection field: bogus" "$velactl" list -S 'bogus>1g'
ktap_expect_exit "list -S with a bad size is a usage error that says where" 2 \
	"Selection syntax error at 'x'" "$velactl" list -S 'exclusive>1x'
ktap_expect_exit "list -S with a regex on a size is a usage error" 2 "incompatible comparison" \
	"$velactl" list -S 'size=~1'
ktap_expect_exit "list -S help lists the operators" 0 "Comparison operators" "$velactl" list -S help
ktap_expect_exit "list --units with an unknown unit is a usage error" 2 "--units x: want one of" \
	"$velactl" list --units x
ktap_expect_exit "list --units with --json is a usage error" 2 "--json is always exact" \
	"$velactl" list --json --units m
ktap_expect_exit "list --bytes with --units is a usage error" 2 "exclude each other" \
	"$velactl" list --bytes --units m
ktap_expect_exit "list --tree with -O is a usage error" 2 "-O does not apply" \
	"$velactl" list --tree -O name
ktap_expect_exit "list POOL/NAME with a bad name is a usage error" 2 "invalid name 'a b'" \
	"$velactl" list "p/a b"
ktap_expect_exit "list with two pools is a usage error" 2 "at most one POOL" \
	"$velactl" list p1 p2
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
