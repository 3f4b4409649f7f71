package diag

import (
	"encoding/json"
	"testing"
)

func TestSeverityJSONRoundTrip(t *testing.T) {
	in := []Diagnostic{{Pos: Pos{File: "a.yaml", Line: 3, Col: 5}, Severity: Warning, Rule: "image-tag", Message: "m"}, {Severity: Error}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out []Diagnostic
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out[0] != in[0] || out[1].Severity != Error {
		t.Fatalf("round trip = %+v, want %+v", out, in)
	}
	var s Severity
	if err := s.UnmarshalText([]byte("fatal")); err == nil {
		t.Fatal("UnmarshalText accepted an unknown severity")
	}
}
