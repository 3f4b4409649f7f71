// Package dns is the node's cluster DNS, as Kubernetes' cluster DNS
// (CoreDNS) answers it: <svc>.<ns>.svc.cluster.local is the Service's
// ClusterIP, or one address per ready endpoint of a headless Service (on
// this node, and those the other nodes told: nodes.ServiceRoute.Ready);
// _<port>._<proto>.<svc>.<ns>.svc.cluster.local are SRV records of named
// ports; the reverse names of ClusterIPs have PTR records. Every other
// name goes to the node's upstream resolvers. The server listens on the
// pod bridge's address and answers from the plan the node runs, so a
// Service added by a commit resolves as soon as the node has the plan,
// with no pod touched. The wire format is github.com/miekg/dns's.
package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// Defaults of Options.
const (
	DefaultDomain         = "cluster.local"
	DefaultTTL            = 5 // seconds, as CoreDNS
	DefaultMaxForwards    = 256
	DefaultForwardTimeout = 2 * time.Second
)

// Options configure a Server; zero values take the defaults.
type Options struct {
	// Addr is where the server listens, UDP and TCP: the pod bridge's
	// address and port 53. The address need not exist yet (the bridge
	// comes with the first pod): the sockets bind with IP_FREEBIND.
	Addr string
	// Upstreams answer every name outside the cluster domain
	// (host:port); see HostResolvers.
	Upstreams []string
	// Domain is the cluster domain (cluster.local).
	Domain string
	// Allow are the networks whose queries are answered (the pod CIDRs);
	// others are refused, so the node is no open resolver. Empty: all.
	Allow []netip.Prefix
	// TTL of the answers, positive and negative, in seconds.
	TTL uint32
	// MaxForwards bounds the upstream queries in flight; past it a query
	// fails at once (SERVFAIL) rather than piling up.
	MaxForwards int
	// ForwardTimeout bounds one upstream exchange.
	ForwardTimeout time.Duration
	// OnQuery, when set, is told of every answered query: whether the
	// cluster zone answered it (or an upstream), and the response code.
	OnQuery func(local bool, rcode int)
	Logger  *slog.Logger
}

func (o *Options) defaults() {
	if o.Domain == "" {
		o.Domain = DefaultDomain
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.MaxForwards <= 0 {
		o.MaxForwards = DefaultMaxForwards
	}
	if o.ForwardTimeout <= 0 {
		o.ForwardTimeout = DefaultForwardTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Server is a node's cluster DNS server.
type Server struct {
	opts     Options
	zone     atomic.Pointer[zone]
	mu       sync.Mutex // serialises the writers of zone
	forwards chan struct{}
	servers  []*dns.Server
	addr     net.Addr // the UDP address bound (tests use port 0)
}

// New returns a server that answers nothing of the cluster yet (until
// SetServices); Start makes it listen.
func New(opts Options) *Server {
	opts.defaults()
	s := &Server{opts: opts, forwards: make(chan struct{}, opts.MaxForwards)}
	s.zone.Store(newZone(opts.Domain))
	return s
}

// SetServices answers the Services of a new plan from now on.
func (s *Server) SetServices(svcs []plan.Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zone.Store(s.zone.Load().withServices(svcs))
}

// SetRoutes takes the ready endpoints of headless Services from the
// reconciler's routes (nodes.ServiceRoute.Ready).
func (s *Server) SetRoutes(routes []nodes.ServiceRoute) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zone.Store(s.zone.Load().withRoutes(routes))
}

// Start binds UDP and TCP on Options.Addr and serves until Close or
// ctx ends.
func (s *Server) Start(ctx context.Context) error {
	pc, ln, err := listen(ctx, s.opts.Addr)
	if err != nil {
		return err
	}
	tcpAddr := ln.Addr().String()
	s.addr = pc.LocalAddr()
	h := dns.HandlerFunc(s.serve)
	s.servers = []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}}
	for _, srv := range s.servers {
		go func() {
			if err := srv.ActivateAndServe(); err != nil && ctx.Err() == nil {
				s.opts.Logger.Warn("cluster DNS stopped", "err", err)
			}
		}()
	}
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	s.opts.Logger.Info("cluster DNS listening", "addr", tcpAddr, "domain", s.opts.Domain, "upstreams", s.opts.Upstreams)
	return nil
}

