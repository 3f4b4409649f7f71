#!/usr/bin/env bash
# Growth of `berth plan -o json` with the repository (issue 14): wall time,
# CPU time, peak RSS and JSON size at 1k, 10k and 100k objects, in two
# shapes, and the growth per decade of each figure divided by the objects
# (1.00 is linear; the target is at most 1.5).
#   team        one namespace (synth.Team): per 10k objects 2,000 Services,
#               2,000 Deployments x 3 replicas, 2,000 ConfigMaps and
#               Secrets read through env, envFrom and volumes, 950 Jobs,
#               950 CronJobs, 100 Nodes
#   namespaces  the earlier shape (synth.Size): 10 Services per namespace;
#               here sized by pods (1k, 10k, 100k pods)
#
#   bench/scale.sh                 # both shapes, 1k 10k 100k, best of 1
#   SIZES="1000 10000" RUNS=3 SHAPES=team bench/scale.sh
#
# Pure: no root, no runtime. Repositories go to a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-1000 10000 100000}
SHAPES=${SHAPES:-team namespaces}
RUNS=${RUNS:-1}

W=$(mktemp -d /tmp/berth-scale.XXXXXX)
trap 'rm -rf "$W"' EXIT
go build -o "$W/berth" ./cmd/berth
go build -o "$W/synthgen" ./compiler/synth/synthgen

# measure DIR: "wall_s cpu_s rss_kb bytes" of the best (least CPU) run.
measure() {
	local best="" line
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f '%e %U %S %M' -o "$W/time" "$W/berth" plan -o json "$1" >"$W/plan.json"
		read -r wall user sys rss <"$W/time"
		line="$wall $(echo "$user + $sys" | bc) $rss $(stat -c %s "$W/plan.json")"
		if [[ -z $best ]] || (($(echo "$(cut -d' ' -f2 <<<"$line") < $(cut -d' ' -f2 <<<"$best")" | bc))); then
			best=$line
		fi
	done
	echo "$best"
}

echo "berth plan -o json: growth with the repository ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at start)"
for shape in $SHAPES; do
	echo
	printf '%-10s %9s %7s %8s %8s %10s %9s   %s\n' shape size pods wall_s cpu_s peak_MiB json_MB "growth per decade (cpu, rss, json per object)"
	prev=""
	for n in $SIZES; do
		rm -rf "$W/repo"
		if [[ $shape == team ]]; then
			"$W/synthgen" -objects "$n" "$W/repo"
		else
			"$W/synthgen" -pods "$n" "$W/repo"
		fi
		read -r wall cpu rss bytes < <(measure "$W/repo")
		pods=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(sum(len(n.get("pods") or []) for n in p["nodes"]))' "$W/plan.json")
		growth=""
		if [[ -n $prev ]]; then
			read -r pn pcpu prss pbytes <<<"$prev"
			growth=$(python3 -c 'import sys
n,pn,c,pc,r,pr,b,pb=map(float,sys.argv[1:])
k=n/pn
print("x%.2f x%.2f x%.2f" % (c/pc/k, r/pr/k, b/pb/k))' "$n" "$pn" "$cpu" "$pcpu" "$rss" "$prss" "$bytes" "$pbytes")
		fi
		printf '%-10s %9s %7s %8.2f %8.2f %10.0f %9.1f   %s\n' "$shape" "$n" "$pods" "$wall" "$cpu" "$((rss / 1024))" \
			"$(echo "$bytes / 1000000" | bc -l)" "$growth"
		prev="$n $cpu $rss $bytes"
	done
done
echo
echo "size is objects for team, pods for namespaces; growth per decade is (figure at 10x / figure) / 10."
