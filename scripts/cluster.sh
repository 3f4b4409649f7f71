#!/usr/bin/env bash
# A three-node berth cluster on this machine (docs/multinode.md). Each node
# is a network namespace berth-nN with the address 192.168.77.1N on the
# bridge br-berthc (the host is 192.168.77.1), its own pod bridge berthc-nN
# and pod CIDR 10.77.N.0/24 (from the inventory), its own iptables, and its
# own `berth daemon --node nN`; all three follow one bare repository,
# $BASE/repo.git, and share the test containerd through separate
# containerd namespaces (berth-nN).
#
#   scripts/cluster.sh up       build, create the nodes, start the daemons,
#                               commit the inventory and the web app
#                               (CLUSTER_APP=0: the inventory only)
#   scripts/cluster.sh status   every node's revision, plan hash and pods
#   scripts/cluster.sh demo     up, then show the Service answering from
#                               every node, spread over the six pods
#   scripts/cluster.sh down     stop the daemons and remove everything
#   scripts/cluster.sh start N | stop N   start or stop node N's daemon
#                               (its pods and service rules stay)
#   scripts/cluster.sh wait [S] wait until every node runs the pushed
#                               head, converged
#   scripts/cluster.sh exec N CMD...  run CMD in node N's network namespace
#
# Commit to $BASE/work and `git push` to change what the cluster runs.
# BERTH_BIN overrides the berth binary (default: bin/berth, built here).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BASE=${CLUSTER_BASE:-/var/lib/berth-cluster}
RUN=${CLUSTER_RUN:-/run/berth-cluster}
BRIDGE=br-berthc
NET=192.168.77
NODES=(1 2 3)
BERTH=${BERTH_BIN:-$ROOT/bin/berth}
SERVICE_IP=10.96.77.10
# The daemons pull from inside their network namespace: they reach the
# test registry (127.0.0.1:5000 on the host) through regproxy on the
# bridge's host address.
REGISTRY=$NET.1:5000
say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { echo "cluster: $*" >&2; exit 1; }
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

# The nodes' shared gossip key (--peer-key-file), made once per cluster.
KEY=$BASE/peer.key

# node_flags N: the flags `berth daemon` and `berth cleanup` share.
node_flags() {
	local n=$1
	echo --node "n$n" --state-dir "$BASE/n$n" --run-dir "$RUN/n$n" \
		--containerd-address "$BERTH_TEST_CONTAINERD" --containerd-namespace "berth-n$n" \
		--bridge "berthc-n$n" --insecure-registries "$REGISTRY"
}

# in_node N CMD...: run CMD in node N's network namespace. nsenter, not
# `ip netns exec`: the daemon bind-mounts pod network namespaces under
# its run directory, and containerd (in the host's mount namespace) must
# see them; `ip netns exec` would give the daemon a private mount namespace.
in_node() {
	local n=$1
	shift
	nsenter --net="/run/netns/berth-n$n" "$@"
}

api() { echo "$RUN/n$1/berth.sock"; }

network_up() {
	if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link add "$BRIDGE" type bridge
		ip addr add "$NET.1/24" dev "$BRIDGE"
	fi
	ip link set "$BRIDGE" up
	for n in "${NODES[@]}"; do
		# Not `ip netns add`: it bind-mounts /run/netns over itself when
		# that is not yet a mount point, hiding what is mounted there.
		if ! mountpoint -q "/run/netns/berth-n$n"; then
			mkdir -p /run/netns
			touch "/run/netns/berth-n$n"
			unshare --net="/run/netns/berth-n$n" true
		fi
		if ! ip link show "vbc-n$n" >/dev/null 2>&1; then
			ip link add "vbc-n$n" type veth peer name eth0 netns "berth-n$n"
			ip link set "vbc-n$n" master "$BRIDGE" up
		fi
		in_node "$n" ip link set lo up
		in_node "$n" ip addr replace "$NET.1$n/24" dev eth0
		in_node "$n" ip link set eth0 up
		in_node "$n" ip route replace default via "$NET.1"
		in_node "$n" sysctl -qw net.ipv4.ip_forward=1
		# Pods on one bridge reaching each other through a service.
		in_node "$n" sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
	done
}

