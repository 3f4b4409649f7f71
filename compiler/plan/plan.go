// Package plan defines the execution plan: the versioned, deterministic
// document the compiler produces from one commit and every node applies.
// It is plain data; the compiler fills it, the reconciler diffs it against
// what runs, and the node drivers execute the pods and services in it.
package plan

import (
	"strings"
)

// FormatVersion is the version of the plan's JSON document. v2 holds
// each fact once: a namespace's Services and the content of ConfigMaps
// and Secrets are tables that pods refer to (docs/plan.md). v3 carries a
// DaemonSet's node set (Workload.Nodes).
const FormatVersion = "berth.dev/plan/v3"

// DefaultPodCIDR is the pod CIDR of a plan compiled without --pod-cidr:
// split among the inventory's nodes, or the one implicit node's.
const DefaultPodCIDR = "10.88.0.0/16"

// Plan is the compiled form of one revision of a repository.
type Plan struct {
	FormatVersion string `json:"formatVersion"`
	Revision      string `json:"revision"`
	// SecretKeyID tells which key made the digests of the immutable
	// Secrets (compiler/immutable), when there are some: digests made
	// under another key cannot be compared.
	SecretKeyID string     `json:"secretKeyID,omitempty"`
	Nodes       []NodePlan `json:"nodes"`
	// Services are cluster-wide: every node programs every service and
	// answers cluster DNS from them. Sorted by namespace, then name, so
	// the Services of one namespace are one contiguous table
	// (ServicesIn).
	Services []Service `json:"services,omitempty"`
	// ConfigMaps and Secrets hold the content pods refer to by name,
	// once, sorted by namespace and name.
	ConfigMaps []ConfigData `json:"configMaps,omitempty"`
	Secrets    []ConfigData `json:"secrets,omitempty"`
	Workloads  []Workload   `json:"workloads,omitempty"`
	// NetworkPolicies are cluster-wide like Services: every node enforces
	// them for its own pods; Namespaces holds the labels their
	// namespaceSelectors read (policy.go).
	NetworkPolicies []NetworkPolicy `json:"networkPolicies,omitempty"`
	Namespaces      []Namespace     `json:"namespaces,omitempty"`
	// DisruptionBudgets are the PodDisruptionBudgets (disruption.go):
	// every node reads them before it stops pods that move elsewhere.
	DisruptionBudgets []DisruptionBudget `json:"disruptionBudgets,omitempty"`
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
	// Extended is the node's capacity of extended resources
	// (nvidia.com/gpu: 4), whole units; Taints keep pods off it.
	Extended map[string]int64 `json:"extended,omitempty"`
	Taints   []Taint          `json:"taints,omitempty"`
	// Unschedulable: the node is cordoned (berth node drain); it also
	// carries the node.kubernetes.io/unschedulable:NoSchedule taint, as
	// Kubernetes gives a cordoned node.
	Unschedulable bool `json:"unschedulable,omitempty"`
}

// Taint is a node taint: pods that do not tolerate it are not placed on
// the node (NoSchedule, NoExecute) or placed there last (PreferNoSchedule).
type Taint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"`
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

// Pod is a planned pod. Its size never depends on other objects: env
// values and files from ConfigMaps and Secrets are references into the
// plan's tables, and Service variables and names come from the node's
// Service table when a container starts (cluster DNS, ServiceEnv).
// Resolve makes the references concrete on the node.
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
	// change there is written in place without restarting the pod. (The
	// content of env references is in Hash: env is read at start.)
	ConfigHash string `json:"configHash,omitempty"`
	// Annotations are those a controller gives the pod (an Indexed Job's
	// batch.kubernetes.io/job-completion-index).
	Annotations map[string]string `json:"annotations,omitempty"`
	Spec        PodSpec           `json:"spec"`
}

