package api

import "strings"

// Kernel namespaces of a sysctl, as k8s.io/component-helpers' sysctl
// utilities name them.
const (
	SysctlIPCNamespace = "ipc"
	SysctlNetNamespace = "net"
)

// sysctlPrefixes are the namespaced sysctls by prefix (the kubelet's
// list): only these can be set for one pod.
var sysctlPrefixes = []struct{ prefix, ns string }{
	{"kernel.shm", SysctlIPCNamespace},
	{"kernel.msg", SysctlIPCNamespace},
	{"fs.mqueue.", SysctlIPCNamespace},
	{"net.", SysctlNetNamespace},
}

// SysctlNamespace is the kernel namespace a sysctl (or a pattern ending
// in '*') lives in: "ipc", "net", or "" when it is not known to be
// namespaced. The name may use '/' as its separator.
func SysctlNamespace(name string) string {
	name = NormalizeSysctl(name)
	if name == "kernel.sem" {
		return SysctlIPCNamespace
	}
	for _, p := range sysctlPrefixes {
		if strings.HasPrefix(name, p.prefix) {
			return p.ns
		}
	}
	return ""
}

// NormalizeSysctl writes a sysctl name with '.' between its parts, as
// the kubelet does: a name whose first separator is '/' uses '/' as
// its separator, and the dots in it are part of a part
// ("net/ipv4/conf/eno2.100/rp_filter" is
// "net.ipv4.conf.eno2/100.rp_filter").
func NormalizeSysctl(name string) string {
	i := strings.IndexAny(name, "./")
	if i < 0 || name[i] == '.' {
		return name
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, name)
}
