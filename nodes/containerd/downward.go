package containerd

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"

	"berth.dev/berth/compiler/plan"
)

// nodeFacts are what the downward API reads from the node: its name
// (spec.nodeName), its address (status.hostIP) and what it offers pods
// (an unset limit).
type nodeFacts struct {
	name  string
	ip    string
	alloc plan.Allocatable
}

// newNodeFacts takes the inventory's facts from opts and the machine's
// where the inventory says nothing: the host name, the first global
// IPv4 address, the CPUs, MemTotal, and the size of the file system of
// the state directory (the kubelet's ephemeral-storage capacity is its
// root directory's file system).
func newNodeFacts(o *Options) nodeFacts {
	f := nodeFacts{name: o.NodeName, ip: o.NodeIP, alloc: o.Allocatable}
	if f.name == "" {
		f.name = hostname()
	}
	if f.ip == "" {
		f.ip = hostIP()
	}
	if f.alloc.MilliCPU <= 0 {
		f.alloc.MilliCPU = int64(runtime.NumCPU()) * 1000
	}
	if f.alloc.Memory <= 0 {
		f.alloc.Memory = memTotal()
	}
	if f.alloc.EphemeralStorage <= 0 {
		var st unix.Statfs_t
		if err := unix.Statfs(o.StateDir, &st); err == nil {
			f.alloc.EphemeralStorage = int64(st.Blocks) * st.Bsize
		}
	}
	return f
}

// memTotal is /proc/meminfo's MemTotal in bytes (0 if unreadable).
func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		fs := bytes.Fields(sc.Bytes())
		if len(fs) >= 2 && string(fs[0]) == "MemTotal:" {
			kb, _ := strconv.ParseInt(string(fs[1]), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// fieldValue is a downward field of the pod on this node, as the
// kubelet's podFieldSelectorRuntimeValue gives it: the node's fields
// here, the pod's own through plan.Pod.FieldValue.
func (f *nodeFacts) fieldValue(pod *plan.Pod, podIP, path string) string {
	switch path {
	case "spec.nodeName":
		return f.name
	case "status.hostIP", "status.hostIPs":
		return f.ip
	case "status.podIP", "status.podIPs":
		// berth pods are single-stack: the list is the one address.
		return podIP
	}
	v, _ := pod.FieldValue(path)
	return v
}

// project fills the files of the pod's downwardAPI and projected
// volumes (a copy; p is not modified) for the volume manager: the
// downward ones from the pod and this node, as the kubelet collects
// them when it writes the volume.
func (r *Runtime) project(p *plan.Pod) *plan.Pod {
	if !slices.ContainsFunc(p.Spec.Volumes, func(v plan.Volume) bool { return len(v.Sources) > 0 }) {
		return p
	}
	out := *p
	out.Spec.Volumes = slices.Clone(p.Spec.Volumes)
	value := func(f *plan.DownwardFile) string {
		switch {
		case f.FieldRef != "":
			return r.node.fieldValue(p, "", f.FieldRef)
		case f.ResourceFieldRef != nil:
			return f.ResourceFieldRef.Value(r.node.alloc)
		}
		return f.Value
	}
	for i := range out.Spec.Volumes {
		if v := &out.Spec.Volumes[i]; len(v.Sources) > 0 {
			v.Files = v.Project(value)
		}
	}
	return &out
}
