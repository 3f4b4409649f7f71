package check

import (
	"slices"
	"testing"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/internal/objtest"
)

// run runs the checks on src and returns the diagnostics of the given
// rules (all of them with no rule), sorted, as text.
func run(t testing.TB, src string, rules ...string) []string {
	t.Helper()
	var out []diag.Diagnostic
	for _, d := range Run(objtest.Set(t, src), Options{}) {
		if len(rules) == 0 || slices.Contains(rules, d.Rule) {
			out = append(out, d)
		}
	}
	return objtest.Strings(out)
}

type checkCase struct {
	name string
	src  string
	want []string
}

// runCases runs each case as a subtest and wants exactly its diagnostics
// of rule.
func runCases(t *testing.T, rule string, cases []checkCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			objtest.Expect(t, tt.src, run(t, tt.src, rule), tt.want)
		})
	}
}
