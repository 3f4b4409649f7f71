package api

// NetworkPolicy is a networking.k8s.io/v1 NetworkPolicy.
type NetworkPolicy struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta        `json:"metadata" yaml:"metadata"`
	Spec     NetworkPolicySpec `json:"spec" yaml:"spec"`
}

// NetworkPolicySpec selects pods and lists the traffic allowed to and
// from them.
type NetworkPolicySpec struct {
	PodSelector LabelSelector              `json:"podSelector" yaml:"podSelector"`
	Ingress     []NetworkPolicyIngressRule `json:"ingress,omitempty" yaml:"ingress,omitempty"`
	Egress      []NetworkPolicyEgressRule  `json:"egress,omitempty" yaml:"egress,omitempty"`
	PolicyTypes []string                   `json:"policyTypes,omitempty" yaml:"policyTypes,omitempty"` // Ingress, Egress
}

// NetworkPolicyIngressRule allows traffic from its peers on its ports.
type NetworkPolicyIngressRule struct {
	Ports []NetworkPolicyPort `json:"ports,omitempty" yaml:"ports,omitempty"`
	From  []NetworkPolicyPeer `json:"from,omitempty" yaml:"from,omitempty"`
}

// NetworkPolicyEgressRule allows traffic to its peers on its ports.
type NetworkPolicyEgressRule struct {
	Ports []NetworkPolicyPort `json:"ports,omitempty" yaml:"ports,omitempty"`
	To    []NetworkPolicyPeer `json:"to,omitempty" yaml:"to,omitempty"`
}

// NetworkPolicyPort is a protocol and a port, a port range or a named port.
type NetworkPolicyPort struct {
	Protocol string       `json:"protocol,omitempty" yaml:"protocol,omitempty"`
	Port     *IntOrString `json:"port,omitempty" yaml:"port,omitempty"`
	EndPort  *int32       `json:"endPort,omitempty" yaml:"endPort,omitempty"`
}

// NetworkPolicyPeer is pods (by their labels and their namespace's) or
// an IP block. A selector written empty ({}) selects everything; an
// absent one (nil) does not take part.
type NetworkPolicyPeer struct {
	PodSelector       *LabelSelector `json:"podSelector,omitempty" yaml:"podSelector,omitempty"`
	NamespaceSelector *LabelSelector `json:"namespaceSelector,omitempty" yaml:"namespaceSelector,omitempty"`
	IPBlock           *IPBlock       `json:"ipBlock,omitempty" yaml:"ipBlock,omitempty"`
}

// IPBlock is a CIDR without the CIDRs in Except.
type IPBlock struct {
	CIDR   string   `json:"cidr" yaml:"cidr"`
	Except []string `json:"except,omitempty" yaml:"except,omitempty"`
}

// ReplicationController is a v1 ReplicationController: berth runs it as
// a ReplicaSet with an equality selector.
type ReplicationController struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta                `json:"metadata" yaml:"metadata"`
	Spec     ReplicationControllerSpec `json:"spec" yaml:"spec"`
}

// ReplicationControllerSpec is replicas of a template, selected by
// equality. An empty selector is the template's labels, as the API
// server defaults it.
type ReplicationControllerSpec struct {
	Replicas        *int32            `json:"replicas,omitempty" yaml:"replicas,omitempty"`
	Selector        map[string]string `json:"selector,omitempty" yaml:"selector,omitempty"`
	Template        PodTemplateSpec   `json:"template" yaml:"template"`
	MinReadySeconds int32             `json:"minReadySeconds,omitempty" yaml:"minReadySeconds,omitempty"`
}

// EffectiveSelector is the selector after the API server's defaulting:
// the template's labels when none is written.
func (s *ReplicationControllerSpec) EffectiveSelector() map[string]string {
	if len(s.Selector) == 0 {
		return s.Template.Metadata.Labels
	}
	return s.Selector
}
