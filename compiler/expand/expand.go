// Package expand turns controllers (Deployment, ReplicaSet,
// ReplicationController, DaemonSet, Job, CronJob, Rollout) and bare Pods into fully resolved plan pods and
// workloads: env values, config files, volumes, pull credentials, service
// variables and /etc/hosts entries are concrete, so a node can run a pod
// without the rest of the repository. Placement is left to schedule.
package expand

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"berth.dev/berth/compiler/address"
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
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
	// Services have their ClusterIPs assigned; they give pods their
	// service variables and /etc/hosts entries.
	Services []plan.Service
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
	// Pin is the node a DaemonSet pod belongs to ("" to be scheduled).
	Pin string
	// Workload is the index in Result.Workloads whose Template this is
	// (Jobs and CronJobs), or -1 for a pod of the node plan.
	Workload int
}

// Result is the outcome of Expand.
type Result struct {
	Pods      []Pod
	Workloads []plan.Workload
	Diags     []diag.Diagnostic
}

type expander struct {
	in      Input
	decoded map[string]map[string]string
	nsEnv   map[string][]plan.EnvVar
	nsHosts map[string][]plan.HostEntry
	res     Result
}

// Expand expands every controller and bare pod of in.Set, in set order.
func Expand(in Input) Result {
	x := &expander{in: in, decoded: map[string]map[string]string{}, nsEnv: map[string][]plan.EnvVar{}, nsHosts: map[string][]plan.HostEntry{}}
	x.serviceIndex()
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
		case *api.Job:
			x.job(o, v)
		case *api.CronJob:
			x.cronJob(o, v)
		}
	}
	return x.res
}

// template is a pod template resolved once per controller revision; its
// replicas differ only in name (and metadata.name env values).
type template struct {
	src      source
	spec     plan.PodSpec
	nameEnv  bool
	specHash string // what makes a pod restart, without its name
	config   string // ConfigHash
	requests plan.Resources
	affinity [][]selector.Selector
	affText  []string
}

// resolve resolves a pod spec of namespace ns.
func (x *expander) resolve(src source, ns string, meta *api.ObjectMeta, spec *api.PodSpec) (*template, bool) {
	var diags []diag.Diagnostic
	t := &template{src: src}
	t.spec = plan.PodSpec{
		RestartPolicy:                 spec.RestartPolicy,
		HostNetwork:                   spec.HostNetwork,
		TerminationGracePeriodSeconds: defaultGrace,
		NodeSelector:                  spec.NodeSelector,
	}
	if t.spec.RestartPolicy == "" {
		t.spec.RestartPolicy = "Always"
	}
	if spec.TerminationGracePeriodSeconds != nil {
		t.spec.TerminationGracePeriodSeconds = *spec.TerminationGracePeriodSeconds
	}
	var initMax plan.Resources
	for i := range spec.InitContainers {
		c, d := x.container(src, fmt.Sprintf("initContainers[%d]", i), ns, &spec.InitContainers[i])
		diags = append(diags, d...)
		t.spec.InitContainers = append(t.spec.InitContainers, c)
		initMax = maxResources(initMax, c.Requests)
	}
	for i := range spec.Containers {
		c, d := x.container(src, fmt.Sprintf("containers[%d]", i), ns, &spec.Containers[i])
		diags = append(diags, d...)
		t.spec.Containers = append(t.spec.Containers, c)
		t.requests.MilliCPU += c.Requests.MilliCPU
		t.requests.Memory += c.Requests.Memory
	}
	// An init container runs alone, so the pod needs the larger of the
	// biggest init container and the sum of the app containers.
	t.requests = maxResources(t.requests, initMax)
	t.requests.Pods = 1
	vols, aff, affText, d := x.volumes(src, ns, spec.Volumes)
	diags = append(diags, d...)
	t.spec.Volumes, t.affinity, t.affText = vols, aff, affText
	auths, d := x.pullSecrets(src, ns, spec.ImagePullSecrets)
	diags = append(diags, d...)
	t.spec.ImagePullSecrets = auths
	x.res.Diags = append(x.res.Diags, diags...)
	if len(diags) > 0 {
		return nil, false
	}
	for _, cs := range [][]plan.Container{t.spec.InitContainers, t.spec.Containers} {
		for _, c := range cs {
			for _, e := range c.Env {
				if e.Value.Data == podNamePlaceholder {
					t.nameEnv = true
				}
			}
		}
	}
	// Hash before adding what changes in place (files, hosts) or what
	// Kubernetes never pushes into a running pod (service variables).
	t.specHash = contentHash(meta.Annotations, hashView(t.spec))
	t.config = configHash(t.spec.Volumes, x.nsHosts[ns])
	t.spec.Hosts = x.nsHosts[ns]
	if env := x.nsEnv[ns]; len(env) > 0 {
		t.spec.InitContainers = withServiceEnv(t.spec.InitContainers, env)
		t.spec.Containers = withServiceEnv(t.spec.Containers, env)
	}
	return t, true
}

