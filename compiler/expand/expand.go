// Package expand turns controllers (Deployment, ReplicaSet,
// ReplicationController, DaemonSet, StatefulSet, Job, CronJob, Rollout) and bare Pods into plan pods and workloads, and
// ConfigMaps and Secrets into the plan's content tables. A pod refers to
// those tables (env, envFrom, volumes, pull secrets) and never copies
// them; its hashes cover the content it refers to, so a change restarts
// or updates it as before. Placement is left to schedule.
package expand

import (
	"fmt"
	"maps"

	"berth.dev/berth/compiler/address"
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/nodefit"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/selector"
)

// Label keys the controllers add to their pods, as upstream does.
const (
	LabelPodTemplateHash     = "pod-template-hash"
	LabelRolloutTemplateHash = "rollouts-pod-template-hash"
	LabelControllerRevision  = "controller-revision-hash"
	LabelJobName             = "job-name"
)

// Input is what expansion reads besides the objects.
type Input struct {
	Set *object.Set
	// Nodes are the inventory (DaemonSets run one pod on each match).
	Nodes []plan.Node
	// Claims maps "namespace/claim" to its bound volume.
	Claims map[string]address.Binding
	// SecretKey keys the digests of Secret values (plan.SecretKey).
	SecretKey plan.SecretKey
}

// Pod is an expanded pod and what scheduling needs to know about it.
type Pod struct {
	Pod    *plan.Pod
	Object *object.Object
	// Path is the PodSpec's path within Object, for diagnostics.
	Path string
	// Group is the controller ("Deployment/ns/name"): scheduling spreads a
	// group's replicas and scores nodes per group.
	Group string
	Index int
	// Requests is what the pod reserves on its node (a Job reserves its
	// parallelism); Requests.Pods is the number of pods.
	Requests     plan.Resources
	NodeSelector map[string]string
	// Affinity holds the node affinity of each bound volume: every entry
	// must match, by any one of its terms.
	Affinity     [][]selector.Selector
	AffinityText []string
	// Spec is the pod spec as written (affinity, tolerations, topology
	// spread); Fit its node-level constraints; Extended its requests of
	// extended resources. Replicas share them.
	Spec     *api.PodSpec
	Fit      *nodefit.Filter
	Extended map[string]int64
	// Pin is the node a DaemonSet pod belongs to ("" to be scheduled).
	Pin string
	// Priority is the pod's priority (its PriorityClass's value, filled
	// in by admission): higher priorities are placed first.
	Priority int32
	// Workload is the index in Result.Workloads whose Template this is
	// (Jobs and CronJobs), or -1 for a pod of the node plan.
	Workload int
}

// Result is the outcome of Expand.
type Result struct {
	Pods      []Pod
	Workloads []plan.Workload
	// ConfigMaps and Secrets are the content tables, in set order
	// (namespace, name).
	ConfigMaps []plan.ConfigData
	Secrets    []plan.ConfigData
	Diags      []diag.Diagnostic
}

type expander struct {
	in     Input
	tables *tables
	res    Result
}

// Expand expands every controller and bare pod of in.Set, in set order.
func Expand(in Input) Result {
	x := &expander{in: in, tables: newTables(in.Set, in.SecretKey)}
	x.res.ConfigMaps, x.res.Secrets = x.tables.cmList, x.tables.secList
	for _, o := range in.Set.All() {
		if dup := in.Set.Get(o.Kind, o.Namespace, o.Name); dup != o {
			continue // duplicates are reported by the checks
		}
		switch v := o.Value.(type) {
		case *api.Pod:
			x.pod(o, v)
		case *api.Deployment:
			x.replicated(o, v.Spec.Replicas, &v.Spec.Template, LabelPodTemplateHash, deploymentStrategy(o, v))
		case *api.ReplicaSet:
			x.replicated(o, v.Spec.Replicas, &v.Spec.Template, LabelPodTemplateHash, func(int32) (plan.Strategy, []diag.Diagnostic) {
				return plan.Strategy{MinReadySeconds: v.Spec.MinReadySeconds}, nil
			})
		case *api.ReplicationController:
			// A ReplicaSet with an equality selector; its pods get no
			// pod-template-hash label, as in Kubernetes.
			x.replicated(o, v.Spec.Replicas, &v.Spec.Template, "", func(int32) (plan.Strategy, []diag.Diagnostic) {
				return plan.Strategy{MinReadySeconds: v.Spec.MinReadySeconds}, nil
			})
		case *api.Rollout:
			x.replicated(o, v.Spec.Replicas, &v.Spec.Template, LabelRolloutTemplateHash, rolloutStrategy(o, v))
		case *api.DaemonSet:
			x.daemonSet(o, v)
		case *api.StatefulSet:
			x.statefulSet(o, v)
		case *api.Job:
			x.job(o, v)
		case *api.CronJob:
			x.cronJob(o, v)
		}
	}
	return x.res
}

