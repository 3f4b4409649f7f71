#!/usr/bin/env bash
# make demo: the seed end to end. Builds berth and the hello server image,
# pushes it to a local registry, creates a local Git repository with the
# hello app, starts `berth daemon` on it, shows hellow-svc answering on its
# ClusterIP, a NodePort and an external IP, then commits v2 and shows the
# rolling update with no failed request.
#
#   scripts/demo.sh          run the demo (leaves the daemon running)
#   scripts/demo.sh -v       the same, with the detail: every answer in order, berth status
#   scripts/demo.sh clean    stop the daemon and remove everything it made
set -euo pipefail
cd "$(dirname "$0")/.."

VERBOSE=${VERBOSE:-}
if [[ ${1:-} == -v ]]; then VERBOSE=1; shift; fi
# The web view, on loopback: no token needed there (see README).
UI_ADDR=${BERTH_DEMO_UI:-127.0.0.1:9080}

DEMO=/var/lib/berth-demo
RUN=/run/berth-demo
API=$RUN/berth.sock
EXTERNAL_IP=198.18.0.10 # RFC 2544 benchmarking range, made a local address of this node
ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
# detached CMD...: CMD in the background, without the file descriptors this
# script inherited beyond stdio: a daemon left running must not hold the
# lock of a `flock FILE scripts/...` caller (flock's descriptor is
# inherited) and block every other user of that lock.
detached() {
	(
		for fd in $(ls "/proc/$BASHPID/fd"); do
			if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
		done
		exec "$@"
	) &
}

eval "$(scripts/testenv.sh)"
NODE_FLAGS=(--state-dir "$DEMO/state" --run-dir "$RUN" --containerd-address "$BERTH_TEST_CONTAINERD"
	--containerd-namespace berth-demo --bridge berthdemo0 --pod-cidr 10.77.0.0/16 --chain-prefix BDEMO)

clean() {
	if [[ -f $RUN/daemon.pid ]]; then kill "$(cat "$RUN/daemon.pid")" 2>/dev/null || true; sleep 1; fi
	[[ -x bin/berth ]] && bin/berth cleanup "${NODE_FLAGS[@]}" || true
	# Images too, so a rebuilt hello image is pulled again.
	ctr -a "$BERTH_TEST_CONTAINERD" -n berth-demo images ls -q 2>/dev/null | xargs -r ctr -a "$BERTH_TEST_CONTAINERD" -n berth-demo images rm >/dev/null 2>&1 || true
	ip addr del "$EXTERNAL_IP/32" dev lo 2>/dev/null || true
	ip link del berthdemo0 2>/dev/null || true
	rm -rf "$DEMO" "$RUN"
}
if [[ ${1:-} == clean ]]; then clean; exit 0; fi
clean >/dev/null 2>&1 || true

say "Building berth and the hello server image (busybox httpd on :8000)"
go build -o bin/berth ./cmd/berth
go build -o bin/hello-image ./cmd/hello-image
bin/hello-image -registry "$BERTH_TEST_REGISTRY" -version v1
bin/hello-image -registry "$BERTH_TEST_REGISTRY" -version v2

say "Creating a Git repository with the seed's hello app"
mkdir -p "$DEMO" "$RUN"
git init -q --bare -b main "$DEMO/hello.git"
git init -q -b main "$DEMO/work"
git -C "$DEMO/work" config user.email demo@berth.dev
git -C "$DEMO/work" config user.name "berth demo"
git -C "$DEMO/work" remote add origin "$DEMO/hello.git"
write_app() { # $1: image tag
	cat >"$DEMO/work/hello.yaml" <<YAML
# The seed's hellow app as a Deployment, so that a new version rolls.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hellow
spec:
  replicas: 3
  selector:
    matchLabels: {app: hellow}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: hellow}
    spec:
      containers:
        - name: hellow-container
          image: $BERTH_TEST_REGISTRY/berth/hello:$1
          ports:
            - {name: http, containerPort: 8000}
          readinessProbe:
            httpGet: {path: /, port: http}
            periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: hellow-svc
spec:
  selector: {app: hellow}
  ports:
    - {name: http, port: 8200, targetPort: 8000}
  externalIPs: [$EXTERNAL_IP]
---
apiVersion: v1
kind: Service
metadata:
  name: hellow-nodeport
spec:
  type: NodePort
  selector: {app: hellow}
  ports:
    - {name: http, port: 8200, targetPort: http, nodePort: 30820}
