package dns

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"berth.dev/berth/compiler/plan"
)

// maxNameservers is the kubelet's cut of a pod's nameservers
// (validation.MaxDNSNameservers): libc reads three.
const maxNameservers = 3

// maxSearchLen is the longest search domain the kubelet keeps
// (DNS1123SubdomainMaxLength): glibc aborts on longer ones.
const maxSearchLen = 253

// HostConfig is what a resolv.conf says, parsed as the kubelet parses the
// host's (parseResolvConf): nameservers, the last search line without
// "." and trailing dots, and options.
type HostConfig struct {
	Nameservers []string
	Searches    []string
	Options     []string
}

// maxResolvConf is the budget for the host's resolv.conf.
const maxResolvConf = 64 << 10

// ReadHostConfig reads and parses the host's resolv.conf at path.
func ReadHostConfig(path string) (HostConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return HostConfig{}, fmt.Errorf("read the host's resolv.conf: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxResolvConf+1))
	if err != nil {
		return HostConfig{}, fmt.Errorf("read the host's resolv.conf %s: %w", path, err)
	}
	if len(b) > maxResolvConf {
		return HostConfig{}, fmt.Errorf("the host's resolv.conf %s is over %d bytes", path, maxResolvConf)
	}
	return ParseHostConfig(b), nil
}

// ParseHostConfig parses a resolv.conf as the kubelet does.
func ParseHostConfig(b []byte) HostConfig {
	var c HostConfig
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) >= 2 {
				c.Nameservers = append(c.Nameservers, f[1])
			}
		case "search":
			// Each search line replaces the previous one, as in libc.
			c.Searches = nil
			for _, s := range f[1:] {
				if s != "." {
					c.Searches = append(c.Searches, strings.TrimSuffix(s, "."))
				}
			}
		case "options":
			c.Options = mergeOptions(c.Options, f[1:])
		}
	}
	return c
}

// Cluster is the node's cluster DNS, for ClusterFirst pods.
type Cluster struct {
	Nameserver string // its address
	Domain     string // cluster.local
}

// PodDNS is what decides a pod's resolv.conf.
type PodDNS struct {
	Namespace   string
	Policy      string // "" is ClusterFirst
	HostNetwork bool
	Config      *plan.PodDNSConfig
}

// PodResolvConf is the /etc/resolv.conf of a pod, as the kubelet makes it
// (pkg/kubelet/network/dns GetPodDNS) and containerd writes it (search,
// nameserver, options lines). The policy picks the base: None starts
// empty; ClusterFirst (not on the host network) and
// ClusterFirstWithHostNet take the cluster DNS as the only nameserver,
// the search path <ns>.svc.<domain>, svc.<domain>, <domain> then the
// host's domains, and ndots:5; Default, ClusterFirst on the host network
// and a ClusterFirst pod of a node without cluster DNS (cluster nil) take
// the host's file. The pod's dnsConfig is then appended (duplicates
// dropped; an option replaces the base's of the same name) and the result
// cut to the kubelet's limits: 3 nameservers, 32 search domains of at
// most 253 characters, 2048 characters in the search line.
func PodResolvConf(p PodDNS, cluster *Cluster, host HostConfig) []byte {
	var c HostConfig
	policy := p.Policy
	if policy == "" {
		policy = plan.DNSClusterFirst
	}
	useCluster := policy == plan.DNSClusterFirstWithHostNet || (policy == plan.DNSClusterFirst && !p.HostNetwork)
	switch {
	case policy == plan.DNSNone:
	case useCluster && cluster != nil:
		c.Nameservers = []string{cluster.Nameserver}
		d := cluster.Domain
		c.Searches = omitDuplicates(append([]string{p.Namespace + ".svc." + d, "svc." + d, d}, host.Searches...))
		c.Options = []string{"ndots:5"}
	default:
		c = HostConfig{Nameservers: slices.Clone(host.Nameservers), Searches: slices.Clone(host.Searches), Options: slices.Clone(host.Options)}
	}
	if d := p.Config; d != nil {
		c.Nameservers = omitDuplicates(append(c.Nameservers, d.Nameservers...))
		c.Searches = omitDuplicates(append(c.Searches, d.Searches...))
		var opts []string
		for _, o := range d.Options {
			if o.Value != nil && *o.Value != "" {
				opts = append(opts, o.Name+":"+*o.Value)
			} else {
				opts = append(opts, o.Name)
			}
		}
		c.Options = mergeOptions(c.Options, opts)
	}
	if len(c.Nameservers) > maxNameservers {
		c.Nameservers = c.Nameservers[:maxNameservers]
	}
	c.Searches = fitSearches(c.Searches)
	var b strings.Builder
	if len(c.Searches) > 0 {
		b.WriteString("search " + strings.Join(c.Searches, " ") + "\n")
	}
	for _, s := range c.Nameservers {
		b.WriteString("nameserver " + s + "\n")
	}
	if len(c.Options) > 0 {
		b.WriteString("options " + strings.Join(c.Options, " ") + "\n")
	}
	return []byte(b.String())
}

// fitSearches is formDNSSearchFitsLimits: at most 32 domains, none over
// 253 characters, the line within 2048 (the last domains dropped). berth
// also drops what could break the line (the host's file is free text).
func fitSearches(s []string) []string {
	if len(s) > maxSearchPaths {
		s = s[:maxSearchPaths]
	}
	s = slices.DeleteFunc(s, func(d string) bool { return len(d) > maxSearchLen || d == "" || !validLine(d) })
	for len(s) > 0 && len(strings.Join(s, " ")) > maxSearchChars {
		s = s[:len(s)-1]
	}
	return s
}

// omitDuplicates keeps the first of each value, in order.
func omitDuplicates(s []string) []string {
	out := s[:0:0]
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// mergeOptions adds opts to base; an option whose name (before ':') is
// already there replaces it in place. (The kubelet merges through a map,
// so its order is random; berth keeps the first place of each name, so
// the file is the same on every write.)
func mergeOptions(base, opts []string) []string {
	out := slices.Clone(base)
	for _, o := range opts {
		name, _, _ := strings.Cut(o, ":")
		i := slices.IndexFunc(out, func(e string) bool { n, _, _ := strings.Cut(e, ":"); return n == name })
		if i >= 0 {
			out[i] = o
		} else {
			out = append(out, o)
		}
	}
	return out
}