// template is a pod template resolved once per controller revision; its
// replicas differ only in name and share its spec.
type template struct {
	src      source
	spec     plan.PodSpec
	specHash string // what makes a pod restart, without its name
	config   string // ConfigHash
	requests plan.Resources
	affinity [][]selector.Selector
	affText  []string
	priority int32
	place    placement
	// annotations are the template's, when the downward API reads them.
	annotations map[string]string
}

// resolve resolves a pod spec of namespace ns.
func (x *expander) resolve(src source, ns string, meta *api.ObjectMeta, spec *api.PodSpec) (*template, bool) {
	var diags []diag.Diagnostic
	t := &template{src: src, place: newPlacement(spec)}
	t.spec = plan.PodSpec{
		RestartPolicy:                 spec.RestartPolicy,
		HostNetwork:                   spec.HostNetwork,
		HostPID:                       spec.HostPID,
		HostIPC:                       spec.HostIPC,
		ShareProcessNamespace:         spec.ShareProcessNamespace != nil && *spec.ShareProcessNamespace,
		SecurityContext:               podSecurity(spec.SecurityContext),
		TerminationGracePeriodSeconds: defaultGrace,
		NodeSelector:                  spec.NodeSelector,
	}
	if spec.EnableServiceLinks != nil && !*spec.EnableServiceLinks {
		// Only the exception is written: true is the default.
		t.spec.EnableServiceLinks = spec.EnableServiceLinks
	}
	if t.spec.RestartPolicy == "" {
		t.spec.RestartPolicy = "Always"
	}
	podDNS(&t.spec, spec)
	if spec.TerminationGracePeriodSeconds != nil {
		t.spec.TerminationGracePeriodSeconds = *spec.TerminationGracePeriodSeconds
	}
	// A sidecar keeps running beside the init containers after it and
	// the containers, so its requests add to theirs (PodRequests in
	// k8s.io/component-helpers/resource).
	var initMax, sidecars plan.Resources
	dw := newDownward(spec)
	for i := range spec.InitContainers {
		c, d := x.container(src, fmt.Sprintf("initContainers[%d]", i), ns, &spec.InitContainers[i], spec.SecurityContext, dw)
		diags = append(diags, d...)
		t.spec.InitContainers = append(t.spec.InitContainers, c)
		if c.Sidecar() {
			sidecars.MilliCPU += c.Requests.MilliCPU
			sidecars.Memory += c.Requests.Memory
			initMax = maxResources(initMax, sidecars)
			continue
		}
		initMax = maxResources(initMax, plan.Resources{MilliCPU: c.Requests.MilliCPU + sidecars.MilliCPU, Memory: c.Requests.Memory + sidecars.Memory})
	}
	t.requests = sidecars
	for i := range spec.Containers {
		c, d := x.container(src, fmt.Sprintf("containers[%d]", i), ns, &spec.Containers[i], spec.SecurityContext, dw)
		diags = append(diags, d...)
		t.spec.Containers = append(t.spec.Containers, c)
		t.requests.MilliCPU += c.Requests.MilliCPU
		t.requests.Memory += c.Requests.Memory
	}
	// An init container runs alone (with the sidecars before it), so the
	// pod needs the larger of the biggest init container and the sum of
	// the app containers and sidecars.
	t.requests = maxResources(t.requests, initMax)
	t.requests.Pods = 1
	if spec.Priority != nil {
		t.priority = *spec.Priority
	}
	vols, aff, affText, d := x.volumes(src, ns, spec.Volumes, dw)
	diags = append(diags, d...)
	t.spec.Volumes, t.affinity, t.affText = vols, aff, affText
	auths, d := x.pullSecrets(src, ns, spec.ImagePullSecrets)
	diags = append(diags, d...)
	t.spec.ImagePullSecrets = auths
	x.res.Diags = append(x.res.Diags, diags...)
	if len(diags) > 0 {
		return nil, false
	}
	// The hash covers the spec with its references and the env values
	// they resolve to (read at start: a change restarts the pod), but
	// not file content (updated in place: ConfigHash) nor what
	// Kubernetes never pushes into a running pod (Service variables).
	t.specHash = contentHash(meta.Annotations, t.spec, x.envContent(ns, &t.spec))
	t.config = x.configHash(ns, t.spec.Volumes)
	if dw.needsAnnotations && len(meta.Annotations) > 0 {
		t.annotations = meta.Annotations
	}
	return t, true
}

