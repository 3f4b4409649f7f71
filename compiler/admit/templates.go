package admit

import (
	"fmt"
	"strconv"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/nodefit"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
)

// Template is one pod template and the number of pods it yields at most
// (replicas plus a rolling update's surge; one per matching node for a
// DaemonSet; parallelism for a Job).
type Template struct {
	Object *object.Object
	// Path is the path to the PodSpec within Object, e.g. "spec.template.spec".
	Path string
	Spec *api.PodSpec
	// Meta is the pod's metadata: the Pod's own, or the template's.
	Meta  *api.ObjectMeta
	Count int
	// why explains Count in quota messages ("3 replicas + 1 surge").
	why string
}

// Why explains how Count was reached, e.g. "3 replicas + 1 surge".
func (t Template) Why() string {
	if t.why == "" {
		return pods(t.Count)
	}
	return t.why
}

// Templates lists the pod templates of every workload in set, in set order.
//
// Counts are the most pods a workload runs at once, which is what a quota
// must hold:
//   - Pod: 1.
//   - Deployment (RollingUpdate, the default): replicas + maxSurge (default
//     25%, rounded up as Kubernetes does); Recreate: replicas.
//   - ReplicaSet, ReplicationController: replicas.
//   - Rollout: blueGreen runs both revisions in full, 2 x replicas; canary
//     replicas + 25% surge (Argo's default maxSurge).
//   - DaemonSet: the berth.dev/v1 Nodes it runs on, as expansion places
//     it and the plan carries it (nodefit: nodeSelector, node affinity,
//     taints), plus maxSurge when set; or 1 with no inventory (the
//     implicit node).
//   - Job: parallelism (default 1), at most completions.
//   - CronJob: one Job's worth. With concurrencyPolicy Allow a slow Job can
//     overlap the next, but counting that would make every Allow CronJob
//     unadmittable under a tight quota; Kubernetes rejects the extra pods at
//     run time, and so does berth's reconciler.
func Templates(set *object.Set) []Template {
	nodes := inventory(set)
	var out []Template
	for _, o := range set.All() {
		switch v := o.Value.(type) {
		case *api.Pod:
			out = append(out, Template{Object: o, Path: "spec", Spec: &v.Spec, Meta: &v.Metadata, Count: 1})
		case *api.Deployment:
			n, why := deploymentCount(&v.Spec)
			out = append(out, Template{Object: o, Path: "spec.template.spec", Spec: &v.Spec.Template.Spec, Meta: &v.Spec.Template.Metadata, Count: n, why: why})
		case *api.ReplicaSet:
			n := replicas(v.Spec.Replicas)
			out = append(out, Template{Object: o, Path: "spec.template.spec", Spec: &v.Spec.Template.Spec, Meta: &v.Spec.Template.Metadata, Count: n, why: plural(n, "replica")})
		case *api.ReplicationController:
			n := replicas(v.Spec.Replicas)
			out = append(out, Template{Object: o, Path: "spec.template.spec", Spec: &v.Spec.Template.Spec, Meta: &v.Spec.Template.Metadata, Count: n, why: plural(n, "replica")})
		case *api.StatefulSet:
			n := replicas(v.Spec.Replicas)
			out = append(out, Template{Object: o, Path: "spec.template.spec", Spec: &v.Spec.Template.Spec, Meta: &v.Spec.Template.Metadata, Count: n, why: plural(n, "replica")})
		case *api.Rollout:
			n, why := rolloutCount(&v.Spec)
			out = append(out, Template{Object: o, Path: "spec.template.spec", Spec: &v.Spec.Template.Spec, Meta: &v.Spec.Template.Metadata, Count: n, why: why})
		case *api.DaemonSet:
			n, why := daemonSetCount(&v.Spec, nodes)
			out = append(out, Template{Object: o, Path: "spec.template.spec", Spec: &v.Spec.Template.Spec, Meta: &v.Spec.Template.Metadata, Count: n, why: why})
		case *api.Job:
			n, why := jobCount(&v.Spec)
			out = append(out, Template{Object: o, Path: "spec.template.spec", Spec: &v.Spec.Template.Spec, Meta: &v.Spec.Template.Metadata, Count: n, why: why})
		case *api.CronJob:
			n, why := jobCount(&v.Spec.JobTemplate.Spec)
			out = append(out, Template{Object: o, Path: "spec.jobTemplate.spec.template.spec", Spec: &v.Spec.JobTemplate.Spec.Template.Spec, Meta: &v.Spec.JobTemplate.Spec.Template.Metadata, Count: n, why: why})
		}
	}
	return out
}

// inventory is the Node objects' facts that decide where a DaemonSet
// runs, in set order (one per name, as compiler/schedule takes them).
func inventory(set *object.Set) []plan.Node {
	var out []plan.Node
	for _, n := range object.Typed[api.Node](set, "Node") {
		if set.Get("Node", "", n.Name) == n.Object {
			out = append(out, nodefit.FitFacts(n.Name, n.V))
		}
	}
	return out
}

func replicas(r *int32) int {
	if r == nil {
		return 1
	}
	return int(max(*r, 0))
}

func deploymentCount(s *api.DeploymentSpec) (int, string) {
	n := replicas(s.Replicas)
	if s.Strategy.Type == "Recreate" {
		return n, plural(n, "replica")
	}
	var maxSurge *api.IntOrString
	if s.Strategy.RollingUpdate != nil {
		maxSurge = s.Strategy.RollingUpdate.MaxSurge
	}
	return withSurge(n, maxSurge)
}

// withSurge is n replicas and the surge a rolling update adds (api.Surge,
// as the plan's strategy has it).
func withSurge(n int, maxSurge *api.IntOrString) (int, string) {
	extra, err := api.Surge(maxSurge, api.DefaultRolling(), n)
	if err != nil || extra <= 0 {
		// A malformed maxSurge is the schema's finding; count no surge.
		return n, plural(n, "replica")
	}
	return n + extra, fmt.Sprintf("%s + %d surge", plural(n, "replica"), extra)
}

func rolloutCount(s *api.RolloutSpec) (int, string) {
	n := replicas(s.Replicas)
	switch {
	case s.Strategy.BlueGreen != nil:
		return 2 * n, fmt.Sprintf("2 x %s (blue and green)", plural(n, "replica"))
	case s.Strategy.Canary != nil:
		return withSurge(n, nil) // Argo's default maxSurge, as expansion takes it
	}
	return n, plural(n, "replica")
}

func daemonSetCount(s *api.DaemonSetSpec, nodes []plan.Node) (int, string) {
	n, why := 1, "1 pod on the implicit node"
	if len(nodes) > 0 {
		// The node set the plan carries for it (nodefit: nodeSelector,
		// node affinity, taints).
		n = len(nodefit.New(&s.Template.Spec).Nodes(nodes))
		why = plural(n, "matching node")
	}
	if ru := s.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxSurge != nil && s.UpdateStrategy.Type != "OnDelete" {
		if extra, err := api.Surge(ru.MaxSurge, api.FromInt(0), n); err == nil && extra > 0 {
			return n + extra, fmt.Sprintf("%s + %d surge", why, extra)
		}
	}
	return n, why
}

func jobCount(s *api.JobSpec) (int, string) {
	n := 1
	if s.Parallelism != nil {
		n = int(max(*s.Parallelism, 0))
	}
	if s.Completions != nil && int(*s.Completions) < n {
		return int(max(*s.Completions, 0)), plural(int(*s.Completions), "completion")
	}
	return n, "parallelism " + strconv.Itoa(n)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func pods(n int) string { return plural(n, "pod") }

func itoa(i int) string { return strconv.Itoa(i) }
