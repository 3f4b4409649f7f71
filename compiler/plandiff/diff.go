// Package plandiff compares two plans the way users know from terraform
// plan, Argo CD and Flux: per repository object (workloads, Services,
// ConfigMaps, Secrets, Nodes) what is created, updated (with the
// field-level difference) and deleted, how each rollout will proceed,
// and a summary line that counts those objects. What follows from them
// on the nodes (pods created, replaced, updated in place, deleted) is
// one line per node, never a line per pod, and not counted. It is pure;
// renderers print the result as text, JSON or Markdown.
package plandiff

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"berth.dev/berth/compiler/disruption"
	"berth.dev/berth/compiler/plan"
)

// FormatVersion is the version of the diff's JSON document.
const FormatVersion = "berth.dev/plandiff/v2"

// Actions of a change.
const (
	Create = "create"
	Update = "update"
	Delete = "delete"
)

// Diff is the difference from a base plan to a new one.
type Diff struct {
	FormatVersion string `json:"formatVersion"`
	Base          string `json:"base"`
	Revision      string `json:"revision"`
	// Changes are the repository objects that change.
	Changes []Change `json:"changes"`
	// Nodes are what the changes do to each node's pods, by node name.
	Nodes []NodePods `json:"nodes,omitempty"`
	// Holds are the PodDisruptionBudgets that hold pods moving off a
	// node (drained, removed, or a new placement).
	Holds   []disruption.Hold `json:"holds,omitempty"`
	Summary Summary           `json:"summary"`
}

// Empty reports whether nothing changes, objects or pods.
func (d *Diff) Empty() bool { return d.Summary.Empty() && len(d.Nodes) == 0 }

// NodePods is what a plan change does to one node's pods: derived from
// the object changes, counted apart from them.
type NodePods struct {
	Node string `json:"node"`
	// Create and Delete count pods that come and go (a new revision's pods
	// have new names); Replace counts pods whose spec changed under the
	// same name (restarted); Update pods whose configMap or secret files
	// are rewritten in place.
	Create  int `json:"create,omitempty"`
	Replace int `json:"replace,omitempty"`
	Update  int `json:"update,omitempty"`
	Delete  int `json:"delete,omitempty"`
	// Workloads are the owners of those pods ("Deployment default/web"),
	// sorted.
	Workloads []string `json:"workloads"`
}

// Summary counts the object changes by action.
type Summary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
}

// Empty reports whether nothing changes.
func (s Summary) Empty() bool { return s.Add+s.Change+s.Destroy == 0 }

// String is terraform's summary line.
func (s Summary) String() string {
	return fmt.Sprintf("Plan: %d to add, %d to change, %d to destroy.", s.Add, s.Change, s.Destroy)
}

// Change is one repository object that is created, updated or deleted.
type Change struct {
	Action    string `json:"action"`
	Kind      string `json:"kind"` // Node, Service, ConfigMap, Secret, or a workload kind
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Rollout says how a workload moves to its new revision.
	Rollout string  `json:"rollout,omitempty"`
	Fields  []Field `json:"fields,omitempty"`
	// Source says what rendered the object (a kustomize overlay, a chart,
	// a HelmRelease), when it was rendered; see SetSources.
	Source string `json:"source,omitempty"`
}

// SetSources names, for each change, what rendered its object: sources
// maps "Kind namespace/name" (as Object) to a description such as
// "chart charts/web".
func (d *Diff) SetSources(sources map[string]string) {
	for i := range d.Changes {
		if s, ok := sources[d.Changes[i].Object()]; ok {
			d.Changes[i].Source = s
		}
	}
}

// Object is "Kind namespace/name" (or "Kind name").
func (c *Change) Object() string {
	if c.Namespace == "" {
		return c.Kind + " " + c.Name
	}
	return c.Kind + " " + c.Namespace + "/" + c.Name
}

