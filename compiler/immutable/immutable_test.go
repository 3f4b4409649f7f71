package immutable_test

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/internal/objtest"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/plan"
)

const base = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
immutable: true
data: {mode: fast}
binaryData: {blob: AAEC}
---
apiVersion: v1
kind: Secret
metadata: {name: token}
immutable: true
type: Opaque
stringData: {token: s3cret}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: free}
data: {mode: fast}
`

// compile compiles src as the daemon does, against prev when given.
func compile(t *testing.T, src string, prev *plan.Plan, key plan.SecretKey) (*plan.Plan, []diag.Diagnostic) {
	t.Helper()
	var docs []load.Document
	dec := yaml.NewDecoder(strings.NewReader(src))
	for i := 0; ; i++ {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			break
		}
		docs = append(docs, load.Document{File: objtest.File, Index: i, Node: n.Content[0]})
	}
	return compiler.Compile(docs, compiler.CompileOptions{Options: compiler.Options{Workers: 1}, Previous: prev, SecretKey: key,
		LocalNode: compiler.LocalNode{Name: "n1"}})
}

func check(t *testing.T, prevSrc, src string, key plan.SecretKey) []string {
	t.Helper()
	prev, ds := compile(t, prevSrc, nil, key)
	if prev == nil {
		t.Fatal(ds)
	}
	_, ds = compile(t, src, prev, key)
	var errs []diag.Diagnostic
	for _, d := range ds {
		if d.Rule == "immutable" {
			errs = append(errs, d)
		}
	}
	return objtest.Strings(errs)
}

func TestImmutable(t *testing.T) {
	advice := func(obj string) string {
		return ": the revision applied before made " + obj + " immutable, and the API server refuses to change it; give the changed one a new name (and point its users at it), or delete it in one commit and add it again in the next"
	}
	for _, tt := range []struct {
		name, src string
		want      []string
	}{{
		name: "unchanged, with the data written otherwise",
		src:  strings.Replace(base, "stringData: {token: s3cret}", "data: {token: czNjcmV0}", 1),
	}, {
		name: "a mutable ConfigMap may change",
		src:  strings.Replace(base, "metadata: {name: free}\ndata: {mode: fast}", "metadata: {name: free}\ndata: {mode: slow}", 1),
	}, {
		name: "deleted, then added in another commit",
		src:  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: free}\n",
	}, {
		name: "data changed",
		src:  strings.Replace(strings.Replace(base, "data: {mode: fast}\nbinaryData", "data: {mode: slow}\nbinaryData", 1), "token: s3cret", "token: other", 1),
		want: []string{
			"test.yaml:5:7: error: data: Forbidden: field is immutable when `immutable` is set" + advice("ConfigMap default/settings"),
			"test.yaml:13:13: error: stringData: Forbidden: field is immutable when `immutable` is set" + advice("Secret default/token"),
		},
	}, {
		name: "binaryData changed, immutable dropped, type changed",
		src:  strings.Replace(strings.Replace(base, "blob: AAEC", "blob: AAED", 1), "immutable: true\ntype: Opaque", "type: example.com/token", 1),
		want: []string{
			"test.yaml:6:13: error: binaryData: Forbidden: field is immutable when `immutable` is set" + advice("ConfigMap default/settings"),
			"test.yaml:8:1: error: immutable: Forbidden: field is immutable when `immutable` is set" + advice("Secret default/token"),
			`test.yaml:11:7: error: type: Invalid value: "example.com/token": field is immutable` + advice("Secret default/token"),
		},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			objtest.Expect(t, tt.src, check(t, base, tt.src, nil), tt.want)
		})
	}
}

// Secret digests are keyed: the plan never holds an unkeyed digest of a
// secret, and a new --secret-key-file is not taken for a change.
func TestImmutableSecretKey(t *testing.T) {
	a, b := plan.SecretKey("key a, sixteen bytes"), plan.SecretKey("key b, sixteen bytes")
	prev, ds := compile(t, base, nil, a)
	if prev == nil || prev.SecretKeyID == "" {
		t.Fatalf("plan %v: %v", prev, ds)
	}
	for _, e := range prev.Secrets {
		for _, v := range e.Data {
			if r := v.Redacted(); !strings.HasPrefix(r, "(sensitive hmac:") || strings.Contains(r, "s3cret") {
				t.Errorf("secret digest %q", r)
			}
		}
	}
	changed := strings.Replace(base, "token: s3cret", "token: other", 1)
	if _, ds := compile(t, changed, prev, b); hasRule(ds, "immutable") {
		t.Errorf("under another key: %v", ds)
	}
	if _, ds := compile(t, changed, prev, a); !hasRule(ds, "immutable") {
		t.Errorf("under the same key: %v, want the change", ds)
	}
}

func hasRule(ds []diag.Diagnostic, rule string) bool {
	for _, d := range ds {
		if d.Rule == rule {
			return true
		}
	}
	return false
}
