#!/usr/bin/env bash
# Times `berth lint` against kubeconform v0.8.0 on the same generated
# corpora, with the same worker count, in one run on one machine, and
# prints wall time, peak RSS and the ratio berth/kubeconform for each
# shape: "repo" (every kind, 40 apps a namespace) and "one-namespace"
# (Deployments, Services, ConfigMaps, Secrets, Jobs and CronJobs in one
# namespace, the shape of a real application repository).
#
#   bench/lint.sh            # 10,000 objects, 2 workers, best of 3, both shapes
#   N=50000 J=4 RUNS=5 SHAPES=one-namespace bench/lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-10000}
J=${J:-2}
RUNS=${RUNS:-3}
SHAPES=${SHAPES:-repo one-namespace}
SCHEMAS=${SCHEMAS:-$PWD/../shared/bench/k8s-schemas}
WORK=${WORK:-$(mktemp -d /tmp/berth-bench.XXXXXX)}
BIN=${BIN:-/tmp/bin}
trap 'rm -rf "$WORK/corpus"' EXIT

if [ ! -d "$SCHEMAS" ]; then
	echo "bench: no kubeconform schemas at $SCHEMAS (see ../shared/bench/README.md)" >&2
	exit 2
fi
if [ ! -x /usr/bin/time ]; then
	echo "bench: /usr/bin/time is missing: apt-get install time" >&2
	exit 2
fi

go build -o "$WORK/berth" ./cmd/berth
if [ ! -x "$BIN/kubeconform" ]; then
	GOBIN=$BIN go install github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0
fi

# measure NAME CMD...: runs CMD $RUNS times, keeps the fastest wall time,
# the least CPU time (user+system: steadier than wall time on a busy
# machine) and the highest peak RSS; the command must succeed (a clean
# corpus).
measure() {
	local name=$1; shift
	local best="" cpu="" rss=0 t m u
	for _ in $(seq "$RUNS"); do
		if ! /usr/bin/time -o "$WORK/$name.time" -f '%e %M %U %S' "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"; then
			echo "bench: $name failed or found errors in the corpus:" >&2
			tail -5 "$WORK/$name.out" "$WORK/$name.err" >&2
			exit 1
		fi
		read -r t m u s <"$WORK/$name.time"
		u=$(awk "BEGIN{print $u + $s}")
		if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
		if [ -z "$cpu" ] || awk "BEGIN{exit !($u < $cpu)}"; then cpu=$u; fi
		if [ "$m" -gt "$rss" ]; then rss=$m; fi
	done
	printf '%-12s %6.2f s wall  %6.2f s cpu  %5d MB peak RSS   (%s)\n' "$name" "$best" "$cpu" $((rss / 1024)) "$(tail -1 "$WORK/$name.out")"
	eval "${name}_time=$best ${name}_cpu=$cpu ${name}_rss=$rss"
}

for shape in $SHAPES; do
	rm -rf "$WORK/corpus"
	go run ./bench/gencorpus -n "$N" -shape "$shape" -o "$WORK/corpus"
	files=$(find "$WORK/corpus" -type f | wc -l)
	bytes=$(du -sb "$WORK/corpus" | cut -f1)
	echo "corpus $shape: $N objects in $files files ($((bytes / 1024)) KiB), $J workers, best of $RUNS runs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	measure berth "$WORK/berth" lint -j "$J" "$WORK/corpus"
	measure kubeconform "$BIN/kubeconform" -strict -summary -n "$J" \
		-schema-location "$SCHEMAS/{{.ResourceKind}}{{.KindSuffix}}.json" "$WORK/corpus"
	awk -v b="$berth_time" -v k="$kubeconform_time" -v bc="$berth_cpu" -v kc="$kubeconform_cpu" -v br="$berth_rss" -v kr="$kubeconform_rss" 'BEGIN {
		printf "ratio        %.2f wall, %.2f cpu, %.2f peak RSS (berth / kubeconform; target <= 0.5)\n", b / k, bc / kc, br / kr }'
done
