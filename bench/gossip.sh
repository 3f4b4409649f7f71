#!/usr/bin/env bash
# The gossip simulation (nodes/gossip, BenchmarkGossipSim): N memberlist
# members on loopback addresses in one process, each publishing readiness
# for SERVICES Services, RATE of them changing per second, for DURATION
# (LAN-equivalent). Prints, per shape, the convergence time of a change
# until every member applied it (p50, p99), gossip bytes and CPU per
# member, what each member sent of its own state (deltas, resent deltas,
# whole states), the failure detection time of killed members, and what
# today's all-to-all poll would cost for the same N. Not part of
# `make test`.
#
# SCALE dilates time (every interval of the clockwork × SCALE, the
# change rate ÷ SCALE; figures are reported LAN-equivalent, wall times
# ÷ SCALE, rates × SCALE): 1,000 LAN-timed members need about 5 cores
# (5 ms of CPU a second each), which a 2-core machine shared with other
# work does not have; dilated, each member has the same work per gossip
# round and the process stays within its share. "N:SCALE" pairs in NS
# set it per shape. The load average is printed with each run (the
# machine is shared: compare runs at similar load).
#
#   bench/gossip.sh                       # the README's series: 50..200 at 4×, 400 and 1,000 at 10×
#   NS="200:1" bench/gossip.sh            # 200 members in real time
#   NS="100:4" SCOPE=member RATE=0.001 bench/gossip.sh
#
# SCOPE=cluster: RATE × SERVICES changes per second in the whole cluster;
# SCOPE=member: on every member (N times as many).
set -euo pipefail
cd "$(dirname "$0")/.."
NS=${NS:-50:4 100:4 200:4 400:10 1000:10}
SERVICES=${SERVICES:-2000}
RATE=${RATE:-0.01}
SCOPE=${SCOPE:-cluster}
DURATION=${DURATION:-30s}
KILL=${KILL:-3}
bin=$(mktemp -d)/gossip.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" ./nodes/gossip
for shape in $NS; do
	n=${shape%%:*}
	scale=1
	[[ $shape == *:* ]] && scale=${shape#*:}
	echo "== $n members, time dilated ${scale}×, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	# shellcheck disable=SC2086
	"$bin" -test.run XXX -test.bench GossipSim -test.benchtime 1x -test.timeout 90m \
		-sim.n "$n" -sim.scale "$scale" -sim.services "$SERVICES" -sim.rate "$RATE" -sim.scope "$SCOPE" \
		-sim.duration "$DURATION" -sim.kill "$KILL" ${EXTRA:-} | grep -v '^goos\|^goarch\|^pkg\|^cpu\|^PASS'
	echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg)"
done
