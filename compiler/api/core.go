package api

import "encoding/base64"

// Service is a v1 Service.
type Service struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta  `json:"metadata" yaml:"metadata"`
	Spec     ServiceSpec `json:"spec" yaml:"spec"`
}

// ServiceSpec is the subset of v1.ServiceSpec berth routes.
type ServiceSpec struct {
	Type                  string                 `json:"type,omitempty" yaml:"type,omitempty"` // ClusterIP, NodePort, LoadBalancer
	Selector              map[string]string      `json:"selector,omitempty" yaml:"selector,omitempty"`
	Ports                 []ServicePort          `json:"ports,omitempty" yaml:"ports,omitempty"`
	ClusterIP             string                 `json:"clusterIP,omitempty" yaml:"clusterIP,omitempty"`
	ExternalIPs           []string               `json:"externalIPs,omitempty" yaml:"externalIPs,omitempty"`
	LoadBalancerIP        string                 `json:"loadBalancerIP,omitempty" yaml:"loadBalancerIP,omitempty"`
	SessionAffinity       string                 `json:"sessionAffinity,omitempty" yaml:"sessionAffinity,omitempty"`
	SessionAffinityConfig *SessionAffinityConfig `json:"sessionAffinityConfig,omitempty" yaml:"sessionAffinityConfig,omitempty"`
	// IPFamilies and IPFamilyPolicy say what berth's Services are: IPv4,
	// single-stack.
	IPFamilies     []string `json:"ipFamilies,omitempty" yaml:"ipFamilies,omitempty"`
	IPFamilyPolicy *string  `json:"ipFamilyPolicy,omitempty" yaml:"ipFamilyPolicy,omitempty"`
}

// SessionAffinityConfig carries the ClientIP timeout.
type SessionAffinityConfig struct {
	ClientIP *ClientIPConfig `json:"clientIP,omitempty" yaml:"clientIP,omitempty"`
}

// ClientIPConfig is the ClientIP affinity timeout.
type ClientIPConfig struct {
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty" yaml:"timeoutSeconds,omitempty"`
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name       string      `json:"name,omitempty" yaml:"name,omitempty"`
	Protocol   string      `json:"protocol,omitempty" yaml:"protocol,omitempty"`
	Port       int32       `json:"port" yaml:"port"`
	TargetPort IntOrString `json:"targetPort,omitempty" yaml:"targetPort,omitempty"`
	NodePort   int32       `json:"nodePort,omitempty" yaml:"nodePort,omitempty"`
}

// ConfigMap is a v1 ConfigMap.
type ConfigMap struct {
	TypeMeta   `yaml:",inline"`
	Metadata   ObjectMeta        `json:"metadata" yaml:"metadata"`
	Data       map[string]string `json:"data,omitempty" yaml:"data,omitempty"`
	BinaryData map[string]string `json:"binaryData,omitempty" yaml:"binaryData,omitempty"` // base64
	// Immutable forbids a later revision to change the data
	// (compiler/immutable).
	Immutable *bool `json:"immutable,omitempty" yaml:"immutable,omitempty"`
}

// DecodedData is the ConfigMap's content as the node writes it: data,
// and binaryData decoded from base64 (a value that is not base64 is the
// schema's finding, left out).
func (c *ConfigMap) DecodedData() map[string][]byte {
	out := make(map[string][]byte, len(c.Data)+len(c.BinaryData))
	for k, v := range c.Data {
		out[k] = []byte(v)
	}
	for k, v := range c.BinaryData {
		if b, err := base64.StdEncoding.DecodeString(v); err == nil {
			out[k] = b
		}
	}
	return out
}

// Secret is a v1 Secret; Data is base64 as written.
type Secret struct {
	TypeMeta   `yaml:",inline"`
	Metadata   ObjectMeta        `json:"metadata" yaml:"metadata"`
	Type       string            `json:"type,omitempty" yaml:"type,omitempty"`
	Data       map[string]string `json:"data,omitempty" yaml:"data,omitempty"`
	StringData map[string]string `json:"stringData,omitempty" yaml:"stringData,omitempty"`
	// Immutable forbids a later revision to change the data or type
	// (compiler/immutable).
	Immutable *bool `json:"immutable,omitempty" yaml:"immutable,omitempty"`
}

// Namespace is a v1 Namespace.
type Namespace struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta `json:"metadata" yaml:"metadata"`
}

// ResourceQuota is a v1 ResourceQuota.
type ResourceQuota struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta        `json:"metadata" yaml:"metadata"`
	Spec     ResourceQuotaSpec `json:"spec" yaml:"spec"`
}

// ResourceQuotaSpec holds the hard limits.
type ResourceQuotaSpec struct {
	Hard map[string]string `json:"hard,omitempty" yaml:"hard,omitempty"`
}

