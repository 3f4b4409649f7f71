package api

// Pod is a v1 Pod.
type Pod struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta `json:"metadata" yaml:"metadata"`
	Spec     PodSpec    `json:"spec" yaml:"spec"`
}

// PodTemplateSpec is the template of a controller.
type PodTemplateSpec struct {
	Metadata ObjectMeta `json:"metadata" yaml:"metadata"`
	Spec     PodSpec    `json:"spec" yaml:"spec"`
}

// PodSpec is the subset of v1.PodSpec berth runs.
type PodSpec struct {
	InitContainers []Container `json:"initContainers,omitempty" yaml:"initContainers,omitempty"`
	Containers     []Container `json:"containers" yaml:"containers"`
	Volumes        []Volume    `json:"volumes,omitempty" yaml:"volumes,omitempty"`
	// ServiceAccountName and DeprecatedServiceAccount are
	// serviceAccountName and serviceAccount as written; ServiceAccount()
	// is the one the pod runs as.
	ServiceAccountName           string `json:"serviceAccountName,omitempty" yaml:"serviceAccountName,omitempty"`
	DeprecatedServiceAccount     string `json:"serviceAccount,omitempty" yaml:"serviceAccount,omitempty"`
	AutomountServiceAccountToken *bool  `json:"automountServiceAccountToken,omitempty" yaml:"automountServiceAccountToken,omitempty"`
	// PriorityClassName names the pod's PriorityClass; Priority is its
	// value, written or filled in by admission (compiler/admit).
	PriorityClassName             string                 `json:"priorityClassName,omitempty" yaml:"priorityClassName,omitempty"`
	Priority                      *int32                 `json:"priority,omitempty" yaml:"priority,omitempty"`
	PreemptionPolicy              string                 `json:"preemptionPolicy,omitempty" yaml:"preemptionPolicy,omitempty"`
	RestartPolicy                 string                 `json:"restartPolicy,omitempty" yaml:"restartPolicy,omitempty"`
	NodeSelector                  map[string]string      `json:"nodeSelector,omitempty" yaml:"nodeSelector,omitempty"`
	TerminationGracePeriodSeconds *int64                 `json:"terminationGracePeriodSeconds,omitempty" yaml:"terminationGracePeriodSeconds,omitempty"`
	HostNetwork                   bool                   `json:"hostNetwork,omitempty" yaml:"hostNetwork,omitempty"`
	ImagePullSecrets              []LocalObjectReference `json:"imagePullSecrets,omitempty" yaml:"imagePullSecrets,omitempty"`
	EnableServiceLinks            *bool                  `json:"enableServiceLinks,omitempty" yaml:"enableServiceLinks,omitempty"`
	// HostPID and HostIPC put the pod in the host's PID and IPC
	// namespaces.
	HostPID         bool                `json:"hostPID,omitempty" yaml:"hostPID,omitempty"`
	HostIPC         bool                `json:"hostIPC,omitempty" yaml:"hostIPC,omitempty"`
	SecurityContext *PodSecurityContext `json:"securityContext,omitempty" yaml:"securityContext,omitempty"`

	// DNSPolicy (schema default ClusterFirst), DNSConfig, HostAliases,
	// Hostname and Subdomain make the pod's /etc/resolv.conf, /etc/hosts
	// and host name, as the kubelet does.
	DNSPolicy   string        `json:"dnsPolicy,omitempty" yaml:"dnsPolicy,omitempty"`
	DNSConfig   *PodDNSConfig `json:"dnsConfig,omitempty" yaml:"dnsConfig,omitempty"`
	HostAliases []HostAlias   `json:"hostAliases,omitempty" yaml:"hostAliases,omitempty"`
	Hostname    string        `json:"hostname,omitempty" yaml:"hostname,omitempty"`
	Subdomain   string        `json:"subdomain,omitempty" yaml:"subdomain,omitempty"`

	// Affinity, Tolerations and TopologySpreadConstraints steer the
	// schedule (compiler/schedule).
	Affinity                  *Affinity                  `json:"affinity,omitempty" yaml:"affinity,omitempty"`
	Tolerations               []Toleration               `json:"tolerations,omitempty" yaml:"tolerations,omitempty"`
	TopologySpreadConstraints []TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty" yaml:"topologySpreadConstraints,omitempty"`
}

// The pod's DNS policies.
const (
	DNSClusterFirst            = "ClusterFirst"
	DNSClusterFirstWithHostNet = "ClusterFirstWithHostNet"
	DNSDefault                 = "Default"
	DNSNone                    = "None"
)

// PodDNSConfig is merged into the resolv.conf the DNS policy gives.
type PodDNSConfig struct {
	Nameservers []string             `json:"nameservers,omitempty" yaml:"nameservers,omitempty"`
	Searches    []string             `json:"searches,omitempty" yaml:"searches,omitempty"`
	Options     []PodDNSConfigOption `json:"options,omitempty" yaml:"options,omitempty"`
}

// PodDNSConfigOption is a resolv.conf option: Name, or Name:Value.
type PodDNSConfigOption struct {
	Name  string  `json:"name,omitempty" yaml:"name,omitempty"`
	Value *string `json:"value,omitempty" yaml:"value,omitempty"`
}

// HostAlias is a line of the pod's /etc/hosts: IP and its names.
type HostAlias struct {
	IP        string   `json:"ip" yaml:"ip"`
	Hostnames []string `json:"hostnames,omitempty" yaml:"hostnames,omitempty"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	Name string `json:"name" yaml:"name"`
}

// Container is the subset of v1.Container berth runs.
type Container struct {
	Name            string               `json:"name" yaml:"name"`
	Image           string               `json:"image" yaml:"image"`
	ImagePullPolicy string               `json:"imagePullPolicy,omitempty" yaml:"imagePullPolicy,omitempty"`
	Command         []string             `json:"command,omitempty" yaml:"command,omitempty"`
	Args            []string             `json:"args,omitempty" yaml:"args,omitempty"`
	WorkingDir      string               `json:"workingDir,omitempty" yaml:"workingDir,omitempty"`
	Env             []EnvVar             `json:"env,omitempty" yaml:"env,omitempty"`
	EnvFrom         []EnvFromSource      `json:"envFrom,omitempty" yaml:"envFrom,omitempty"`
	Ports           []ContainerPort      `json:"ports,omitempty" yaml:"ports,omitempty"`
	Resources       ResourceRequirements `json:"resources,omitempty" yaml:"resources,omitempty"`
	VolumeMounts    []VolumeMount        `json:"volumeMounts,omitempty" yaml:"volumeMounts,omitempty"`
	LivenessProbe   *Probe               `json:"livenessProbe,omitempty" yaml:"livenessProbe,omitempty"`
	ReadinessProbe  *Probe               `json:"readinessProbe,omitempty" yaml:"readinessProbe,omitempty"`
	StartupProbe    *Probe               `json:"startupProbe,omitempty" yaml:"startupProbe,omitempty"`
	Lifecycle       *Lifecycle           `json:"lifecycle,omitempty" yaml:"lifecycle,omitempty"`
	SecurityContext *SecurityContext     `json:"securityContext,omitempty" yaml:"securityContext,omitempty"`
	// RestartPolicy Always (init containers only) makes the init
	// container a sidecar: started in order, kept running and restarted,
	// stopped after the regular containers.
	RestartPolicy string `json:"restartPolicy,omitempty" yaml:"restartPolicy,omitempty"`
	// Stdin and StdinOnce keep the container's standard input open (no
	// one writes to it: berth has no attach); TTY gives it a terminal.
	Stdin     bool `json:"stdin,omitempty" yaml:"stdin,omitempty"`
	StdinOnce bool `json:"stdinOnce,omitempty" yaml:"stdinOnce,omitempty"`
	TTY       bool `json:"tty,omitempty" yaml:"tty,omitempty"`
	// TerminationMessagePath is the file whose content becomes the
	// message of the container's termination (schema default
	// /dev/termination-log); TerminationMessagePolicy File or
	// FallbackToLogsOnError.
	TerminationMessagePath   string `json:"terminationMessagePath,omitempty" yaml:"terminationMessagePath,omitempty"`
	TerminationMessagePolicy string `json:"terminationMessagePolicy,omitempty" yaml:"terminationMessagePolicy,omitempty"`
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name      string        `json:"name" yaml:"name"`
	Value     string        `json:"value,omitempty" yaml:"value,omitempty"`
	ValueFrom *EnvVarSource `json:"valueFrom,omitempty" yaml:"valueFrom,omitempty"`
}

// EnvVarSource is where an env value comes from.
type EnvVarSource struct {
	ConfigMapKeyRef *KeySelector         `json:"configMapKeyRef,omitempty" yaml:"configMapKeyRef,omitempty"`
	SecretKeyRef    *KeySelector         `json:"secretKeyRef,omitempty" yaml:"secretKeyRef,omitempty"`
	FieldRef        *ObjectFieldSelector `json:"fieldRef,omitempty" yaml:"fieldRef,omitempty"`
	// ResourceFieldRef is a container's request or limit.
	ResourceFieldRef *ResourceFieldSelector `json:"resourceFieldRef,omitempty" yaml:"resourceFieldRef,omitempty"`
}

// KeySelector selects a key of a ConfigMap or Secret.
type KeySelector struct {
	Name     string `json:"name" yaml:"name"`
	Key      string `json:"key" yaml:"key"`
	Optional *bool  `json:"optional,omitempty" yaml:"optional,omitempty"`
}

// ObjectFieldSelector selects a field of the pod (the downward API).
type ObjectFieldSelector struct {
	APIVersion string `json:"apiVersion,omitempty" yaml:"apiVersion,omitempty"`
	FieldPath  string `json:"fieldPath" yaml:"fieldPath"`
}

// ResourceFieldSelector selects a container's request or limit
// (limits.cpu, requests.memory, ...) in units of Divisor ("" is 1).
type ResourceFieldSelector struct {
	ContainerName string `json:"containerName,omitempty" yaml:"containerName,omitempty"`
	Resource      string `json:"resource" yaml:"resource"`
	Divisor       string `json:"divisor,omitempty" yaml:"divisor,omitempty"`
}

// EnvFromSource imports every key of a ConfigMap or Secret.
type EnvFromSource struct {
	Prefix       string      `json:"prefix,omitempty" yaml:"prefix,omitempty"`
	ConfigMapRef *EnvFromRef `json:"configMapRef,omitempty" yaml:"configMapRef,omitempty"`
	SecretRef    *EnvFromRef `json:"secretRef,omitempty" yaml:"secretRef,omitempty"`
}

// EnvFromRef names a ConfigMap or Secret.
type EnvFromRef struct {
	Name     string `json:"name" yaml:"name"`
	Optional *bool  `json:"optional,omitempty" yaml:"optional,omitempty"`
}

// ContainerPort is a port a container exposes.
type ContainerPort struct {
	Name          string `json:"name,omitempty" yaml:"name,omitempty"`
	ContainerPort int32  `json:"containerPort" yaml:"containerPort"`
	HostPort      int32  `json:"hostPort,omitempty" yaml:"hostPort,omitempty"`
	Protocol      string `json:"protocol,omitempty" yaml:"protocol,omitempty"`
}

// ResourceRequirements holds requests and limits as quantity strings.
type ResourceRequirements struct {
	Requests map[string]string `json:"requests,omitempty" yaml:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty" yaml:"limits,omitempty"`
}

