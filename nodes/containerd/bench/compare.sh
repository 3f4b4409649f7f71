#!/usr/bin/env bash
# Starts the same 50 single-container pods three ways and prints the wall
# times: berth (BenchmarkStart50), 50 sequential `ctr run -d`, and
# `podman kube play`. Run as root from the repository root after
# eval "$(scripts/testenv.sh)".
set -euo pipefail
: "${BERTH_TEST_CONTAINERD:?eval \"\$(scripts/testenv.sh)\" first}"
N=${N:-50}
REF=$BERTH_TEST_REGISTRY/berth/busybox:test
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CTR="ctr -a $BERTH_TEST_CONTAINERD -n berthbench-ctr"

# The test image: published by the berth tests (namespace berth-testimage).
go test ./nodes/testimage -run TestPublish -count=1 >/dev/null
ctr -a "$BERTH_TEST_CONTAINERD" -n berth-testimage images export "$WORK/image.tar" "$REF"

echo "== berth: $N pods (go test -bench Start50)"
go test ./nodes/containerd -run XXX -bench 'Start50$' -benchtime 3x -count=1 | grep Benchmark

echo "== ctr run -d: $N sequential containers"
$CTR images pull --plain-http "$REF" >/dev/null
start=$(date +%s.%N)
for i in $(seq -w 1 "$N"); do $CTR run -d "$REF" "ctr-bench-$i" sleep 3600 >/dev/null; done
end=$(date +%s.%N)
echo "ctr: $(echo "$end - $start" | bc) s"
for i in $(seq -w 1 "$N"); do $CTR tasks kill -s SIGKILL "ctr-bench-$i" >/dev/null 2>&1 || true; done
sleep 1
for i in $(seq -w 1 "$N"); do $CTR tasks delete "ctr-bench-$i" >/dev/null 2>&1 || true; $CTR containers delete "ctr-bench-$i" >/dev/null 2>&1 || true; done

echo "== podman kube play: $N pods"
printf '[containers]\ndefault_ulimits = []\n' >"$WORK/containers.conf"
export CONTAINERS_CONF=$WORK/containers.conf
podman load -i "$WORK/image.tar" >/dev/null
for i in $(seq -w 1 "$N"); do cat <<YAML
---
apiVersion: v1
kind: Pod
metadata:
  name: bench-$i
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: $REF
    command: ["sleep", "3600"]
YAML
done >"$WORK/pods.yaml"
start=$(date +%s.%N)
podman kube play "$WORK/pods.yaml" >/dev/null
end=$(date +%s.%N)
echo "podman: $(echo "$end - $start" | bc) s"
podman kube down "$WORK/pods.yaml" >/dev/null
