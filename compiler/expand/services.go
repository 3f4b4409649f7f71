package expand

import (
	"slices"
	"strconv"
	"strings"

	"berth.dev/berth/compiler/plan"
)

// serviceIndex computes, per namespace, the service variables and
// /etc/hosts entries every pod of the namespace gets. They are shared by
// all pods of the namespace (read-only).
func (x *expander) serviceIndex() {
	for i := range x.in.Services {
		s := &x.in.Services[i]
		if s.ClusterIP == "" || s.ClusterIP == "None" {
			continue
		}
		x.nsHosts[s.Namespace] = append(x.nsHosts[s.Namespace], plan.HostEntry{
			IP:    s.ClusterIP,
			Names: []string{s.Name, s.Name + "." + s.Namespace, s.Name + "." + s.Namespace + ".svc", s.Name + "." + s.Namespace + ".svc.cluster.local"},
		})
		x.nsEnv[s.Namespace] = append(x.nsEnv[s.Namespace], ServiceEnv(s)...)
	}
	for ns, env := range x.nsEnv {
		sortEnv(env)
		x.nsEnv[ns] = env
	}
}

// ServiceEnv is the kubelet's variables for one service: FOO_SERVICE_HOST,
// FOO_SERVICE_PORT[_NAME], and the Docker-link style FOO_PORT,
// FOO_PORT_8200_TCP, _PROTO, _PORT and _ADDR.
func ServiceEnv(s *plan.Service) []plan.EnvVar {
	if len(s.Ports) == 0 {
		return nil
	}
	name := envName(s.Name)
	ip := s.ClusterIP
	out := []plan.EnvVar{
		{Name: name + "_SERVICE_HOST", Value: plan.Plain(ip)},
		{Name: name + "_SERVICE_PORT", Value: plan.Plain(strconv.Itoa(int(s.Ports[0].Port)))},
	}
	for i, p := range s.Ports {
		port := strconv.Itoa(int(p.Port))
		if p.Name != "" {
			out = append(out, plan.EnvVar{Name: name + "_SERVICE_PORT_" + envName(p.Name), Value: plan.Plain(port)})
		}
		proto := strings.ToLower(p.Protocol)
		url := proto + "://" + ip + ":" + port
		if i == 0 {
			out = append(out, plan.EnvVar{Name: name + "_PORT", Value: plan.Plain(url)})
		}
		prefix := name + "_PORT_" + port + "_" + strings.ToUpper(p.Protocol)
		out = append(out,
			plan.EnvVar{Name: prefix, Value: plan.Plain(url)},
			plan.EnvVar{Name: prefix + "_PROTO", Value: plan.Plain(proto)},
			plan.EnvVar{Name: prefix + "_PORT", Value: plan.Plain(port)},
			plan.EnvVar{Name: prefix + "_ADDR", Value: plan.Plain(ip)},
		)
	}
	return out
}

func envName(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }

func sortEnv(env []plan.EnvVar) {
	// Sorted by name so a new service does not shuffle the others'.
	slices.SortStableFunc(env, func(a, b plan.EnvVar) int { return strings.Compare(a.Name, b.Name) })
}

// withServiceEnv appends the service variables a container does not set
// itself (its own env wins, as in Kubernetes).
func withServiceEnv(cs []plan.Container, env []plan.EnvVar) []plan.Container {
	out := make([]plan.Container, len(cs))
	for i, c := range cs {
		own := make(map[string]bool, len(c.Env))
		for _, e := range c.Env {
			own[e.Name] = true
		}
		merged := make([]plan.EnvVar, 0, len(c.Env)+len(env))
		merged = append(merged, c.Env...)
		for _, e := range env {
			if !own[e.Name] {
				merged = append(merged, e)
			}
		}
		c.Env = merged
		out[i] = c
	}
	return out
}