// VolumeMount mounts a pod volume into a container.
type VolumeMount struct {
	Name      string `json:"name" yaml:"name"`
	MountPath string `json:"mountPath" yaml:"mountPath"`
	SubPath   string `json:"subPath,omitempty" yaml:"subPath,omitempty"`
	// SubPathExpr is a subPath with $(VAR) references to the container's
	// environment, expanded on the node.
	SubPathExpr string `json:"subPathExpr,omitempty" yaml:"subPathExpr,omitempty"`
	ReadOnly    bool   `json:"readOnly,omitempty" yaml:"readOnly,omitempty"`
	// MountPropagation is None (the default), HostToContainer or
	// Bidirectional (privileged containers only).
	MountPropagation string `json:"mountPropagation,omitempty" yaml:"mountPropagation,omitempty"`
}

// Probe is a liveness, readiness or startup probe.
type Probe struct {
	Exec      *ExecAction      `json:"exec,omitempty" yaml:"exec,omitempty"`
	HTTPGet   *HTTPGetAction   `json:"httpGet,omitempty" yaml:"httpGet,omitempty"`
	TCPSocket *TCPSocketAction `json:"tcpSocket,omitempty" yaml:"tcpSocket,omitempty"`
	GRPC      *GRPCAction      `json:"grpc,omitempty" yaml:"grpc,omitempty"`
	// TerminationGracePeriodSeconds replaces the pod's grace period when
	// a failed liveness or startup probe kills the container.
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty" yaml:"terminationGracePeriodSeconds,omitempty"`
	InitialDelaySeconds           int32  `json:"initialDelaySeconds,omitempty" yaml:"initialDelaySeconds,omitempty"`
	PeriodSeconds                 int32  `json:"periodSeconds,omitempty" yaml:"periodSeconds,omitempty"`
	TimeoutSeconds                int32  `json:"timeoutSeconds,omitempty" yaml:"timeoutSeconds,omitempty"`
	FailureThreshold              int32  `json:"failureThreshold,omitempty" yaml:"failureThreshold,omitempty"`
	SuccessThreshold              int32  `json:"successThreshold,omitempty" yaml:"successThreshold,omitempty"`
}

// ExecAction runs a command in the container.
type ExecAction struct {
	Command []string `json:"command" yaml:"command"`
}

// HTTPGetAction is an HTTP GET against the pod.
type HTTPGetAction struct {
	Path   string      `json:"path,omitempty" yaml:"path,omitempty"`
	Port   IntOrString `json:"port" yaml:"port"`
	Host   string      `json:"host,omitempty" yaml:"host,omitempty"`
	Scheme string      `json:"scheme,omitempty" yaml:"scheme,omitempty"`
	// HTTPHeaders are sent with the request.
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty" yaml:"httpHeaders,omitempty"`
}

