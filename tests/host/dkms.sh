#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# `dkms add` and `dkms build` succeed against the installed headers, in a
# private dkms tree (the host's dkms state is not touched, except that dkms
# creates its module-signing key in /var/lib/dkms on first use).
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/ktap.sh"
kdir=${KDIR:-$("$top/scripts/pick-kdir")}
release=$("$top/scripts/kernel-release" "$kdir")
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# What dkms gets is what a release tarball would hold: the tracked files.
mkdir -p "$tmp/export" "$tmp/src" "$tmp/tree"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$top" ls-files -z | (cd "$top" && xargs -0 cp --parents -t "$tmp/export")
else
	cp -a "$top/." "$tmp/export"
fi
dkms() {
	command dkms --dkmstree "$tmp/tree" --sourcetree "$tmp/src" "$@"
}

ktap_plan 4
ktap_check "dkms add" dkms add "$tmp/export"
ktap_check "dkms build -k $release" dkms build "dm-vela/$version" -k "$release"
ko=$tmp/tree/dm-vela/$version/$release/$(uname -m)/module/dm-vela.ko
if [ -e "$ko" ] && [ "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$release" ]; then
	ktap_pass "the built module is for $release"
else
	ktap_fail "the built module is for $release" "$(ls -R "$tmp/tree" 2>&1 | head -n 30)"
fi
if [ "$(modinfo -F version "$ko" 2>/dev/null)" = "$version" ]; then
	ktap_pass "the built module carries version $version"
else
	ktap_fail "the built module carries version $version" "$(modinfo "$ko" 2>&1)"
fi
ktap_finish
