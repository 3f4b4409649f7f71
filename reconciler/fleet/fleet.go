// Package fleet decides which revision the nodes of an inventory run,
// from what each node tells the others of revisions: those that became
// healthy on it, those that failed on it, the retries and the fleet-wide
// commands (suspend, pin) it knows. Every node makes the same decision
// from the same facts; the facts are small, bounded, and travel through
// the authenticated peer exchange the way readiness does. It is pure: no
// clock, no IO.
package fleet

import (
	"encoding/json"
	"maps"
	"slices"
)

// Bounds of one node's facts: revisions kept per list, and the length of
// a failure's reason. Encode holds the whole under MaxBytes.
const (
	MaxHealthy = 6
	MaxFailed  = 6
	MaxRetries = 6
	MaxReason  = 240
	MaxBytes   = 2048
)

// Facts is what one node tells the others of revisions.
type Facts struct {
	// Healthy are the revisions that became healthy on the node, the
	// most recent first.
	Healthy []string `json:"healthy,omitempty"`
	// Failed are the revisions that failed on the node, the most recent
	// first.
	Failed []Failure `json:"failed,omitempty"`
	// Retries are the revisions a user retried (berth retry), with the
	// attempt they are at.
	Retries []Retry `json:"retries,omitempty"`
	// Control is the newest fleet-wide command the node knows.
	Control Control `json:"control,omitzero"`
	// Cordons are the newest drain mark of each node it knows (cordon.go).
	Cordons []Cordon `json:"cordons,omitempty"`
}

// Failure is "revision R failed on this node (reason)".
type Failure struct {
	Revision string `json:"revision"`
	// Attempt is the retry attempt it failed at (0: before any retry).
	Attempt int    `json:"attempt,omitempty"`
	Reason  string `json:"reason"`
	// Object is the workload that failed (Kind/namespace/name).
	Object string `json:"object,omitempty"`
}

// Retry is a revision to try again from attempt Attempt on.
type Retry struct {
	Revision string `json:"revision"`
	Attempt  int    `json:"attempt"`
}

// Control is a fleet-wide operator command: the highest Version wins,
// ties by Origin (the node that took it).
type Control struct {
	Version   uint64 `json:"version,omitempty"`
	Origin    string `json:"origin,omitempty"`
	Suspended bool   `json:"suspended,omitempty"`
	Pin       string `json:"pin,omitempty"`
}

// Newer says whether c wins over d.
func (c Control) Newer(d Control) bool {
	return c.Version > d.Version || c.Version == d.Version && c.Origin > d.Origin
}

// MarkHealthy records that rev became healthy on this node: it moves to
// the front, and its failures of earlier attempts go.
func (f *Facts) MarkHealthy(rev string) {
	f.Healthy = front(f.Healthy, rev, MaxHealthy)
	f.Failed = slices.DeleteFunc(f.Failed, func(x Failure) bool { return x.Revision == rev })
}

// MarkFailed records a failure on this node; it reports whether the
// facts changed.
func (f *Facts) MarkFailed(x Failure) bool {
	if len(x.Reason) > MaxReason {
		x.Reason = x.Reason[:MaxReason-3] + "..."
	}
	if i := slices.IndexFunc(f.Failed, func(y Failure) bool { return y.Revision == x.Revision }); i >= 0 {
		if f.Failed[i] == x {
			return false
		}
		f.Failed = slices.Delete(f.Failed, i, i+1)
	}
	f.Failed = slices.Insert(f.Failed, 0, x)
	if len(f.Failed) > MaxFailed {
		f.Failed = f.Failed[:MaxFailed]
	}
	return true
}

// SetRetry records that rev is tried again from attempt on.
func (f *Facts) SetRetry(rev string, attempt int) {
	f.Retries = slices.DeleteFunc(f.Retries, func(r Retry) bool { return r.Revision == rev })
	f.Retries = slices.Insert(f.Retries, 0, Retry{Revision: rev, Attempt: attempt})
	if len(f.Retries) > MaxRetries {
		f.Retries = f.Retries[:MaxRetries]
	}
}

func front(xs []string, x string, max int) []string {
	xs = slices.DeleteFunc(slices.Clone(xs), func(y string) bool { return y == x })
	xs = slices.Insert(xs, 0, x)
	if len(xs) > max {
		xs = xs[:max]
	}
	return xs
}

// Encode is f as the peer exchange carries it: JSON, at most MaxBytes,
// the oldest entries dropped first.
func (f Facts) Encode() []byte {
	f.Cordons = slices.Clone(f.Cordons)
	for {
		b, _ := json.Marshal(f)
		if len(b) <= MaxBytes || len(f.Healthy)+len(f.Failed)+len(f.Retries)+len(f.Cordons) == 0 {
			return b
		}
		// Drain marks go after the older revision facts (an uncordon
		// mark before a drain mark), a drain mark last of all.
		undrained := slices.IndexFunc(f.Cordons, func(c Cordon) bool { return !c.Drained })
		switch {
		case len(f.Failed) > 1:
			f.Failed = f.Failed[:len(f.Failed)-1]
		case len(f.Healthy) > 1:
			f.Healthy = f.Healthy[:len(f.Healthy)-1]
		case len(f.Retries) > 0:
			f.Retries = f.Retries[:len(f.Retries)-1]
		case undrained >= 0:
			f.Cordons = slices.Delete(f.Cordons, undrained, undrained+1)
		case len(f.Failed)+len(f.Healthy) > 0:
			f.Failed, f.Healthy = nil, nil
		default:
			f.Cordons = f.Cordons[:len(f.Cordons)-1]
		}
	}
}