// Hostname is the pod's host name: Spec.Hostname, or its name cut to
// 63 characters without a trailing '-' or '.', as the kubelet cuts it
// (truncatePodHostnameIfNeeded): a pod name may be a 253-character
// subdomain, a host name may not.
func (p *Pod) Hostname() string {
	if p.Spec.Hostname != "" {
		return p.Spec.Hostname
	}
	const max = 63
	if len(p.Name) <= max {
		return p.Name
	}
	return strings.TrimRight(p.Name[:max], "-.")
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
	HostPID                       bool              `json:"hostPID,omitempty"`
	HostIPC                       bool              `json:"hostIPC,omitempty"`
	SecurityContext               *PodSecurity      `json:"securityContext,omitempty"`
	TerminationGracePeriodSeconds int64             `json:"terminationGracePeriodSeconds"`
	NodeSelector                  map[string]string `json:"nodeSelector,omitempty"`
	// ImagePullSecrets name kubernetes.io/dockerconfigjson Secrets of the
	// pod's namespace; RegistryAuths are their credentials, filled by
	// Resolve on the node (never in the plan).
	ImagePullSecrets []string       `json:"imagePullSecrets,omitempty"`
	RegistryAuths    []RegistryAuth `json:"registryAuths,omitempty"`
	// EnableServiceLinks false leaves out the Service variables (nil is
	// Kubernetes' default, true).
	EnableServiceLinks *bool `json:"enableServiceLinks,omitempty"`
	// Hostname is the pod's host name when it is not its name (the
	// pod's hostname field; an Indexed Job's pod is <job>-<index>), and
	// Subdomain puts its FQDN <hostname>.<subdomain>.<ns>.svc.<domain>
	// in its /etc/hosts.
	Hostname  string `json:"hostname,omitempty"`
	Subdomain string `json:"subdomain,omitempty"`
	// DNSPolicy is the pod's dnsPolicy when it is not ClusterFirst;
	// DNSConfig is merged into the resolv.conf it gives, and
	// HostAliases are added to /etc/hosts (nodes/dns, nodes/volumes).
	DNSPolicy   string        `json:"dnsPolicy,omitempty"`
	DNSConfig   *PodDNSConfig `json:"dnsConfig,omitempty"`
	HostAliases []HostAlias   `json:"hostAliases,omitempty"`
}

// DNS is the pod's dnsPolicy, ClusterFirst when unset.
func (s *PodSpec) DNS() string {
	if s.DNSPolicy == "" {
		return DNSClusterFirst
	}
	return s.DNSPolicy
}

// ServiceLinks reports whether the pod's containers get the Service
// variables of its namespace.
func (s *PodSpec) ServiceLinks() bool { return s.EnableServiceLinks == nil || *s.EnableServiceLinks }

// RegistryAuth is a resolved credential for one registry host, from a
// kubernetes.io/dockerconfigjson Secret.
type RegistryAuth struct {
	Registry string `json:"registry"`
	Username Secret `json:"username"`
	Password Secret `json:"password"`
}

// Container is a resolved container.
type Container struct {
	Name            string          `json:"name"`
	Image           string          `json:"image"`
	ImagePullPolicy string          `json:"imagePullPolicy"`
	Command         []string        `json:"command,omitempty"`
	Args            []string        `json:"args,omitempty"`
	WorkingDir      string          `json:"workingDir,omitempty"`
	EnvFrom         []EnvFrom       `json:"envFrom,omitempty"`
	Env             []EnvVar        `json:"env,omitempty"`
	Ports           []ContainerPort `json:"ports,omitempty"`
	Requests        Resources       `json:"requests"`
	Limits          Resources       `json:"limits"`
	VolumeMounts    []VolumeMount   `json:"volumeMounts,omitempty"`
	LivenessProbe   *Probe          `json:"livenessProbe,omitempty"`
	ReadinessProbe  *Probe          `json:"readinessProbe,omitempty"`
	StartupProbe    *Probe          `json:"startupProbe,omitempty"`
	// PreStop is an exec preStop hook's command, and PreStopHook an
	// httpGet or sleep one. (An exec hook stays a command: the plans,
	// pod hashes and node records of earlier versions have it so, and
	// a changed hash would restart every pod that has one.)
	PreStop     []string          `json:"preStop,omitempty"`
	PreStopHook *LifecycleHandler `json:"preStopHook,omitempty"`
	// PostStart is the hook run right after the container starts (exec
	// or httpGet); it is not running until the hook is done.
	PostStart       *LifecycleHandler `json:"postStart,omitempty"`
	SecurityContext *SecurityContext  `json:"securityContext,omitempty"`
	// RestartPolicy Always makes an init container a sidecar.
	RestartPolicy string `json:"restartPolicy,omitempty"`
	// Stdin keeps standard input open (stdin or stdinOnce; nothing is
	// ever written to it); TTY gives the container a terminal.
	Stdin bool `json:"stdin,omitempty"`
	TTY   bool `json:"tty,omitempty"`
	// TerminationMessagePath is the file read for the message of the
	// container's termination ("" is /dev/termination-log), and
	// TerminationMessagePolicy File or FallbackToLogsOnError ("" is
	// File).
	TerminationMessagePath   string `json:"terminationMessagePath,omitempty"`
	TerminationMessagePolicy string `json:"terminationMessagePolicy,omitempty"`
}

