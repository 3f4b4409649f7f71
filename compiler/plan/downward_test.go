package plan

import "testing"

func TestDownwardValues(t *testing.T) {
	p := &Pod{Namespace: "ns", Name: "web-0", Hash: "h1",
		Labels:      map[string]string{"app": "web", "tier": `a "b"`},
		Annotations: map[string]string{"example.com/x": "1"}}
	for path, want := range map[string]string{
		"metadata.name":                         "web-0",
		"metadata.labels":                       "app=\"web\"\ntier=\"a \\\"b\\\"\"",
		"metadata.labels['tier']":               `a "b"`,
		"metadata.labels['none']":               "",
		"metadata.annotations['example.com/x']": "1",
		"metadata.annotations":                  "example.com/x=\"1\"",
	} {
		if got, ok := p.FieldValue(path); !ok || got != want {
			t.Errorf("%s: got %q (%v), want %q", path, got, ok, want)
		}
	}
	if _, ok := p.FieldValue("spec.nodeName"); ok {
		t.Error("spec.nodeName is the node's")
	}
	uid := p.UID()
	if len(uid) != 36 || uid[14] != '5' || uid != p.UID() {
		t.Errorf("uid %q: want a stable version-5 UUID", uid)
	}
	q := *p
	q.Hash = "h2"
	if q.UID() == uid {
		t.Error("a replaced pod keeps its uid")
	}
	r := ResourceRef{Resource: "limits.memory", Divisor: 1 << 20}
	if got := r.Value(Allocatable{Memory: 3<<20 + 1}); got != "4" {
		t.Errorf("memory rounds up: got %s", got)
	}
	r = ResourceRef{Resource: "limits.cpu", Divisor: 1000}
	if got := r.Value(Allocatable{MilliCPU: 2000}); got != "2" {
		t.Errorf("cpu: got %s", got)
	}
}
