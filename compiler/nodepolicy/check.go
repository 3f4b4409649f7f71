package nodepolicy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"berth.dev/berth/compiler/admit"
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
)

// Rule is the rule id of what a node's policy refuses.
const Rule = "node-policy"

// Check returns what the policy of node refuses in p, as errors at the
// fields of the objects in set that asked for it: privileged containers
// and host paths of the pods the plan places on node ("" checks every
// node), and every Service address besides the cluster IP (each node
// programs every Service). One diagnostic per field, however many pods a
// template yields.
func Check(set *object.Set, p *plan.Plan, node string, pol Policy) []diag.Diagnostic {
	c := checker{pol: pol, seen: map[string]bool{}, templates: map[ownerKey]admit.Template{}}
	for _, t := range admit.Templates(set) {
		c.templates[ownerKey{t.Object.Kind, t.Object.Namespace, t.Object.Name}] = t
	}
	for _, np := range p.Nodes {
		if node != "" && np.Node.Name != node {
			continue
		}
		for i := range np.Pods {
			pod := &np.Pods[i]
			t, ok := c.templates[ownerKey{pod.Owner.Kind, pod.Namespace, pod.Owner.Name}]
			if !ok || t.Spec == nil {
				continue
			}
			c.pod(np.Node.Name, pod, t)
		}
	}
	for i := range p.Services {
		c.service(set, &p.Services[i], node)
	}
	return c.ds
}

type ownerKey struct{ kind, namespace, name string }

type checker struct {
	pol       Policy
	templates map[ownerKey]admit.Template
	seen      map[string]bool
	ds        []diag.Diagnostic
}

func (c *checker) report(o *object.Object, path, format string, args ...any) {
	key := o.ID() + "\x00" + path
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.ds = append(c.ds, o.Diag(diag.Error, Rule, path, format, args...))
}

// ctrRef is a template's container and its path.
type ctrRef struct {
	c    *api.Container
	path string
}

// containers are the template's containers with their paths, init
// containers first, as the plan lists them.
func containers(t admit.Template) []ctrRef {
	var out []ctrRef
	for i := range t.Spec.InitContainers {
		out = append(out, ctrRef{&t.Spec.InitContainers[i], t.Path + ".initContainers[" + strconv.Itoa(i) + "]"})
	}
	for i := range t.Spec.Containers {
		out = append(out, ctrRef{&t.Spec.Containers[i], t.Path + ".containers[" + strconv.Itoa(i) + "]"})
	}
	return out
}

func (c *checker) pod(node string, pod *plan.Pod, t admit.Template) {
	cs := containers(t)
	if !c.pol.AllowPrivileged {
		for _, ct := range cs {
			if sc := ct.c.SecurityContext; sc != nil && sc.Privileged {
				c.report(t.Object, ct.path+".securityContext.privileged",
					"container %q is privileged, and node %q does not allow privileged containers: drop privileged, or start the node with --allow-privileged (allowPrivileged: true in its node policy file)",
					ct.c.Name, node)
			}
		}
	}
	if sc := t.Spec.SecurityContext; sc != nil {
		for i, s := range sc.Sysctls {
			if !c.pol.sysctlAllowed(s.Name) {
				c.report(t.Object, t.Path+".securityContext.sysctls["+strconv.Itoa(i)+"].name",
					"forbidden sysctl: %q not allowlisted: it is not one of the kubelet's safe sysctls; node %q allows it with --allowed-unsafe-sysctls (allowedUnsafeSysctls in its node policy file)",
					s.Name, node)
			}
		}
	}
	if c.pol.AllowedHostPaths == nil {
		return
	}
	for _, v := range pod.Spec.Volumes {
		if v.Path == "" || (v.Kind != "hostPath" && v.Kind != "persistentVolumeClaim") {
			continue
		}
		vi := -1
		for i := range t.Spec.Volumes {
			if t.Spec.Volumes[i].Name == v.Name {
				vi = i
			}
		}
		if vi < 0 {
			continue
		}
		what, field := fmt.Sprintf("hostPath %s", v.Path), t.Path+".volumes["+strconv.Itoa(vi)+"].hostPath.path"
		if v.Kind == "persistentVolumeClaim" {
			what = fmt.Sprintf("claim %q, bound to %s,", t.Spec.Volumes[vi].PersistentVolumeClaim.ClaimName, v.Path)
			field = t.Path + ".volumes[" + strconv.Itoa(vi) + "].persistentVolumeClaim.claimName"
		}
		allowed, readOnly := c.hostPath(v.Path)
		if !allowed {
			c.report(t.Object, field, "%s is outside the host paths node %q allows (%s): use a path under one of them, or add it to the node's --allowed-host-paths",
				what, node, c.allowedList())
			continue
		}
		if !readOnly {
			continue
		}
		for _, ct := range cs {
			for j, m := range ct.c.VolumeMounts {
				if m.Name == v.Name && !m.ReadOnly {
					c.report(t.Object, ct.path+".volumeMounts["+strconv.Itoa(j)+"].readOnly",
						"%s is allowed read-only on node %q: set readOnly: true on this mount of volume %q, or allow the path with :rw in --allowed-host-paths",
						strings.TrimSuffix(what, ","), node, v.Name)
				}
			}
		}
	}
}

