package volumes

import (
	"os"
	"strings"
	"testing"

	"berth.dev/berth/compiler/plan"
)

func TestRenderPodHosts(t *testing.T) {
	cases := []struct {
		name    string
		in      Hosts
		want    string // after the fixed lines
		wantErr string
	}{{
		name: "host name only",
		in:   Hosts{Name: "web-0", IP: "10.88.0.5"},
		want: "10.88.0.5\tweb-0\n",
	}, {
		name: "subdomain: the FQDN first",
		in:   Hosts{Name: "db-0", Domain: "db.shop.svc.cluster.local", IP: "10.88.0.5"},
		want: "10.88.0.5\tdb-0.db.shop.svc.cluster.local\tdb-0\n",
	}, {
		name: "hostAliases after the kubelet's comment, one line per IP",
		in:   Hosts{Name: "web", IP: "10.88.0.5", Aliases: []plan.HostAlias{{IP: "127.0.0.1", Hostnames: []string{"foo.local", "bar.local"}}, {IP: "fd00::1", Hostnames: []string{"v6"}}}},
		want: "10.88.0.5\tweb\n\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\nfd00::1\tv6\n",
	}, {
		name: "hostAliases before the pod has an IP",
		in:   Hosts{Name: "web", Aliases: []plan.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"a"}}}},
		want: "\n# Entries added by HostAliases.\n10.1.2.3\ta\n",
	}, {
		name:    "an alias that would break its line",
		in:      Hosts{Name: "web", IP: "10.88.0.5", Aliases: []plan.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"a\n10.6.6.6 evil"}}}},
		wantErr: "hostAliases: host name",
	}, {
		name:    "an alias IP with a zone",
		in:      Hosts{Name: "web", Aliases: []plan.HostAlias{{IP: "fe80::1%eth0"}}},
		wantErr: "a zone is not allowed",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := RenderPodHosts(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := hostsHeader + c.want; string(got) != want {
				t.Errorf("hosts\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestWriteHostsSubdomain(t *testing.T) {
	m := New(t.TempDir())
	pod := &plan.Pod{Namespace: "shop", Name: "db-0", Spec: plan.PodSpec{Hostname: "db-0", Subdomain: "db",
		HostAliases: []plan.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"legacy"}}}}}
	p, err := m.WriteHosts(pod, "10.88.0.9", "example.internal")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := hostsHeader + "10.88.0.9\tdb-0.db.shop.svc.example.internal\tdb-0\n\n# Entries added by HostAliases.\n10.1.2.3\tlegacy\n"
	if string(b) != want {
		t.Errorf("hosts\n%s\nwant\n%s", b, want)
	}
}

// TestWriteHostsHostNetwork: a hostNetwork pod's /etc/hosts is the node's
// own after the kubelet's header, with the pod's hostAliases, and no line
// of its own (its name is the node's); a node file past the budget is an
// error.
func TestWriteHostsHostNetwork(t *testing.T) {
	dir := t.TempDir()
	node := dir + "/hosts"
	const nodeHosts = "127.0.0.1\tlocalhost\n192.168.1.7\tnode-a.lan node-a\n"
	if err := os.WriteFile(node, []byte(nodeHosts), 0o644); err != nil {
		t.Fatal(err)
	}
	m := New(dir + "/pods").WithHostHosts(node)
	pod := &plan.Pod{Namespace: "kube-system", Name: "agent", Spec: plan.PodSpec{HostNetwork: true,
		HostAliases: []plan.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"legacy"}}}}}
	p, err := m.WriteHosts(pod, "192.168.1.7", "cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := "# Kubernetes-managed hosts file (host network).\n" + nodeHosts + "\n# Entries added by HostAliases.\n10.1.2.3\tlegacy\n"
	if string(b) != want {
		t.Errorf("hosts\n%s\nwant\n%s", b, want)
	}
	if err := os.WriteFile(node, []byte(strings.Repeat("#", maxHostHosts+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.WriteHosts(pod, "192.168.1.7", "cluster.local"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a node hosts file past the budget: %v", err)
	}
}
