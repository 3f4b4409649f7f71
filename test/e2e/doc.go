// Package e2e drives the berth binary end to end, as a user would: real
// bare Git repositories made with the git CLI, `berth daemon` on the real
// containerd of scripts/testenv.sh ($BERTH_TEST_CONTAINERD) and the real
// iptables of the host network namespace. Every test gets its own iptables
// chain prefix, bridge, pod and service CIDRs, NodePort, containerd
// namespace and state directory, so the tests run in parallel and never
// touch another daemon's objects.
//
// The package has only tests. They skip loudly when the environment is
// absent (not root, no containerd socket) and fail instead under CI=true.
//
//	eval "$(scripts/testenv.sh)" && go test ./test/e2e/ -v
package e2e
