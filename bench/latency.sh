#!/usr/bin/env bash
# Commit-to-serving latency of `berth daemon`: from `git push` returning to
# the new version answering through its Service's ClusterIP, for a one-pod
# change (a Deployment of 1 replica whose image flips hello:v1 <-> v2), over
# PUSHES pushes, with each trigger:
#   fsnotify  a bare repository on this machine (the daemon watches its refs)
#   webhook   the repository served over git:// (no file watch), a signed
#             GitHub push notification sent right after the push (included
#             in the time), --poll 10m
#   poll      the same git:// repository, no webhook, --poll POLL
# Then the daemon's idle RSS (VmRSS) with the hello app running, and with
# PODS pods when PODS > 0. Prints p50 and max per trigger.
#
#   bench/latency.sh                     # 10 pushes, poll 5s x 4, 50 pods
#   PUSHES=20 POLL=10s PODS=0 bench/latency.sh
#
# Needs root and the test environment of scripts/testenv.sh. Everything it
# makes (chain prefix BBENCH, bridge bbench0, 10.70.0.0/17, 10.170.0.0/16,
# containerd namespace berth-bench) is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

PUSHES=${PUSHES:-10}
POLL=${POLL:-5s} # in seconds, with the s
POLL_PUSHES=${POLL_PUSHES:-4}
PODS=${PODS:-50}
eval "$(scripts/testenv.sh)"

W=$(mktemp -d /tmp/berth-latency.XXXXXX)
API=$W/run/berth.sock
NODE=(--state-dir "$W/state" --run-dir "$W/run" --containerd-address "$BERTH_TEST_CONTAINERD"
	--containerd-namespace berth-bench --bridge bbench0 --pod-cidr 10.70.0.0/17
	--service-cidr 10.170.0.0/16 --chain-prefix BBENCH)
BRIDGE=bbench0
CTR_NS=berth-bench
. bench/lib/node.sh
trap finish_node EXIT

log "building berth and the hello images"
mkdir -p "$W/bin"
go build -o "$W/bin/berth" ./cmd/berth
go build -o "$W/bin/hello-image" ./cmd/hello-image
IMG_V1=$("$W/bin/hello-image" -registry "$BERTH_TEST_REGISTRY" -version v1)
IMG_V2=$("$W/bin/hello-image" -registry "$BERTH_TEST_REGISTRY" -version v2)

init_repo
write_app() { # $1 image, $2 replicas
	cat >"$W/work/app.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
spec:
  replicas: $2
  selector:
    matchLabels: {app: hello}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: hello}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: hello
          image: $1
          ports:
            - {name: http, containerPort: 8000}
          readinessProbe:
            httpGet: {path: /, port: http}
            periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: hello
spec:
  selector: {app: hello}
  ports:
    - {name: http, port: 80, targetPort: http}
YAML
}
commit() { git -C "$W/work" add -A && git -C "$W/work" commit -qm "$1" >/dev/null; }
push() { git -C "$W/work" push -q origin main; }

# git:// for the webhook and poll runs.
serve_repo

start_daemon() { # daemon flags...
	mkdir -p "$W/run"
	"$W/bin/berth" daemon --api "$API" "${NODE[@]}" "$@" >>"$W/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 300); do berth status >/dev/null 2>&1 && return; sleep 0.1; done
	log "daemon did not start:"; tail -20 "$W/daemon.log" >&2; exit 1
}
cluster_ip() { berth get services | awk '$2=="hello"{print $4}'; }
# wait_serving VERSION TIMEOUT_S: until the Service answers with VERSION.
wait_serving() {
	local deadline=$(($(now_ms) + $2 * 1000)) ip=
	while (($(now_ms) < deadline)); do
		[[ -n $ip ]] || ip=$(cluster_ip 2>/dev/null || true)
		if [[ -n $ip ]] && curl -fsS -m 1 "http://$ip/" 2>/dev/null | grep -q "($1)"; then return 0; fi
		sleep 0.01
	done
	log "timed out waiting for $1 to serve"; tail -20 "$W/daemon.log" >&2; return 1
}
# wait_settled: one ready hello pod left (the rollout finished).
wait_settled() {
	for _ in $(seq 600); do
		[[ $(berth get pods 2>/dev/null | grep -c '^default  *hello-.* 1/1 ') == 1 &&
			$(berth get pods 2>/dev/null | grep -c '^default  *hello-') == 1 ]] && return 0
		sleep 0.1
	done
	log "rollout did not settle"; berth get pods >&2; return 1
}
# ready_ms IMAGE: when the pod running IMAGE became ready (epoch ms), from
# `berth status -o json`; it tells the pod's start from the switch of the
# Service's endpoints.
ready_ms() {
	berth status -o json | python3 -c '
import json, sys, datetime
st = json.load(sys.stdin)
for p in st.get("pods", []):
    if p.get("containers") and p["containers"][0]["image"] == sys.argv[1] and p.get("readySince"):
        t = p["readySince"].rstrip("Z")
        frac = t.split(".")[1] if "." in t else "0"
        t = t.split(".")[0] + "." + frac[:6]
        d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
        print(int(d.timestamp() * 1000)); break
else:
    print(0)' "$1"
}
stats() { # COLUMN: latencies in ms on stdin: "p50 max" in seconds
	awk -v c="$1" '{print $c}' | sort -n | awk '{a[NR]=$1} END {printf "%.3f %.3f\n", a[int((NR+1)/2)]/1000, a[NR]/1000}'
}

