package dns

import (
	"berth.dev/berth/compiler/plan"
	"strconv"
	"strings"
	"testing"
)

func TestPodResolvConf(t *testing.T) {
	cluster := &Cluster{Nameserver: "10.88.0.1", Domain: "cluster.local"}
	host := ParseHostConfig([]byte("# host\nnameserver 192.0.2.53\nsearch old.example\nsearch example.com. corp . svc.cluster.local\nnameserver 192.0.2.54 ; second\noptions timeout:2 rotate\noptions timeout:3\n"))
	two := "2"
	var many []string
	for i := range 40 {
		many = append(many, "d"+strconv.Itoa(i)+".example")
	}
	long := strings.Repeat("a", 254)
	cases := []struct {
		name    string
		pod     PodDNS
		cluster *Cluster
		want    string
	}{{
		name:    "ClusterFirst: cluster DNS, cluster search then the host's, ndots:5",
		pod:     PodDNS{Namespace: "shop"},
		cluster: cluster,
		want:    "search shop.svc.cluster.local svc.cluster.local cluster.local example.com corp\nnameserver 10.88.0.1\noptions ndots:5\n",
	}, {
		name:    "ClusterFirst on the host network falls back to Default",
		pod:     PodDNS{Namespace: "shop", Policy: "ClusterFirst", HostNetwork: true},
		cluster: cluster,
		want:    "search example.com corp svc.cluster.local\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions timeout:3 rotate\n",
	}, {
		name:    "ClusterFirstWithHostNet keeps the cluster DNS",
		pod:     PodDNS{Namespace: "shop", Policy: "ClusterFirstWithHostNet", HostNetwork: true},
		cluster: cluster,
		want:    "search shop.svc.cluster.local svc.cluster.local cluster.local example.com corp\nnameserver 10.88.0.1\noptions ndots:5\n",
	}, {
		name: "ClusterFirst without cluster DNS falls back to Default",
		pod:  PodDNS{Namespace: "shop"},
		want: "search example.com corp svc.cluster.local\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions timeout:3 rotate\n",
	}, {
		name:    "Default merges dnsConfig: duplicates dropped, options replaced in place",
		pod:     PodDNS{Namespace: "shop", Policy: "Default", Config: &plan.PodDNSConfig{Nameservers: []string{"192.0.2.54", "1.1.1.1"}, Searches: []string{"corp", "x.example"}, Options: []plan.PodDNSConfigOption{{Name: "timeout", Value: &two}, {Name: "edns0"}}}},
		cluster: cluster,
		want:    "search example.com corp svc.cluster.local x.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 1.1.1.1\noptions timeout:2 rotate edns0\n",
	}, {
		name:    "None: only dnsConfig",
		pod:     PodDNS{Namespace: "shop", Policy: "None", Config: &plan.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: []string{"a.example"}, Options: []plan.PodDNSConfigOption{{Name: "ndots", Value: &two}}}},
		cluster: cluster,
		want:    "search a.example\nnameserver 1.1.1.1\noptions ndots:2\n",
	}, {
		name:    "ClusterFirst with dnsConfig: ndots replaced, nameservers cut to 3",
		pod:     PodDNS{Namespace: "shop", Config: &plan.PodDNSConfig{Nameservers: []string{"1.1.1.1", "1.0.0.1", "8.8.8.8"}, Options: []plan.PodDNSConfigOption{{Name: "ndots", Value: &two}}}},
		cluster: cluster,
		want:    "search shop.svc.cluster.local svc.cluster.local cluster.local example.com corp\nnameserver 10.88.0.1\nnameserver 1.1.1.1\nnameserver 1.0.0.1\noptions ndots:2\n",
	}, {
		name:    "search cut to 32 domains, too long ones dropped",
		pod:     PodDNS{Namespace: "shop", Policy: "None", Config: &plan.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: append([]string{long}, many...)}},
		cluster: cluster,
		want:    "search " + strings.Join(many[:31], " ") + "\nnameserver 1.1.1.1\n",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(PodResolvConf(c.pod, c.cluster, host)); got != c.want {
				t.Errorf("resolv.conf\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

func TestFitSearchesLineLength(t *testing.T) {
	var s []string
	for i := range 30 {
		s = append(s, strings.Repeat("a", 60)+strconv.Itoa(i+10)+".example")
	}
	got := fitSearches(s)
	if n := len(strings.Join(got, " ")); n > maxSearchChars || len(got) != 28 {
		t.Errorf("kept %d domains, %d characters; want the first 28 within %d", len(got), n, maxSearchChars)
	}
}
