// Package plandiff compares two plans the way users know from terraform
// plan and helm diff: per object and per node, what is created, updated
// (with the field-level difference, and whether pods restart) and
// deleted, how each rollout will proceed, and a summary line. It is pure;
// renderers print the result as text, JSON or Markdown.
package plandiff

import (
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"berth.dev/berth/compiler/plan"
)

// FormatVersion is the version of the diff's JSON document.
const FormatVersion = "berth.dev/plandiff/v1"

// Actions of a change.
const (
	Create = "create"
	Update = "update"
	Delete = "delete"
)

// Diff is the difference from a base plan to a new one.
type Diff struct {
	FormatVersion string   `json:"formatVersion"`
	Base          string   `json:"base"`
	Revision      string   `json:"revision"`
	Changes       []Change `json:"changes"`
	Summary       Summary  `json:"summary"`
}

// Summary counts the changes by action.
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

// Change is one object that is created, updated or deleted.
type Change struct {
	Action    string `json:"action"`
	Kind      string `json:"kind"` // Node, Service, a workload kind, or Pod
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Node is set for pods: the node whose part of the plan changes.
	Node string `json:"node,omitempty"`
	// Restart is set on a pod update that replaces the pod; a pod update
	// without it is written in place (config files, /etc/hosts).
	Restart bool `json:"restart,omitempty"`
	// Rollout says how a workload moves to its new revision.
	Rollout string  `json:"rollout,omitempty"`
	Fields  []Field `json:"fields,omitempty"`
	// Source says what rendered the object (a kustomize overlay, a chart,
	// a HelmRelease), when it was rendered; see SetSources.
	Source string `json:"source,omitempty"`
	// owner is a pod's controller ("Kind namespace/name"): a pod comes
	// from where its controller does.
	owner string
}

