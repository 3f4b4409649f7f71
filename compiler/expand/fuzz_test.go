package expand

import (
	"testing"

	"berth.dev/berth/compiler/api"
)

// FuzzDurationSeconds: a pause duration never panics nor goes negative.
func FuzzDurationSeconds(f *testing.F) {
	for _, s := range []string{"30s", "5m", "1h", "10", "-1s", "1h30m", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := durationSeconds(api.IntOrString{IsString: true, StrVal: s})
		if err == nil && n < 0 {
			t.Fatalf("durationSeconds(%q) = %d", s, n)
		}
	})
}