// HTTPHeader is a header of a probe's request.
type HTTPHeader struct {
	Name  string `json:"name" yaml:"name"`
	Value string `json:"value" yaml:"value"`
}

// TCPSocketAction opens a TCP connection to the pod.
type TCPSocketAction struct {
	Port IntOrString `json:"port" yaml:"port"`
}

// GRPCAction is a grpc.health.v1 Health/Check against the pod.
type GRPCAction struct {
	Port int32 `json:"port" yaml:"port"`
	// Service is the service name asked for ("" is the server's overall
	// health).
	Service *string `json:"service,omitempty" yaml:"service,omitempty"`
}

// Lifecycle holds the postStart and preStop hooks.
type Lifecycle struct {
	PostStart *LifecycleHandler `json:"postStart,omitempty" yaml:"postStart,omitempty"`
	PreStop   *LifecycleHandler `json:"preStop,omitempty" yaml:"preStop,omitempty"`
}

// LifecycleHandler is a hook: exactly one of exec, httpGet and sleep.
type LifecycleHandler struct {
	Exec    *ExecAction    `json:"exec,omitempty" yaml:"exec,omitempty"`
	HTTPGet *HTTPGetAction `json:"httpGet,omitempty" yaml:"httpGet,omitempty"`
	Sleep   *SleepAction   `json:"sleep,omitempty" yaml:"sleep,omitempty"`
}

// SleepAction is a hook that waits Seconds.
type SleepAction struct {
	Seconds int64 `json:"seconds" yaml:"seconds"`
}

// Volume is a pod volume.
type Volume struct {
	Name                  string                   `json:"name" yaml:"name"`
	EmptyDir              *EmptyDirVolumeSource    `json:"emptyDir,omitempty" yaml:"emptyDir,omitempty"`
	HostPath              *HostPathVolumeSource    `json:"hostPath,omitempty" yaml:"hostPath,omitempty"`
	ConfigMap             *ConfigMapVolumeSource   `json:"configMap,omitempty" yaml:"configMap,omitempty"`
	Secret                *SecretVolumeSource      `json:"secret,omitempty" yaml:"secret,omitempty"`
	PersistentVolumeClaim *PVCVolumeSource         `json:"persistentVolumeClaim,omitempty" yaml:"persistentVolumeClaim,omitempty"`
	DownwardAPI           *DownwardAPIVolumeSource `json:"downwardAPI,omitempty" yaml:"downwardAPI,omitempty"`
	Projected             *ProjectedVolumeSource   `json:"projected,omitempty" yaml:"projected,omitempty"`
}

// EmptyDirVolumeSource is a scratch directory or tmpfs.
type EmptyDirVolumeSource struct {
	Medium    string `json:"medium,omitempty" yaml:"medium,omitempty"`
	SizeLimit string `json:"sizeLimit,omitempty" yaml:"sizeLimit,omitempty"`
}

// HostPathVolumeSource is a directory or file of the node.
type HostPathVolumeSource struct {
	Path string `json:"path" yaml:"path"`
	Type string `json:"type,omitempty" yaml:"type,omitempty"`
}

// KeyToPath projects one key to a file.
type KeyToPath struct {
	Key  string `json:"key" yaml:"key"`
	Path string `json:"path" yaml:"path"`
	Mode *int32 `json:"mode,omitempty" yaml:"mode,omitempty"`
}

// ConfigMapVolumeSource mounts a ConfigMap as files.
type ConfigMapVolumeSource struct {
	Name        string      `json:"name" yaml:"name"`
	Items       []KeyToPath `json:"items,omitempty" yaml:"items,omitempty"`
	DefaultMode *int32      `json:"defaultMode,omitempty" yaml:"defaultMode,omitempty"`
	Optional    *bool       `json:"optional,omitempty" yaml:"optional,omitempty"`
}

// SecretVolumeSource mounts a Secret as files (on tmpfs).
type SecretVolumeSource struct {
	SecretName  string      `json:"secretName" yaml:"secretName"`
	Items       []KeyToPath `json:"items,omitempty" yaml:"items,omitempty"`
	DefaultMode *int32      `json:"defaultMode,omitempty" yaml:"defaultMode,omitempty"`
	Optional    *bool       `json:"optional,omitempty" yaml:"optional,omitempty"`
}

// PVCVolumeSource mounts a claim's bound volume.
type PVCVolumeSource struct {
	ClaimName string `json:"claimName" yaml:"claimName"`
	ReadOnly  bool   `json:"readOnly,omitempty" yaml:"readOnly,omitempty"`
}

// ContainerRestartAlways is the one container restartPolicy: on an init
// container, it makes a sidecar.
const ContainerRestartAlways = "Always"
