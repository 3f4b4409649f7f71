package gossip

import (
	"context"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestHostAnswered: the host check tells a host whose daemon is down or
// stopping (its kernel resets the connect) from one that does not answer.
func TestHostAnswered(t *testing.T) {
	connect := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
	}
	// A real refusal: a port nobody listens on any more.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, refused := net.DialTimeout("tcp", addr, time.Second)
	// A real timeout.
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	_, timeout := (&net.Dialer{}).DialContext(ctx, "tcp", addr)

	for name, c := range map[string]struct {
		err  error
		want bool
	}{
		"refused (real)":       {refused, true},
		"refused":              {connect(syscall.ECONNREFUSED), true},
		"reset while stopping": {connect(syscall.ECONNRESET), true},
		"aborted":              {connect(syscall.ECONNABORTED), true},
		"timeout (real)":       {timeout, false},
		"host unreachable":     {connect(syscall.EHOSTUNREACH), false},
		"network unreachable":  {connect(syscall.ENETUNREACH), false},
	} {
		if c.err == nil {
			t.Fatalf("%s: no error", name)
		}
		if got := hostAnswered(c.err); got != c.want {
			t.Errorf("%s (%v): host answered %v, want %v", name, c.err, got, c.want)
		}
	}
}
