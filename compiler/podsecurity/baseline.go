package podsecurity

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The baseline checks: each one is PSA's check of the same id, its
// reason and detail word for word; the comment names the fields.

// Annotations the baseline reads.
const (
	appArmorAnnotationPrefix = "container.apparmor.security.beta.kubernetes.io/"
	seccompPodAnnotation     = "seccomp.security.alpha.kubernetes.io/pod"
	seccompAnnotationPrefix  = "container.seccomp.security.alpha.kubernetes.io/"
)

// appArmorProfile: securityContext.appArmorProfile.type of the pod and
// containers must be RuntimeDefault or Localhost; the deprecated
// container.apparmor.security.beta.kubernetes.io/* annotations must be
// runtime/default or localhost/*.
func appArmorProfile(p *Pod) *finding {
	var setters []string
	bad := set{}
	field := ""
	allowed := func(t string) bool { return t == "RuntimeDefault" || t == "Localhost" }
	if t := p.SecurityContext.AppArmorType; t != nil && !allowed(*t) {
		setters = append(setters, "pod")
		bad[*t] = true
		field = p.Path + ".securityContext.appArmorProfile.type"
	}
	var containers []string
	for _, c := range p.Containers {
		if t := c.SecurityContext.AppArmorType; t != nil && !allowed(*t) {
			containers = append(containers, c.Name)
			bad[*t] = true
			field = firstOf(field, c.Path+".securityContext.appArmorProfile.type")
		}
	}
	if len(containers) > 0 {
		setters = append(setters, pluralize("container", "containers", len(containers))+" "+joinQuote(containers))
	}
	var annotations []string
	for k, v := range p.Annotations {
		if strings.HasPrefix(k, appArmorAnnotationPrefix) && v != "" && v != "runtime/default" && !strings.HasPrefix(v, "localhost/") {
			annotations = append(annotations, fmt.Sprintf("%s=%q", k, v))
		}
	}
	values := bad.list()
	if len(annotations) > 0 {
		slices.Sort(annotations)
		values = append(values, annotations...)
		setters = append(setters, pluralize("annotation", "annotations", len(annotations)))
		field = firstOf(field, p.MetaPath+".annotations")
	}
	if len(setters) == 0 {
		return nil
	}
	return &finding{
		reason: pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
		detail: fmt.Sprintf("%s must not set AppArmor profile type to %s", strings.Join(setters, " and "), joinQuote(values)),
		field:  field,
	}
}

// capabilitiesBaseline: capabilities.add only from the default set.
var defaultCapabilities = set{"AUDIT_WRITE": true, "CHOWN": true, "DAC_OVERRIDE": true, "FOWNER": true, "FSETID": true, "KILL": true,
	"MKNOD": true, "NET_BIND_SERVICE": true, "SETFCAP": true, "SETGID": true, "SETPCAP": true, "SETUID": true, "SYS_CHROOT": true}

func capabilitiesBaseline(p *Pod) *finding {
	var containers []string
	bad := set{}
	field := ""
	for _, c := range p.Containers {
		caps := c.SecurityContext.Capabilities
		if caps == nil {
			continue
		}
		ok := true
		for _, name := range caps.Add {
			if !defaultCapabilities[name] {
				ok = false
				bad[name] = true
			}
		}
		if !ok {
			containers = append(containers, c.Name)
			field = firstOf(field, c.Path+".securityContext.capabilities.add")
		}
	}
	if len(containers) == 0 {
		return nil
	}
	return &finding{"non-default capabilities", fmt.Sprintf("%s %s must not include %s in securityContext.capabilities.add",
		pluralize("container", "containers", len(containers)), joinQuote(containers), joinQuote(bad.list())), field}
}

// hostNamespaces: spec.hostNetwork, hostPID and hostIPC must be false.
func hostNamespaces(p *Pod) *finding {
	used := set{}
	field := ""
	for _, ns := range []struct {
		on   bool
		name string
	}{{p.HostNetwork, "hostNetwork"}, {p.HostPID, "hostPID"}, {p.HostIPC, "hostIPC"}} {
		if ns.on {
			used[ns.name] = true
			field = firstOf(field, p.Path+"."+ns.name)
		}
	}
	if len(used) == 0 {
		return nil
	}
	return &finding{"host namespaces", strings.Join(used.list(), ", "), field}
}

// hostPathVolumes: no spec.volumes[*].hostPath.
func hostPathVolumes(p *Pod) *finding {
	var names []string
	field := ""
	for i, v := range p.Volumes {
		if v.Type == "hostPath" {
			names = append(names, v.Name)
			field = firstOf(field, p.Path+".volumes["+strconv.Itoa(i)+"].hostPath")
		}
	}
	if len(names) == 0 {
		return nil
	}
	return &finding{"hostPath volumes", pluralize("volume", "volumes", len(names)) + " " + joinQuote(names), field}
}