// envContent is every container's resolved environment (secrets as their
// redacted digests), for the hash.
func (x *expander) envContent(ns string, spec *plan.PodSpec) [][]plan.EnvVar {
	var out [][]plan.EnvVar
	for _, cs := range [][]plan.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			out = append(out, plan.ResolveEnv(x.tables, ns, &cs[i]))
		}
	}
	return out
}

// configHash covers the projected files of configMap and secret volumes;
// secret data hashes through its redacted digest, so the plan never
// carries a hash computed from the secret alone.
func (x *expander) configHash(ns string, vols []plan.Volume) string {
	type files struct {
		Name  string
		Files []plan.File
	}
	var fs []files
	for i := range vols {
		f := plan.ResolveFiles(x.tables, ns, &vols[i])
		if vols[i].Kind == "projected" {
			r := plan.Resolve(x.tables, &plan.Pod{Namespace: ns, Spec: plan.PodSpec{Volumes: vols[i : i+1]}})
			f = r.Spec.Volumes[0].SourceFiles()
		}
		if len(f) > 0 {
			fs = append(fs, files{vols[i].Name, f})
		}
	}
	if len(fs) == 0 {
		return ""
	}
	return contentHash(fs)
}

// revision is the template hash of a controller's template.
func (t *template) revision(labels map[string]string) string {
	return TemplateHash(labels, t.specHash)
}

// instantiate makes one replica of t; replicas share t's spec.
func (t *template) instantiate(ns, name string, labels map[string]string, owner plan.Owner, revision string) *plan.Pod {
	return &plan.Pod{
		Namespace:   ns,
		Name:        name,
		Labels:      labels,
		Owner:       owner,
		Revision:    revision,
		Hash:        contentHash(t.specHash, ns, name, labels),
		ConfigHash:  t.config,
		Annotations: t.annotations,
		Spec:        t.spec,
	}
}

func maxResources(a, b plan.Resources) plan.Resources {
	return plan.Resources{MilliCPU: max(a.MilliCPU, b.MilliCPU), Memory: max(a.Memory, b.Memory), Pods: max(a.Pods, b.Pods)}
}

// withLabel returns labels plus key=value, as a new map.
func withLabel(labels map[string]string, key, value string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	maps.Copy(out, labels)
	if key != "" {
		out[key] = value
	}
	return out
}

func groupKey(o *object.Object) string { return o.Kind + "/" + o.Namespace + "/" + o.Name }

func (x *expander) add(t *template, pod *plan.Pod, o *object.Object, index int, pin string, workload int, requests plan.Resources) {
	x.res.Pods = append(x.res.Pods, Pod{
		Pod: pod, Object: o, Path: t.src.path, Group: groupKey(o), Index: index,
		Requests: requests, NodeSelector: pod.Spec.NodeSelector,
		Affinity: t.affinity, AffinityText: t.affText, Pin: pin, Workload: workload, Priority: t.priority,
		Spec: t.place.spec, Fit: t.place.fit, Extended: t.place.extended,
	})
}

func (x *expander) pod(o *object.Object, p *api.Pod) {
	src := source{obj: o, path: "spec"}
	t, ok := x.resolve(src, o.Namespace, &p.Metadata, &p.Spec)
	if !ok {
		return
	}
	owner := plan.Owner{Kind: "Pod", Name: o.Name}
	pod := t.instantiate(o.Namespace, o.Name, p.Metadata.Labels, owner, "")
	x.res.Workloads = append(x.res.Workloads, plan.Workload{Kind: "Pod", Namespace: o.Namespace, Name: o.Name, Replicas: 1})
	x.add(t, pod, o, 0, "", -1, t.requests)
}

