package plan

import (
	"strconv"
	"strings"
)

// The plan owns its types (terraform keeps configs and plans apart): a
// change to the compiler's input model (compiler/api) cannot change the
// plan's JSON without a FormatVersion bump, and the node drivers read
// the plan without importing the input model. compiler/expand and
// compiler/networkpolicy convert; the JSON names are Kubernetes'.

// The dnsPolicy values of a pod (PodSpec.DNSPolicy).
const (
	DNSClusterFirst            = "ClusterFirst"
	DNSClusterFirstWithHostNet = "ClusterFirstWithHostNet"
	DNSDefault                 = "Default"
	DNSNone                    = "None"
)

// PodDNSConfig is merged into the resolv.conf the DNS policy gives.
type PodDNSConfig struct {
	Nameservers []string             `json:"nameservers,omitempty"`
	Searches    []string             `json:"searches,omitempty"`
	Options     []PodDNSConfigOption `json:"options,omitempty"`
}

// PodDNSConfigOption is a resolv.conf option: Name, or Name:Value.
type PodDNSConfigOption struct {
	Name  string  `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
}

// HostAlias is a line of the pod's /etc/hosts: IP and its names.
type HostAlias struct {
	IP        string   `json:"ip"`
	Hostnames []string `json:"hostnames,omitempty"`
}

// ContainerPort is a port a container exposes.
type ContainerPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort,omitempty"`
	Protocol      string `json:"protocol,omitempty"`
}

// VolumeMount mounts a pod volume into a container.
type VolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	SubPath   string `json:"subPath,omitempty"`
	// SubPathExpr is a subPath with $(VAR) references to the container's
	// environment, expanded on the node.
	SubPathExpr string `json:"subPathExpr,omitempty"`
	ReadOnly    bool   `json:"readOnly,omitempty"`
	// MountPropagation is None (the default), HostToContainer or
	// Bidirectional (privileged containers only).
	MountPropagation string `json:"mountPropagation,omitempty"`
}

// Probe is a liveness, readiness or startup probe.
type Probe struct {
	Exec      *ExecAction      `json:"exec,omitempty"`
	HTTPGet   *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket *TCPSocketAction `json:"tcpSocket,omitempty"`
	GRPC      *GRPCAction      `json:"grpc,omitempty"`
	// TerminationGracePeriodSeconds replaces the pod's grace period when
	// a failed liveness or startup probe kills the container.
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`
	InitialDelaySeconds           int32  `json:"initialDelaySeconds,omitempty"`
	PeriodSeconds                 int32  `json:"periodSeconds,omitempty"`
	TimeoutSeconds                int32  `json:"timeoutSeconds,omitempty"`
	FailureThreshold              int32  `json:"failureThreshold,omitempty"`
	SuccessThreshold              int32  `json:"successThreshold,omitempty"`
}

// ExecAction runs a command in the container.
type ExecAction struct {
	Command []string `json:"command"`
}

// HTTPGetAction is an HTTP GET against the pod.
type HTTPGetAction struct {
	Path   string      `json:"path,omitempty"`
	Port   IntOrString `json:"port"`
	Host   string      `json:"host,omitempty"`
	Scheme string      `json:"scheme,omitempty"`
	// HTTPHeaders are sent with the request.
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty"`
}

// HTTPHeader is a header of a probe's request.
type HTTPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TCPSocketAction opens a TCP connection to the pod.
type TCPSocketAction struct {
	Port IntOrString `json:"port"`
}

// GRPCAction is a grpc.health.v1 Health/Check against the pod.
type GRPCAction struct {
	Port int32 `json:"port"`
	// Service is the service name asked for ("" is the server's overall
	// health).
	Service *string `json:"service,omitempty"`
}

// LifecycleHandler is a hook: one of exec, httpGet and sleep (Sleep is
// its seconds).
type LifecycleHandler struct {
	Exec    *ExecAction    `json:"exec,omitempty"`
	HTTPGet *HTTPGetAction `json:"httpGet,omitempty"`
	Sleep   *int64         `json:"sleep,omitempty"`
}

// ContainerRestartAlways is the one container restartPolicy: on an init
// container, it makes a sidecar.
const ContainerRestartAlways = "Always"

// IntOrString is a probe's port: a number, or the name of a container
// port, resolved on the node.
type IntOrString struct {
	IsString bool
	IntVal   int32
	StrVal   string
}

// String renders the value as written.
func (v IntOrString) String() string {
	if v.IsString {
		return v.StrVal
	}
	return strconv.Itoa(int(v.IntVal))
}

// MarshalJSON renders an int or a string.
func (v IntOrString) MarshalJSON() ([]byte, error) {
	if v.IsString {
		return []byte(strconv.Quote(v.StrVal)), nil
	}
	return []byte(strconv.Itoa(int(v.IntVal))), nil
}

// UnmarshalJSON accepts an int or a string.
func (v *IntOrString) UnmarshalJSON(b []byte) error {
	s := string(b)
	if strings.HasPrefix(s, `"`) {
		u, err := strconv.Unquote(s)
		if err != nil {
			return err
		}
		*v = IntOrString{IsString: true, StrVal: u}
		return nil
	}
	i, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return err
	}
	*v = IntOrString{IntVal: int32(i)}
	return nil
}

// LabelSelector is a label selector as written (a NetworkPolicy's):
// which pods it selects depends on the pods a node runs.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is one matchExpressions entry.
type LabelSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"` // In, NotIn, Exists, DoesNotExist
	Values   []string `json:"values,omitempty"`
}
