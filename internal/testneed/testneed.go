// Package testneed is how a test says what the machine must have for it.
// Missing, the test fails under CI=true, since the CI machine has all of
// it (scripts/testenv.sh installs it) and a skip there would hide a
// regression, and skips loudly anywhere else.
package testneed

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Env fails or skips tb when missing (what the environment lacks, "" when
// nothing) is not empty; kind names the tests ("integration",
// "end-to-end", "browser", "cluster").
func Env(tb testing.TB, kind, missing string) {
	tb.Helper()
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s test environment missing under CI=true: %s", kind, missing)
	}
	tb.Skipf("SKIP %s test: %s", kind, missing)
}

// Root needs the test to run as root; why says what for.
func Root(tb testing.TB, why string) {
	tb.Helper()
	if os.Geteuid() != 0 {
		Env(tb, "root", "not root: "+why)
	}
}

// Tools needs the named programs in $PATH.
func Tools(tb testing.TB, names ...string) {
	tb.Helper()
	Env(tb, "integration", Missing(names...))
}

// Missing lists the named programs that are not in $PATH ("" when all are).
func Missing(names ...string) string {
	var missing []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	return strings.Join(missing, ", ")
}

// Long marks a slow test (what names its cost) that `go test -short`
// leaves out; CI never runs -short, and under CI=true a -short run fails
// here rather than skip it.
func Long(tb testing.TB, what string) {
	tb.Helper()
	if testing.Short() {
		Env(tb, "long", "-short given: "+what)
	}
}