// hostPorts: ports[*].hostPort unset or 0.
func hostPorts(p *Pod) *finding {
	var containers []string
	ports := set{}
	field := ""
	for _, c := range p.Containers {
		for _, hp := range c.HostPorts {
			ports[strconv.Itoa(int(hp.Port))] = true
			field = firstOf(field, hp.Path)
		}
		if len(c.HostPorts) > 0 {
			containers = append(containers, c.Name)
		}
	}
	if len(containers) == 0 {
		return nil
	}
	return &finding{"hostPort", fmt.Sprintf("%s %s %s %s %s",
		pluralize("container", "containers", len(containers)), joinQuote(containers), pluralize("uses", "use", len(containers)),
		pluralize("hostPort", "hostPorts", len(ports)), strings.Join(ports.list(), ", ")), field}
}

// hostProbesAndHostLifecycle (1.34+): the host field of probes' and
// lifecycle hooks' httpGet and tcpSocket must be empty.
func hostProbesAndHostLifecycle(p *Pod) *finding {
	containers, hosts := set{}, set{}
	field := ""
	for _, c := range p.Containers {
		for _, h := range c.ProbeHosts {
			containers[c.Name] = true
			hosts[h.Host] = true
			field = firstOf(field, h.Path)
		}
	}
	if len(containers) == 0 {
		return nil
	}
	return &finding{"probe or lifecycle host", fmt.Sprintf("%s %s %s %s %s",
		pluralize("container", "containers", len(containers)), joinQuote(containers.list()), pluralize("uses", "use", len(containers)),
		pluralize("probe or lifecycle host", "probe or lifecycle hosts", len(hosts)), joinQuote(hosts.list())), field}
}

// privileged: securityContext.privileged must not be true.
func privileged(p *Pod) *finding {
	var containers []string
	field := ""
	for _, c := range p.Containers {
		if pr := c.SecurityContext.Privileged; pr != nil && *pr {
			containers = append(containers, c.Name)
			field = firstOf(field, c.Path+".securityContext.privileged")
		}
	}
	if len(containers) == 0 {
		return nil
	}
	return &finding{"privileged", fmt.Sprintf("%s %s must not set securityContext.privileged=true",
		pluralize("container", "containers", len(containers)), joinQuote(containers)), field}
}

// procMount: securityContext.procMount unset or Default.
func procMount(p *Pod) *finding {
	var containers []string
	types := set{}
	field := ""
	for _, c := range p.Containers {
		if pm := c.SecurityContext.ProcMount; pm != nil && *pm != "Default" {
			containers = append(containers, c.Name)
			types[*pm] = true
			field = firstOf(field, c.Path+".securityContext.procMount")
		}
	}
	if len(containers) == 0 {
		return nil
	}
	return &finding{"procMount", fmt.Sprintf("%s %s must not set securityContext.procMount to %s",
		pluralize("container", "containers", len(containers)), joinQuote(containers), joinQuote(types.list())), field}
}

var (
	selinuxTypes1_0  = set{"": true, "container_t": true, "container_init_t": true, "container_kvm_t": true}
	selinuxTypes1_31 = set{"": true, "container_t": true, "container_init_t": true, "container_kvm_t": true, "container_engine_t": true}
)

// seLinuxOptions: seLinuxOptions.type from the allowed set, user and
// role unset, for the pod and every container.
func seLinuxOptions(allowed set) checkFn {
	return func(p *Pod) *finding {
		badTypes := set{}
		setUser, setRole := false, false
		valid := func(o *SELinuxOptions) bool {
			ok := true
			if !allowed[o.Type] {
				ok = false
				badTypes[o.Type] = true
			}
			if o.User != "" {
				ok, setUser = false, true
			}
			if o.Role != "" {
				ok, setRole = false, true
			}
			return ok
		}
		var setters, containers []string
		field := ""
		if o := p.SecurityContext.SELinux; o != nil && !valid(o) {
			setters = append(setters, "pod")
			field = p.Path + ".securityContext.seLinuxOptions"
		}
		for _, c := range p.Containers {
			if o := c.SecurityContext.SELinux; o != nil && !valid(o) {
				containers = append(containers, c.Name)
				field = firstOf(field, c.Path+".securityContext.seLinuxOptions")
			}
		}
		if len(containers) > 0 {
			setters = append(setters, pluralize("container", "containers", len(containers))+" "+joinQuote(containers))
		}
		if len(setters) == 0 {
			return nil
		}
		var data []string
		if len(badTypes) > 0 {
			data = append(data, pluralize("type", "types", len(badTypes))+" "+joinQuote(badTypes.list()))
		}
		if setUser {
			data = append(data, "user may not be set")
		}
		if setRole {
			data = append(data, "role may not be set")
		}
		return &finding{"seLinuxOptions", fmt.Sprintf("%s set forbidden securityContext.seLinuxOptions: %s",
			strings.Join(setters, " and "), strings.Join(data, "; ")), field}
	}
}

