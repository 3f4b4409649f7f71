#!/usr/bin/env bash
# The gossip simulation (nodes/gossip, BenchmarkGossipSim): N memberlist
# members on loopback addresses in one process, each publishing readiness
# for SERVICES Services, RATE of them changing per second, for DURATION.
# Prints, per shape, the convergence time of a change until every member
# applied it (p50, p99), gossip bytes and CPU per member, the failure
# detection time of killed members, and what today's all-to-all poll
# would cost for the same N. Not part of `make test`: 1,000 members need
# about 3 GB and most of 2 cores; the load average is printed with each
# run (the machine is shared: compare runs at similar load).
#
#   bench/gossip.sh                       # 200 and 1000 members, cluster-wide 1 %/s
#   NS="200" SCOPE=member RATE=0.001 bench/gossip.sh
#   EXTRA="-sim.gossip 200ms -sim.probe 1s" bench/gossip.sh   # cheaper clockwork
#
# SCOPE=cluster: RATE × SERVICES changes per second in the whole cluster;
# SCOPE=member: on every member (N times as many).
set -euo pipefail
cd "$(dirname "$0")/.."
NS=${NS:-200 1000}
SERVICES=${SERVICES:-2000}
RATE=${RATE:-0.01}
SCOPE=${SCOPE:-cluster}
DURATION=${DURATION:-60s}
KILL=${KILL:-3}
bin=$(mktemp -d)/gossip.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" ./nodes/gossip
for n in $NS; do
	echo "== $n members, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	# shellcheck disable=SC2086
	"$bin" -test.run XXX -test.bench GossipSim -test.benchtime 1x -test.timeout 60m \
		-sim.n "$n" -sim.services "$SERVICES" -sim.rate "$RATE" -sim.scope "$SCOPE" \
		-sim.duration "$DURATION" -sim.kill "$KILL" ${EXTRA:-} | grep -v '^goos\|^goarch\|^pkg\|^cpu\|^PASS'
	echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg)"
done