// revision is the template hash of a controller's template.
func (t *template) revision(labels map[string]string) string {
	return TemplateHash(labels, t.specHash)
}

// instantiate makes one replica of t.
func (t *template) instantiate(ns, name string, labels map[string]string, owner plan.Owner, revision string) *plan.Pod {
	spec := t.spec
	if t.nameEnv {
		spec.InitContainers = withPodName(spec.InitContainers, name)
		spec.Containers = withPodName(spec.Containers, name)
	}
	return &plan.Pod{
		Namespace:  ns,
		Name:       name,
		Labels:     labels,
		Owner:      owner,
		Revision:   revision,
		Hash:       contentHash(t.specHash, ns, name, labels),
		ConfigHash: t.config,
		Spec:       spec,
	}
}

func withPodName(cs []plan.Container, name string) []plan.Container {
	out := slices.Clone(cs)
	for i := range out {
		env := slices.Clone(out[i].Env)
		for j := range env {
			if env[j].Value.Data == podNamePlaceholder {
				env[j].Value = plan.Plain(name)
			}
		}
		out[i].Env = env
	}
	return out
}

// hashView is spec without what is updated in place: file content and
// hosts. Files' names are left out too: a new key is written in place.
func hashView(spec plan.PodSpec) plan.PodSpec {
	v := spec
	v.Hosts = nil
	v.Volumes = slices.Clone(spec.Volumes)
	for i := range v.Volumes {
		v.Volumes[i].Files = nil
	}
	return v
}

func configHash(vols []plan.Volume, hosts []plan.HostEntry) string {
	type files struct {
		Name  string
		Files []plan.File
	}
	var fs []files
	for _, v := range vols {
		if len(v.Files) > 0 {
			fs = append(fs, files{v.Name, v.Files})
		}
	}
	if len(fs) == 0 && len(hosts) == 0 {
		return ""
	}
	// Secret file data hashes through its redacted digest, so the plan
	// never carries a hash computed from the secret alone.
	return contentHash(fs, hosts)
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
		Affinity: t.affinity, AffinityText: t.affText, Pin: pin, Workload: workload,
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
	sel := selector.FromMap(ds.Spec.Template.Spec.NodeSelector)
	var nodes []string
	for _, n := range x.in.Nodes {
		if sel.Matches(n.Labels) {
			nodes = append(nodes, n.Name)
		}
	}
	st, d := daemonSetStrategy(o, ds, len(nodes))
	x.res.Diags = append(x.res.Diags, d...)
	x.res.Workloads = append(x.res.Workloads, plan.Workload{Kind: "DaemonSet", Namespace: o.Namespace, Name: o.Name, Revision: rev, Replicas: int32(len(nodes)), Strategy: st})
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

// sortFiles orders files by path.
func sortFiles(fs []plan.File) {
	slices.SortStableFunc(fs, func(a, b plan.File) int { return strings.Compare(a.Path, b.Path) })
}
