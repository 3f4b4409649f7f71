package webui

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// containerView is one container of the pod page. Env values from a
// Secret are never shown, not even as a digest.
type containerView struct {
	Name, Image string
	Init        bool
	Ports       []string
	Env         []envView
	Probes      []string
	Resources   string
	Status      *nodes.ContainerStatus
	Log         *logView
}

type envView struct {
	Name, Value string
	Sensitive   bool
}

// logView is the recent log of a container, and where the page follows it.
type logView struct {
	Text string
	// Offset is how many bytes of the log Text covers: the live stream
	// starts there, so no line shows twice.
	Offset int64
	Error  string
}

// sourceRef is an object a pod comes from, and where it is written.
type sourceRef struct {
	Kind, Namespace, Name string
	// Where is file:line in the repository, "" when not found.
	Where string
	Link  string
}

// Log budgets: the page shows the last lines of a log, never more.
const (
	tailLines = 200
	tailBytes = 64 << 10
)

func (u *UI) pod(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	key := ns + "/" + name
	p := u.opts.Loop.Plan()
	st, _ := u.status()
	ix := newIndex(p, u.observe(r.Context()), st)
	pp, obs := ix.podByKey[key], ix.obsByKey[key]
	if pp == nil && obs == nil {
		u.notFound(w, r, "pod "+key+" is neither in the plan nor on this node")
		return
	}
	node := u.opts.Node
	if pp != nil {
		node = ix.podNode[key]
	}
	d := struct {
		Namespace, Name, Node string
		Local                 bool
		Plan                  *plan.Pod
		Observed              *nodes.PodStatus
		Owner                 sourceRef
		Containers            []containerView
		Sources               []sourceRef
	}{Namespace: ns, Name: name, Node: node, Local: node == u.opts.Node, Plan: pp, Observed: obs}
	rev := revisionShown(u, p)
	if pp != nil {
		d.Owner = sourceRef{Kind: pp.Owner.Kind, Namespace: ns, Name: pp.Owner.Name,
			Link: "/ui/workloads/" + pp.Owner.Kind + "/" + ns + "/" + pp.Owner.Name}
		d.Containers = containers(pp, obs)
		d.Sources = u.podSources(rev, pp, p)
	} else if obs != nil {
		for i := range obs.Containers {
			d.Containers = append(d.Containers, containerView{Name: obs.Containers[i].Name, Image: obs.Containers[i].Image, Status: &obs.Containers[i]})
		}
	}
	if d.Local && obs != nil && u.opts.Pods != nil {
		for i := range d.Containers {
			if !d.Containers[i].Init {
				d.Containers[i].Log = u.tail(r.Context(), key, d.Containers[i].Name)
			}
		}
	}
	u.render(w, r, "pod", "Pod "+key, "workloads", d)
}

// revisionShown is the revision of the plan the pages show: the newest
// good one, or the applied one before any.
func revisionShown(u *UI, p *plan.Plan) string {
	if p != nil {
		return p.Revision
	}
	return u.opts.Loop.Status().Applied
}

