#!/usr/bin/env bash
# Memory of `berth daemon` following the 10k-object one-namespace
# repository (synth.Team: 2,000 Services, 6,000 pods on 100 nodes) as one
# node of it, node-0000: it compiles the whole plan, keeps it and its own
# part (about 60 pods, 20 Jobs), runs them and programs the 2,000 Services.
# Images are the hello test image (the repository's own are not
# reachable). Prints the daemon's RSS once the pods run (VmRSS) and its
# peak (VmHWM).
#
#   bench/daemon-rss.sh              # OBJECTS=10000, WAIT=60 (seconds)
#
# Needs root and the test environment of scripts/testenv.sh; run it under
# the integration lock. Everything it makes (chain prefix BRSS, bridge
# brss0, the node's pod CIDR 10.100.0.0/24, containerd namespace
# berth-bench-rss) is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

OBJECTS=${OBJECTS:-10000}
WAIT=${WAIT:-60}
eval "$(scripts/testenv.sh)"

W=$(mktemp -d /tmp/berth-rss.XXXXXX)
API=$W/run/berth.sock
NODE=(--node node-0000 --state-dir "$W/state" --run-dir "$W/run" --containerd-address "$BERTH_TEST_CONTAINERD"
	--containerd-namespace berth-bench-rss --bridge brss0 --service-cidr 10.160.0.0/12 --chain-prefix BRSS)
BRIDGE=brss0
CTR_NS=berth-bench-rss
. bench/lib/node.sh
finish() {
	cp "$W/daemon.log" /tmp/berth-rss-daemon.log 2>/dev/null || true
	finish_node
}
trap finish EXIT

mkdir -p "$W/bin" "$W/run"
go build -o "$W/bin/berth" ./cmd/berth
go build -o "$W/bin/synthgen" ./compiler/synth/synthgen
go build -o "$W/bin/hello-image" ./cmd/hello-image
IMG=$("$W/bin/hello-image" -registry "$BERTH_TEST_REGISTRY" -version v1)
"$W/bin/synthgen" -objects "$OBJECTS" "$W/repo"
# The hello image serves / on 8000; tasks sleep instead of /bin/run.
find "$W/repo" -name '*.yaml' -print0 | xargs -0 sed -i -E \
	-e "s#registry.example.com/(app-[0-9]+|batch):[0-9.]+#$IMG#" \
	-e 's#containerPort: 8080#containerPort: 8000#' -e 's#path: /healthz#path: /#' \
	-e 's#command: \[/bin/run, --shard, "[0-9]+"\]#command: [sleep, "5"]#'

"$W/bin/berth" daemon --api "$API" "${NODE[@]}" --watch "$W/repo" --peer-port 0 >>"$W/daemon.log" 2>&1 &
DAEMON_PID=$!
t0=$(date +%s)
applied() { # (not a pipe into grep -q: with pipefail its early exit fails the pipe)
	local st
	st=$(berth status -o json 2>/dev/null || true)
	grep -Eq '"applied": ?"[^"]' <<<"$st"
}
for _ in $(seq 1200); do applied && break; sleep 0.5; done
log "applied after $(($(date +%s) - t0)) s (the daemon's log: /tmp/berth-rss-daemon.log); waiting ${WAIT}s for the pods"
sleep "$WAIT"
pods=$(berth get pods 2>/dev/null || true)
ready=$(grep -c ' 1/1 ' <<<"$pods" || true)
total=$(($(wc -l <<<"$pods") - 1))
read -r RSS HWM < <(awk '/VmRSS/{r=$2} /VmHWM/{h=$2} END{print r, h}' "/proc/$DAEMON_PID/status")
echo
echo "berth daemon as node-0000 of the ${OBJECTS}-object one-namespace repository ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '  pods here: %d (%d ready); RSS %d MiB, peak %d MiB\n' "$total" "$ready" $((RSS / 1024)) $((HWM / 1024))