# measure MODE N: N pushes flipping the image, one latency (ms) per line.
measure() {
	local mode=$1 n=$2 ver img t0 t1 rev ready
	for i in $(seq "$n"); do
		if ((i % 2)); then ver=v2 img=$IMG_V2; else ver=v1 img=$IMG_V1; fi
		write_app "$img" 1
		commit "$mode $i: $ver"
		rev=$(git -C "$W/work" rev-parse HEAD)
		push
		t0=$(now_ms)
		[[ $mode == webhook ]] && webhook "$rev"
		wait_serving "$ver" 120
		t1=$(now_ms)
		ready=$(($(ready_ms "$img") - t0))
		echo "$((t1 - t0)) $ready"
		log "  $mode push $i -> $ver serving after $((t1 - t0)) ms (its pod ready after $ready ms)"
		wait_settled
		sleep 0.5
	done
}

run_mode() { # MODE N daemon flags...
	local mode=$1 n=$2
	shift 2
	reset_node
	write_app "$IMG_V1" 1
	commit "$mode: start on v1" 2>/dev/null || true
	push
	start_daemon "$@"
	wait_serving v1 120
	wait_settled
	log "$mode: $n pushes"
	measure "$mode" "$n" >"$W/$mode.ms"
}

run_mode fsnotify "$PUSHES" --repo "$W/repo.git" --poll 10m
read -r FS_P50 FS_MAX < <(stats 1 <"$W/fsnotify.ms")
read -r FS_RP50 FS_RMAX < <(stats 2 <"$W/fsnotify.ms")

# Idle RSS with the hello app running, the daemon of the fsnotify run.
sleep 5
RSS_1=$(awk '/VmRSS/{print $2}' "/proc/$DAEMON_PID/status")
RSS_N=
if ((PODS > 0)); then
	log "rss: scaling hello to $PODS pods"
	write_app "$IMG_V1" "$PODS"
	commit "scale to $PODS"
	push
	t0=$(now_ms)
	for _ in $(seq 1800); do
		[[ $(berth get pods 2>/dev/null | grep -c ' 1/1 ') -ge $PODS ]] && break
		sleep 0.2
	done
	ready=$(berth get pods | grep -c ' 1/1 ' || true)
	log "rss: $ready/$PODS pods ready after $(($(now_ms) - t0)) ms"
	sleep 5
	RSS_N=$(awk '/VmRSS/{print $2}' "/proc/$DAEMON_PID/status")
	write_app "$IMG_V1" 1
	commit "back to 1"
	push
fi

run_mode webhook "$PUSHES" --repo "git://127.0.0.1:$GITD_PORT/repo.git" --poll 10m \
	--webhook-secret-file "$W/secret" --api-addr "127.0.0.1:$HOOK_PORT"
read -r WH_P50 WH_MAX < <(stats 1 <"$W/webhook.ms")
read -r WH_RP50 WH_RMAX < <(stats 2 <"$W/webhook.ms")

run_mode poll "$POLL_PUSHES" --repo "git://127.0.0.1:$GITD_PORT/repo.git" --poll "$POLL"
read -r PL_P50 PL_MAX < <(stats 1 <"$W/poll.ms")
read -r PL_RP50 PL_RMAX < <(stats 2 <"$W/poll.ms")
POLL_S=$(echo "$POLL" | sed 's/s$//')

echo
echo "berth commit-to-serving latency (git push returned -> new version answers on the ClusterIP)"
echo "one-pod change, Deployment replicas 1, maxSurge 1, readinessProbe periodSeconds 1; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
row='  %-28s pushes %2d  serving p50 %6.2fs max %6.2fs   (new pod ready p50 %5.2fs max %5.2fs)\n'
printf "$row" "fsnotify (local bare repo)" "$PUSHES" "$FS_P50" "$FS_MAX" "$FS_RP50" "$FS_RMAX"
printf "$row" "webhook (git://, poll 10m)" "$PUSHES" "$WH_P50" "$WH_MAX" "$WH_RP50" "$WH_RMAX"
printf "$row" "poll (git://, --poll $POLL)" "$POLL_PUSHES" "$PL_P50" "$PL_MAX" "$PL_RP50" "$PL_RMAX"
# A commit that lands just after a poll waits a whole interval, then what
# a notified daemon takes over the same git:// transport (webhook p50/max).
printf '  poll worst case = interval + serving time: %ss + %.2fs (p50) = %.2fs, %.2fs with the max;\n' \
	"$POLL_S" "$WH_P50" "$(echo "$POLL_S + $WH_P50" | bc)" "$(echo "$POLL_S + $WH_MAX" | bc)"
printf '    with the default --poll 30s: %.2fs (Flux polls every 60s, Argo CD every 180s by default)\n' "$(echo "30 + $WH_P50" | bc)"
printf '  daemon idle RSS: %d MB with the hello app (1 pod)' "$((RSS_1 / 1024))"
[[ -n $RSS_N ]] && printf ', %d MB with %d pods' "$((RSS_N / 1024))" "$PODS"
echo
