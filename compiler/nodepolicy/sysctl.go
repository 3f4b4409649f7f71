package nodepolicy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"berth.dev/berth/compiler/api"
)

// SafeSysctls are the sysctls a kubelet allows without
// --allowed-unsafe-sysctls (pkg/kubelet/sysctl/safe_sysctls.go,
// Kubernetes 1.37): namespaced, so set in the pod's own namespaces, and
// without effect on other pods. A kernel older than a name's (3.16 for
// ip_local_reserved_ports, 4.5 to 4.15 for the TCP ones) lacks it in a
// network namespace, and the container then fails to start.
var SafeSysctls = []string{
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
	"net.ipv4.tcp_slow_start_after_idle",
	"net.ipv4.tcp_notsent_lowat",
}

// sysctlPattern is the kubelet's grammar of --allowed-unsafe-sysctls
// entries: a sysctl name, or a prefix ending in '*'.
var sysctlPattern = regexp.MustCompile(`^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*([a-z0-9][-_a-z0-9]*)?[a-z0-9*]$`)

// ParseSysctls reads --allowed-unsafe-sysctls: comma-separated sysctl
// names or patterns ending in '*' ("kernel.msg*", "net.core.somaxconn"),
// each known to be namespaced, as the kubelet's NewAllowlist requires:
// a node-wide sysctl set by one pod would change every pod.
func ParseSysctls(s string) ([]string, error) {
	out := []string{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if len(f) > 253 || !sysctlPattern.MatchString(f) {
			return nil, fmt.Errorf("sysctl %q must have at most 253 characters and match regex %s", f, sysctlPattern)
		}
		if api.SysctlNamespace(strings.TrimSuffix(f, "*")) == "" {
			return nil, fmt.Errorf("the sysctls %q are not known to be namespaced (only kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* and net.* are)", f)
		}
		out = append(out, api.NormalizeSysctl(f))
	}
	return out, nil
}

// sysctlAllowed reports whether the node runs a pod with sysctl name:
// the kubelet's safe set, and the node's unsafe allowlist.
func (p Policy) sysctlAllowed(name string) bool {
	name = api.NormalizeSysctl(name)
	if slices.Contains(SafeSysctls, name) {
		return true
	}
	for _, a := range p.AllowedUnsafeSysctls {
		if prefix, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(name, prefix) || a == name {
			return true
		}
	}
	return false
}
