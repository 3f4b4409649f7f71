package containerd

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
)

// TestPodDNSAndHosts: a pod's hostname, subdomain, hostAliases,
// dnsPolicy and dnsConfig as the kubelet applies them, read inside the
// container: its host name, its /etc/hosts (the FQDN line and the
// HostAliases section) and its /etc/resolv.conf for ClusterFirst with
// dnsConfig, None and Default (from the host's file).
func TestPodDNSAndHosts(t *testing.T) {
	opts := testOptions(t)
	opts.DNS = &DNSConfig{Nameserver: "10.99.0.1", Domain: "cluster.local", Search: []string{"corp.example"}}
	opts.HostResolvConf = filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(opts.HostResolvConf, []byte("nameserver 192.0.2.53\nsearch host.example\noptions timeout:2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rt := newRuntimeWith(t, opts)
	show := `echo "name $(hostname)"; cat /etc/hosts /etc/resolv.conf; sleep 3600`
	two := "2"

	first := testPod("dns-first", container("app", "sh", "-c", show))
	first.Spec.Hostname, first.Spec.Subdomain = "web-1", "web"
	first.Spec.HostAliases = []plan.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"foo.local", "bar.local"}}}
	first.Spec.DNSConfig = &plan.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: []string{"x.example"}, Options: []plan.PodDNSConfigOption{{Name: "ndots", Value: &two}, {Name: "edns0"}}}

	none := testPod("dns-none", container("app", "sh", "-c", show))
	none.Spec.DNSPolicy = plan.DNSNone
	none.Spec.DNSConfig = &plan.PodDNSConfig{Nameservers: []string{"9.9.9.9"}, Searches: []string{"only.example"}}

	def := testPod("dns-default", container("app", "sh", "-c", show))
	def.Spec.DNSPolicy = plan.DNSDefault
	def.Spec.DNSConfig = &plan.PodDNSConfig{Options: []plan.PodDNSConfigOption{{Name: "timeout", Value: &two}, {Name: "rotate"}}}

	cleanup(t, rt, first.Key(), none.Key(), def.Key())
	for _, p := range []*plan.Pod{first, none, def} {
		if err := rt.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	waitLog(t, rt, first.Key(), "app", "name web-1\n", 60*time.Second)
	waitLog(t, rt, first.Key(), "app", "\tweb-1.web.default.svc.cluster.local\tweb-1\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n", 10*time.Second)
	waitLog(t, rt, first.Key(), "app", "search default.svc.cluster.local svc.cluster.local cluster.local corp.example x.example\nnameserver 10.99.0.1\nnameserver 1.1.1.1\noptions ndots:2 edns0\n", 10*time.Second)
	waitLog(t, rt, none.Key(), "app", "name dns-none\n", 60*time.Second)
	// The whole resolv.conf: it follows the pod's own /etc/hosts line.
	waitLog(t, rt, none.Key(), "app", "\tdns-none\nsearch only.example\nnameserver 9.9.9.9\n", 60*time.Second)
	waitLog(t, rt, def.Key(), "app", "\tdns-default\nsearch host.example\nnameserver 192.0.2.53\noptions timeout:2 rotate\n", 60*time.Second)
}
