package plan

import "slices"

// Service is a resolved Service: addresses are assigned and endpoints are
// pod references, so each node combines them with its own readiness.
type Service struct {
	Namespace       string        `json:"namespace"`
	Name            string        `json:"name"`
	Type            string        `json:"type"` // ClusterIP, NodePort, LoadBalancer
	ClusterIP       string        `json:"clusterIP"`
	ExternalIPs     []string      `json:"externalIPs,omitempty"`
	LoadBalancerIP  string        `json:"loadBalancerIP,omitempty"`
	SessionAffinity string        `json:"sessionAffinity,omitempty"` // "" or ClientIP
	AffinityTimeout int32         `json:"affinityTimeoutSeconds,omitempty"`
	Ports           []ServicePort `json:"ports,omitempty"`
	// Selectorless services are accepted but route nowhere.
	Selectorless bool       `json:"selectorless,omitempty"`
	Endpoints    []Endpoint `json:"endpoints,omitempty"`
	// GroupWeights gives the traffic share, in percent, of each endpoint
	// group (a canary's setWeight). Empty means every ready endpoint weighs
	// the same. A group's share is split evenly among its ready endpoints;
	// a group with none gives its share to the others.
	GroupWeights []GroupWeight `json:"groupWeights,omitempty"`
}

// Key is namespace/name.
func (s *Service) Key() string { return s.Namespace + "/" + s.Name }

// External is every address the service answers on besides its cluster
// IP: spec.externalIPs, then the load-balancer address.
func (s *Service) External() []string {
	out := slices.Clone(s.ExternalIPs)
	if s.LoadBalancerIP != "" {
		out = append(out, s.LoadBalancerIP)
	}
	return out
}

// ServicePort is one port of a service.
type ServicePort struct {
	Name     string `json:"name,omitempty"`
	Protocol string `json:"protocol"` // TCP or UDP
	Port     int32  `json:"port"`
	NodePort int32  `json:"nodePort,omitempty"`
	// TargetPort is the numeric target, or 0 when TargetPortName must be
	// resolved per pod (Endpoint.Ports).
	TargetPort     int32  `json:"targetPort,omitempty"`
	TargetPortName string `json:"targetPortName,omitempty"`
}

// Endpoint is one pod behind a service.
type Endpoint struct {
	Pod  string `json:"pod"` // namespace/name
	Node string `json:"node"`
	// Ports holds the resolved target port for each service port, by index.
	Ports []int32 `json:"ports"`
	// Group is the endpoint group for weighted routing ("stable", "canary",
	// or the pod-template-hash); empty when the service is unweighted.
	Group string `json:"group,omitempty"`
}

// GroupWeight is the share of one endpoint group.
type GroupWeight struct {
	Group   string `json:"group"`
	Percent int32  `json:"percent"`
}
