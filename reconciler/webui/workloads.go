package webui

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/reconciler"
)

// workloadKey is kind/namespace/name, the reconciler's workload key.
func workloadKey(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

// nodeCount is how many pods of a workload the plan places on a node.
type nodeCount struct {
	Node  string
	Count int
}

// workloadRow is one workload on the workloads page.
type workloadRow struct {
	reconciler.WorkloadStatus
	// Pods is the plan's pod count on every node; Nodes where they are.
	Pods  int
	Nodes []nodeCount
	// Restarts sums this node's pods' container restarts.
	Restarts  int
	LastEvent *reconciler.Event
	Labels    map[string]string
}

// Failed reports a rollout that failed or aborted, or a failed Job.
func (w workloadRow) Failed() bool {
	return w.Phase == reconciler.PhaseFailed || w.Phase == reconciler.PhaseAborted
}

// index is what several pages derive from the plan and the node, built
// once per request in one pass over each list.
type index struct {
	pods     map[string][]*plan.Pod // by workload key, on every node
	podNode  map[string]string      // pod key -> node
	podByKey map[string]*plan.Pod
	observed map[string][]*nodes.PodStatus // this node's pods by workload key
	obsByKey map[string]*nodes.PodStatus
	last     map[string]*reconciler.Event // newest event by workload key
	labels   map[string]map[string]string // a workload's pod labels
}

func newIndex(p *plan.Plan, obs nodes.NodeState, st reconciler.Status) *index {
	ix := &index{pods: map[string][]*plan.Pod{}, podNode: map[string]string{}, podByKey: map[string]*plan.Pod{},
		observed: map[string][]*nodes.PodStatus{}, obsByKey: map[string]*nodes.PodStatus{},
		last: map[string]*reconciler.Event{}, labels: map[string]map[string]string{}}
	if p != nil {
		for i := range p.Nodes {
			np := &p.Nodes[i]
			for j := range np.Pods {
				pod := &np.Pods[j]
				k := workloadKey(pod.Owner.Kind, pod.Namespace, pod.Owner.Name)
				ix.pods[k] = append(ix.pods[k], pod)
				ix.podNode[pod.Key()] = np.Node.Name
				ix.podByKey[pod.Key()] = pod
				if _, ok := ix.labels[k]; !ok {
					ix.labels[k] = pod.Labels
				}
			}
		}
		for i := range p.Workloads {
			w := &p.Workloads[i]
			if w.Template != nil {
				ix.labels[w.Key()] = w.Template.Labels
			}
		}
	}
	for i := range obs.Pods {
		o := &obs.Pods[i]
		k := workloadKey(o.Owner.Kind, o.Namespace, o.Owner.Name)
		ix.observed[k] = append(ix.observed[k], o)
		ix.obsByKey[o.Key()] = o
	}
	for i := range st.Events {
		e := &st.Events[i]
		if old := ix.last[e.Object]; old == nil || !e.Time.Before(old.Time) {
			ix.last[e.Object] = e
		}
	}
	return ix
}

func (ix *index) row(ws reconciler.WorkloadStatus) workloadRow {
	k := workloadKey(ws.Kind, ws.Namespace, ws.Name)
	row := workloadRow{WorkloadStatus: ws, LastEvent: ix.last[k], Labels: ix.labels[k]}
	counts := map[string]int{}
	for _, p := range ix.pods[k] {
		counts[ix.podNode[p.Key()]]++
		row.Pods++
	}
	for _, n := range slices.Sorted(maps.Keys(counts)) {
		row.Nodes = append(row.Nodes, nodeCount{n, counts[n]})
	}
	for _, o := range ix.observed[k] {
		row.Restarts += o.Restarts()
	}
	return row
}

// filter is the workloads page's query: namespace, label selector, kind
// and a name substring.
type filter struct {
	Namespace, Label, Kind, Name string
	selector                     labels.Selector
	// Error says why the label selector does not parse.
	Error string
}

func parseFilter(q url.Values) filter {
	f := filter{Namespace: q.Get("ns"), Label: strings.TrimSpace(q.Get("label")), Kind: q.Get("kind"), Name: strings.TrimSpace(q.Get("name"))}
	if f.Label != "" {
		sel, err := labels.Parse(f.Label)
		if err != nil {
			f.Error = err.Error()
		} else {
			f.selector = sel
		}
	}
	return f
}

func (f *filter) match(ws reconciler.WorkloadStatus, lbls map[string]string) bool {
	if (f.Namespace != "" && ws.Namespace != f.Namespace) || (f.Kind != "" && ws.Kind != f.Kind) ||
		(f.Name != "" && !strings.Contains(ws.Name, f.Name)) {
		return false
	}
	return f.selector == nil || f.selector.Matches(labels.Set(lbls))
}

// workloadStatuses is the reconciler's view of every workload, or the
// plan's before the node started.
func (u *UI) workloadStatuses(p *plan.Plan, st reconciler.Status, started bool) []reconciler.WorkloadStatus {
	if started {
		return st.Workloads
	}
	var out []reconciler.WorkloadStatus
	if p != nil {
		for _, w := range p.Workloads {
			out = append(out, reconciler.WorkloadStatus{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name, Revision: w.Revision, Strategy: w.Strategy.Type})
		}
	}
	return out
}

func (u *UI) workloads(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := parseFilter(q)
	p := u.opts.Loop.Plan()
	st, started := u.status()
	ix := newIndex(p, u.observe(r.Context()), st)
	all := u.workloadStatuses(p, st, started)
	namespaces, kinds := map[string]bool{}, map[string]bool{}
	var rows []reconciler.WorkloadStatus
	for _, ws := range all {
		namespaces[ws.Namespace], kinds[ws.Kind] = true, true
		if f.Error == "" && f.match(ws, ix.labels[workloadKey(ws.Kind, ws.Namespace, ws.Name)]) {
			rows = append(rows, ws)
		}
	}
	pg, lo, hi := paginate("/ui/workloads", q, len(rows))
	out := make([]workloadRow, 0, hi-lo)
	for _, ws := range rows[lo:hi] {
		out = append(out, ix.row(ws))
	}
	if f.Error != "" {
		w.WriteHeader(http.StatusBadRequest)
	}
	u.render(w, r, "workloads", "Workloads", "workloads", struct {
		Filter     filter
		Rows       []workloadRow
		Pager      pager
		All        int
		Namespaces []string
		Kinds      []string
		Started    bool
	}{f, out, pg, len(all), slices.Sorted(maps.Keys(namespaces)), slices.Sorted(maps.Keys(kinds)), started})
}

// podRow is one pod of a workload, on any node.
type podRow struct {
	Namespace, Name, Node, Revision string
	Local                           bool
	// Observed is this node's view of a local pod (nil elsewhere, or
	// before it is created).
	Observed *nodes.PodStatus
	// Leaving: a pod of an older revision, still running here.
	Leaving bool
}

func (u *UI) workload(w http.ResponseWriter, r *http.Request) {
	kind, ns, name := r.PathValue("kind"), r.PathValue("namespace"), r.PathValue("name")
	k := workloadKey(kind, ns, name)
	p := u.opts.Loop.Plan()
	st, started := u.status()
	var ws *reconciler.WorkloadStatus
	all := u.workloadStatuses(p, st, started)
	for i := range all {
		if workloadKey(all[i].Kind, all[i].Namespace, all[i].Name) == k {
			ws = &all[i]
		}
	}
	if ws == nil {
		u.notFound(w, r, "workload "+kind+" "+ns+"/"+name+" is not in the plan this node runs")
		return
	}
	ix := newIndex(p, u.observe(r.Context()), st)
	var pods []podRow
	inPlan := map[string]bool{}
	for _, pp := range ix.pods[k] {
		node := ix.podNode[pp.Key()]
		row := podRow{Namespace: pp.Namespace, Name: pp.Name, Node: node, Revision: pp.Revision, Local: node == u.opts.Node}
		if row.Local {
			row.Observed = ix.obsByKey[pp.Key()]
		}
		inPlan[pp.Key()] = true
		pods = append(pods, row)
	}
	for _, o := range ix.observed[k] {
		if !inPlan[o.Key()] {
			pods = append(pods, podRow{Namespace: o.Namespace, Name: o.Name, Node: u.opts.Node, Revision: o.Revision, Local: true, Observed: o, Leaving: true})
		}
	}
	sort.SliceStable(pods, func(i, j int) bool { return pods[i].Node < pods[j].Node })
	var events []reconciler.Event
	for _, e := range st.Events {
		if e.Object == k {
			events = append(events, e)
		}
	}
	slices.Reverse(events)
	var wl *plan.Workload
	if p != nil {
		for i := range p.Workloads {
			if p.Workloads[i].Key() == k {
				wl = &p.Workloads[i]
			}
		}
	}
	u.render(w, r, "workload", kind+" "+ns+"/"+name, "workloads", struct {
		Row    workloadRow
		Plan   *plan.Workload
		Pods   []podRow
		Events []reconciler.Event
		Source string
	}{ix.row(*ws), wl, pods, events, u.sources.locate(u.opts.Loop.Status().Applied, kind, ns, name)})
}
