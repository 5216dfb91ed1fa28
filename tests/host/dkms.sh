#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# `dkms add` and `dkms build` succeed against the installed headers, in a
# private dkms tree (the host's dkms state is not touched, except that dkms
# creates its module-signing key in /var/lib/dkms on first use); and
# `make install` / `make uninstall` put files in place and take them away
# (into a DESTDIR, so this host is not changed).
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

ktap_plan 8
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
dest=$tmp/destdir
make -C "$top" -s install DESTDIR="$dest" PREFIX=/usr >"$tmp/install.log" 2>&1
if [ -f "$dest/lib/modules/$release/updates/dm-vela.ko" ] && [ -x "$dest/usr/sbin/velactl" ] &&
   [ -f "$dest/usr/share/man/man8/velactl.8" ] && [ -f "$dest/lib/udev/rules.d/56-dm-vela.rules" ] &&
   [ -f "$dest/usr/share/bash-completion/completions/velactl" ]; then
	ktap_pass "make install puts the module, velactl, its man page, udev rule and completion in place"
else
	ktap_fail "make install puts the module, velactl, its man page, udev rule and completion in place" \
		"$(cat "$tmp/install.log"; find "$dest" 2>&1)"
fi
unit=$dest/lib/systemd/system/dm-vela.service
if grep -qx 'ExecStart=/usr/sbin/velactl activate --all' "$unit" 2>/dev/null &&
   grep -qx 'ExecStop=/usr/sbin/velactl deactivate --all' "$unit" &&
   grep -q '^Before=local-fs-pre.target' "$unit"; then
	ktap_pass "the systemd unit activates before local filesystems, deactivates at shutdown"
else
	ktap_fail "the systemd unit activates before local filesystems" "$(cat "$unit" 2>&1)"
fi
if ! command -v systemd-analyze >/dev/null; then
	ktap_skip "systemd-analyze verify accepts the unit" "systemd-analyze is not installed"
elif out=$(cd "$dest" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no --root="$dest" \
	   "$unit" 2>&1) && ! echo "$out" | grep -q 'dm-vela.service'; then
	ktap_pass "systemd-analyze verify accepts the unit"
else
	ktap_fail "systemd-analyze verify accepts the unit" "$out"
fi
make -C "$top" -s uninstall DESTDIR="$dest" PREFIX=/usr >"$tmp/uninstall.log" 2>&1
if [ -z "$(find "$dest" -type f 2>/dev/null)" ]; then
	ktap_pass "make uninstall removes them"
else
	ktap_fail "make uninstall removes them" "$(find "$dest" -type f)"
fi
ktap_finish