YAML
}
write_app v1
git -C "$DEMO/work" add -A && git -C "$DEMO/work" commit -qm "hello v1" && git -C "$DEMO/work" push -q origin main
bin/berth lint "$DEMO/work"

# The external IP is an address of this node (as a LoadBalancer address
# would be), so traffic to it never leaves this machine.
ip addr replace "$EXTERNAL_IP/32" dev lo

say "Starting berth daemon on the repository (log: $DEMO/daemon.log)"
# The daemon outlives this script: detached closes every descriptor beyond
# stderr, so a lock held by whoever started the demo (flock) ends with it.
detached nohup bin/berth daemon --repo "$DEMO/hello.git" --api "$API" --api-addr "$UI_ADDR" --poll 30s "${NODE_FLAGS[@]}" >"$DEMO/daemon.log" 2>&1
echo $! >"$RUN/daemon.pid"
start=$(ms)
for _ in $(seq 300); do
	bin/berth get services --api "$API" 2>/dev/null | grep -q hellow-svc && break
	sleep 0.2
done
CLUSTER_IP=$(bin/berth get services --api "$API" | awk '$2=="hellow-svc"{print $4}')
until curl -fsS -m 1 "http://$CLUSTER_IP:8200/" >/dev/null 2>&1; do sleep 0.2; done
echo "serving $(secs $(($(ms) - start)))s after the daemon started"
bin/berth get pods --api "$API"
echo
bin/berth get services --api "$API"

say "hellow-svc answers on its ClusterIP, the NodePort, and the external IP"
echo "ClusterIP   $CLUSTER_IP:8200     -> $(curl -fsS -m 2 "http://$CLUSTER_IP:8200/")"
echo "NodePort    127.0.0.1:30820       -> $(curl -fsS -m 2 http://127.0.0.1:30820/)"
echo "External IP $EXTERNAL_IP:8200    -> $(curl -fsS -m 2 "http://$EXTERNAL_IP:8200/")"

say "Committing v2 and watching the rolling update under continuous requests"
ok=0 fail=0
: >"$DEMO/requests.log"
( while :; do
	if out=$(curl -fsS -m 2 "http://$CLUSTER_IP:8200/" 2>&1); then echo "ok $out"; else echo "FAIL $out"; fi
	sleep 0.05
done >>"$DEMO/requests.log" ) &
loader=$!
write_app v2
git -C "$DEMO/work" commit -qam "hello v2" && git -C "$DEMO/work" push -q origin main
pushed=$(ms)
until [[ $(bin/berth get pods --api "$API" | grep -c 'hellow-') -eq 3 ]] && \
	! tail -n 20 "$DEMO/requests.log" | grep -q '(v1)' && tail -n 1 "$DEMO/requests.log" | grep -q '(v2)'; do
	sleep 0.3
	if (($(ms) - pushed > 90000)); then echo "rollout did not finish in 90s"; break; fi
done
sleep 1
kill $loader 2>/dev/null || true; wait $loader 2>/dev/null || true
ok=$(grep -c '^ok' "$DEMO/requests.log" || true)
fail=$(grep -c '^FAIL' "$DEMO/requests.log" || true)
pods=$(bin/berth get pods --api "$API" | grep -c 'hellow-' || true)
echo "rolled $pods pods to v2 in $(secs $(($(ms) - pushed))) s, $ok requests ok, $fail failed"
if [[ -n $VERBOSE ]]; then
	# The answers in the order they came, as runs of one version.
	awk '/^ok/ { v = $NF; gsub(/[()]/, "", v) } /^FAIL/ { v = "FAILED" }
		{ if (v == last) { n++ } else { if (n) { runs = runs sep n " " last; sep = ", " } last = v; n = 1 } }
		END { if (n) runs = runs sep n " " last; print "answers in order: " runs }' "$DEMO/requests.log" | fold -s -w 78
	bin/berth status --api "$API" | head -20
fi

say "Done. The daemon keeps running; try:"
cat <<TXT
  bin/berth status --api $API
  bin/berth get pods --api $API
  curl http://$CLUSTER_IP:8200/
  open http://$UI_ADDR/ui/ (the web view; history, workloads, pods and logs)
  (edit $DEMO/work/hello.yaml, commit, git push: the node follows)
Clean up everything the demo made:
  scripts/demo.sh clean      # stops the daemon, then berth cleanup
TXT
[[ $fail -eq 0 ]]
