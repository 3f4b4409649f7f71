# Shared by the benchmarks that run one `berth daemon` on this machine
# (bench/dns.sh, bench/latency.sh, bench/daemon-rss.sh). Source it after
# setting W (the work directory), API, NODE (the daemon's node flags),
# BRIDGE and CTR_NS (the containerd namespace NODE names); the caller runs
# scripts/testenv.sh first.

DAEMON_PID=
GITD_PID=
SECRET=bench-webhook-secret

log() { printf '%s\n' "$*" >&2; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
berth() { "$W/bin/berth" "$@" --api "$API"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

stop_daemon() {
	if [[ -n $DAEMON_PID ]]; then
		kill "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
		DAEMON_PID=
	fi
}

# reset_node stops the daemon and removes what it made: pods, rules, the
# bridge, its state.
reset_node() {
	stop_daemon
	[[ -x $W/bin/berth ]] && "$W/bin/berth" cleanup "${NODE[@]}" >/dev/null 2>&1 || true
	ip link del "$BRIDGE" 2>/dev/null || true
	rm -rf "$W/state" "$W/run"
}

# finish_node is the benchmark's exit: the node reset, the git daemon
# stopped, the images and the containerd namespace gone, W removed.
finish_node() {
	reset_node
	[[ -n $GITD_PID ]] && kill -- "-$GITD_PID" 2>/dev/null || true
	ctr -a "$BERTH_TEST_CONTAINERD" -n "$CTR_NS" images ls -q 2>/dev/null |
		xargs -r ctr -a "$BERTH_TEST_CONTAINERD" -n "$CTR_NS" images rm >/dev/null 2>&1 || true
	# Image content goes away asynchronously; the namespace only once empty.
	for _ in $(seq 20); do ctr -a "$BERTH_TEST_CONTAINERD" namespaces rm "$CTR_NS" >/dev/null 2>&1 && break; sleep 0.3; done
	rm -rf "$W"
}

# init_repo makes the bare repository $W/repo.git and its clone $W/work.
init_repo() {
	git init -q --bare -b main "$W/repo.git"
	git init -q -b main "$W/work"
	git -C "$W/work" config user.email bench@berth.dev
	git -C "$W/work" config user.name "berth bench"
	git -C "$W/work" remote add origin "$W/repo.git"
}

# serve_repo serves W over git:// on GITD_PORT (a URL that is not a local
# path, so the daemon cannot watch the repository's files), and writes the
# webhook secret to $W/secret with a port for the daemon's API, HOOK_PORT.
serve_repo() {
	GITD_PORT=$(free_port)
	setsid git daemon --export-all --reuseaddr --base-path="$W" --listen=127.0.0.1 --port="$GITD_PORT" "$W" 2>/dev/null &
	GITD_PID=$!
	echo "$SECRET" >"$W/secret"
	HOOK_PORT=$(free_port)
}

webhook() { # $1: the pushed commit
	local body sig
	body=$(printf '{"ref":"refs/heads/main","after":"%s","repository":{"full_name":"bench/repo"}}' "$1")
	sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.* //')
	curl -fsS -m 5 -o /dev/null -H 'X-GitHub-Event: push' -H "X-Hub-Signature-256: sha256=$sig" \
		-H 'Content-Type: application/json' --data-binary "$body" "http://127.0.0.1:$HOOK_PORT/hooks/git"
}
