package schema

import (
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// matcherSamples exercise the edges of the well-known expressions.
var matcherSamples = []string{
	"", "a", "A", "0", "-", ".", "a-", "-a", "a-b", "a.b", "a..b", "a.-b", "A.b", "ab_c", "a_", "_a",
	"abc.def-1", "app.kubernetes.io/name", "example.com/", "/name", "a/b/c", "a/b", "UPPER/x", "x/" + strings.Repeat("a", 63),
	"x/" + strings.Repeat("a", 64), strings.Repeat("a", 63), strings.Repeat("a", 64),
	"1", "1.", ".5", "1.5", "1..2", "100m", "1Ki", "1ki", "1Mi", "1M", "1e3", "1E3", "1E", "1e", "1e+3", "1e-3", "1Ei", "-1", "+1", "1 ", " 1", "0.5Gi", "1mi",
	"25%", "%", "a%", "100%", "1%%",
	"http", "h-t", "h--t", "8080", "ab1",
	"PATH", "_X", "9X", "A.B-C_D", "a=b", "k/v", "..", "../x", "x/..", "a/../b", "a..b/c", "/abs", "rel/x",
	"NET_ADMIN", "net_admin", "ALL", "30s", "5m", "1h", "10", "1d", "s",
	"count/pods", "count/deployments.apps", "count/", "count/a.", "count/A", "count/a.b-c", "count/a.B",
}

func TestFastMatchers(t *testing.T) {
	for src, k := range knownPatterns {
		re := regexp.MustCompile(src)
		for _, s := range matcherSamples {
			if got, want := k.match(s), re.MatchString(s); got != want {
				t.Errorf("matcher for %s on %q = %v, regexp says %v", src, s, got, want)
			}
		}
	}
}

// FuzzFastMatchers proves each hand-written matcher equal to its regular
// expression.
func FuzzFastMatchers(f *testing.F) {
	for _, s := range matcherSamples {
		f.Add(s)
	}
	res := map[string]*regexp.Regexp{}
	for src := range knownPatterns {
		res[src] = regexp.MustCompile(src)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for src, k := range knownPatterns {
			if got, want := k.match(s), res[src].MatchString(s); got != want {
				t.Errorf("matcher for %s on %q = %v, regexp says %v", src, s, got, want)
			}
		}
	})
}

// FuzzValidate feeds arbitrary YAML to Validate: it must never panic, and
// every violation must point at a node.
func FuzzValidate(f *testing.F) {
	for i := 0; i < 20; i++ {
		f.Add(genObject(i))
	}
	f.Add(handWrittenDocs)
	f.Add("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - &c {name: c, image: i}\n  - <<: [*c, {x: 1}]\n  volumes: [{name: v}, {name: w, emptyDir: {}, hostPath: {}}]\n")
	f.Add("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: !!binary aGk=}\ntype: kubernetes.io/tls\n")
	f.Add("{apiVersion: [v1], kind: {a: b}}")
	f.Add("kind: Pod\napiVersion: v1\nspec: null\nmetadata: ~\n")
	s, err := Load()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		dec := yaml.NewDecoder(strings.NewReader(src))
		for i := 0; i < 8; i++ {
			var doc yaml.Node
			if err := dec.Decode(&doc); err != nil {
				return
			}
			for _, opts := range []Options{{}, {AllowUnknownFields: true}} {
				for _, v := range s.Validate(&doc, opts) {
					if v.Node == nil || v.Message == "" || v.Rule == "" {
						t.Fatalf("incomplete violation %+v", v)
					}
				}
			}
		}
	})
}
