#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# velactl scan trusts nothing on disk: a superblock counts only when its
# checksum verifies and its name is valid, a data label only when its
# checksum does; every other dm-vela signature is reported as "not a pool:
# why", and its bytes reach neither a path nor the terminal.  Pools that
# other tests left on the VM's disks are left alone.  The devices
# are loop devices over tmpfs, crafted with vela-craft (tests/tools/), so
# the test leaves the VM's disks alone.
. "$(dirname "$0")/../../lib/ktap.sh"

modprobe dm-vela
modprobe loop
ktap_plan 14

dir=/mnt/scan
mkdir -p $dir
mount -t tmpfs -o size=300m tmpfs $dir
for f in meta data badsum badname baddata; do
	truncate -s 64M $dir/$f
done
# busybox losetup: take the next free device, then attach it.
loop() {
	l=$(losetup -f) && losetup "$l" "$dir/$1" && echo "$l"
}
meta=$(loop meta)
data=$(loop data)
ktap_check "format a pool on two loop devices" \
	velactl format --metadata "$meta" --data "$data" --name good
# Copies of its superblock and data label, each damaged one way, behind
# valid checksums where the damage is not the checksum itself; the name is
# "../x", ESC [2J (clear the screen), 0xff.
ktap_check "three damaged copies: superblock checksum, pool name, data label" sh -c "
	dd if=$meta of=$dir/badsum bs=1M count=1 conv=notrunc 2>/dev/null &&
	dd if=$meta of=$dir/badname bs=1M count=1 conv=notrunc 2>/dev/null &&
	dd if=$data of=$dir/baddata bs=1M count=1 conv=notrunc 2>/dev/null &&
	vela-craft $dir/badsum bad-csum &&
	vela-craft $dir/badname pool-name 2e2e2f781b5b324aff &&
	printf '\\377' | dd of=$dir/baddata bs=1 seek=100 conv=notrunc 2>/dev/null"
badsum=$(loop badsum)
badname=$(loop badname)
baddata=$(loop baddata)

# Other tests' pools may sit on the VM's disks: only this test's devices count.
velactl scan >/tmp/scan.out 2>/tmp/scan.err
rc=$?
mine="$meta|$data|$badsum|$badname|$baddata"
if [ $rc -eq 0 ] && [ "$(grep -c -E " ($mine) " /tmp/scan.out)" -eq 1 ] &&
   grep -q "^good  *inactive  *$meta  *$data " /tmp/scan.out; then
	ktap_pass "scan lists the one real pool, paired with its real data device"
else
	ktap_fail "scan lists the one real pool, paired with its real data device" \
		"exit $rc" "$(cat -v /tmp/scan.out /tmp/scan.err)"
fi
ktap_check "a bad superblock checksum: not a pool, and why" \
	grep -q "$badsum: not a pool: checksum mismatch" /tmp/scan.err
ktap_check "a pool name that is not a valid name: not a pool, and why" \
	grep -q "$badname: not a pool: its pool name is not a valid name" /tmp/scan.err
ktap_check "a bad data label checksum: not a pool's data, and why" \
	grep -q "$baddata: not a pool: data label checksum mismatch" /tmp/scan.err
if ! grep -q "$(printf '\033')" /tmp/scan.out /tmp/scan.err && ! grep -q '\.\./x' /tmp/scan.out; then
	ktap_pass "no byte of the crafted name reaches the terminal or a pool row"
else
	ktap_fail "no byte of the crafted name reaches the terminal or a pool row" \
		"$(cat -v /tmp/scan.out /tmp/scan.err)"
fi
if velactl scan --json >/tmp/scan.json 2>/dev/null &&
   jq -e --arg s "$badsum" --arg n "$badname" --arg d "$baddata" \
	'([.pools[] | select(.name == "good")] | length == 1) and
	 ([.pools[] | select(.metadata == $s or .metadata == $n)] | length == 0) and
	 ([.not_pools[] | select(.device == $s or .device == $n or .device == $d)] | length == 3) and
	 (.not_pools[] | select(.device == $s) | .why == "checksum mismatch") and
	 (.not_pools[] | select(.device == $n) | .why | test("not a valid name")) and
	 (.not_pools[] | select(.device == $d) | .why == "data label checksum mismatch")' \
	/tmp/scan.json >/dev/null; then
	ktap_pass "scan --json: one pool, three not_pools with their reasons"
else
	ktap_fail "scan --json: one pool, three not_pools with their reasons" "$(cat /tmp/scan.json)"
fi
# Activation finds the pool by name among everything the scan saw.
if velactl activate good >/tmp/act.out 2>&1 && velactl scan 2>/dev/null >/tmp/scan.out &&
   [ "$(grep -c -E " ($mine) " /tmp/scan.out)" -eq 1 ] &&
   grep -q "^good  *active  *$meta  *$data " /tmp/scan.out; then
	ktap_pass "activate finds the real pool on its real devices, and nothing crafted"
else
	ktap_fail "activate finds the real pool on its real devices, and nothing crafted" \
		"$(cat -v /tmp/act.out /tmp/scan.out)"
fi
velactl deactivate good >/dev/null 2>&1

# /etc/vela/vela.conf: what a scan may open.  A rejected metadata device
# hides the pool; accept-then-reject-all keeps only what is named; a
# devices list scans nothing else; a file that does not parse stops the
# scan with its line and reason.
mkdir -p /etc/vela
echo "filter = [ \"r|^$meta\$|\" ]" >/etc/vela/vela.conf
ktap_expect_exit "a reject pattern on the metadata device: scan does not see the pool" 0 "" sh -c \
	"velactl scan >/tmp/f.out 2>&1 && ! grep -q '^good ' /tmp/f.out && ! velactl activate good"
printf '%s\n' "# only the pool's two devices" \
	"filter = [ \"a|^$meta\$|\", \"a|^$data\$|\", \"r|.*|\" ]" >/etc/vela/vela.conf
ktap_expect_exit "accept the pool's devices, reject the rest: the pool, and no crafted device" 0 "" sh -c \
	"velactl scan --json >/tmp/f.json && jq -e '(.pools | map(select(.name == \"good\")) | length) == 1 and .not_pools == []' /tmp/f.json"
echo "devices = [ \"$badsum\", \"$baddata\" ]" >/etc/vela/vela.conf
ktap_expect_exit "a devices list: only the listed devices are opened" 0 "" sh -c \
	"velactl scan --json >/tmp/f.json && jq -e '([.pools[] | select(.name == \"good\")] | length) == 0 and (.not_pools | length) == 2' /tmp/f.json"
echo 'filter = [ "a|(unclosed|" ]' >/etc/vela/vela.conf
ktap_expect_exit "a filter that does not parse stops the scan, naming the line" 1 \
	"/etc/vela/vela.conf:1: .*not a regular expression; no device is scanned" velactl scan
rm -f /etc/vela/vela.conf

for l in "$meta" "$data" "$badsum" "$badname" "$baddata"; do
	losetup -d "$l"
done
if umount $dir; then
	ktap_pass "every device is released"
else
	ktap_fail "every device is released" "$(losetup -a)"
fi
ktap_finish
