#!/usr/bin/env bash
# Times `berth apply` of N new pods until all are ready against
# `podman kube play` of the same Pod documents until all are running, in
# alternating runs on one machine, and prints each figure, the ratio
# berth/podman, berth's peak RSS, the time of a second `berth apply` of
# the unchanged directory (no action) and the load average of each run.
# Needs root, the test containerd and registry (scripts/testenv.sh) and
# podman (../shared/bench/README.md).
#
#   bench/apply.sh           # 100 pods, 3 runs of each
#   N=50 RUNS=5 bench/apply.sh
#
# Both sides are isolated from other users of the machine: berth runs in
# its own containerd namespace, bridge, pod CIDR, chain prefix and
# directories; podman in its own storage root, run root, tmp dir and
# network (bridge benchpm0), with a temporary CONTAINERS_CONF, so nothing
# under /etc is read or changed. The image is local on both sides before
# the first timed run.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100}
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/bench-apply}
BRIDGE=${BRIDGE:-benchap0}
POD_CIDR=${POD_CIDR:-10.81.0.0/16}
PODMAN_BRIDGE=${PODMAN_BRIDGE:-benchpm0}
PODMAN_CIDR=${PODMAN_CIDR:-10.82.0.0/16}
IMAGE=127.0.0.1:5000/berth/hello:v1

if [ "$(id -u)" != 0 ]; then echo "bench: berth apply and podman need root" >&2; exit 2; fi
for cmd in /usr/bin/time podman ctr; do
	if ! command -v "$cmd" >/dev/null; then echo "bench: $cmd is missing (apt-get install time podman containerd)" >&2; exit 2; fi
done
if [ -z "${BERTH_TEST_CONTAINERD:-}" ]; then eval "$(scripts/testenv.sh)"; fi
SOCK=$BERTH_TEST_CONTAINERD

mkdir -p "$WORK/pods" "$WORK/podman"/{root,runroot,tmp,networks}
berth_flags=(--state-dir "$WORK/state" --run-dir "$WORK/run"
	--containerd-address "$SOCK" --containerd-namespace bench-apply
	--bridge "$BRIDGE" --pod-cidr "$POD_CIDR" --service-cidr 10.181.0.0/16
	--chain-prefix BAPPLY)
export CONTAINERS_CONF=$WORK/podman/containers.conf
cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = []
[network]
network_config_dir = "$WORK/podman/networks"
CONF
pod_man() { podman --root "$WORK/podman/root" --runroot "$WORK/podman/runroot" --tmpdir "$WORK/podman/tmp" "$@"; }

berth_down() {
	"$WORK/berth" cleanup "${berth_flags[@]}" >"$WORK/cleanup.out" 2>&1 || { tail -5 "$WORK/cleanup.out" >&2; return 1; }
	ip link del "$BRIDGE" 2>/dev/null || true
	rm -rf "$WORK/state" "$WORK/run"
}
podman_down() {
	pod_man kube down "$WORK/pods/pods.yaml" >"$WORK/down.out" 2>&1 || { tail -5 "$WORK/down.out" >&2; return 1; }
}
finish() {
	set +e
	[ -x "$WORK/berth" ] && berth_down
	[ -f "$WORK/pods/pods.yaml" ] && podman_down 2>/dev/null
	pod_man rmi -a -f >/dev/null 2>&1
	rm -rf "$WORK/podman" "$WORK/pods"
}
trap finish EXIT

now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# elapsed START: seconds since START, two decimals.
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN{printf "%.2f", e - s}'; }

go build -o "$WORK/berth" ./cmd/berth
go run ./cmd/hello-image -registry "${BERTH_TEST_REGISTRY:-127.0.0.1:5000}" -version v1 >/dev/null
bench/apply/pods.sh "$N" >"$WORK/pods/pods.yaml"

