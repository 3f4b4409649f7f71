package dns

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// service is one Service as DNS answers it.
type service struct {
	name, namespace string
	// clusterIP is invalid for a headless Service.
	clusterIP netip.Addr
	ports     []plan.ServicePort
}

// endpoints are a headless Service's ready pods, this node's and the
// other nodes': their addresses, and per service port (by index) the
// pods' target ports.
type endpoints struct {
	addrs []netip.Addr
	ports [][]target
	// hosts are the addresses of the pods with a host name in the
	// Service, by host name (pods of one Deployment may share one).
	hosts map[string][]netip.Addr
}

type target struct {
	addr netip.Addr
	port uint16
}

// zone is an immutable snapshot of what the server answers: the plan's
// Service table and the ready endpoints of headless Services. Lookups
// are map reads; a new plan or new readiness builds a new zone.
type zone struct {
	domain     string              // "cluster.local."
	services   map[string]*service // "<name>.<namespace>"
	namespaces map[string]bool
	reverse    map[string]string // in-addr.arpa / ip6.arpa name -> FQDN
	headless   map[string]*endpoints
}

func newZone(domain string) *zone {
	return &zone{domain: dns.Fqdn(strings.ToLower(domain)), services: map[string]*service{}, namespaces: map[string]bool{},
		reverse: map[string]string{}, headless: map[string]*endpoints{}}
}

// withServices is z answering svcs (the plan's table) instead.
func (z *zone) withServices(svcs []plan.Service) *zone {
	n := newZone(z.domain)
	n.headless = z.headless
	for i := range svcs {
		s := &svcs[i]
		e := &service{name: strings.ToLower(s.Name), namespace: strings.ToLower(s.Namespace), ports: s.Ports}
		if !s.Headless() {
			if ip, err := netip.ParseAddr(s.ClusterIP); err == nil {
				e.clusterIP = ip
				if r, err := dns.ReverseAddr(ip.String()); err == nil {
					n.reverse[r] = e.name + "." + e.namespace + ".svc." + n.domain
				}
			}
		}
		n.services[e.name+"."+e.namespace] = e
		n.namespaces[e.namespace] = true
	}
	return n
}

// withRoutes is z with the ready endpoints of the headless Services in
// routes (the reconciler's: this node's ready pods and those the other
// nodes told).
func (z *zone) withRoutes(routes []nodes.ServiceRoute) *zone {
	n := *z
	n.headless = map[string]*endpoints{}
	for i := range routes {
		r := &routes[i]
		if (r.ClusterIP != "" && r.ClusterIP != "None") || len(r.Ready) == 0 {
			continue
		}
		e := &endpoints{ports: make([][]target, len(r.Ports))}
		for _, p := range r.Ready {
			ip, err := netip.ParseAddr(p.IP)
			if err != nil {
				continue
			}
			e.addrs = append(e.addrs, ip)
			for pi := range e.ports {
				if pi < len(p.Ports) && p.Ports[pi] > 0 && p.Ports[pi] <= 65535 {
					e.ports[pi] = append(e.ports[pi], target{ip, uint16(p.Ports[pi])})
				}
			}
		}
		for _, h := range r.Hosts {
			if ip, err := netip.ParseAddr(h.IP); err == nil {
				if e.hosts == nil {
					e.hosts = map[string][]netip.Addr{}
				}
				h := strings.ToLower(h.Host)
				if !slices.Contains(e.hosts[h], ip) {
					e.hosts[h] = append(e.hosts[h], ip)
				}
			}
		}
		slices.SortFunc(e.addrs, netip.Addr.Compare)
		e.addrs = slices.Compact(e.addrs)
		for pi := range e.ports {
			slices.SortFunc(e.ports[pi], func(a, b target) int { return cmp.Or(a.addr.Compare(b.addr), cmp.Compare(a.port, b.port)) })
			e.ports[pi] = slices.Compact(e.ports[pi])
		}
		n.headless[strings.ToLower(r.Name)+"."+strings.ToLower(r.Namespace)] = e
	}
	return &n
}

// answer is what the zone says about one of its names: the records,
// none (the name exists without records of that type), or rcode
// NXDOMAIN.
type answer struct {
	rcode         int
	answer, extra []dns.RR
}

