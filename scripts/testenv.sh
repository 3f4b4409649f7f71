#!/usr/bin/env bash
# Prepares this machine for berth's tests and demo, idempotently, as root:
# installs the runtime packages that are missing, starts a private
# containerd (its own root, state and socket, so the system one is left
# alone) and a registry on 127.0.0.1:5000. Prints the environment the tests
# read, for `eval "$(scripts/testenv.sh)"`.
set -euo pipefail

STATE=${BERTH_TEST_STATE:-/var/lib/berth-test}
RUN=${BERTH_TEST_RUN:-/run/berth-test}
SOCK=$RUN/containerd.sock
REGISTRY=127.0.0.1:5000

log() { echo "testenv: $*" >&2; }
# detached CMD...: CMD in the background without the descriptors this
# script inherited beyond stdio. A caller under `flock /tmp/berth-it.lock`
# (or a test it runs, through scripts/cluster.sh) must not hand its lock
# to a containerd or registry that outlives it: they would hold the lock
# for good and block every other user of the runtime.
detached() {
	(
		for fd in $(ls "/proc/$BASHPID/fd"); do
			if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
		done
		exec nohup "$@" </dev/null
	) &
}

need=()
for pair in containerd:containerd runc:runc iptables:iptables iptables-restore:iptables \
	busybox:busybox-static docker-registry:docker-registry git:git ip:iproute2 \
	/usr/lib/cni/bridge:containernetworking-plugins curl:curl ssh-keygen:openssh-client nsenter:util-linux \
	chromium:chromium pre-commit:pre-commit jq:jq; do
	cmd=${pair%%:*} pkg=${pair##*:}
	if [[ $cmd == /* ]]; then [[ -e $cmd ]] || need+=("$pkg"); else command -v "$cmd" >/dev/null || need+=("$pkg"); fi
done
if ((${#need[@]})); then
	if [[ $(id -u) != 0 ]]; then log "missing packages ${need[*]} and not root"; exit 1; fi
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

mkdir -p "$STATE" "$RUN"
# The distro package may start the registry and containerd services; ours
# run privately, so the tests never depend on, or disturb, the system ones.
if ! ctr --address "$SOCK" version >/dev/null 2>&1; then
	log "starting containerd on $SOCK"
	cat >"$RUN/containerd.toml" <<TOML
version = 2
root = "$STATE/containerd"
state = "$RUN/containerd-state"
[grpc]
  address = "$SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  disable = true
TOML
	detached containerd --config "$RUN/containerd.toml" >"$STATE/containerd.log" 2>&1
	for _ in $(seq 100); do ctr --address "$SOCK" version >/dev/null 2>&1 && break; sleep 0.1; done
	ctr --address "$SOCK" version >/dev/null || { log "containerd did not start; see $STATE/containerd.log"; exit 1; }
fi

if ! curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1; then
	log "starting registry on $REGISTRY"
	mkdir -p "$STATE/registry"
	cat >"$RUN/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $STATE/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY
YML
	detached docker-registry serve "$RUN/registry.yml" >"$STATE/registry.log" 2>&1
	for _ in $(seq 100); do curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
	curl -fsS "http://$REGISTRY/v2/" >/dev/null || { log "registry did not start; see $STATE/registry.log"; exit 1; }
fi

echo "export BERTH_TEST_CONTAINERD=$SOCK"
echo "export BERTH_TEST_REGISTRY=$REGISTRY"