# Leftovers of an interrupted run would make the first run "unchanged".
berth_down
podman_down 2>/dev/null || true
# The image, and podman's pause image, are local before the first timed
# run: neither side pulls while it is timed.
ctr --address "$SOCK" --namespace bench-apply images pull --plain-http "$IMAGE" >/dev/null
pod_man pull --tls-verify=false -q "$IMAGE" >/dev/null
cat >"$WORK/podman/networks/bench-apply.json" <<JSON
{
  "name": "bench-apply",
  "id": "$(head -c32 /dev/urandom | od -An -tx1 | tr -d ' \n')",
  "driver": "bridge",
  "network_interface": "$PODMAN_BRIDGE",
  "created": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "subnets": [{"subnet": "$PODMAN_CIDR", "gateway": "${PODMAN_CIDR%.0/*}.1"}],
  "ipv6_enabled": false,
  "internal": false,
  "dns_enabled": true,
  "ipam_options": {"driver": "host-local"}
}
JSON
pod_man pod create --name bench-apply-warm --network bench-apply >/dev/null
pod_man pod rm -f bench-apply-warm >/dev/null

echo "$N new pods (one file of $N Pod documents: bench/apply/pods.sh), $RUNS runs of each, alternating; $(nproc) CPUs"
echo "berth:  $WORK/berth apply ${berth_flags[*]} $WORK/pods"
echo "podman: podman kube play --network bench-apply $WORK/pods/pods.yaml, then poll podman pod ps until $N Running"
bt=() pt=() ut=() rss=0 urss=0
for r in $(seq "$RUNS"); do
	l1=$(load)
	start=$(now)
	if ! /usr/bin/time -o "$WORK/apply.time" -f '%M' "$WORK/berth" apply "${berth_flags[@]}" "$WORK/pods" >"$WORK/apply.out" 2>"$WORK/apply.err" ||
		[ "$(tail -1 "$WORK/apply.out")" != converged ]; then
		echo "bench: berth apply failed:" >&2; tail -5 "$WORK/apply.out" "$WORK/apply.err" >&2; exit 1
	fi
	b=$(elapsed "$start")
	m=$(tail -1 "$WORK/apply.time"); [ "$m" -gt "$rss" ] && rss=$m
	start=$(now)
	if ! /usr/bin/time -o "$WORK/apply.time" -f '%M' "$WORK/berth" apply "${berth_flags[@]}" "$WORK/pods" >"$WORK/apply2.out" 2>"$WORK/apply2.err" ||
		[ "$(tail -1 "$WORK/apply2.out")" != converged ]; then
		echo "bench: the second berth apply failed:" >&2; tail -5 "$WORK/apply2.out" "$WORK/apply2.err" >&2; exit 1
	fi
	u=$(elapsed "$start")
	m=$(tail -1 "$WORK/apply.time"); [ "$m" -gt "$urss" ] && urss=$m
	# An unchanged directory must cost no action at all.
	if grep -q ', [1-9][0-9]* actions' "$WORK/apply2.out"; then
		echo "bench: the apply of the unchanged directory acted:" >&2; cat "$WORK/apply2.out" >&2; exit 1
	fi
	start=$(now)
	berth_down
	bd=$(elapsed "$start")

	l2=$(load)
	start=$(now)
	if ! pod_man kube play --network bench-apply "$WORK/pods/pods.yaml" >"$WORK/play.out" 2>"$WORK/play.err"; then
		echo "bench: podman kube play failed:" >&2; tail -5 "$WORK/play.err" >&2; exit 1
	fi
	while [ "$(pod_man pod ps --filter name='^bench-' --format '{{.Status}}' | grep -c '^Running$')" -lt "$N" ]; do sleep 0.1; done
	p=$(elapsed "$start")
	start=$(now)
	podman_down
	pd=$(elapsed "$start")

	bt+=("$b") pt+=("$p") ut+=("$u")
	printf 'run %d: berth apply %6.2f s (load %s)  unchanged %5.2f s  cleanup %5.2f s | podman kube play %6.2f s (load %s)  kube down %5.2f s | berth/podman %.2f\n' \
		"$r" "$b" "$l1" "$u" "$bd" "$p" "$l2" "$pd" "$(awk -v b="$b" -v p="$p" 'BEGIN{print b / p}')"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
mb=$(median "${bt[@]}") mp=$(median "${pt[@]}") mu=$(median "${ut[@]}")
printf 'median: berth apply %.2f s, podman kube play %.2f s, berth/podman %.2f; peak RSS of berth apply %d MB\n' \
	"$mb" "$mp" "$(awk -v b="$mb" -v p="$mp" 'BEGIN{print b / p}')" $((rss / 1024))
printf 'reconcile unchanged (second berth apply, %d pods, no action): median %.2f s, peak RSS %d MB\n' "$N" "$mu" $((urss / 1024))
echo "load average now: $(load)"
