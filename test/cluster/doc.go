// Package cluster holds the end-to-end tests of several berth nodes
// following one repository (docs/multinode.md), on the three-node cluster
// that scripts/cluster.sh builds on this machine. It has only tests (and
// the helper commands the script runs); they skip loudly when the test
// environment (root, the test containerd) is absent, and fail instead
// under CI=true. They take over the cluster of `make cluster-demo`.
package cluster
