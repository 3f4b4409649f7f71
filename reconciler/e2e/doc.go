// Package e2e runs the reconciler against the real pod driver
// (nodes/containerd) on the test environment of scripts/testenv.sh. It has
// only tests; they skip loudly when the environment is absent, and fail
// instead under CI=true.
package e2e
