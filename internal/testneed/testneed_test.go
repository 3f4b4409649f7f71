package testneed

import (
	"testing"
)

func TestMissing(t *testing.T) {
	if got := Missing("sh"); got != "" {
		t.Errorf("sh: %q", got)
	}
	if got := Missing("sh", "berth-no-such-tool", "berth-nor-this"); got != "berth-no-such-tool, berth-nor-this" {
		t.Errorf("missing: %q", got)
	}
}

// TestEnv: nothing missing passes; something missing fails under CI=true
// and skips elsewhere.
func TestEnv(t *testing.T) {
	for _, tc := range []struct {
		ci, missing             string
		wantFailed, wantSkipped bool
	}{
		{"true", "", false, false},
		{"true", "containerd", true, false},
		{"", "containerd", false, true},
	} {
		t.Setenv("CI", tc.ci)
		r := &recorder{T: t}
		func() {
			defer func() { _ = recover() }() // Fatalf and Skipf end here
			Env(r, "integration", tc.missing)
		}()
		failed, skipped := r.failed, r.skipped
		if failed != tc.wantFailed || skipped != tc.wantSkipped {
			t.Errorf("CI=%q missing %q: failed %v skipped %v", tc.ci, tc.missing, failed, skipped)
		}
	}
}

// recorder records Fatalf and Skipf instead of ending the test.
type recorder struct {
	*testing.T
	failed, skipped bool
}

func (r *recorder) Fatalf(string, ...any) { r.failed = true; panic("fatal") }
func (r *recorder) Skipf(string, ...any)  { r.skipped = true; panic("skip") }
func (r *recorder) Helper()               {}
