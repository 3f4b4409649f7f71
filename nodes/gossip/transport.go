package gossip

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// counting wraps memberlist's UDP/TCP transport to count the bytes on
// the wire (encrypted, as sent), for the gossip byte metrics.
type counting struct {
	inner   *memberlist.NetTransport
	in, out atomic.Uint64
	packets chan *memberlist.Packet
	streams chan net.Conn
	done    chan struct{}
}

var _ memberlist.NodeAwareTransport = (*counting)(nil)

func newCounting(inner *memberlist.NetTransport) *counting {
	t := &counting{inner: inner, packets: make(chan *memberlist.Packet), streams: make(chan net.Conn), done: make(chan struct{})}
	go func() {
		for {
			select {
			case p := <-inner.PacketCh():
				t.in.Add(uint64(len(p.Buf)))
				select {
				case t.packets <- p:
				case <-t.done:
					return
				}
			case <-t.done:
				return
			}
		}
	}()
	go func() {
		for {
			select {
			case c := <-inner.StreamCh():
				select {
				case t.streams <- t.wrap(c):
				case <-t.done:
					c.Close()
					return
				}
			case <-t.done:
				return
			}
		}
	}()
	return t
}

func (t *counting) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}

func (t *counting) WriteTo(b []byte, addr string) (time.Time, error) {
	t.out.Add(uint64(len(b)))
	return t.inner.WriteTo(b, addr)
}

func (t *counting) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	t.out.Add(uint64(len(b)))
	return t.inner.WriteToAddress(b, a)
}

func (t *counting) PacketCh() <-chan *memberlist.Packet { return t.packets }
func (t *counting) StreamCh() <-chan net.Conn           { return t.streams }

func (t *counting) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	c, err := t.inner.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return t.wrap(c), nil
}

func (t *counting) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	c, err := t.inner.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	return t.wrap(c), nil
}

// Shutdown stops the listeners first and the forwarding after: the
// listener goroutines block until their last packet is taken, and
// memberlist reads until the transport is down.
func (t *counting) Shutdown() error {
	err := t.inner.Shutdown()
	close(t.done)
	return err
}

func (t *counting) wrap(c net.Conn) net.Conn { return &countedConn{Conn: c, t: t} }

type countedConn struct {
	net.Conn
	t *counting
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
