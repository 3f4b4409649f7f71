package fleet

import (
	"slices"
	"strings"
	"testing"
)

func TestCordons(t *testing.T) {
	var a, b Facts
	// n1 drains n2; n3 (b) learns it, then uncordons it.
	if !a.SetCordon(Cordon{Node: "n2", Version: 1, Origin: "n1", Drained: true}) {
		t.Fatal("first mark not taken")
	}
	if a.SetCordon(Cordon{Node: "n2", Version: 1, Origin: "n1", Drained: true}) {
		t.Error("the same mark again changed the facts")
	}
	v := View{"n1": a, "n3": b}
	if got := Drained(v.Cordons()); !slices.Equal(got, []string{"n2"}) {
		t.Errorf("drained = %v, want [n2]", got)
	}
	c := v.Cordons()["n2"]
	b.SetCordon(c)
	b.SetCordon(Cordon{Node: "n2", Version: c.Version + 1, Origin: "n3"})
	v = View{"n1": a, "n3": b}
	if got := Drained(v.Cordons()); len(got) != 0 {
		t.Errorf("drained after uncordon = %v, want none", got)
	}
	// An older mark does not win.
	if b.SetCordon(Cordon{Node: "n2", Version: 1, Origin: "n9", Drained: true}) {
		t.Error("an older mark replaced a newer one")
	}
	// Ties go to the higher origin.
	if !(Cordon{Version: 2, Origin: "n3"}).Newer(Cordon{Version: 2, Origin: "n1"}) {
		t.Error("tie not broken by origin")
	}
}

func TestCordonsBounded(t *testing.T) {
	var f Facts
	for i := range MaxCordons + 5 {
		f.SetCordon(Cordon{Node: string(rune('a'+i%26)) + string(rune('a'+i/26)), Version: 1, Origin: "x", Drained: i%2 == 0})
	}
	if len(f.Cordons) != MaxCordons {
		t.Fatalf("%d marks kept, want %d", len(f.Cordons), MaxCordons)
	}
	g, ok := Decode(f.Encode())
	if !ok || len(g.Cordons) != MaxCordons {
		t.Errorf("decoded %d marks (ok %v), want %d", len(g.Cordons), ok, MaxCordons)
	}
}

// TestEncodeKeepsDrainMarks: facts over MaxBytes lose their older
// revision facts before a drain mark.
func TestEncodeKeepsDrainMarks(t *testing.T) {
	var f Facts
	for i := range MaxFailed {
		f.MarkFailed(Failure{Revision: strings.Repeat(string(rune('a'+i)), 40), Reason: strings.Repeat("x", MaxReason)})
	}
	for i := range MaxCordons {
		f.SetCordon(Cordon{Node: strings.Repeat(string(rune('a'+i)), 20), Version: 1, Origin: strings.Repeat("o", 20), Drained: true})
	}
	b := f.Encode()
	g, ok := Decode(b)
	if !ok || len(b) > MaxBytes {
		t.Fatalf("%d bytes, decoded %v", len(b), ok)
	}
	if len(g.Cordons) != MaxCordons || len(g.Failed) == 0 {
		t.Errorf("kept %d drain marks of %d and %d failures", len(g.Cordons), MaxCordons, len(g.Failed))
	}
}

// TestEncodeLongNodeNames: drain marks of long node names alone over
// MaxBytes are cut to fit, the drained ones last.
func TestEncodeLongNodeNames(t *testing.T) {
	var f Facts
	for i := range MaxCordons {
		f.SetCordon(Cordon{Node: strings.Repeat(string(rune('a'+i)), 200), Version: 1, Origin: "n1", Drained: i < 4})
	}
	b := f.Encode()
	g, ok := Decode(b)
	if !ok || len(b) > MaxBytes {
		t.Fatalf("%d bytes, decoded %v", len(b), ok)
	}
	if got := len(Drained(View{"n1": g}.Cordons())); got != 4 {
		t.Errorf("%d drain marks kept, want the 4 drained ones", got)
	}
}