// seccompAnnotations (before 1.19): the seccomp.security.alpha
// annotations must be runtime/default, docker/default or localhost/*.
func seccompAnnotations(p *Pod) *finding {
	bad := set{}
	valid := func(v string) bool {
		return v == "runtime/default" || v == "docker/default" || strings.HasPrefix(v, "localhost/")
	}
	if v, ok := p.Annotations[seccompPodAnnotation]; ok && !valid(v) {
		bad[fmt.Sprintf("%s=%q", seccompPodAnnotation, v)] = true
	}
	for _, c := range p.Containers {
		k := seccompAnnotationPrefix + c.Name
		if v, ok := p.Annotations[k]; ok && !valid(v) {
			bad[fmt.Sprintf("%s=%q", k, v)] = true
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &finding{"seccompProfile", fmt.Sprintf("forbidden %s %s",
		pluralize("annotation", "annotations", len(bad)), strings.Join(bad.list(), ", ")), p.MetaPath + ".annotations"}
}

func validSeccomp(t string) bool { return t == "RuntimeDefault" || t == "Localhost" }

// seccompBaseline (1.19+): a seccompProfile.type that is set must be
// RuntimeDefault or Localhost.
func seccompBaseline(p *Pod) *finding {
	setters, values, field, _ := seccompSetters(p)
	if len(setters) == 0 {
		return nil
	}
	return &finding{"seccompProfile", fmt.Sprintf("%s must not set securityContext.seccompProfile.type to %s",
		strings.Join(setters, " and "), joinQuote(values)), field}
}

// seccompSetters lists the pod and containers that set a forbidden
// seccomp profile, the values, the first field, and the containers that
// set none while the pod sets no valid one either.
func seccompSetters(p *Pod) (setters, values []string, field string, unset []Container) {
	bad := set{}
	podSet := false
	if t := p.SecurityContext.SeccompType; t != nil {
		if !validSeccomp(*t) {
			setters = append(setters, "pod")
			bad[*t] = true
			field = p.Path + ".securityContext.seccompProfile.type"
		} else {
			podSet = true
		}
	}
	var containers []string
	for _, c := range p.Containers {
		t := c.SecurityContext.SeccompType
		switch {
		case t != nil && !validSeccomp(*t):
			containers = append(containers, c.Name)
			bad[*t] = true
			field = firstOf(field, c.Path+".securityContext.seccompProfile.type")
		case t == nil && !podSet:
			unset = append(unset, c)
		}
	}
	if len(containers) > 0 {
		setters = append(setters, pluralize("container", "containers", len(containers))+" "+joinQuote(containers))
	}
	return setters, bad.list(), field, unset
}

var (
	sysctls1_0  = set{"kernel.shm_rmid_forced": true, "net.ipv4.ip_local_port_range": true, "net.ipv4.tcp_syncookies": true, "net.ipv4.ping_group_range": true, "net.ipv4.ip_unprivileged_port_start": true}
	sysctls1_27 = union(sysctls1_0, "net.ipv4.ip_local_reserved_ports")
	sysctls1_29 = union(sysctls1_27, "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes")
	sysctls1_32 = union(sysctls1_29, "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem")
	sysctls1_37 = union(sysctls1_32, "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat")
)

func union(s set, more ...string) set {
	out := set{}
	for k := range s {
		out[k] = true
	}
	for _, k := range more {
		out[k] = true
	}
	return out
}

// sysctls: spec.securityContext.sysctls[*].name from the safe set.
func sysctls(allowed set) checkFn {
	return func(p *Pod) *finding {
		var bad []string
		for _, s := range p.Sysctls {
			if !allowed[s] {
				bad = append(bad, s)
			}
		}
		if len(bad) == 0 {
			return nil
		}
		return &finding{"forbidden sysctls", strings.Join(bad, ", "), p.Path + ".securityContext.sysctls"}
	}
}

// windowsHostProcess: windowsOptions.hostProcess must not be true.
func windowsHostProcess(p *Pod) *finding {
	var setters, containers []string
	field := ""
	if h := p.SecurityContext.HostProcess; h != nil && *h {
		setters = append(setters, "pod")
		field = p.Path + ".securityContext.windowsOptions.hostProcess"
	}
	for _, c := range p.Containers {
		if h := c.SecurityContext.HostProcess; h != nil && *h {
			containers = append(containers, c.Name)
			field = firstOf(field, c.Path+".securityContext.windowsOptions.hostProcess")
		}
	}
	if len(containers) > 0 {
		setters = append(setters, pluralize("container", "containers", len(containers))+" "+joinQuote(containers))
	}
	if len(setters) == 0 {
		return nil
	}
	return &finding{"hostProcess", strings.Join(setters, " and ") + " must not set securityContext.windowsOptions.hostProcess=true", field}
}