registry_up() {
	local pidf=$RUN/regproxy.pid
	mkdir -p "$RUN"
	if [[ -f $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; then return; fi
	go build -o "$RUN/regproxy" ./test/cluster/regproxy
	detached "$RUN/regproxy" -listen "$REGISTRY" -to "$BERTH_TEST_REGISTRY" >>"$RUN/regproxy.log" 2>&1 </dev/null
	echo $! >"$pidf"
}

repo_up() {
	local image
	image=$(go run ./test/cluster/pushimage)
	image=$REGISTRY/${image#*/}
	mkdir -p "$BASE"
	if [[ ! -d $BASE/repo.git ]]; then
		git init -q --bare -b main "$BASE/repo.git"
		git init -q -b main "$BASE/work"
		git -C "$BASE/work" config user.email cluster@berth.dev
		git -C "$BASE/work" config user.name "berth cluster"
		git -C "$BASE/work" remote add origin "$BASE/repo.git"
	fi
	cp test/cluster/testdata/repo/nodes.yaml "$BASE/work/"
	if [[ ${CLUSTER_APP:-1} != 0 ]]; then
		sed "s#IMAGE#$image#" test/cluster/testdata/repo/web.yaml >"$BASE/work/web.yaml"
	fi
	git -C "$BASE/work" add -A
	git -C "$BASE/work" diff --cached --quiet || git -C "$BASE/work" commit -qm "cluster: inventory and app"
	git -C "$BASE/work" push -q origin main
}

daemon_up() { # N
	local n=$1 pidf="$RUN/n$1.pid"
	if [[ -f $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; then return; fi
	mkdir -p "$BASE/n$n" "$RUN/n$n"
	if [[ ! -s $KEY ]]; then
		(umask 077 && head -c 32 /dev/urandom | base64 >"$KEY")
	fi
	# shellcheck disable=SC2046
	# Not through in_node: $! must be the daemon (nsenter and setsid exec it).
	detached nsenter --net="/run/netns/berth-n$n" setsid "$BERTH" daemon $(node_flags "$n") --repo "$BASE/repo.git" \
		--peer-key-file "$KEY" --poll 2s --resync 10s >>"$BASE/n$n.log" 2>&1 </dev/null
	echo $! >"$pidf"
}

daemon_down() { # N
	local n=$1 pidf="$RUN/n$1.pid"
	[[ -f $pidf ]] || return 0
	local pid
	pid=$(cat "$pidf")
	if kill "$pid" 2>/dev/null; then
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$pidf"
}

# CONVERGED reads `berth status -o json` and says whether the node runs
# revision argv[1] with every workload ready and no rollout in progress.
CONVERGED='
import json, sys
s = json.load(sys.stdin)
ws = (s.get("workloads") or {}).get("workloads") or []
ok = s["gitops"].get("applied") == sys.argv[1] and all(
    w["ready"] == w["total"] and w.get("phase", "Complete") == "Complete" for w in ws)
sys.exit(0 if ok else 1)'

# wait_converged: every node runs the pushed head and is converged.
wait_converged() {
	local head deadline=$((SECONDS + ${1:-180}))
	head=$(git -C "$BASE/repo.git" rev-parse main)
	for n in "${NODES[@]}"; do
		until "$BERTH" status --api "$(api "$n")" -o json 2>/dev/null | python3 -c "$CONVERGED" "$head"; do
			((SECONDS < deadline)) || die "node n$n did not converge on $head (see $BASE/n$n.log)"
			sleep 1
		done
	done
}

up() {
	[[ $(id -u) == 0 ]] || die "run as root (network namespaces, iptables)"
	eval "$(scripts/testenv.sh)"
	if [[ -z ${BERTH_BIN:-} ]]; then
		say "Building berth"
		go build -o bin/berth ./cmd/berth
	fi
	say "Three nodes on $BRIDGE ($NET.0/24)"
	network_up
	registry_up
	say "Repository $BASE/repo.git"
	repo_up
	say "Starting the daemons (logs: $BASE/nN.log)"
	for n in "${NODES[@]}"; do daemon_up "$n"; done
	wait_converged 240
	status
}

status() {
	for n in "${NODES[@]}"; do
		echo "--- n$n ($NET.1$n)"
		"$BERTH" status --api "$(api "$n")" 2>&1 || true
	done
}

down() {
	eval "$(scripts/testenv.sh)"
	for n in "${NODES[@]}"; do daemon_down "$n"; done
	if [[ -f $RUN/regproxy.pid ]]; then kill "$(cat "$RUN/regproxy.pid")" 2>/dev/null || true; fi
	for n in "${NODES[@]}"; do
		if [[ -e /run/netns/berth-n$n ]]; then
			# shellcheck disable=SC2046
			in_node "$n" "$BERTH" cleanup $(node_flags "$n") >/dev/null 2>&1 || true
			ip netns del "berth-n$n"
		fi
		ip link del "vbc-n$n" 2>/dev/null || true
	done
	ip link del "$BRIDGE" 2>/dev/null || true
	rm -rf "$BASE" "$RUN"
}

demo() {
	up
	say "The Service $SERVICE_IP:80 from every node (60 requests each)"
	for n in "${NODES[@]}"; do
		echo "--- from n$n:"
		for _ in $(seq 60); do in_node "$n" curl -s -m 2 "http://$SERVICE_IP/" || echo FAILED; done |
			sort | uniq -c
	done
	say "Done. Try: scripts/cluster.sh status; commit to $BASE/work and git push; scripts/cluster.sh down"
}

case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
demo) demo ;;
start) eval "$(scripts/testenv.sh)"; daemon_up "${2:?node number}" ;;
stop) daemon_down "${2:?node number}" ;;
wait) eval "$(scripts/testenv.sh)"; wait_converged "${2:-180}" ;;
exec) shift; n=${1:?node number}; shift; in_node "$n" "$@" ;;
*) die "usage: $0 up | down | status | demo | start N | stop N | wait [SECONDS] | exec N CMD..." ;;
esac
