package webui

import (
	"net/http"
	"strings"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/plandiff"
	"berth.dev/berth/reconciler/gitops"
)

// nodeRow is one node on the fleet page.
type nodeRow struct {
	Name string
	This bool
	// Peer is how this node hears of it: "this node", "answers" or "no
	// answer" (the last readiness exchange).
	Peer      string
	Applied   string
	PlanHash  string
	Ready     int
	Total     int
	Converged bool
	// Health is the applied revision's health (reconciler.RevisionHealth:
	// healthy, progressing, failed); for a node of an older berth that
	// does not tell it, readiness: "ready" (applied, every pod ready) or
	// "converging"; "unknown" for a node that does not answer.
	Health    string
	LastError string
	Suspended bool
	Pinned    string
}

type fleetData struct {
	Nodes   []nodeRow
	Started bool
	// Recent are the newest revisions of the history.
	Recent []gitops.Record
}

func (u *UI) fleet(w http.ResponseWriter, r *http.Request) {
	g := u.opts.Loop.Status()
	st, started := u.status()
	d := fleetData{Started: started}
	health := func(answers, converged bool) string {
		switch {
		case !answers:
			return "unknown"
		case converged:
			return "ready"
		}
		return "converging"
	}
	var summaries []nodeRow
	if u.opts.Cluster != nil {
		for _, n := range u.opts.Cluster() {
			row := nodeRow{Name: n.Node, This: n.Node == u.opts.Node, Applied: n.Applied, PlanHash: n.PlanHash,
				Ready: n.Ready, Total: n.Total, Converged: n.Converged, Health: health(n.Answers, n.Converged), Peer: "no answer",
				Suspended: n.Suspended, Pinned: n.Pinned}
			if n.Answers && n.Health != "" {
				row.Health = n.Health
			}
			if n.Answers {
				row.Peer = "answers"
			}
			summaries = append(summaries, row)
		}
	}
	this := nodeRow{Name: u.opts.Node, This: true, Applied: g.Applied, PlanHash: g.PlanHash}
	for _, wl := range st.Workloads {
		if wl.Kind != "Job" && wl.Kind != "CronJob" {
			this.Ready += wl.Ready
			this.Total += wl.Total
		}
	}
	this.Converged = started && g.Applying == "" && this.Ready == this.Total && g.Applied != ""
	this.Health = health(true, this.Converged)
	if g.Health != nil && g.Health.Revision == g.Applied {
		this.Health = g.Health.State
	}
	this.Suspended, this.Pinned = g.Suspended, g.Pinned
	this.Peer = "this node"
	this.LastError = lastError(g, st.LastError)
	d.Nodes = append(d.Nodes, this)
	for _, s := range summaries {
		if !s.This {
			d.Nodes = append(d.Nodes, s)
		}
	}
	if h := u.opts.Loop.History(); h != nil {
		list := h.List()
		d.Recent = list[:min(len(list), 5)]
	}
	u.render(w, r, "fleet", "Fleet", "fleet", d)
}

// lastError is this node's newest error: a rejected head, a fetch or apply
// error, or the reconciler's.
func lastError(g gitops.Status, rec string) string {
	var parts []string
	if g.Rejected != nil {
		msg := "revision " + short(g.Rejected.Revision) + " rejected"
		for _, d := range g.Rejected.Diagnostics {
			if d.Severity == diag.Error {
				msg += ": " + d.String()
				break
			}
		}
		parts = append(parts, msg)
	}
	if g.LastError != "" {
		parts = append(parts, g.LastError)
	}
	if rec != "" {
		parts = append(parts, rec)
	}
	return strings.Join(parts, "; ")
}

func (u *UI) history(w http.ResponseWriter, r *http.Request) {
	var list []gitops.Record
	if h := u.opts.Loop.History(); h != nil {
		list = h.List()
	}
	p, lo, hi := paginate("/ui/history", r.URL.Query(), len(list))
	u.render(w, r, "history", "Revision history", "history", struct {
		Records []gitops.Record
		Pager   pager
		Applied string
	}{list[lo:hi], p, u.opts.Loop.Status().Applied})
}

// diffView is a plan diff as a page shows it: its changes (one page of
// them) and the Markdown `berth plan --base -o markdown` prints.
type diffView struct {
	Diff      *plandiff.Diff
	Changes   []plandiff.Change
	Pager     pager
	Markdown  string
	Truncated int
}

func (u *UI) diffView(r *http.Request, path string, rec gitops.Record) *diffView {
	if rec.Change == nil {
		return nil
	}
	var md strings.Builder
	_ = plandiff.Markdown{MaxFields: 20}.Render(&md, rec.Change)
	p, lo, hi := paginate(path, r.URL.Query(), len(rec.Change.Changes))
	return &diffView{Diff: rec.Change, Changes: rec.Change.Changes[lo:hi], Pager: p, Markdown: md.String(), Truncated: rec.TruncatedChanges}
}

func (u *UI) revision(w http.ResponseWriter, r *http.Request) {
	rev := r.PathValue("rev")
	h := u.opts.Loop.History()
	if h == nil {
		u.notFound(w, r, "revision "+rev+": this daemon keeps no history")
		return
	}
	rec, ok := h.Get(rev)
	if !ok {
		u.notFound(w, r, "revision "+rev+" is not in this node's history (it keeps the last 50 revisions it fetched)")
		return
	}
	u.render(w, r, "revision", "Revision "+short(rec.Revision), "history", struct {
		Record gitops.Record
		Diff   *diffView
	}{rec, u.diffView(r, "/ui/revisions/"+rev, rec)})
}

// planData is the plan diff page: the applied revision against the branch
// head.
type planData struct {
	Head, Applied string
	// State: "same" (the node runs the head), "pending" (the head
	// compiled and is on its way), "rejected" (the head fails lint or
	// plan; its diagnostics), or "unknown" (no history of the head).
	State    string
	Rejected *gitops.Rejection
	Record   *gitops.Record
	Diff     *diffView
}

func (u *UI) planDiff(w http.ResponseWriter, r *http.Request) {
	g := u.opts.Loop.Status()
	d := planData{Head: g.Head, Applied: g.Applied, State: "unknown"}
	var rec gitops.Record
	ok := false
	if h := u.opts.Loop.History(); h != nil && g.Head != "" {
		rec, ok = h.Get(g.Head)
	}
	switch {
	case g.Rejected != nil && g.Rejected.Revision == g.Head:
		d.State, d.Rejected = "rejected", g.Rejected
	case g.Head != "" && g.Head == g.Applied:
		d.State = "same"
	case ok:
		d.State = "pending"
	}
	if ok {
		d.Record = &rec
		d.Diff = u.diffView(r, "/ui/plan", rec)
	}
	u.render(w, r, "plan", "Plan diff", "plan", d)
}
