package gossip

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// transport is memberlist's UDP and TCP, bound to this node's address,
// counting the bytes on the wire (encrypted, as sent) for the gossip
// metrics. memberlist's NetTransport allocates 64 KiB for every packet
// it reads; this one reads into one buffer and copies out what came.
type transport struct {
	udp     *net.UDPConn
	tcp     *net.TCPListener
	in, out atomic.Uint64
	packets chan *memberlist.Packet
	streams chan net.Conn
	done    chan struct{}
	wg      sync.WaitGroup
	log     *slog.Logger
}

var _ memberlist.NodeAwareTransport = (*transport)(nil)

func newTransport(addr string, port int, log *slog.Logger) (*transport, error) {
	ip := net.ParseIP(addr)
	tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip, Port: port})
	if err != nil {
		return nil, err
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		tcp.Close()
		return nil, err
	}
	// A burst (a node's state after a partition) must not overflow the
	// socket: memberlist's own transport asks for 2 MiB as well.
	_ = udp.SetReadBuffer(2 << 20)
	t := &transport{udp: udp, tcp: tcp, packets: make(chan *memberlist.Packet), streams: make(chan net.Conn),
		done: make(chan struct{}), log: log}
	t.wg.Add(2)
	go t.readPackets()
	go t.accept()
	return t, nil
}

func (t *transport) readPackets() {
	defer t.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := t.udp.ReadFrom(buf)
		now := time.Now()
		if err != nil {
			select {
			case <-t.done:
				return
			default:
			}
			t.log.Debug("read a gossip packet", "err", err)
			continue
		}
		if n == 0 {
			continue
		}
		t.in.Add(uint64(n))
		select {
		case t.packets <- &memberlist.Packet{Buf: append([]byte(nil), buf[:n]...), From: from, Timestamp: now}:
		case <-t.done:
			return
		}
	}
}

func (t *transport) accept() {
	defer t.wg.Done()
	for {
		c, err := t.tcp.Accept()
		if err != nil {
			select {
			case <-t.done:
				return
			default:
			}
			t.log.Debug("accept a gossip stream", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		select {
		case t.streams <- t.wrap(c):
		case <-t.done:
			c.Close()
			return
		}
	}
}

func (t *transport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	a := net.ParseIP(ip)
	if a == nil {
		return nil, 0, fmt.Errorf("advertise address %q is not an IP address", ip)
	}
	if a4 := a.To4(); a4 != nil {
		a = a4
	}
	return a, port, nil
}

func (t *transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (t *transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	to, err := net.ResolveUDPAddr("udp", a.Addr)
	if err != nil {
		return time.Time{}, err
	}
	t.out.Add(uint64(len(b)))
	_, err = t.udp.WriteTo(b, to)
	return time.Now(), err
}

func (t *transport) PacketCh() <-chan *memberlist.Packet { return t.packets }
func (t *transport) StreamCh() <-chan net.Conn           { return t.streams }

func (t *transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t *transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", a.Addr, timeout)
	if err != nil {
		return nil, err
	}
	return t.wrap(c), nil
}

// Shutdown closes the listeners and waits for their goroutines.
func (t *transport) Shutdown() error {
	close(t.done)
	t.tcp.Close()
	t.udp.Close()
	t.wg.Wait()
	return nil
}

func (t *transport) wrap(c net.Conn) net.Conn { return &countedConn{Conn: c, t: t} }

type countedConn struct {
	net.Conn
	t *transport
}

func (c *countedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.t.in.Add(uint64(n))
	return n, err
}

func (c *countedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.t.out.Add(uint64(n))
	return n, err
}

// mlLog turns memberlist's log lines ("[WARN] memberlist: ...") into
// slog records, repeats of one warning at most once a minute (a hostile
// neighbour must not fill the log), and tells the Cluster which node
// this node's probes suspect: memberlist has no API for a member's
// suspect state, only this line.
type mlLog struct {
	log     *slog.Logger
	suspect func(name string)

	mu   sync.Mutex
	seen map[string]time.Time
}

var (
	mlLine    = regexp.MustCompile(`^\[(DEBUG|INFO|WARN|ERR)\] memberlist: (.*)$`)
	mlSuspect = regexp.MustCompile(`^Suspect (\S+) has failed`)
)

func (l *mlLog) Write(b []byte) (int, error) {
	if bytes.HasPrefix(b, []byte("[DEBUG]")) && !l.log.Enabled(context.Background(), slog.LevelDebug) {
		return len(b), nil // memberlist logs every stream at debug: skip the parsing
	}
	line := string(bytes.TrimSpace(b))
	m := mlLine.FindStringSubmatch(line)
	level, msg := slog.LevelInfo, line
	if m != nil {
		msg = m[2]
		switch m[1] {
		case "DEBUG":
			level = slog.LevelDebug
		case "WARN":
			level = slog.LevelWarn
		case "ERR":
			level = slog.LevelError
		}
	}
	if s := mlSuspect.FindStringSubmatch(msg); s != nil && l.suspect != nil {
		l.suspect(s[1])
	}
	if level >= slog.LevelWarn && !l.first(msg) {
		return len(b), nil
	}
	l.log.Log(context.Background(), level, msg)
	return len(b), nil
}

// first says whether msg was not logged in the last minute.
func (l *mlLog) first(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if t, ok := l.seen[msg]; ok && now.Sub(t) < time.Minute {
		return false
	}
	if l.seen == nil || len(l.seen) > 1000 {
		l.seen = map[string]time.Time{}
	}
	l.seen[msg] = now
	return true
}
