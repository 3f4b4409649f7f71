#!/usr/bin/env bash
# Times `berth lint` against kubeconform v0.8.0 on the same generated
# corpus, with the same worker count, in one run on one machine, and
# prints wall time, peak RSS and the ratio berth/kubeconform.
#
#   bench/lint.sh            # 10,000 objects, 2 workers, best of 3
#   N=50000 J=4 RUNS=5 bench/lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-10000}
J=${J:-2}
RUNS=${RUNS:-3}
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
go run ./bench/gencorpus -n "$N" -o "$WORK/corpus"
files=$(find "$WORK/corpus" -type f | wc -l)
bytes=$(du -sb "$WORK/corpus" | cut -f1)
echo "corpus: $N objects in $files files ($((bytes / 1024)) KiB), $J workers, best of $RUNS runs"

# measure NAME CMD...: runs CMD $RUNS times, keeps the fastest wall time
# and the highest peak RSS; the command must succeed (a clean corpus).
measure() {
	local name=$1; shift
	local best="" rss=0 out
	for _ in $(seq "$RUNS"); do
		out=$( { /usr/bin/time -f 'TIME %e %M' "$@" >/dev/null 2>"$WORK/$name.err"; } 2>&1 ) || true
		out=$(grep '^TIME' "$WORK/$name.err" || true)
		if [ -z "$out" ]; then
			echo "bench: $name failed:" >&2; cat "$WORK/$name.err" >&2; exit 1
		fi
		if grep -q 'Command exited with non-zero status' "$WORK/$name.err"; then
			echo "bench: $name found errors in the corpus:" >&2; cat "$WORK/$name.err" >&2; exit 1
		fi
		read -r _ t m <<<"$out"
		if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
		if [ "$m" -gt "$rss" ]; then rss=$m; fi
	done
	printf '%-12s %6.2f s  %6d MB peak RSS\n' "$name" "$best" $((rss / 1024))
	eval "${name}_time=$best; ${name}_rss=$rss"
}

measure berth "$WORK/berth" lint -j "$J" "$WORK/corpus"
measure kubeconform "$BIN/kubeconform" -strict -summary -n "$J" \
	-schema-location "$SCHEMAS/{{.ResourceKind}}{{.KindSuffix}}.json" "$WORK/corpus"
awk -v b="$berth_time" -v k="$kubeconform_time" 'BEGIN { printf "ratio        %.2f (berth / kubeconform wall time; target <= 1.0, aim 0.5)\n", b / k }'
