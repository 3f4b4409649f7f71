// Package browser tests the daemon's web view in a real browser: Debian's
// chromium, driven over the DevTools protocol by chromedp, against
// `berth daemon` running the examples (web, rollouts, batch, quota) on the
// real containerd of scripts/testenv.sh. It checks that every page loads
// with no console error, that a push shows up live on the history page,
// that a failed rollout shows its reason, and that the pages ask for a
// login on a non-loopback address. Screenshots of every page are written
// to a directory the test prints (BERTH_SCREENSHOTS sets it);
// UPDATE_GOLDEN=1 also refreshes the two in docs/img.
//
// The package has only tests. They skip loudly when the environment is
// absent (not root, no containerd, no chromium) and fail instead under
// CI=true.
//
//	eval "$(scripts/testenv.sh)" && flock /tmp/berth-it.lock go test ./test/browser/ -v
package browser