// Decode reads what Encode wrote; a node sending more than MaxBytes or
// garbage tells nothing.
func Decode(b []byte) (Facts, bool) {
	var f Facts
	if len(b) == 0 || len(b) > MaxBytes || json.Unmarshal(b, &f) != nil {
		return Facts{}, false
	}
	f.Healthy = f.Healthy[:min(len(f.Healthy), MaxHealthy)]
	f.Failed = f.Failed[:min(len(f.Failed), MaxFailed)]
	f.Retries = f.Retries[:min(len(f.Retries), MaxRetries)]
	f.Cordons = f.Cordons[:min(len(f.Cordons), MaxCordons)]
	return f, true
}

// View is the facts of the nodes that told them, this node's included,
// by node name.
type View map[string]Facts

// Attempt is rev's attempt: the highest any node knows.
func (v View) Attempt(rev string) int {
	n := 0
	for _, f := range v {
		for _, r := range f.Retries {
			if r.Revision == rev {
				n = max(n, r.Attempt)
			}
		}
	}
	return n
}

// NodeFailure is a failure and the node it happened on.
type NodeFailure struct {
	Node string `json:"node"`
	Failure
}

// Failure returns rev's failure at its current attempt, on the first
// node by name that reports one.
func (v View) Failure(rev string) (NodeFailure, bool) {
	attempt := v.Attempt(rev)
	for _, n := range slices.Sorted(maps.Keys(v)) {
		for _, x := range v[n].Failed {
			if x.Revision == rev && x.Attempt >= attempt {
				return NodeFailure{Node: n, Failure: x}, true
			}
		}
	}
	return NodeFailure{}, false
}

// LastHealthy is the revision healthy on every node of nodes that told
// its facts, most recently, and not failed since: of the revisions every
// such node lists, the one whose oldest listing is the newest, ties by
// the sum of the listings, then by name. "" when there is none.
func (v View) LastHealthy(nodes []string) string {
	var told []string
	for _, n := range nodes {
		if _, ok := v[n]; ok {
			told = append(told, n)
		}
	}
	if len(told) == 0 {
		return ""
	}
	type rank struct{ worst, sum int }
	ranks := map[string]rank{}
	for _, rev := range v[told[0]].Healthy {
		if _, failed := v.Failure(rev); failed {
			continue
		}
		r, ok := rank{}, true
		for _, n := range told {
			i := slices.Index(v[n].Healthy, rev)
			if i < 0 {
				ok = false
				break
			}
			r.worst, r.sum = max(r.worst, i), r.sum+i
		}
		if ok {
			ranks[rev] = r
		}
	}
	best := ""
	for _, rev := range slices.Sorted(maps.Keys(ranks)) {
		if b, r := ranks[best], ranks[rev]; best == "" || r.worst < b.worst || r.worst == b.worst && r.sum < b.sum {
			best = rev
		}
	}
	return best
}

// Control is the newest fleet-wide command any node knows.
func (v View) Control() Control {
	var c Control
	for _, f := range v {
		if f.Control.Newer(c) {
			c = f.Control
		}
	}
	return c
}

// Why a revision is the target.
const (
	WhyHead      = "head"      // the newest good revision
	WhyPinned    = "pinned"    // berth pin
	WhySuspended = "suspended" // berth suspend: the applied one stays
	WhyReverted  = "reverted"  // the head failed: the last healthy one
	WhyFailed    = "failed"    // the head failed, nothing to go back to (or --auto-revert=false)
)

// Input is what a node decides from.
type Input struct {
	// Head is the newest revision that compiled; Applied the one the node
	// runs.
	Head, Applied string
	// Suspended and Pin are this node's operator state.
	Suspended bool
	Pin       string
	// AutoRevert: a failed head sends the node back to the last revision
	// healthy everywhere.
	AutoRevert bool
	// Nodes are the inventory's node names; View their facts.
	Nodes []string
	View  View
}

// Decision is the revision to run, and why.
type Decision struct {
	Target string `json:"target"`
	Why    string `json:"why"`
	// Failure is the head's failure, when it failed.
	Failure *NodeFailure `json:"failure,omitempty"`
}

// Decide picks the revision to run: a pin first, then a suspension (the
// applied revision stays), then the head unless it failed on any node at
// its current attempt, in which case the last revision healthy on every
// node.
func Decide(in Input) Decision {
	var failure *NodeFailure
	if in.Head != "" {
		if f, ok := in.View.Failure(in.Head); ok {
			failure = &f
		}
	}
	switch {
	case in.Pin != "":
		return Decision{Target: in.Pin, Why: WhyPinned, Failure: failure}
	case in.Suspended:
		return Decision{Target: in.Applied, Why: WhySuspended, Failure: failure}
	case failure == nil:
		return Decision{Target: in.Head, Why: WhyHead}
	}
	if in.AutoRevert {
		if h := in.View.LastHealthy(in.Nodes); h != "" && h != in.Head {
			return Decision{Target: h, Why: WhyReverted, Failure: failure}
		}
	}
	return Decision{Target: in.Head, Why: WhyFailed, Failure: failure}
}
