#!/usr/bin/env bash
# Cluster DNS figures of `berth daemon` (issue 14):
#   - commit-to-resolves: from `git push` returning to a newly committed
#     Service resolving through the node's cluster DNS (the server pods use,
#     asked on the bridge address), with a webhook: the repository is
#     served over git:// (no file watch, --poll 10m) and a signed GitHub
#     push notification follows the push (its time included); PUSHES
#     pushes, each adding one Service; p50 and max. No pod is touched: the
#     test checks the hello pod keeps running unrestarted.
#   - queries per second of the node's server (nodes/dns benchmark: a
#     Service of a 10,000-Service table, and a forwarded name).
#
#   bench/dns.sh             # 10 pushes
#   PUSHES=20 bench/dns.sh
#
# Needs root and the test environment of scripts/testenv.sh. Everything it
# makes (chain prefix BDNS, bridge bdns0, 10.68.0.0/16, 10.168.0.0/16,
# containerd namespace berth-bench-dns) is removed at the end. In-pod
# resolution of a Service committed later is TestClusterDNS (test/e2e).
set -euo pipefail
cd "$(dirname "$0")/.."

PUSHES=${PUSHES:-10}
eval "$(scripts/testenv.sh)"

W=$(mktemp -d /tmp/berth-dns.XXXXXX)
API=$W/run/berth.sock
NODE=(--state-dir "$W/state" --run-dir "$W/run" --containerd-address "$BERTH_TEST_CONTAINERD"
	--containerd-namespace berth-bench-dns --bridge bdns0 --pod-cidr 10.68.0.0/16
	--service-cidr 10.168.0.0/16 --chain-prefix BDNS)
BRIDGE=bdns0
CTR_NS=berth-bench-dns
DNS=10.68.0.1
. bench/lib/node.sh
trap finish_node EXIT

log "building berth and the hello image"
mkdir -p "$W/bin" "$W/run"
go build -o "$W/bin/berth" ./cmd/berth
go build -o "$W/bin/hello-image" ./cmd/hello-image
IMG=$("$W/bin/hello-image" -registry "$BERTH_TEST_REGISTRY" -version v1)

init_repo
cat >"$W/work/app.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: hello}
spec:
  replicas: 1
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      containers:
        - name: hello
          image: $IMG
          ports: [{name: http, containerPort: 8000}]
          readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
YAML
git -C "$W/work" add -A && git -C "$W/work" commit -qm start && git -C "$W/work" push -q origin main

serve_repo
"$W/bin/berth" daemon --api "$API" "${NODE[@]}" --repo "git://127.0.0.1:$GITD_PORT/repo.git" --poll 10m \
	--webhook-secret-file "$W/secret" --api-addr "127.0.0.1:$HOOK_PORT" >>"$W/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 600); do berth get pods 2>/dev/null | grep -q ' 1/1 ' && break; sleep 0.1; done
berth get pods | grep -q ' 1/1 ' || { log "hello did not start"; tail -20 "$W/daemon.log" >&2; exit 1; }
started=$(berth get pods | awk '/hello/{print $0}')

resolves() { busybox nslookup "$1.default.svc.cluster.local" "$DNS" 2>/dev/null | grep -q '^Address: 10\.168\.'; }

log "$PUSHES pushes, each adding a Service"
: >"$W/ms"
for i in $(seq "$PUSHES"); do
	printf 'apiVersion: v1\nkind: Service\nmetadata: {name: svc-%d}\nspec:\n  selector: {app: hello}\n  ports: [{port: 80, targetPort: http}]\n' "$i" >"$W/work/svc-$i.yaml"
	git -C "$W/work" add -A && git -C "$W/work" commit -qm "svc-$i"
	rev=$(git -C "$W/work" rev-parse HEAD)
	git -C "$W/work" push -q origin main
	t0=$(now_ms)
	webhook "$rev"
	until resolves "svc-$i"; do
		(($(now_ms) - t0 > 60000)) && { log "svc-$i never resolved"; tail -20 "$W/daemon.log" >&2; exit 1; }
		sleep 0.01
	done
	ms=$(($(now_ms) - t0))
	echo "$ms" >>"$W/ms"
	log "  svc-$i resolves $ms ms after the push"
	sleep 0.3
done
if [[ $(berth get pods | awk '/hello/{print $0}') != "$started" ]]; then
	log "the hello pod changed while Services were added:"; log "$started"; berth get pods >&2; exit 1
fi
read -r P50 MAX < <(sort -n "$W/ms" | awk '{a[NR]=$1} END {printf "%.3f %.3f\n", a[int((NR+1)/2)]/1000, a[NR]/1000}')

log "queries per second (go test ./nodes/dns -bench Queries)"
QPS=$(go test ./nodes/dns -run '^$' -bench Queries -benchtime 3s 2>/dev/null | awk '/queries\/s/{for (i=1;i<=NF;i++) if ($(i+1)=="queries/s") printf "%s %s\n", $1, $i}')

echo
echo "berth cluster DNS ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '  commit to resolving (webhook, git://): %d pushes, p50 %.2fs, max %.2fs; the running pod untouched\n' "$PUSHES" "$P50" "$MAX"
while read -r name qps; do printf '  %-34s %8.0f queries/s (UDP, 8 clients)\n' "$(sed -E 's#^BenchmarkQueries/##; s#-[0-9]+$##' <<<"$name") names" "$qps"; done <<<"$QPS"