func containers(pp *plan.Pod, obs *nodes.PodStatus) []containerView {
	status := map[string]*nodes.ContainerStatus{}
	if obs != nil {
		for i := range obs.Containers {
			status[obs.Containers[i].Name] = &obs.Containers[i]
		}
	}
	var out []containerView
	add := func(c *plan.Container, init bool) {
		v := containerView{Name: c.Name, Image: c.Image, Init: init, Status: status[c.Name], Resources: resources(c)}
		for _, port := range c.Ports {
			s := fmt.Sprintf("%d/%s", port.ContainerPort, orDefault(port.Protocol, "TCP"))
			if port.Name != "" {
				s = port.Name + " " + s
			}
			v.Ports = append(v.Ports, s)
		}
		for _, e := range c.Env {
			ev := envView{Name: e.Name, Sensitive: e.Value.Sensitive || e.SecretKeyRef != nil}
			switch {
			case e.FieldRef != "":
				ev.Value = "(" + e.FieldRef + ")"
			case e.ConfigMapKeyRef != nil:
				ev.Value = "(ConfigMap " + e.ConfigMapKeyRef.Name + ", key " + e.ConfigMapKeyRef.Key + ")"
			case !ev.Sensitive:
				ev.Value = e.Value.Data
			}
			v.Env = append(v.Env, ev)
		}
		for _, pr := range []struct {
			name string
			p    *plan.Probe
		}{{"liveness", c.LivenessProbe}, {"readiness", c.ReadinessProbe}, {"startup", c.StartupProbe}} {
			if pr.p != nil {
				v.Probes = append(v.Probes, pr.name+": "+describeProbe(pr.p))
			}
		}
		out = append(out, v)
	}
	for i := range pp.Spec.InitContainers {
		add(&pp.Spec.InitContainers[i], true)
	}
	for i := range pp.Spec.Containers {
		add(&pp.Spec.Containers[i], false)
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// describeProbe says what a probe checks and how often, with the
// kubelet's defaults for what is unset.
func describeProbe(p *plan.Probe) string {
	var what string
	switch {
	case p.HTTPGet != nil:
		what = fmt.Sprintf("HTTP GET %s://%s:%s%s", strings.ToLower(orDefault(p.HTTPGet.Scheme, "HTTP")), orDefault(p.HTTPGet.Host, "pod"),
			p.HTTPGet.Port.String(), orDefault(p.HTTPGet.Path, "/"))
	case p.TCPSocket != nil:
		what = "TCP connect :" + p.TCPSocket.Port.String()
	case p.Exec != nil:
		what = "exec " + strings.Join(p.Exec.Command, " ")
	default:
		what = "(no action)"
	}
	def := func(v, d int32) int32 {
		if v == 0 {
			return d
		}
		return v
	}
	return fmt.Sprintf("%s every %ds, timeout %ds, after %ds, failure threshold %d", what,
		def(p.PeriodSeconds, 10), def(p.TimeoutSeconds, 1), p.InitialDelaySeconds, def(p.FailureThreshold, 3))
}

func resources(c *plan.Container) string {
	var parts []string
	f := func(label string, r plan.Resources) {
		var s []string
		if r.MilliCPU > 0 {
			s = append(s, fmt.Sprintf("cpu %dm", r.MilliCPU))
		}
		if r.Memory > 0 {
			s = append(s, fmt.Sprintf("memory %dMi", r.Memory>>20))
		}
		if len(s) > 0 {
			parts = append(parts, label+" "+strings.Join(s, ", "))
		}
	}
	f("requests", c.Requests)
	f("limits", c.Limits)
	return strings.Join(parts, "; ")
}

// podSources are the objects a pod comes from: its workload, the
// ConfigMaps, Secrets and claims of its volumes, the Services it is an
// endpoint of.
func (u *UI) podSources(rev string, pp *plan.Pod, p *plan.Plan) []sourceRef {
	refs := []sourceRef{{Kind: pp.Owner.Kind, Namespace: pp.Namespace, Name: pp.Owner.Name}}
	for _, v := range pp.Spec.Volumes {
		switch v.Kind {
		case "configMap":
			refs = append(refs, sourceRef{Kind: "ConfigMap", Namespace: pp.Namespace, Name: v.Source})
		case "secret":
			refs = append(refs, sourceRef{Kind: "Secret", Namespace: pp.Namespace, Name: v.Source})
		case "persistentVolumeClaim":
			claim, _, _ := strings.Cut(v.Source, " -> ")
			refs = append(refs, sourceRef{Kind: "PersistentVolumeClaim", Namespace: pp.Namespace, Name: claim})
		}
	}
	if p != nil {
		for i := range p.Services {
			s := &p.Services[i]
			for _, e := range s.Endpoints {
				if e.Pod == pp.Key() {
					refs = append(refs, sourceRef{Kind: "Service", Namespace: s.Namespace, Name: s.Name, Link: "/ui/services?ns=" + s.Namespace + "&name=" + s.Name})
					break
				}
			}
		}
	}
	for i := range refs {
		refs[i].Where = u.sources.locate(rev, refs[i].Kind, refs[i].Namespace, refs[i].Name)
	}
	return refs
}

// tail reads the end of a container's log.
func (u *UI) tail(ctx context.Context, key, container string) *logView {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	t := &tailWriter{max: tailBytes}
	if err := u.opts.Pods.Logs(ctx, key, container, false, false, t); err != nil {
		return &logView{Error: err.Error()}
	}
	return &logView{Text: t.lines(tailLines), Offset: t.n}
}

// tailWriter keeps the last max bytes written, and counts them all.
type tailWriter struct {
	buf []byte
	max int
	n   int64
}

func (t *tailWriter) Write(b []byte) (int, error) {
	t.n += int64(len(b))
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

// lines is the last n complete lines kept.
func (t *tailWriter) lines(n int) string {
	s := string(t.buf)
	if int64(len(t.buf)) < t.n {
		// The first line kept is a part of one: drop it.
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	ls := strings.SplitAfter(s, "\n")
	if len(ls) > 0 && ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "")
}
