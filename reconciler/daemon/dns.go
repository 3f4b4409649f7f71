package daemon

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/nodes/containerd"
	"berth.dev/berth/nodes/dns"
	"berth.dev/berth/reconciler"
)

// hostResolvConf is where the node's own resolvers are: the cluster DNS
// forwards other names to them, and pods search its domains.
const hostResolvConf = "/etc/resolv.conf"

// startDNS starts the node's cluster DNS on the pod bridge's address (the
// gateway CNI gives the bridge: the first address of the node's pod
// CIDR) and returns what pods' resolv.conf say.
func (n *Node) startDNS(ctx context.Context, p *plan.Plan, podCIDR string) (*dns.Server, *containerd.DNSConfig, error) {
	prefix, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster DNS: pod CIDR %q: %w", podCIDR, err)
	}
	prefix = prefix.Masked()
	gw := prefix.Addr().Next()
	listen := net.JoinHostPort(gw.String(), "53")
	upstreams, search, herr := dns.HostResolvers(hostResolvConf)
	if len(n.cfg.DNSUpstreams) > 0 {
		upstreams = n.cfg.DNSUpstreams
	} else if herr != nil {
		return nil, nil, fmt.Errorf("%w (or pass --dns-upstream)", herr)
	}
	// Never forward to ourselves: a host that uses the cluster DNS would
	// make every unknown name loop.
	upstreams = slices.DeleteFunc(slices.Clone(upstreams), func(u string) bool { return u == listen })
	domain := n.cfg.ClusterDomain
	if domain == "" {
		domain = dns.DefaultDomain
	}
	srv := dns.New(dns.Options{
		Addr:      listen,
		Upstreams: upstreams,
		Domain:    domain,
		Allow:     []netip.Prefix{prefix},
		OnQuery:   n.syncs.dnsQuery,
		Logger:    n.cfg.Logger.With("component", "dns"),
	})
	srv.SetServices(p.Services)
	if err := srv.Start(ctx); err != nil {
		return nil, nil, fmt.Errorf("%w (another DNS server on this address? --cluster-dns=false gives pods the host's resolvers)", err)
	}
	return srv, &containerd.DNSConfig{Nameserver: gw.String(), Domain: domain, Search: search}, nil
}

func (n *Node) stopDNS() {
	n.mu.Lock()
	srv := n.dns
	n.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// dnsRoutes hands the reconciler's routes to the router and, for the
// ready endpoints of headless Services, to the cluster DNS.
type dnsRoutes struct {
	reconciler.Router
	dns *dns.Server
}

func (d dnsRoutes) SyncAll(ctx context.Context, routes []nodes.ServiceRoute, fw nodes.Firewall) error {
	d.dns.SetRoutes(routes)
	return d.Router.SyncAll(ctx, routes, fw)
}
