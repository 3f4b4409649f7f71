package reconciler

import "maps"

// PodReady is one of this node's pods as disruption budgets count it:
// its labels, and whether it is ready (Running and Ready, the
// disruption controller's healthy).
type PodReady struct {
	Namespace, Name string
	Labels          map[string]string
	Ready           bool
}

// Key is namespace/name.
func (p *PodReady) Key() string { return p.Namespace + "/" + p.Name }

// PodReadiness lists the pods berth runs on this node as the last pass
// observed them.
func (r *Reconciler) PodReadiness() []PodReady {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]PodReady, 0, len(r.observed.Pods))
	for i := range r.observed.Pods {
		if p := &r.observed.Pods[i]; berthOwns(p) {
			out = append(out, PodReady{Namespace: p.Namespace, Name: p.Name, Labels: maps.Clone(p.Labels), Ready: ready(p)})
		}
	}
	return out
}