// SetSources names, for each change, what rendered its object: sources
// maps "Kind namespace/name" (as Object) to a description such as
// "chart charts/web". A pod takes its controller's.
func (d *Diff) SetSources(sources map[string]string) {
	for i := range d.Changes {
		c := &d.Changes[i]
		if s, ok := sources[c.Object()]; ok {
			c.Source = s
		} else if s, ok := sources[c.owner]; ok && c.owner != "" {
			c.Source = s
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
			if reflect.DeepEqual(a, b) {
				return nil
			}
			fs := fields(a, b)
			if len(fs) == 0 {
				return nil
			}
			c := &Change{Fields: fs}
			if a.Revision != b.Revision {
				c.Rollout = Rollout(b)
				if x, y := bSample[a.Key()], hSample[b.Key()]; x != nil && y != nil {
					c.Fields = append(c.Fields, templateFields(x, y)...)
				}
			}
			return c
		})

	// Services.
	bs := index(base.Services, func(s plan.Service) string { return s.Key() })
	hs := index(head.Services, func(s plan.Service) string { return s.Key() })
	compareKeyed(d, bs, hs, func(s *plan.Service) Change { return Change{Kind: "Service", Namespace: s.Namespace, Name: s.Name} },
		func(a, b *plan.Service) *Change {
			if reflect.DeepEqual(a, b) {
				return nil
			}
			fs := fields(a, b)
			if len(fs) == 0 {
				return nil
			}
			return &Change{Fields: fs}
		})

	// Pods, per node: a pod that moves is deleted on one node and created
	// on the other.
	names := map[string]bool{}
	for n := range bn {
		names[n] = true
	}
	for n := range hn {
		names[n] = true
	}
	for _, node := range sortedKeys(names) {
		var bp, hp map[string]*plan.Pod
		if n := bn[node]; n != nil {
			bp = index(n.Pods, func(p plan.Pod) string { return p.Key() })
		}
		if n := hn[node]; n != nil {
			hp = index(n.Pods, func(p plan.Pod) string { return p.Key() })
		}
		compareKeyed(d, bp, hp, func(p *plan.Pod) Change {
			c := Change{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, Node: node}
			if p.Owner.Kind != "" {
				c.owner = p.Owner.Kind + " " + p.Namespace + "/" + p.Owner.Name
			}
			return c
		},
			func(a, b *plan.Pod) *Change {
				if a.Hash == b.Hash && a.ConfigHash == b.ConfigHash {
					return nil
				}
				var fs []Field
				if a.Hash == b.Hash {
					// Only what is written in place changed: diff just that,
					// which is what keeps a diff of many pods fast.
					fs = fields(configView(a), configView(b))
				} else {
					fs = fields(a, b)
				}
				if len(fs) == 0 {
					return nil
				}
				return &Change{Fields: fs, Restart: a.Hash != b.Hash}
			})
	}

	slices.SortStableFunc(d.Changes, func(a, b Change) int {
		return cmp.Or(strings.Compare(a.Node, b.Node), cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)), strings.Compare(a.Kind, b.Kind),
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

// configView is the part of a pod that is updated in place.
func configView(p *plan.Pod) any {
	type files struct {
		Name  string      `json:"name"`
		Files []plan.File `json:"files,omitempty"`
	}
	type view struct {
		Volumes []files          `json:"volumes,omitempty"`
		Hosts   []plan.HostEntry `json:"hosts,omitempty"`
	}
	v := view{Hosts: p.Spec.Hosts}
	for _, vol := range p.Spec.Volumes {
		if len(vol.Files) > 0 {
			v.Volumes = append(v.Volumes, files{vol.Name, vol.Files})
		}
	}
	return struct {
		Spec view `json:"spec"`
	}{v}
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
// with what differs between any two replicas (the name, the revision)
// left out.
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
		spec := p.Spec
		for _, cs := range []*[]plan.Container{&spec.InitContainers, &spec.Containers} {
			*cs = slices.Clone(*cs)
			for i := range *cs {
				env := slices.Clone((*cs)[i].Env)
				for j := range env {
					if env[j].Value.Data == p.Name {
						env[j].Value = plan.Plain("(pod name)")
					}
				}
				(*cs)[i].Env = env
			}
		}
		return template{Labels: labels, Spec: spec}
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
	case "Pod":
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
		c.Fields, c.Restart, c.Rollout = u.Fields, u.Restart, u.Rollout
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// fields returns the changed leaves between a and b, by path. Arrays of
// objects with a unique "name" (or "pod", "ip") are keyed by it, so
// inserting an env var shows one change, not a shifted list; an element
// added or removed as a whole is one field holding the element.
func fields(a, b any) []Field {
	fa, ea := flatten(a)
	fb, eb := flatten(b)
	var out []Field
	var whole []string
	for k, v := range ea {
		if _, ok := eb[k]; !ok {
			out = append(out, Field{Path: k, Old: v})
			whole = append(whole, k)
		}
	}
	for k, v := range eb {
		if _, ok := ea[k]; !ok {
			out = append(out, Field{Path: k, New: v})
			whole = append(whole, k)
		}
	}
	inWhole := func(path string) bool {
		for _, w := range whole {
			if strings.HasPrefix(path, w) && (len(path) == len(w) || path[len(w)] == '.' || path[len(w)] == '[') {
				return true
			}
		}
		return false
	}
	for k, va := range fa {
		if vb, ok := fb[k]; (!ok || va != vb) && !inWhole(k) {
			out = append(out, Field{Path: k, Old: va, New: fb[k]})
		}
	}
	for k, vb := range fb {
		if _, ok := fa[k]; !ok && !inWhole(k) {
			out = append(out, Field{Path: k, New: vb})
		}
	}
	slices.SortFunc(out, func(x, y Field) int { return strings.Compare(x.Path, y.Path) })
	return out
}

// flatten returns the leaves of v's JSON form by path, and the JSON of
// every element of a keyed array by its path.
func flatten(v any) (leaves, elems map[string]string) {
	leaves, elems = map[string]string{}, map[string]string{}
	b, err := json.Marshal(v)
	if err != nil {
		leaves[""] = err.Error()
		return leaves, elems
	}
	var tree any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		leaves[""] = err.Error()
		return leaves, elems
	}
	walk(tree, "", leaves, elems)
	return leaves, elems
}

func walk(v any, path string, out, elems map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			walk(c, join(path, k), out, elems)
		}
	case []any:
		key := arrayKey(t)
		for i, c := range t {
			if key == "" {
				walk(c, fmt.Sprintf("%s[%d]", path, i), out, elems)
				continue
			}
			p := fmt.Sprintf("%s[%s]", path, c.(map[string]any)[key])
			b, _ := json.Marshal(c)
			elems[p] = string(b)
			walk(c, p, out, elems)
		}
	default:
		b, _ := json.Marshal(t)
		out[path] = string(b)
	}
}

// arrayKey is the field that identifies the elements of t, or "".
func arrayKey(t []any) string {
	for _, key := range []string{"name", "pod", "ip"} {
		seen := map[string]bool{}
		ok := len(t) > 0
		for _, e := range t {
			m, isMap := e.(map[string]any)
			s, isStr := m[key].(string)
			if !isMap || !isStr || s == "" || seen[s] {
				ok = false
				break
			}
			seen[s] = true
		}
		if ok {
			return key
		}
	}
	return ""
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