// Field is one changed leaf. Old or New is "" when the field is absent
// on that side; values are JSON, with secrets redacted.
type Field struct {
	Path string `json:"path"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
}

// Compare diffs base against head. Either may be nil (an empty plan).
func Compare(base, head *plan.Plan) *Diff {
	if base == nil {
		base = &plan.Plan{}
	}
	if head == nil {
		head = &plan.Plan{}
	}
	d := &Diff{FormatVersion: FormatVersion, Base: base.Revision, Revision: head.Revision, Changes: []Change{}}

	// Nodes.
	bn := index(base.Nodes, func(n plan.NodePlan) string { return n.Node.Name })
	hn := index(head.Nodes, func(n plan.NodePlan) string { return n.Node.Name })
	compareKeyed(d, bn, hn, func(n *plan.NodePlan) Change { return Change{Kind: "Node", Name: n.Node.Name} },
		func(a, b *plan.NodePlan) *Change {
			if reflect.DeepEqual(a.Node, b.Node) {
				return nil
			}
			fs := fields(a.Node, b.Node)
			if len(fs) == 0 {
				return nil
			}
			return &Change{Fields: fs}
		})

	// Workloads. A new revision of a controller renames its pods, so the
	// pods show as deleted and created; the workload shows what changed
	// in its template, from one pod of each revision.
	bw := index(base.Workloads, func(w plan.Workload) string { return w.Key() })
	hw := index(head.Workloads, func(w plan.Workload) string { return w.Key() })
	bSample, hSample := samples(base), samples(head)
	compareKeyed(d, bw, hw, func(w *plan.Workload) Change { return Change{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name} },
		func(a, b *plan.Workload) *Change {
			var fs []Field
			if !reflect.DeepEqual(a, b) {
				fs = fields(a, b)
			}
			x, y := bSample[a.Key()], hSample[b.Key()]
			// A bare Pod has no revision: its pod's hash says it changed.
			newTemplate := a.Revision != b.Revision || a.Kind == "Pod" && x != nil && y != nil && x.Hash != y.Hash
			if len(fs) == 0 && !newTemplate {
				return nil
			}
			c := &Change{Fields: fs}
			if newTemplate {
				c.Rollout = Rollout(b)
				if x != nil && y != nil {
					c.Fields = append(c.Fields, templateFields(x, y)...)
				}
			}
			if lost := claimsDeleted(a, b); lost != "" {
				c.Rollout = strings.TrimPrefix(c.Rollout+"; "+lost, "; ")
			}
			return c
		})

	// Services, without their endpoints: those follow from the selector
	// and the pods, which show per node.
	bs := index(base.Services, func(s plan.Service) string { return s.Key() })
	hs := index(head.Services, func(s plan.Service) string { return s.Key() })
	compareKeyed(d, bs, hs, func(s *plan.Service) Change { return Change{Kind: "Service", Namespace: s.Namespace, Name: s.Name} },
		func(a, b *plan.Service) *Change {
			x, y := *a, *b
			x.Endpoints, y.Endpoints = nil, nil
			if reflect.DeepEqual(x, y) {
				return nil
			}
			fs := fields(x, y)
			if len(fs) == 0 {
				return nil
			}
			return &Change{Fields: fs}
		})

	// ConfigMaps and Secrets: their content, once (secrets redacted).
	for _, t := range []struct {
		kind       string
		base, head []plan.ConfigData
	}{{"ConfigMap", base.ConfigMaps, head.ConfigMaps}, {"Secret", base.Secrets, head.Secrets}} {
		bc := index(t.base, func(c plan.ConfigData) string { return c.Key() })
		hc := index(t.head, func(c plan.ConfigData) string { return c.Key() })
		compareKeyed(d, bc, hc, func(c *plan.ConfigData) Change { return Change{Kind: t.kind, Namespace: c.Namespace, Name: c.Name} },
			func(a, b *plan.ConfigData) *Change {
				if a.Hash == b.Hash && a.Type == b.Type {
					return nil
				}
				return &Change{Fields: fields(a, b)}
			})
	}

	// PodDisruptionBudgets, without what they count: that follows from
	// the pods.
	bb := index(base.DisruptionBudgets, func(b plan.DisruptionBudget) string { return b.Key() })
	hb := index(head.DisruptionBudgets, func(b plan.DisruptionBudget) string { return b.Key() })
	compareKeyed(d, bb, hb, func(b *plan.DisruptionBudget) Change {
		return Change{Kind: "PodDisruptionBudget", Namespace: b.Namespace, Name: b.Name}
	}, func(a, b *plan.DisruptionBudget) *Change {
		x, y := *a, *b
		x.ExpectedPods, x.DesiredHealthy, y.ExpectedPods, y.DesiredHealthy = 0, 0, 0, 0
		if fs := fields(x, y); len(fs) > 0 {
			return &Change{Fields: fs}
		}
		return nil
	})

	d.Nodes = nodePods(bn, hn)
	warnClaimMoves(d, base, head)
	d.Holds = disruption.Holds(base, head)

	slices.SortStableFunc(d.Changes, func(a, b Change) int {
		return cmp.Or(cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)), strings.Compare(a.Kind, b.Kind),
			strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name), cmp.Compare(actionRank(a.Action), actionRank(b.Action)))
	})
	for _, c := range d.Changes {
		switch c.Action {
		case Create:
			d.Summary.Add++
		case Update:
			d.Summary.Change++
		case Delete:
			d.Summary.Destroy++
		}
	}
	return d
}

// warnClaimMoves says, on its workload's change (an update when the
// workload itself did not change), that an ordinal whose claims berth's
// local provisioner backs moves to another node: its claims start empty
// there, and the data stays on the node it leaves.
func warnClaimMoves(d *Diff, base, head *plan.Plan) {
	where := map[string]string{} // pod key -> base node, for pods with provisioned claims
	for _, n := range base.Nodes {
		for i := range n.Pods {
			if p := &n.Pods[i]; p.Owner.Kind == "StatefulSet" && provisioned(p) {
				where[p.Key()] = n.Node.Name
			}
		}
	}
	notes := map[string][]string{} // workload key -> notes
	var order []string
	for _, n := range head.Nodes {
		for i := range n.Pods {
			p := &n.Pods[i]
			from, ok := where[p.Key()]
			if !ok || from == n.Node.Name || !provisioned(p) {
				continue
			}
			k := "StatefulSet/" + p.Namespace + "/" + p.Owner.Name
			if notes[k] == nil {
				order = append(order, k)
			}
			notes[k] = append(notes[k], fmt.Sprintf("%s moves from %s to %s: its berth-local claims start empty there (the data stays on %s)", p.Name, from, n.Node.Name, from))
		}
	}
	for _, k := range order {
		note := strings.Join(notes[k], "; ")
		i := slices.IndexFunc(d.Changes, func(c Change) bool { return c.Action == Update && c.Kind+"/"+c.Namespace+"/"+c.Name == k })
		if i < 0 {
			ns, name, _ := strings.Cut(strings.TrimPrefix(k, "StatefulSet/"), "/")
			d.Changes = append(d.Changes, Change{Action: Update, Kind: "StatefulSet", Namespace: ns, Name: name})
			i = len(d.Changes) - 1
		}
		d.Changes[i].Rollout = strings.TrimPrefix(d.Changes[i].Rollout+"; "+note, "; ")
	}
}

// provisioned says whether p mounts a claim of berth's local provisioner.
func provisioned(p *plan.Pod) bool {
	return slices.ContainsFunc(p.Spec.Volumes, func(v plan.Volume) bool { return v.LocalClaim != "" })
}

// nodePods compares each node's pods by key and hashes (no field diff:
// the objects' changes say what changed), and attributes them to their
// workloads. A pod that moves is deleted on one node, created on another.
func nodePods(base, head map[string]*plan.NodePlan) []NodePods {
	names := map[string]bool{}
	for n := range base {
		names[n] = true
	}
	for n := range head {
		names[n] = true
	}
	var out []NodePods
	for _, node := range slices.Sorted(maps.Keys(names)) {
		var bp, hp []plan.Pod
		if n := base[node]; n != nil {
			bp = n.Pods
		}
		if n := head[node]; n != nil {
			hp = n.Pods
		}
		np := NodePods{Node: node}
		owners := map[string]bool{}
		touch := func(p *plan.Pod, count *int) {
			*count++
			owners[p.Owner.Kind+" "+p.Namespace+"/"+p.Owner.Name] = true
		}
		old := make(map[string]*plan.Pod, len(bp))
		for i := range bp {
			old[bp[i].Key()] = &bp[i]
		}
		for i := range hp {
			p := &hp[i]
			o, ok := old[p.Key()]
			switch {
			case !ok:
				touch(p, &np.Create)
			case o.Hash != p.Hash:
				touch(p, &np.Replace)
			case o.ConfigHash != p.ConfigHash:
				touch(p, &np.Update)
			}
			delete(old, p.Key())
		}
		for _, p := range old {
			touch(p, &np.Delete)
		}
		if len(owners) > 0 {
			np.Workloads = slices.Sorted(maps.Keys(owners))
			out = append(out, np)
		}
	}
	return out
}

// samples maps each workload key to its first pod (by name).
func samples(p *plan.Plan) map[string]*plan.Pod {
	out := map[string]*plan.Pod{}
	for i := range p.Nodes {
		for j := range p.Nodes[i].Pods {
			pod := &p.Nodes[i].Pods[j]
			k := pod.Owner.Kind + "/" + pod.Namespace + "/" + pod.Owner.Name
			if cur := out[k]; cur == nil || pod.Name < cur.Name {
				out[k] = pod
			}
		}
	}
	return out
}

// templateFields diffs the specs and labels of two pods of a workload,
// with what differs between any two replicas (the revision label) left
// out; replicas share their spec (the pod name is a fieldRef).
func templateFields(a, b *plan.Pod) []Field {
	type template struct {
		Labels map[string]string `json:"labels,omitempty"`
		Spec   plan.PodSpec      `json:"spec"`
	}
	norm := func(p *plan.Pod) template {
		labels := map[string]string{}
		for k, v := range p.Labels {
			if v != p.Revision {
				labels[k] = v
			}
		}
		return template{Labels: labels, Spec: p.Spec}
	}
	fs := fields(norm(a), norm(b))
	for i := range fs {
		fs[i].Path = "template." + fs[i].Path
	}
	return fs
}

func kindRank(k string) int {
	switch k {
	case "Node":
		return 0
	case "Service":
		return 2
	case "ConfigMap", "Secret":
		return 3
	}
	return 1
}

func actionRank(a string) int {
	switch a {
	case Delete:
		return 0
	case Update:
		return 1
	}
	return 2
}

func index[T any](xs []T, key func(T) string) map[string]*T {
	m := make(map[string]*T, len(xs))
	for i := range xs {
		m[key(xs[i])] = &xs[i]
	}
	return m
}

// compareKeyed adds a create for every key only in head, a delete for
// every key only in base, and the update that update returns (nil when
// equal) for keys in both.
func compareKeyed[T any](d *Diff, base, head map[string]*T, ident func(*T) Change, update func(a, b *T) *Change) {
	for k, b := range base {
		if _, ok := head[k]; !ok {
			c := ident(b)
			c.Action = Delete
			if w, isW := any(b).(*plan.Workload); isW {
				c.Rollout = claimsDeleted(w, nil)
			}
			d.Changes = append(d.Changes, c)
		}
	}
	for k, h := range head {
		b, ok := base[k]
		if !ok {
			c := ident(h)
			c.Action = Create
			if w, isW := any(h).(*plan.Workload); isW {
				c.Rollout = Rollout(w)
			}
			d.Changes = append(d.Changes, c)
			continue
		}
		u := update(b, h)
		if u == nil {
			continue
		}
		c := ident(h)
		c.Action = Update
		c.Fields, c.Rollout = u.Fields, u.Rollout
		d.Changes = append(d.Changes, c)
	}
}

// Rollout describes how w reaches its revision.
func Rollout(w *plan.Workload) string {
	s := w.Strategy
	n := w.Replicas
	switch w.Kind {
	case "Pod":
		return "replaced when its spec changes"
	case "Job":
		return fmt.Sprintf("run to completion: %d completions, parallelism %d", w.Job.Completions, w.Job.Parallelism)
	case "CronJob":
		return fmt.Sprintf("schedule %q: new runs use the new template", w.CronJob.Schedule)
	case "StatefulSet":
		return statefulSetRollout(w)
	case "DaemonSet":
		if s.Type == "OnDelete" {
			return fmt.Sprintf("on delete: %s replaced as they are deleted", pods(n))
		}
		return fmt.Sprintf("rolling %s, one node at a time (maxUnavailable %d, maxSurge %d)", pods(n), s.MaxUnavailable, s.MaxSurge)
	}
	switch s.Type {
	case "Recreate":
		return fmt.Sprintf("recreate %s: all old pods stop before the new ones start", pods(n))
	case "RollingUpdate":
		return fmt.Sprintf("rolling %s, maxSurge %d, maxUnavailable %d", pods(n), s.MaxSurge, s.MaxUnavailable)
	case "BlueGreen":
		bg := s.BlueGreen
		promote := "after `berth promote`"
		if bg.AutoPromotionEnabled {
			promote = "when ready"
			if bg.AutoPromotionSeconds > 0 {
				promote = fmt.Sprintf("%ds after ready", bg.AutoPromotionSeconds)
			}
		}
		out := fmt.Sprintf("blue/green: %s beside the old, switch %s %s, old kept %ds", pods(n), bg.ActiveService, promote, bg.ScaleDownDelaySeconds)
		if bg.PreviewService != "" {
			out += ", preview on " + bg.PreviewService
		}
		return out
	case "Canary":
		var steps []string
		for _, st := range s.Canary.Steps {
			switch {
			case st.SetWeight != nil:
				steps = append(steps, fmt.Sprintf("setWeight %d", *st.SetWeight))
			case st.Pause && st.PauseSeconds > 0:
				steps = append(steps, fmt.Sprintf("pause %ds", st.PauseSeconds))
			case st.Pause:
				steps = append(steps, "pause until promoted")
			}
		}
		return fmt.Sprintf("canary: %s, steps %s", pods(n), strings.Join(append(steps, "promote"), ", "))
	}
	return fmt.Sprintf("replace %s", pods(n))
}

func pods(n int32) string {
	if n == 1 {
		return "1 pod"
	}
	return fmt.Sprintf("%d pods", n)
}

// claimsDeleted warns of the claim data a StatefulSet change deletes:
// all of it when the set goes (head nil) under whenDeleted: Delete, the
// claims of the ordinals it scales away under whenScaled: Delete; "" when
// none.
func claimsDeleted(base, head *plan.Workload) string {
	if base.Kind != "StatefulSet" {
		return ""
	}
	if head == nil {
		if cr := base.ClaimRetention; cr != nil && cr.WhenDeleted == "Delete" {
			return "deletes its ordinals' claims and their data (persistentVolumeClaimRetentionPolicy.whenDeleted: Delete)"
		}
		return ""
	}
	cr := head.ClaimRetention
	from, to := head.Strategy.OrdinalsStart+head.Replicas, base.Strategy.OrdinalsStart+base.Replicas
	if cr == nil || cr.WhenScaled != "Delete" || to <= from || head.Strategy.OrdinalsStart != base.Strategy.OrdinalsStart {
		return ""
	}
	return fmt.Sprintf("deletes the claims of %s-%d to %s-%d and their data (persistentVolumeClaimRetentionPolicy.whenScaled: Delete)", head.Name, from, head.Name, to-1)
}

// claimsFate says when the nodes delete a StatefulSet's claims ("":
// never, the default).
func claimsFate(cr *plan.ClaimRetention) string {
	switch {
	case cr == nil:
		return ""
	case cr.WhenScaled == "Delete" && cr.WhenDeleted == "Delete":
		return "; claims deleted with their ordinal when scaled down, and with the set"
	case cr.WhenScaled == "Delete":
		return "; claims deleted with their ordinal when scaled down"
	}
	return "; claims deleted with the set"
}

// statefulSetRollout says in which order a StatefulSet's ordinals start
// and are updated.
func statefulSetRollout(w *plan.Workload) string {
	s := w.Strategy
	first, last := fmt.Sprintf("%s-%d", w.Name, s.OrdinalsStart), fmt.Sprintf("%s-%d", w.Name, s.OrdinalsStart+max(w.Replicas-1, 0))
	start := "created " + first + " to " + last + " one at a time, each once the one before is ready; removed in reverse"
	if s.PodManagementPolicy == "Parallel" {
		start = "created and removed in parallel"
	}
	start += claimsFate(w.ClaimRetention)
	if s.Type == "OnDelete" {
		return fmt.Sprintf("ordinals %s; on delete: replaced as they are deleted", start)
	}
	upd := fmt.Sprintf("updated from %s down to %s-%d", last, w.Name, s.OrdinalsStart+s.Partition)
	if s.Partition > 0 {
		upd += fmt.Sprintf(" (partition %d keeps the lower ordinals)", s.Partition)
	}
	upd += fmt.Sprintf(", %d at a time", s.MaxUnavailable)
	if s.MinReadySeconds > 0 {
		upd += fmt.Sprintf(", each available %ds before the next", s.MinReadySeconds)
	}
	return "ordinals " + start + "; " + upd
}
