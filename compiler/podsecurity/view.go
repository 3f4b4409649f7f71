package podsecurity

import (
	"strconv"
	"strings"

	"berth.dev/berth/compiler/api"
)

// Pod is one pod template as the checks see it: every field a Pod
// Security check reads, in Kubernetes' shape, with the paths to report.
// NewPod fills it from berth's types; a field berth does not accept
// (windowsOptions, hostUsers, os) stays at its zero value (unset), which
// is what the checks then judge.
type Pod struct {
	Path        string // the PodSpec's path, e.g. spec.template.spec
	MetaPath    string // the pod metadata's path, e.g. spec.template.metadata
	Annotations map[string]string

	HostNetwork, HostPID, HostIPC bool
	HostUsers                     *bool
	OS                            string // spec.os.name
	Sysctls                       []string
	SecurityContext               SecurityContext // pod level
	Volumes                       []Volume
	Containers                    []Container // init containers, then containers
}

// SecurityContext holds the fields of a pod or container security
// context that the checks read.
type SecurityContext struct {
	Set                      bool // the securityContext is present
	Privileged               *bool
	AllowPrivilegeEscalation *bool
	RunAsNonRoot             *bool
	RunAsUser                *int64
	Capabilities             *Capabilities
	SeccompType              *string
	AppArmorType             *string
	SELinux                  *SELinuxOptions
	ProcMount                *string
	HostProcess              *bool // windowsOptions.hostProcess
}

// Capabilities are a container's added and dropped capabilities.
type Capabilities struct{ Add, Drop []string }

// SELinuxOptions are the SELinux fields the checks read.
type SELinuxOptions struct{ Type, User, Role string }

// Volume is a pod volume and its source type ("hostPath", "emptyDir", ...).
type Volume struct{ Name, Type string }

// Container is a container with the fields the checks read.
type Container struct {
	Name            string
	Path            string // e.g. spec.containers[0]
	SecurityContext SecurityContext
	HostPorts       []HostPort
	// ProbeHosts are the host fields of its probes and lifecycle hooks.
	ProbeHosts []ProbeHost
}

// HostPort is a port's hostPort and where it is written.
type HostPort struct {
	Port int32
	Path string
}

// ProbeHost is a probe's or hook's host field and where it is written.
type ProbeHost struct{ Host, Path string }

// NewPod is the view of a pod template: spec at specPath, with meta (its
// metadata, for annotations) at metaPath. This is the one place that
// wires berth's fields to the checks: accepting a new securityContext
// field means one line here.
func NewPod(meta *api.ObjectMeta, metaPath string, spec *api.PodSpec, specPath string) Pod {
	p := Pod{Path: specPath, MetaPath: metaPath, HostNetwork: spec.HostNetwork, HostPID: spec.HostPID, HostIPC: spec.HostIPC}
	if meta != nil {
		p.Annotations = meta.Annotations
	}
	if sc := spec.SecurityContext; sc != nil {
		p.SecurityContext = SecurityContext{
			Set:          true,
			RunAsNonRoot: sc.RunAsNonRoot,
			RunAsUser:    sc.RunAsUser,
			SeccompType:  seccompType(sc.SeccompProfile),
			AppArmorType: appArmorType(sc.AppArmorProfile),
			SELinux:      seLinux(sc.SELinuxOptions),
		}
		for _, s := range sc.Sysctls {
			p.Sysctls = append(p.Sysctls, s.Name)
		}
	}
	for _, v := range spec.Volumes {
		p.Volumes = append(p.Volumes, Volume{Name: v.Name, Type: volumeType(v)})
	}
	add := func(cs []api.Container, field string) {
		for i := range cs {
			p.Containers = append(p.Containers, newContainer(&cs[i], specPath+"."+field+"["+strconv.Itoa(i)+"]"))
		}
	}
	add(spec.InitContainers, "initContainers")
	add(spec.Containers, "containers")
	return p
}

func newContainer(c *api.Container, path string) Container {
	out := Container{Name: c.Name, Path: path}
	if sc := c.SecurityContext; sc != nil {
		out.SecurityContext.Set = true
		if sc.Privileged {
			t := true
			out.SecurityContext.Privileged = &t
		}
		out.SecurityContext.RunAsUser = sc.RunAsUser
		out.SecurityContext.RunAsNonRoot = sc.RunAsNonRoot
		out.SecurityContext.AllowPrivilegeEscalation = sc.AllowPrivilegeEscalation
		out.SecurityContext.SeccompType = seccompType(sc.SeccompProfile)
		out.SecurityContext.AppArmorType = appArmorType(sc.AppArmorProfile)
		out.SecurityContext.SELinux = seLinux(sc.SELinuxOptions)
		if sc.ProcMount != "" {
			out.SecurityContext.ProcMount = &sc.ProcMount
		}
		if sc.Capabilities != nil {
			out.SecurityContext.Capabilities = &Capabilities{Add: sc.Capabilities.Add, Drop: sc.Capabilities.Drop}
		}
	}
	for j, port := range c.Ports {
		if port.HostPort != 0 {
			out.HostPorts = append(out.HostPorts, HostPort{Port: port.HostPort, Path: path + ".ports[" + strconv.Itoa(j) + "].hostPort"})
		}
	}
	for _, pr := range []struct {
		name  string
		probe *api.Probe
	}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
		if pr.probe != nil && pr.probe.HTTPGet != nil && pr.probe.HTTPGet.Host != "" {
			out.ProbeHosts = append(out.ProbeHosts, ProbeHost{Host: pr.probe.HTTPGet.Host, Path: path + "." + pr.name + ".httpGet.host"})
		}
	}
	return out
}

func seccompType(p *api.SeccompProfile) *string {
	if p == nil {
		return nil
	}
	return &p.Type
}

func appArmorType(p *api.AppArmorProfile) *string {
	if p == nil {
		return nil
	}
	return &p.Type
}

func seLinux(o *api.SELinuxOptions) *SELinuxOptions {
	if o == nil {
		return nil
	}
	return &SELinuxOptions{Type: o.Type, User: o.User, Role: o.Role}
}

func volumeType(v api.Volume) string {
	switch {
	case v.HostPath != nil:
		return "hostPath"
	case v.EmptyDir != nil:
		return "emptyDir"
	case v.ConfigMap != nil:
		return "configMap"
	case v.Secret != nil:
		return "secret"
	case v.PersistentVolumeClaim != nil:
		return "persistentVolumeClaim"
	}
	return "unknown"
}

// pending are the fields the checks read that berth does not accept yet
// (README: "checked once the field is supported"). An unset one can still
// fail a check (restricted requires some), and the finding then says that
// berth cannot take the fix yet. Wiring a field in NewPod removes it here.
var pending = []string{
	"securityContext.windowsOptions",
	"hostUsers",
	"os",
}

// pendingNote is what a finding about field adds when berth does not
// accept the field yet.
func pendingNote(field string) string {
	for _, f := range pending {
		if strings.Contains(field, "."+f) {
			return "; berth does not accept " + f + " yet, so no pod can meet this standard there"
		}
	}
	return ""
}