// LimitRange is a v1 LimitRange.
type LimitRange struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta     `json:"metadata" yaml:"metadata"`
	Spec     LimitRangeSpec `json:"spec" yaml:"spec"`
}

// LimitRangeSpec holds the limits.
type LimitRangeSpec struct {
	Limits []LimitRangeItem `json:"limits" yaml:"limits"`
}

// LimitRangeItem is the limit of one type (Container or Pod).
type LimitRangeItem struct {
	Type                 string            `json:"type" yaml:"type"`
	Min                  map[string]string `json:"min,omitempty" yaml:"min,omitempty"`
	Max                  map[string]string `json:"max,omitempty" yaml:"max,omitempty"`
	Default              map[string]string `json:"default,omitempty" yaml:"default,omitempty"`
	DefaultRequest       map[string]string `json:"defaultRequest,omitempty" yaml:"defaultRequest,omitempty"`
	MaxLimitRequestRatio map[string]string `json:"maxLimitRequestRatio,omitempty" yaml:"maxLimitRequestRatio,omitempty"`
}

// PersistentVolume is a v1 PersistentVolume (hostPath or local).
type PersistentVolume struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta           `json:"metadata" yaml:"metadata"`
	Spec     PersistentVolumeSpec `json:"spec" yaml:"spec"`
}

// PersistentVolumeSpec is the subset berth binds.
type PersistentVolumeSpec struct {
	Capacity                      map[string]string     `json:"capacity,omitempty" yaml:"capacity,omitempty"`
	AccessModes                   []string              `json:"accessModes,omitempty" yaml:"accessModes,omitempty"`
	StorageClassName              string                `json:"storageClassName,omitempty" yaml:"storageClassName,omitempty"`
	PersistentVolumeReclaimPolicy string                `json:"persistentVolumeReclaimPolicy,omitempty" yaml:"persistentVolumeReclaimPolicy,omitempty"`
	HostPath                      *HostPathVolumeSource `json:"hostPath,omitempty" yaml:"hostPath,omitempty"`
	Local                         *LocalVolumeSource    `json:"local,omitempty" yaml:"local,omitempty"`
	NodeAffinity                  *VolumeNodeAffinity   `json:"nodeAffinity,omitempty" yaml:"nodeAffinity,omitempty"`
}

// LocalVolumeSource is a local disk path.
type LocalVolumeSource struct {
	Path string `json:"path" yaml:"path"`
}

// VolumeNodeAffinity pins a PV to nodes.
type VolumeNodeAffinity struct {
	Required *NodeSelector `json:"required,omitempty" yaml:"required,omitempty"`
}

// NodeSelector is a list of terms, ORed.
type NodeSelector struct {
	NodeSelectorTerms []NodeSelectorTerm `json:"nodeSelectorTerms" yaml:"nodeSelectorTerms"`
}

// NodeSelectorTerm is a list of requirements, ANDed.
type NodeSelectorTerm struct {
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty" yaml:"matchExpressions,omitempty"`
	// MatchFields selects by metadata.name, the node's name.
	MatchFields []LabelSelectorRequirement `json:"matchFields,omitempty" yaml:"matchFields,omitempty"`
}

// PersistentVolumeClaim is a v1 PersistentVolumeClaim.
type PersistentVolumeClaim struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta `json:"metadata" yaml:"metadata"`
	Spec     PVCSpec    `json:"spec" yaml:"spec"`
}

// PVCSpec is the subset berth binds.
type PVCSpec struct {
	AccessModes      []string             `json:"accessModes,omitempty" yaml:"accessModes,omitempty"`
	StorageClassName *string              `json:"storageClassName,omitempty" yaml:"storageClassName,omitempty"`
	VolumeName       string               `json:"volumeName,omitempty" yaml:"volumeName,omitempty"`
	Selector         *LabelSelector       `json:"selector,omitempty" yaml:"selector,omitempty"`
	Resources        ResourceRequirements `json:"resources,omitempty" yaml:"resources,omitempty"`
}

// Node is berth.dev/v1 Node: one entry of the node inventory.
type Node struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta `json:"metadata" yaml:"metadata"`
	Spec     NodeSpec   `json:"spec" yaml:"spec"`
}

// NodeSpec is a node's address, pod CIDR, load-balancer addresses and
// capacity.
type NodeSpec struct {
	Address          string            `json:"address" yaml:"address"`
	PodCIDR          string            `json:"podCIDR,omitempty" yaml:"podCIDR,omitempty"`
	LoadBalancerPool []string          `json:"loadBalancerPool,omitempty" yaml:"loadBalancerPool,omitempty"`
	Capacity         map[string]string `json:"capacity,omitempty" yaml:"capacity,omitempty"`
	Taints           []Taint           `json:"taints,omitempty" yaml:"taints,omitempty"`
}