// lookup answers q when its name is in the cluster domain or is the
// reverse name of a ClusterIP; ok is false for every other name (the
// caller forwards it).
func (z *zone) lookup(q dns.Question, ttl uint32) (a answer, ok bool) {
	name := strings.ToLower(q.Name)
	if fqdn, hit := z.reverse[name]; hit {
		if q.Qtype == dns.TypePTR || q.Qtype == dns.TypeANY {
			a.answer = append(a.answer, &dns.PTR{Hdr: hdr(q.Name, dns.TypePTR, ttl), Ptr: fqdn})
		}
		return a, true
	}
	var rest string
	switch {
	case name == z.domain:
		return a, true
	case strings.HasSuffix(name, "."+z.domain):
		rest = strings.TrimSuffix(name, "."+z.domain)
	default:
		return a, false
	}
	labels := strings.Split(rest, ".")
	n := len(labels)
	if labels[n-1] != "svc" {
		return answer{rcode: dns.RcodeNameError}, true
	}
	switch n {
	case 1: // svc.cluster.local
		return a, true
	case 2: // <ns>.svc.cluster.local
		if !z.namespaces[labels[0]] {
			a.rcode = dns.RcodeNameError
		}
		return a, true
	case 3: // <svc>.<ns>.svc.cluster.local
		s := z.services[labels[0]+"."+labels[1]]
		if s == nil {
			return answer{rcode: dns.RcodeNameError}, true
		}
		return z.service(q, s, ttl), true
	case 4: // <endpoint>.<svc>.<ns>.svc.cluster.local (headless)
		s := z.services[labels[1]+"."+labels[2]]
		if s == nil || s.clusterIP.IsValid() {
			return answer{rcode: dns.RcodeNameError}, true
		}
		if ips, ok := z.headlessOf(s).hosts[labels[0]]; ok {
			for _, ip := range ips {
				a.answer = append(a.answer, addrRR(q, ip, ttl)...)
			}
			return a, true
		}
		for _, ip := range z.headlessOf(s).addrs {
			if endpointLabel(ip) == labels[0] {
				a.answer = addrRR(q, ip, ttl)
				return a, true
			}
		}
		return answer{rcode: dns.RcodeNameError}, true
	case 5: // _<port>._<proto>.<svc>.<ns>.svc.cluster.local
		s := z.services[labels[2]+"."+labels[3]]
		port, proto := strings.TrimPrefix(labels[0], "_"), strings.TrimPrefix(labels[1], "_")
		if s == nil || port == labels[0] || proto == labels[1] {
			return answer{rcode: dns.RcodeNameError}, true
		}
		for pi, p := range s.ports {
			if p.Name != "" && strings.EqualFold(p.Name, port) && strings.EqualFold(p.Protocol, proto) {
				if q.Qtype == dns.TypeSRV || q.Qtype == dns.TypeANY {
					a.answer, a.extra = z.srv(q.Name, s, pi, ttl)
				}
				return a, true
			}
		}
		return answer{rcode: dns.RcodeNameError}, true
	}
	return answer{rcode: dns.RcodeNameError}, true
}

// service answers a question about the Service's own name.
func (z *zone) service(q dns.Question, s *service, ttl uint32) answer {
	var a answer
	switch q.Qtype {
	case dns.TypeA, dns.TypeAAAA, dns.TypeANY:
		if s.clusterIP.IsValid() {
			a.answer = addrRR(q, s.clusterIP, ttl)
			break
		}
		for _, ip := range z.headlessOf(s).addrs {
			a.answer = append(a.answer, addrRR(q, ip, ttl)...)
		}
	case dns.TypeSRV:
		for pi, p := range s.ports {
			if p.Name == "" {
				continue // SRV records exist for named ports only
			}
			rr, extra := z.srv(q.Name, s, pi, ttl)
			a.answer = append(a.answer, rr...)
			a.extra = append(a.extra, extra...)
		}
	}
	return a
}

// srv is the SRV records of one named port: the Service's name and port,
// or for a headless Service one record per ready endpoint with the
// pod's target port, with their addresses as extra records.
func (z *zone) srv(qname string, s *service, pi int, ttl uint32) (rrs, extra []dns.RR) {
	fqdn := s.name + "." + s.namespace + ".svc." + z.domain
	if s.clusterIP.IsValid() {
		rrs = append(rrs, &dns.SRV{Hdr: hdr(qname, dns.TypeSRV, ttl), Priority: 0, Weight: 100, Port: uint16(s.ports[pi].Port), Target: fqdn})
		extra = addrRR(dns.Question{Name: fqdn, Qtype: dns.TypeANY}, s.clusterIP, ttl)
		return rrs, extra
	}
	eps := z.headlessOf(s)
	if pi >= len(eps.ports) {
		return nil, nil
	}
	for _, t := range eps.ports[pi] {
		host := endpointLabel(t.addr) + "." + fqdn
		rrs = append(rrs, &dns.SRV{Hdr: hdr(qname, dns.TypeSRV, ttl), Priority: 0, Weight: 100, Port: t.port, Target: host})
		extra = append(extra, addrRR(dns.Question{Name: host, Qtype: dns.TypeANY}, t.addr, ttl)...)
	}
	return rrs, extra
}

var noEndpoints = &endpoints{}

func (z *zone) headlessOf(s *service) *endpoints {
	if e := z.headless[s.name+"."+s.namespace]; e != nil {
		return e
	}
	return noEndpoints
}

// endpointLabel is a headless endpoint's DNS label: its address with
// dashes, as CoreDNS names pods without a hostname (10-88-0-5).
func endpointLabel(ip netip.Addr) string {
	if ip.Is4() {
		return strings.ReplaceAll(ip.String(), ".", "-")
	}
	return strings.ReplaceAll(ip.StringExpanded(), ":", "-")
}

// addrRR is an A or AAAA record for ip when q asks for its family (or
// any), else nothing: a name with only an IPv4 address has no AAAA
// record, and says so with an empty answer, not an error.
func addrRR(q dns.Question, ip netip.Addr, ttl uint32) []dns.RR {
	switch {
	case ip.Is4() && (q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY):
		return []dns.RR{&dns.A{Hdr: hdr(q.Name, dns.TypeA, ttl), A: ip.AsSlice()}}
	case ip.Is6() && (q.Qtype == dns.TypeAAAA || q.Qtype == dns.TypeANY):
		return []dns.RR{&dns.AAAA{Hdr: hdr(q.Name, dns.TypeAAAA, ttl), AAAA: ip.AsSlice()}}
	}
	return nil
}

func hdr(name string, t uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

// soa is the zone's SOA record, sent with negative answers so resolvers
// cache a missing name for ttl (as CoreDNS does).
func (z *zone) soa(ttl uint32) dns.RR {
	return &dns.SOA{Hdr: hdr(z.domain, dns.TypeSOA, ttl), Ns: "ns.dns." + z.domain, Mbox: "hostmaster." + z.domain,
		Serial: 1, Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: ttl}
}