// hostPath is Kubernetes' PodSecurityPolicy rule: allowed when a prefix
// covers path, read-only unless a covering prefix is read-write.
func (c *checker) hostPath(path string) (allowed, readOnly bool) {
	for _, h := range c.pol.AllowedHostPaths {
		if !h.Covers(path) {
			continue
		}
		if !h.ReadOnly {
			return true, false
		}
		allowed, readOnly = true, true
	}
	return allowed, readOnly
}

func (c *checker) allowedList() string {
	if len(c.pol.AllowedHostPaths) == 0 {
		return "none"
	}
	var s []string
	for _, h := range c.pol.AllowedHostPaths {
		s = append(s, h.String())
	}
	return strings.Join(s, ", ")
}

// service refuses the addresses a Service would capture on the node
// beyond its cluster IP, unless the policy allows them.
func (c *checker) service(set *object.Set, s *plan.Service, node string) {
	if !c.pol.DenyExternalIPs && c.pol.AllowedExternalIPs == nil {
		return
	}
	o := set.Get("Service", s.Namespace, s.Name)
	if o == nil {
		return
	}
	svc, _ := o.Value.(*api.Service)
	on := "the node policy"
	if node != "" {
		on = fmt.Sprintf("node %q", node)
	}
	check := func(addr, field, what string) {
		if c.pol.DenyExternalIPs {
			c.report(o, field, "%s %s: %s refuses Service addresses besides the cluster IP (--deny-external-ips): a Service could capture traffic to any address (CVE-2020-8554)",
				what, addr, on)
			return
		}
		a, err := netip.ParseAddr(addr)
		if err == nil {
			for _, p := range c.pol.AllowedExternalIPs {
				if p.Contains(a.Unmap()) {
					return
				}
			}
		}
		var ranges []string
		for _, p := range c.pol.AllowedExternalIPs {
			ranges = append(ranges, p.String())
		}
		if len(ranges) == 0 {
			ranges = []string{"none"}
		}
		c.report(o, field, "%s %s is outside the addresses %s allows (%s; --allowed-external-ips): a Service could capture traffic to any address (CVE-2020-8554)",
			what, addr, on, strings.Join(ranges, ", "))
	}
	for _, addr := range s.ExternalIPs {
		field := "spec.externalIPs"
		if svc != nil {
			for j, e := range svc.Spec.ExternalIPs {
				if e == addr {
					field = "spec.externalIPs[" + strconv.Itoa(j) + "]"
				}
			}
		}
		check(addr, field, "externalIP")
	}
	if s.LoadBalancerIP != "" {
		field, what := "spec.type", "load-balancer address (from the pool)"
		if svc != nil && svc.Spec.LoadBalancerIP != "" {
			field, what = "spec.loadBalancerIP", "loadBalancerIP"
		}
		check(s.LoadBalancerIP, field, what)
	}
}
