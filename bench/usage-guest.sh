#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The guest side of bench/usage.sh (K7).  Prints
#   K7 <run> iops <n> clat_us mean <m> p99 <p> p99.9 <p> max <m>
# for fio alone and fio beside the poller, then what the poller did.
set -eu
export PATH=$PATH:/usr/sbin
secs=${BENCH_SECONDS:-30}
modprobe dm-vela
velactl activate bench >/dev/null
velactl create bench/work --size 1G >/dev/null
velactl create bench/work2 --size 1G >/dev/null

# fio_run NAME DEV: 4 KiB random writes over 1 GiB, nearly all to new blocks.
fio_run() {
	fio --name=k7 --filename="$2" --rw=randwrite --bs=4k --ioengine=psync --direct=1 \
		--size=1G --randrepeat=0 --runtime="$secs" --time_based \
		--output-format=json >/tmp/fio.json 2>/dev/null || true
	jq -r --arg n "$1" '.jobs[0].write | "K7 \($n) ios \(.total_ios) iops \(.iops | floor) clat_us mean \(.clat_ns.mean / 1000 | floor) p99 \(.clat_ns.percentile["99.000000"] / 1000 | floor) p99.9 \(.clat_ns.percentile["99.900000"] / 1000 | floor) max \(.clat_ns.max / 1000 | floor)"' /tmp/fio.json
}

# One walk, timed, before anything runs (nothing cached yet); then again
# (from the cache).
first=$(vela-io time sh -c 'dmsetup status bench@big >/dev/null')
again=$(vela-io time sh -c 'dmsetup status bench@big >/dev/null')
echo "# the big volume's first status took $first ms, the next (cached) $again ms"

fio_run alone /dev/mapper/bench@work

: >/tmp/polls
(
	while [ ! -e /tmp/stop ]; do
		a=$(vela-io time sh -c 'dmsetup status bench@big >/dev/null')
		b=$(vela-io time sh -c 'velactl list bench >/dev/null')
		echo "$a $b" >>/tmp/polls
	done
) &
poller=$!
fio_run polled /dev/mapper/bench@work2
touch /tmp/stop
wait $poller
awk '{ n++; s += $1; if ($1 > ms) ms = $1; l += $2; if ($2 > ml) ml = $2 }
	END { printf "K7 polls %d status_ms mean %d max %d list_ms mean %d max %d\n",
		n, n ? s / n : 0, ms, n ? l / n : 0, ml }' /tmp/polls
echo "# big: $(dmsetup status bench@big)"
echo "# pool: $(dmsetup status @bench)"
velactl list bench -o name,mapped,exclusive,shared,usage_gen
velactl check bench >/dev/null && echo "# velactl check: clean"
