package containerd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes/dns"
)

// The files the node writes for a pod: its resolv.conf and its state
// file.

// writeResolvConf writes the pod's resolv.conf as the kubelet makes it
// (nodes/dns.PodResolvConf) and returns its host path, or "" when the
// pod takes the host's file unchanged (dnsPolicy Default, ClusterFirst
// on the host network or without cluster DNS, and no dnsConfig): then
// the host's file is bound.
func (r *Runtime) writeResolvConf(p *plan.Pod) (string, error) {
	d := r.opts.DNS
	policy := p.Spec.DNS()
	cluster := policy == plan.DNSClusterFirstWithHostNet || (policy == plan.DNSClusterFirst && !p.Spec.HostNetwork)
	if policy != plan.DNSNone && p.Spec.DNSConfig == nil && (!cluster || d == nil) {
		return "", nil
	}
	var host dns.HostConfig
	var c *dns.Cluster
	if cluster && d != nil {
		c = &dns.Cluster{Nameserver: d.Nameserver, Domain: d.Domain}
		host.Searches = d.Search
	} else if policy != plan.DNSNone {
		var err error
		if host, err = dns.ReadHostConfig(r.opts.HostResolvConf); err != nil {
			return "", fmt.Errorf("/etc/resolv.conf of dnsPolicy %s: %w", policy, err)
		}
	}
	content := dns.PodResolvConf(dns.PodDNS{Namespace: p.Namespace, Policy: policy, HostNetwork: p.Spec.HostNetwork, Config: p.Spec.DNSConfig}, c, host)
	path, err := r.vols.WriteResolvConf(p, content)
	if err != nil {
		return "", fmt.Errorf("/etc/resolv.conf: %w", err)
	}
	return path, nil
}

func (r *Runtime) writeRecord(pd *pod) error {
	pd.mu.Lock()
	rec := record{Pod: pd.spec, ID: pd.id, Netns: pd.ns.Net, IP: pd.ip, StartedAt: pd.startedAt}
	pd.mu.Unlock()
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	dir := r.podDir(pd.key)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".pod.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "pod.json"))
}
