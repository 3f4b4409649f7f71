package nodes

// ServiceRoute is what a node's service router programs for one Service:
// the reconciler resolves the plan's endpoints against readiness, rollout
// state and weights, so the router only renders rules.
type ServiceRoute struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	ClusterIP string `json:"clusterIP"`
	// ExternalIPs are answered on this node (externalIPs and the
	// loadBalancerIP).
	ExternalIPs []string `json:"externalIPs,omitempty"`
	// AffinitySeconds > 0 enables ClientIP session affinity.
	AffinitySeconds int32       `json:"affinitySeconds,omitempty"`
	Ports           []RoutePort `json:"ports"`
	// Ready are the ready pods of a headless Service (ClusterIP None),
	// by address: this node's, and the other nodes' as they tell them
	// (gossip). They are what cluster DNS answers for it; routers ignore
	// headless Services.
	Ready []ReadyPod `json:"ready,omitempty"`
	// Hosts are the pods among Ready with a host name in this Service
	// (the plan endpoint's hostname: a StatefulSet's ordinals, pods with
	// hostname and this Service as subdomain), this node's and the
	// others', sorted by host name: cluster DNS answers
	// <host>.<service>.<namespace>.svc with their addresses.
	Hosts []HostAddr `json:"hosts,omitempty"`
}

// ReadyPod is a ready pod of a headless Service.
type ReadyPod struct {
	Pod string `json:"pod"` // namespace/name
	IP  string `json:"ip"`
	// Ports are the pod's target port of each service port, by index (0:
	// a named port the pod does not declare): its SRV records.
	Ports []int32 `json:"ports,omitempty"`
	// Node is the other node the pod runs on ("" for this node).
	Node string `json:"node,omitempty"`
}

// HostAddr is a pod's host name and address.
type HostAddr struct {
	Host string `json:"host"`
	IP   string `json:"ip"`
}

// Key is namespace/name.
func (r *ServiceRoute) Key() string { return r.Namespace + "/" + r.Name }

// RoutePort is one service port and its backends.
type RoutePort struct {
	Name     string `json:"name,omitempty"`
	Protocol string `json:"protocol"` // TCP or UDP
	Port     int32  `json:"port"`
	NodePort int32  `json:"nodePort,omitempty"`
	// Backends are the ready endpoints; none means REJECT.
	Backends []Backend `json:"backends,omitempty"`
}

// Backend is one destination with a relative weight.
type Backend struct {
	IP   string `json:"ip"`
	Port int32  `json:"port"`
	// Weight is relative to the port's other backends (> 0).
	Weight uint32 `json:"weight"`
	// Remote marks an endpoint on another node, reached through that
	// node's address (it needs masquerading).
	Remote bool `json:"remote,omitempty"`
}
