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
	// Ready are the addresses of this node's ready pods of a headless
	// Service (ClusterIP None), sorted: what cluster DNS answers for it.
	// Routers ignore headless Services.
	Ready []string `json:"ready,omitempty"`
	// Hosts are the ready pods among Ready whose subdomain is this
	// Service (a StatefulSet's ordinals), by host name, sorted: cluster
	// DNS answers <host>.<service>.<namespace>.svc with their addresses.
	Hosts []HostAddr `json:"hosts,omitempty"`
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