// Addr is the address the server listens on (after Start).
func (s *Server) Addr() string {
	if s.addr == nil {
		return ""
	}
	return s.addr.String()
}

// Close stops serving.
func (s *Server) Close() error {
	var errs []error
	for _, srv := range s.servers {
		if err := srv.Shutdown(); err != nil && !errors.Is(err, net.ErrClosed) && err.Error() != "dns: server not started" {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// listen binds UDP and TCP on one address and port. Asked for port 0 (the
// tests), it retries when the port UDP got is taken for TCP.
func listen(ctx context.Context, addr string) (net.PacketConn, net.Listener, error) {
	lc := net.ListenConfig{Control: freebind}
	_, port, _ := net.SplitHostPort(addr)
	for try := 0; ; try++ {
		pc, err := lc.ListenPacket(ctx, "udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("cluster DNS: listen on udp %s: %w", addr, err)
		}
		tcpAddr := pc.LocalAddr().String()
		ln, err := lc.Listen(ctx, "tcp", tcpAddr)
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || try == 10 {
			return nil, nil, fmt.Errorf("cluster DNS: listen on tcp %s: %w", tcpAddr, err)
		}
	}
}

// freebind lets a socket bind an address the host does not have yet.
func freebind(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
	})
	return errors.Join(err, serr)
}

// serve answers one query.
func (s *Server) serve(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	if !s.allowed(w.RemoteAddr()) {
		m.SetRcode(r, dns.RcodeRefused)
		s.write(w, r, m, true)
		return
	}
	if r.Opcode != dns.OpcodeQuery || len(r.Question) != 1 {
		m.SetRcode(r, dns.RcodeNotImplemented)
		if len(r.Question) != 1 {
			m.SetRcode(r, dns.RcodeFormatError)
		}
		s.write(w, r, m, true)
		return
	}
	z := s.zone.Load()
	q := r.Question[0]
	a, ok := z.lookup(q, s.opts.TTL)
	if !ok {
		s.forward(w, r)
		return
	}
	m.SetReply(r)
	m.Authoritative = true
	m.RecursionAvailable = true
	m.Rcode = a.rcode
	m.Answer, m.Extra = a.answer, a.extra
	if len(m.Answer) == 0 {
		m.Ns = []dns.RR{z.soa(s.opts.TTL)}
	}
	s.write(w, r, m, true)
}

// write sends m, truncated to what the client takes over UDP.
func (s *Server) write(w dns.ResponseWriter, r, m *dns.Msg, local bool) {
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(max(opt.UDPSize(), dns.MinMsgSize), false)
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = max(int(opt.UDPSize()), dns.MinMsgSize)
		}
		m.Truncate(size)
	}
	m.Compress = true
	if err := w.WriteMsg(m); err != nil {
		s.opts.Logger.Debug("cluster DNS: write answer", "err", err)
	}
	if s.opts.OnQuery != nil {
		s.opts.OnQuery(local, m.Rcode)
	}
}

func (s *Server) allowed(a net.Addr) bool {
	if len(s.opts.Allow) == 0 {
		return true
	}
	var ip netip.Addr
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	}
	ip = ip.Unmap()
	for _, p := range s.opts.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// forward asks the upstreams in turn, over the protocol the client used,
// and relays the first answer.
func (s *Server) forward(w dns.ResponseWriter, r *dns.Msg) {
	fail := func() {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeServerFailure)
		m.RecursionAvailable = true
		s.write(w, r, m, false)
	}
	select {
	case s.forwards <- struct{}{}:
		defer func() { <-s.forwards }()
	default:
		fail()
		return
	}
	network := "udp"
	if _, tcp := w.RemoteAddr().(*net.TCPAddr); tcp {
		network = "tcp"
	}
	c := &dns.Client{Net: network, Timeout: s.opts.ForwardTimeout, UDPSize: dns.DefaultMsgSize}
	for _, up := range s.opts.Upstreams {
		resp, _, err := c.Exchange(r, up)
		if err != nil {
			s.opts.Logger.Debug("cluster DNS: upstream", "upstream", up, "err", err)
			continue
		}
		resp.Id = r.Id
		if err := w.WriteMsg(resp); err != nil {
			s.opts.Logger.Debug("cluster DNS: write answer", "err", err)
		}
		if s.opts.OnQuery != nil {
			s.opts.OnQuery(false, resp.Rcode)
		}
		return
	}
	fail()
}
