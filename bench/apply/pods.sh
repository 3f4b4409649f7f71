#!/usr/bin/env bash
# Prints N (default 100) Pod documents of the hello image, the input of
# bench/apply.sh for both `berth apply` and `podman kube play`.
#
# The pods declare no ports and no readiness probe, so both tools do the
# same work: podman 4.3's kube play publishes every containerPort on the
# host (the second pod then fails with "address already in use"), and it
# ignores readinessProbe, so "ready" is "running" on both sides.
#
#   bench/apply/pods.sh 100 >DIR/pods.yaml
set -euo pipefail

n=${1:-100}
image=${IMAGE:-127.0.0.1:5000/berth/hello:v1}
for i in $(seq -w 1 "$n"); do
	cat <<YAML
---
apiVersion: v1
kind: Pod
metadata:
  name: bench-$i
  labels:
    app: bench
spec:
  containers:
    - name: hello
      image: $image
YAML
done
