package containerd

import (
	"context"
	"fmt"
	"net"
	"os"

	"github.com/containerd/containerd/v2/core/containers"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/opencontainers/runtime-spec/specs-go"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes/containerd/cni"
)

// cfsPeriod is the CFS period the CPU limit is expressed in (100 ms, as
// the kubelet uses).
const cfsPeriod = 100000

// specInput is what a container's OCI spec is built from.
type specInput struct {
	pod    *plan.Pod
	c      plan.Container
	ip     string
	node   *nodeFacts
	ns     cni.Namespaces
	mounts map[string]string // volume name -> host path
	// subPaths maps the index of a volumeMount with a subPath to berth's
	// mount point for it (volumes.Manager.SubPathTarget), never a path
	// inside the volume.
	subPaths map[int]string
	hosts    string // the pod's /etc/hosts file
	// resolv is the pod's /etc/resolv.conf file, pointing at the cluster
	// DNS; "" gives the container the host's.
	resolv string
	// serviceEnv are the Service variables of the pod's namespace (none
	// with enableServiceLinks: false).
	serviceEnv []plan.EnvVar
	// imageUser is the image config's user ("uid[:gid]", a name, or "").
	imageUser string
	// seccompRoot is the node's directory of Localhost seccomp profiles.
	seccompRoot string
	// termLog is the host file mounted at the container's
	// terminationMessagePath.
	termLog string
	// pidNS is the pod's shared PID namespace (/proc/<holder>/ns/pid),
	// "" for the container's own.
	pidNS string
}

// env resolves the container's environment: literal values, the
// fieldRefs the node knows (status.podIP and friends), then the Service
// variables the container does not set itself (its own env wins, as with
// the kubelet).
func env(in specInput) []string {
	out := make([]string, 0, len(in.c.Env)+len(in.serviceEnv))
	own := make(map[string]bool, len(in.c.Env))
	for _, e := range in.c.Env {
		own[e.Name] = true
		v := e.Value.Data
		switch {
		case e.FieldRef != "":
			v = in.node.fieldValue(in.pod, in.ip, e.FieldRef)
		case e.ResourceFieldRef != nil:
			v = e.ResourceFieldRef.Value(in.node.alloc)
		}
		out = append(out, e.Name+"="+v)
	}
	for _, e := range in.serviceEnv {
		if !own[e.Name] {
			out = append(out, e.Name+"="+e.Value.Data)
		}
	}
	return out
}

// specOpts turns a planned container into OCI spec options.
func specOpts(img containerd.Image, in specInput) ([]oci.SpecOpts, error) {
	c := in.c
	opts := []oci.SpecOpts{oci.WithImageConfig(img)}
	switch {
	case len(c.Command) > 0:
		opts = append(opts, oci.WithProcessArgs(append(append([]string{}, c.Command...), c.Args...)...))
	case len(c.Args) > 0:
		opts = append(opts, oci.WithImageConfigArgs(img, c.Args))
	}
	if c.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(c.WorkingDir))
	}
	if e := env(in); len(e) > 0 {
		opts = append(opts, oci.WithEnv(e))
	}
	opts = append(opts, namespaceOpts(in)...)
	if c.TTY {
		opts = append(opts, oci.WithTTY)
	}
	mounts, err := volumeMounts(in)
	if err != nil {
		return nil, err
	}
	opts = append(opts, oci.WithMounts(mounts), withRootPropagation(in.c))
	opts = append(opts, resourceOpts(c)...)
	opts = append(opts, userOpts(c, in.imageUser)...)
	opts = append(opts, securityOpts(c)...)
	opts = append(opts, sysctlOpts(in.pod)...)
	iso, err := isolationOpts(c, in.seccompRoot) // after securityOpts: seccomp follows the capabilities
	if err != nil {
		return nil, err
	}
	return append(opts, iso...), nil
}