// Sidecar reports whether c, an init container, is a sidecar: it runs
// beside the containers and is restarted whenever it exits.
func (c *Container) Sidecar() bool { return c.RestartPolicy == ContainerRestartAlways }

// EnvVar is an environment variable: a literal Value, a key of a
// ConfigMap or Secret of the plan's tables (Resolve reads it into Value),
// a FieldRef the node fills when the container starts (the internal
// field path: metadata.name, metadata.uid, metadata.labels['k'],
// spec.nodeName, status.podIP, ...), or a ResourceFieldRef to an unset
// limit (the node's allocatable).
type EnvVar struct {
	Name             string       `json:"name"`
	Value            Secret       `json:"value,omitzero"`
	FieldRef         string       `json:"fieldRef,omitempty"`
	ResourceFieldRef *ResourceRef `json:"resourceFieldRef,omitempty"`
	ConfigMapKeyRef  *KeyRef      `json:"configMapKeyRef,omitempty"`
	SecretKeyRef     *KeyRef      `json:"secretKeyRef,omitempty"`
}

// KeyRef is one key of a ConfigMap or Secret of the pod's namespace.
type KeyRef struct {
	Name     string `json:"name"`
	Key      string `json:"key"`
	Optional bool   `json:"optional,omitempty"`
}

// EnvFrom takes every key of a ConfigMap or Secret (one of them is set)
// as a variable, with Prefix; Resolve expands it.
type EnvFrom struct {
	Prefix    string `json:"prefix,omitempty"`
	ConfigMap string `json:"configMap,omitempty"`
	Secret    string `json:"secret,omitempty"`
	Optional  bool   `json:"optional,omitempty"`
}

// Volume is a resolved pod volume.
type Volume struct {
	Name string `json:"name"`
	// Kind is emptyDir, hostPath, configMap, secret, persistentVolumeClaim,
	// downwardAPI or projected.
	Kind      string `json:"kind"`
	Medium    string `json:"medium,omitempty"`    // emptyDir: "" or Memory
	SizeLimit int64  `json:"sizeLimit,omitempty"` // emptyDir, bytes
	// Path is the node path for hostPath and for a PVC's bound PV.
	Path         string `json:"path,omitempty"`
	HostPathType string `json:"hostPathType,omitempty"`
	// LocalPV marks a claim bound to a local PersistentVolume, mounted
	// read-write: the pod's fsGroup owns it, by its fsGroupChangePolicy.
	LocalPV bool `json:"localPV,omitempty"`
	// LocalClaim is a claim berth's local provisioner (StorageClass
	// berth-local) backs: its directory is <state>/claims/<namespace>_<claim>
	// on the pod's node, created on first use and never deleted by berth.
	LocalClaim string `json:"localClaim,omitempty"`
	// Source names the ConfigMap, Secret, or PVC/PV ("claim -> volume").
	Source string `json:"source,omitempty"`
	// Items, DefaultMode and Optional project a configMap or secret
	// volume, as in Kubernetes: the listed keys, or every key.
	Items       []KeyToPath `json:"items,omitempty"`
	DefaultMode *int32      `json:"defaultMode,omitempty"`
	Optional    bool        `json:"optional,omitempty"`
	// Files are the configMap or secret files, sorted by path: filled by
	// Resolve on the node from the plan's tables, never in the plan. The
	// node fills a projected or downwardAPI volume's (Project).
	Files []File `json:"files,omitempty"`
	// Sources are a projected volume's sources, in order; a downwardAPI
	// volume has one downwardAPI source. DefaultMode is their mode.
	Sources []Projection `json:"sources,omitempty"`
}

// KeyToPath projects one key to a file.
type KeyToPath struct {
	Key  string `json:"key"`
	Path string `json:"path"`
	Mode *int32 `json:"mode,omitempty"`
}

// File is one projected file of a configMap or secret volume.
type File struct {
	Path string `json:"path"`
	Mode int32  `json:"mode"`
	Data Secret `json:"data"`
}
