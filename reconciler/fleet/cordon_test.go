package fleet

import (
	"slices"
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