// namespaceOpts put the container in its pod's namespaces: the pod's
// network, UTS and IPC namespaces, or the host's with hostNetwork and
// hostIPC; its own PID namespace, the host's with hostPID, or the pod's
// shared one (pidns.go).
func namespaceOpts(in specInput) []oci.SpecOpts {
	var opts []oci.SpecOpts
	spec := in.pod.Spec
	if spec.HostNetwork {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostNamespace(specs.UTSNamespace))
		if in.resolv == "" {
			opts = append(opts, oci.WithHostResolvconf)
		}
	} else {
		opts = append(opts,
			oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: in.ns.Net}),
			oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.UTSNamespace, Path: in.ns.UTS}),
			oci.WithHostname(in.pod.Hostname()),
		)
		if in.resolv == "" {
			opts = append(opts, oci.WithHostResolvconf)
		}
	}
	switch {
	case spec.HostIPC:
		// The host's IPC namespace, and its /dev/shm for POSIX shared
		// memory, as containerd's CRI mounts it with NamespaceMode NODE.
		opts = append(opts, oci.WithHostNamespace(specs.IPCNamespace), withHostShm)
	case !spec.HostNetwork:
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.IPCNamespace, Path: in.ns.IPC}))
	}
	switch {
	case spec.HostPID:
		opts = append(opts, oci.WithHostNamespace(specs.PIDNamespace))
	case in.pidNS != "":
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.PIDNamespace, Path: in.pidNS}))
	}
	return opts
}

// withHostShm mounts the host's /dev/shm over the container's own.
func withHostShm(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	for i, m := range s.Mounts {
		if m.Destination == "/dev/shm" {
			s.Mounts[i] = specs.Mount{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm", Options: []string{"rbind", "nosuid", "noexec", "nodev", "rw"}}
			return nil
		}
	}
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm", Options: []string{"rbind", "nosuid", "noexec", "nodev", "rw"}})
	return nil
}

func volumeMounts(in specInput) ([]specs.Mount, error) {
	var out []specs.Mount
	if in.hosts != "" {
		out = append(out, specs.Mount{Destination: "/etc/hosts", Type: "bind", Source: in.hosts, Options: []string{"rbind", "ro"}})
	}
	if in.resolv != "" {
		out = append(out, specs.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: in.resolv, Options: []string{"rbind", "ro"}})
	}
	if in.termLog != "" {
		out = append(out, specs.Mount{Destination: in.c.TerminationMessageFile(), Type: "bind", Source: in.termLog, Options: []string{"rbind", "rprivate", "rw"}})
	}
	for i, m := range in.c.VolumeMounts {
		src, ok := in.mounts[m.Name]
		if !ok {
			return nil, fmt.Errorf("container %s mounts unknown volume %q", in.c.Name, m.Name)
		}
		if m.SubPath != "" || m.SubPathExpr != "" {
			if src, ok = in.subPaths[i]; !ok {
				return nil, fmt.Errorf("container %s: no mount point for the subPath of volume %q", in.c.Name, m.Name)
			}
		}
		prop, err := propagation(src, m.MountPropagation)
		if err != nil {
			return nil, fmt.Errorf("container %s, volume %q: %w", in.c.Name, m.Name, err)
		}
		opts := []string{"rbind", prop}
		if m.ReadOnly || readOnlyVolume(in.pod, m.Name) {
			opts = append(opts, "ro")
		} else {
			opts = append(opts, "rw")
		}
		out = append(out, specs.Mount{Destination: m.MountPath, Type: "bind", Source: src, Options: opts})
	}
	return out, nil
}

// readOnlyVolume reports a downwardAPI or projected volume: the kubelet
// mounts them read-only whatever the volumeMount says (their files are
// the node's to write).
func readOnlyVolume(p *plan.Pod, name string) bool {
	if p == nil {
		return false
	}
	for i := range p.Spec.Volumes {
		if v := &p.Spec.Volumes[i]; v.Name == name {
			return v.Kind == "downwardAPI" || v.Kind == "projected"
		}
	}
	return false
}

// resourceOpts maps limits to cgroup limits: memory limit, CPU quota from
// the CPU limit, CPU shares from the request (as the kubelet does).
func resourceOpts(c plan.Container) []oci.SpecOpts {
	var opts []oci.SpecOpts
	if c.Limits.Memory > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(c.Limits.Memory)))
	}
	if c.Limits.MilliCPU > 0 {
		opts = append(opts, oci.WithCPUCFS(max(c.Limits.MilliCPU*cfsPeriod/1000, 1000), cfsPeriod))
	}
	req := c.Requests.MilliCPU
	if req == 0 {
		req = c.Limits.MilliCPU
	}
	if req > 0 {
		opts = append(opts, oci.WithCPUShares(uint64(max(req*1024/1000, 2))))
	}
	return opts
}

// hostIP is the node's first global IPv4 address (hostNetwork pods'
// IP), or 127.0.0.1.
func hostIP() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
