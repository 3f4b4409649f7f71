package fleet

import (
	"maps"
	"slices"
	"strings"
)

// MaxCordons bounds the drain marks one node tells; the undrained ones
// go first past it.
const MaxCordons = 16

// Cordon is "node Node is drained" (berth node drain) or "no longer"
// (berth node uncordon), as a fleet-wide register per node: any node may
// take the command, every node adopts the newest mark of each node (the
// highest Version, ties by Origin) and keeps it in its facts, so the
// drained set converges everywhere and survives restarts.
type Cordon struct {
	Node    string `json:"node"`
	Version uint64 `json:"version"`
	Origin  string `json:"origin"`
	Drained bool   `json:"drained,omitempty"`
}

// Newer says whether c wins over d (for the same node).
func (c Cordon) Newer(d Cordon) bool {
	return c.Version > d.Version || c.Version == d.Version && c.Origin > d.Origin
}

// SetCordon records c when it is newer than the mark the facts hold for
// its node; it reports whether the facts changed.
func (f *Facts) SetCordon(c Cordon) bool {
	i := slices.IndexFunc(f.Cordons, func(d Cordon) bool { return d.Node == c.Node })
	if i >= 0 && !c.Newer(f.Cordons[i]) {
		return false
	}
	cs := slices.Clone(f.Cordons)
	if i >= 0 {
		cs[i] = c
	} else {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b Cordon) int { return strings.Compare(a.Node, b.Node) })
	for len(cs) > MaxCordons {
		j := slices.IndexFunc(cs, func(d Cordon) bool { return !d.Drained })
		if j < 0 {
			j = len(cs) - 1
		}
		cs = slices.Delete(cs, j, j+1)
	}
	f.Cordons = cs
	return true
}

// Cordons are the newest mark of each node any node knows.
func (v View) Cordons() map[string]Cordon {
	out := map[string]Cordon{}
	for _, n := range slices.Sorted(maps.Keys(v)) {
		for _, c := range v[n].Cordons {
			if d, ok := out[c.Node]; !ok || c.Newer(d) {
				out[c.Node] = c
			}
		}
	}
	return out
}

// Drained are the nodes whose newest mark drains them, sorted.
func Drained(cs map[string]Cordon) []string {
	var out []string
	for n, c := range cs {
		if c.Drained {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}