// replicated expands a Deployment, ReplicaSet, ReplicationController or
// Rollout; hashLabel "" adds no revision label.
func (x *expander) replicated(o *object.Object, replicas *int32, tmpl *api.PodTemplateSpec, hashLabel string, strategy func(int32) (plan.Strategy, []diag.Diagnostic)) {
	src := source{obj: o, path: "spec.template.spec"}
	n := int32(1)
	if replicas != nil {
		n = *replicas
	}
	st, d := strategy(n)
	x.res.Diags = append(x.res.Diags, d...)
	t, ok := x.resolve(src, o.Namespace, &tmpl.Metadata, &tmpl.Spec)
	if !ok {
		return
	}
	rev := t.revision(tmpl.Metadata.Labels)
	labels := withLabel(tmpl.Metadata.Labels, hashLabel, rev)
	owner := plan.Owner{Kind: o.Kind, Name: o.Name}
	x.res.Workloads = append(x.res.Workloads, plan.Workload{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Revision: rev, Replicas: n, Strategy: st})
	for i := range int(n) {
		name := o.Name + "-" + rev + "-" + Suffix(o.Name, rev, i)
		x.add(t, t.instantiate(o.Namespace, name, labels, owner, rev), o, i, "", -1, t.requests)
	}
}

func (x *expander) daemonSet(o *object.Object, ds *api.DaemonSet) {
	src := source{obj: o, path: "spec.template.spec"}
	t, ok := x.resolve(src, o.Namespace, &ds.Spec.Template.Metadata, &ds.Spec.Template.Spec)
	if !ok {
		return
	}
	rev := t.revision(ds.Spec.Template.Metadata.Labels)
	labels := withLabel(ds.Spec.Template.Metadata.Labels, LabelControllerRevision, rev)
	owner := plan.Owner{Kind: "DaemonSet", Name: o.Name}
	// The DaemonSet controller's predicates: nodeSelector, node affinity
	// and taints (nodefit, the scheduler's own rules). The plan carries
	// the node set: the reconciler ranks these nodes for a rolling update.
	nodes := t.place.fit.Nodes(x.in.Nodes)
	st, d := daemonSetStrategy(o, ds, len(nodes))
	x.res.Diags = append(x.res.Diags, d...)
	x.res.Workloads = append(x.res.Workloads, plan.Workload{Kind: "DaemonSet", Namespace: o.Namespace, Name: o.Name, Revision: rev, Replicas: int32(len(nodes)), Strategy: st, Nodes: nodes})
	for i, node := range nodes {
		// The name follows the node, not the revision: a new template
		// replaces the pod on each node in turn.
		name := o.Name + "-" + Suffix(o.Name, node, 0)
		x.add(t, t.instantiate(o.Namespace, name, labels, owner, rev), o, i, node, -1, t.requests)
	}
}

func (x *expander) job(o *object.Object, j *api.Job) {
	spec := j.Spec.Template.Spec
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = "Never"
	}
	src := source{obj: o, path: "spec.template.spec"}
	t, ok := x.resolve(src, o.Namespace, &j.Spec.Template.Metadata, &spec)
	if !ok {
		return
	}
	rev := t.revision(j.Spec.Template.Metadata.Labels)
	labels := withLabel(j.Spec.Template.Metadata.Labels, LabelJobName, o.Name)
	pod := t.instantiate(o.Namespace, o.Name, labels, plan.Owner{Kind: "Job", Name: o.Name}, rev)
	js := jobSettings(&j.Spec)
	x.res.Workloads = append(x.res.Workloads, plan.Workload{Kind: "Job", Namespace: o.Namespace, Name: o.Name, Revision: rev, Replicas: js.Parallelism, Job: &js, Template: pod})
	x.add(t, pod, o, 0, "", len(x.res.Workloads)-1, scale(t.requests, js.Parallelism))
}

func (x *expander) cronJob(o *object.Object, cj *api.CronJob) {
	jt := &cj.Spec.JobTemplate.Spec
	spec := jt.Template.Spec
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = "Never"
	}
	src := source{obj: o, path: "spec.jobTemplate.spec.template.spec"}
	t, ok := x.resolve(src, o.Namespace, &jt.Template.Metadata, &spec)
	if !ok {
		return
	}
	rev := t.revision(jt.Template.Metadata.Labels)
	pod := t.instantiate(o.Namespace, o.Name, jt.Template.Metadata.Labels, plan.Owner{Kind: "CronJob", Name: o.Name}, rev)
	c := cronJobSettings(&cj.Spec)
	x.res.Workloads = append(x.res.Workloads, plan.Workload{Kind: "CronJob", Namespace: o.Namespace, Name: o.Name, Revision: rev, Replicas: c.Job.Parallelism, CronJob: &c, Template: pod})
	x.add(t, pod, o, 0, "", len(x.res.Workloads)-1, scale(t.requests, c.Job.Parallelism))
}

func scale(r plan.Resources, n int32) plan.Resources {
	k := int64(max(n, 1))
	return plan.Resources{MilliCPU: r.MilliCPU * k, Memory: r.Memory * k, Pods: r.Pods * k}
}
