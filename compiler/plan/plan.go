// Package plan defines the execution plan: the versioned, deterministic
// document the compiler produces from one commit and every node applies.
// It is plain data; the compiler fills it, the reconciler diffs it against
// what runs, and the node drivers execute the pods and services in it.
package plan

import "berth.dev/berth/compiler/api"

// FormatVersion is the version of the plan's JSON document.
const FormatVersion = "berth.dev/plan/v1"

// Plan is the compiled form of one revision of a repository.
type Plan struct {
	FormatVersion string     `json:"formatVersion"`
	Revision      string     `json:"revision"`
	Nodes         []NodePlan `json:"nodes"`
	// Services are cluster-wide: every node programs every service.
	Services  []Service  `json:"services,omitempty"`
	Workloads []Workload `json:"workloads,omitempty"`
	// NetworkPolicies are cluster-wide like Services: every node enforces
	// them for its own pods; Namespaces holds the labels their
	// namespaceSelectors read (policy.go).
	NetworkPolicies []NetworkPolicy `json:"networkPolicies,omitempty"`
	Namespaces      []Namespace     `json:"namespaces,omitempty"`
}

// NodePlan is the part of the plan one node applies.
type NodePlan struct {
	Node Node  `json:"node"`
	Pods []Pod `json:"pods,omitempty"`
}

// Node is an inventory entry (or the implicit local node).
type Node struct {
	Name     string            `json:"name"`
	Address  string            `json:"address,omitempty"`
	PodCIDR  string            `json:"podCIDR"`
	Labels   map[string]string `json:"labels,omitempty"`
	Capacity Resources         `json:"capacity"`
}

// Resources are CPU in millicores, memory and storage in bytes, and a pod count.
type Resources struct {
	MilliCPU int64 `json:"milliCPU,omitempty"`
	Memory   int64 `json:"memory,omitempty"`
	Pods     int64 `json:"pods,omitempty"`
}

// Owner names the controller a pod belongs to.
type Owner struct {
	Kind string `json:"kind"` // Pod, Deployment, ReplicaSet, DaemonSet, Job, CronJob, Rollout
	Name string `json:"name"`
}

// Pod is a fully resolved pod: env values, config files and volumes are
// concrete, so a node can run it without the rest of the repository.
type Pod struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	Owner     Owner             `json:"owner"`
	// Revision is the pod-template-hash of the controller revision.
	Revision string `json:"revision,omitempty"`
	// Hash covers everything that affects the running pod; when it changes,
	// the pod is replaced.
	Hash string `json:"hash"`
	// ConfigHash covers the content of configMap and secret volume files: a
	// change there is written in place without restarting the pod.
	ConfigHash string  `json:"configHash,omitempty"`
	Spec       PodSpec `json:"spec"`
}

// Key is namespace/name.
func (p *Pod) Key() string { return p.Namespace + "/" + p.Name }

// PodSpec is the runnable part of a pod.
type PodSpec struct {
	InitContainers                []Container       `json:"initContainers,omitempty"`
	Containers                    []Container       `json:"containers"`
	Volumes                       []Volume          `json:"volumes,omitempty"`
	RestartPolicy                 string            `json:"restartPolicy"`
	HostNetwork                   bool              `json:"hostNetwork,omitempty"`
	TerminationGracePeriodSeconds int64             `json:"terminationGracePeriodSeconds"`
	ImagePullSecrets              []RegistryAuth    `json:"imagePullSecrets,omitempty"`
	NodeSelector                  map[string]string `json:"nodeSelector,omitempty"`
	// Hosts are the /etc/hosts entries for the namespace's services.
	Hosts []HostEntry `json:"hosts,omitempty"`
}

// HostEntry is one /etc/hosts line.
type HostEntry struct {
	IP    string   `json:"ip"`
	Names []string `json:"names"`
}

// RegistryAuth is a resolved credential for one registry host, from a
// kubernetes.io/dockerconfigjson Secret.
type RegistryAuth struct {
	Registry string `json:"registry"`
	Username Secret `json:"username"`
	Password Secret `json:"password"`
}

// Container is a resolved container.
type Container struct {
	Name            string               `json:"name"`
	Image           string               `json:"image"`
	ImagePullPolicy string               `json:"imagePullPolicy"`
	Command         []string             `json:"command,omitempty"`
	Args            []string             `json:"args,omitempty"`
	WorkingDir      string               `json:"workingDir,omitempty"`
	Env             []EnvVar             `json:"env,omitempty"`
	Ports           []api.ContainerPort  `json:"ports,omitempty"`
	Requests        Resources            `json:"requests"`
	Limits          Resources            `json:"limits"`
	VolumeMounts    []api.VolumeMount    `json:"volumeMounts,omitempty"`
	LivenessProbe   *api.Probe           `json:"livenessProbe,omitempty"`
	ReadinessProbe  *api.Probe           `json:"readinessProbe,omitempty"`
	StartupProbe    *api.Probe           `json:"startupProbe,omitempty"`
	PreStop         []string             `json:"preStop,omitempty"`
	SecurityContext *api.SecurityContext `json:"securityContext,omitempty"`
}

// EnvVar is a resolved environment variable. FieldRef values (pod IP) are
// filled on the node; Value holds the rest.
type EnvVar struct {
	Name     string `json:"name"`
	Value    Secret `json:"value"`
	FieldRef string `json:"fieldRef,omitempty"` // status.podIP, resolved by the node
}

// Volume is a resolved pod volume.
type Volume struct {
	Name string `json:"name"`
	// Kind is emptyDir, hostPath, configMap, secret or persistentVolumeClaim.
	Kind      string `json:"kind"`
	Medium    string `json:"medium,omitempty"`    // emptyDir: "" or Memory
	SizeLimit int64  `json:"sizeLimit,omitempty"` // emptyDir, bytes
	// Path is the node path for hostPath and for a PVC's bound PV.
	Path         string `json:"path,omitempty"`
	HostPathType string `json:"hostPathType,omitempty"`
	// Source names the ConfigMap, Secret, or PVC/PV ("claim -> volume").
	Source string `json:"source,omitempty"`
	// Files are the configMap or secret files, sorted by path.
	Files []File `json:"files,omitempty"`
}

// File is one projected file of a configMap or secret volume.
type File struct {
	Path string `json:"path"`
	Mode int32  `json:"mode"`
	Data Secret `json:"data"`
}
