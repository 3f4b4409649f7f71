#!/usr/bin/env bash
# `make bench`: every benchmark behind the README's performance section,
# each next to the peer it is compared with, in one run on this machine.
# Needs root (the runtime benchmarks run real containerd, CNI, iptables and
# podman). QUICK=1 runs only the pure ones (lint, plan, diff, reconcile).
# The long iptables restore of 10,000 services runs only with IPTABLES=1.
set -euo pipefail
cd "$(dirname "$0")/.."
section() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

section "berth lint vs kubeconform (10,000 objects, 2 workers)"
bench/lint.sh

section "schema validation, plan compile, plan diff, reconcile of an unchanged node"
go test ./schema -run XXX -bench 'Validate10k$' -benchtime 10x -count 1 | grep Benchmark
go test ./compiler -run XXX -bench 'Compile(1k|10k|Team1k|Team10k)$' -benchtime 3x -count 1 | grep Benchmark
go test ./compiler/plandiff -run XXX -bench 'PlanDiff(1k|10k|Team1k|Team10k)$' -benchtime 5x -count 1 | grep Benchmark
go test ./nodes/dns -run '^$' -bench Queries -benchtime 3s -count 1 | grep Benchmark

section "berth plan -o json: growth 1k -> 10k -> 100k, one namespace and many"
bench/scale.sh
go test ./reconciler -run XXX -bench 'ReconcileUnchanged200|DiffUnchanged200' -benchtime 100x -count 1 | grep Benchmark
[[ ${QUICK:-} == 1 ]] && exit 0

eval "$(scripts/testenv.sh)"
section "start 50 pods: berth vs ctr run vs podman kube play"
nodes/containerd/bench/compare.sh
section "berth apply of 100 pods vs podman kube play"
bench/apply.sh
section "commit-to-serving latency and daemon RSS"
bench/latency.sh
section "cluster DNS: commit to resolving, queries per second"
bench/dns.sh
section "daemon RSS as one node of the 10,000-object repository"
bench/daemon-rss.sh
section "iptables: render and one-service change with 10,000 services"
go test ./nodes/iptables -run '^$' -bench 'Render10k|Diff10k|PartialSyncCPU10k' -benchtime 10x -count 1 | grep Benchmark
if [[ ${IPTABLES:-} == 1 ]]; then
	go test ./nodes/iptables -run '^$' -bench 'FullSync10k|OneServiceChange10k' -benchtime 1x -timeout 30m -count 1 | grep Benchmark
fi
