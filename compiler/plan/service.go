package plan

import (
	"slices"
	"strconv"
	"strings"
)

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
	// Selector picks the Service's pods; selectorless services are
	// accepted but route nowhere.
	Selector     map[string]string `json:"selector,omitempty"`
	Selectorless bool              `json:"selectorless,omitempty"`
	// Endpoints are derived from the selector and the schedule.
	Endpoints []Endpoint `json:"endpoints,omitempty"`
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
	// Hostname is, in a headless Service, the pod's host name when its
	// subdomain is the Service (the endpoints controller's hostname):
	// every node's cluster DNS answers <hostname>.<service>.<ns>.svc.
	Hostname string `json:"hostname,omitempty"`
}

// GroupWeight is the share of one endpoint group.
type GroupWeight struct {
	Group   string `json:"group"`
	Percent int32  `json:"percent"`
}

// Headless reports a Service without a cluster IP: DNS answers its ready
// endpoints' addresses, and it has no Service variables.
func (s *Service) Headless() bool { return s.ClusterIP == "" || s.ClusterIP == "None" }

// ServiceEnv is the kubelet's Service variables for the Services of one
// namespace (ServicesIn), sorted by name: FOO_SERVICE_HOST,
// FOO_SERVICE_PORT[_NAME], and the Docker-link style FOO_PORT,
// FOO_PORT_8200_TCP, _PROTO, _PORT and _ADDR. Headless Services have
// none. The node computes them when it creates a container, from the
// plan it runs at that moment; they are never stored in a pod.
func ServiceEnv(svcs []Service) []EnvVar {
	var out []EnvVar
	for i := range svcs {
		s := &svcs[i]
		if s.Headless() || len(s.Ports) == 0 {
			continue
		}
		name := envName(s.Name)
		ip := s.ClusterIP
		out = append(out,
			EnvVar{Name: name + "_SERVICE_HOST", Value: Plain(ip)},
			EnvVar{Name: name + "_SERVICE_PORT", Value: Plain(strconv.Itoa(int(s.Ports[0].Port)))},
		)
		for j, p := range s.Ports {
			port := strconv.Itoa(int(p.Port))
			if p.Name != "" {
				out = append(out, EnvVar{Name: name + "_SERVICE_PORT_" + envName(p.Name), Value: Plain(port)})
			}
			proto := strings.ToLower(p.Protocol)
			url := proto + "://" + ip + ":" + port
			if j == 0 {
				out = append(out, EnvVar{Name: name + "_PORT", Value: Plain(url)})
			}
			prefix := name + "_PORT_" + port + "_" + strings.ToUpper(p.Protocol)
			out = append(out,
				EnvVar{Name: prefix, Value: Plain(url)},
				EnvVar{Name: prefix + "_PROTO", Value: Plain(proto)},
				EnvVar{Name: prefix + "_PORT", Value: Plain(port)},
				EnvVar{Name: prefix + "_ADDR", Value: Plain(ip)},
			)
		}
	}
	// Sorted by name so a new Service does not shuffle the others'.
	slices.SortStableFunc(out, func(a, b EnvVar) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func envName(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }
