package iptables

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"berth.dev/berth/internal/testneed"
)

// The integration tests build a node in network namespaces: the node
// itself (where the router and its iptables run), pods on a bridge, and an
// outside client on a veth link:
//
//	ext (192.168.50.2) ── vext/192.168.50.1 [node] br0/10.244.0.1 ── pN (10.244.0.1N)
//
// The test goroutine is locked to its OS thread and that thread is moved
// into the node namespace, so every iptables exec (the router's and the
// test's) runs there and never touches the host's rules.

const (
	nodeIP   = "192.168.50.1"
	extIP    = "192.168.50.2"
	bridgeIP = "10.244.0.1"
)

var netnsSeq atomic.Int32

type testNode struct {
	name string
	ns   netns.NsHandle
	pods []string // netns names to delete
}

// requireRoot skips loudly when the environment cannot run the test, and
// fails instead under CI=true.
func requireRoot(tb testing.TB) {
	tb.Helper()
	testneed.Long(tb, "integration test")
	testneed.Root(tb, "it makes network namespaces and iptables rules")
	testneed.Tools(tb, "iptables", "iptables-restore", "iptables-save", "ip")
}

// requireBin skips loudly without the named command, and fails instead
// under CI=true.
func requireBin(tb testing.TB, name string) {
	tb.Helper()
	testneed.Tools(tb, name)
}

// enterNode creates a node namespace and moves the calling goroutine's
// (locked) thread into it until the test ends.
func enterNode(tb testing.TB) *testNode {
	tb.Helper()
	requireRoot(tb)
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		tb.Fatal(err)
	}
	name := fmt.Sprintf("bipt%d-%d", os.Getpid(), netnsSeq.Add(1))
	ns, err := netns.NewNamed(name) // also switches this thread into it
	if err != nil {
		orig.Close()
		runtime.UnlockOSThread()
		tb.Fatalf("create netns %s: %v", name, err)
	}
	n := &testNode{name: name, ns: ns}
	tb.Cleanup(func() {
		for _, p := range n.pods {
			_ = netns.DeleteNamed(p)
		}
		if err := netns.Set(orig); err != nil {
			// The thread stays in the test namespace: never unlock it, so
			// the runtime retires it instead of reusing it.
			tb.Errorf("return to the original netns: %v", err)
		} else {
			runtime.UnlockOSThread()
		}
		orig.Close()
		ns.Close()
		_ = netns.DeleteNamed(name)
	})
	n.sh(tb, "ip link set lo up")
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		tb.Fatal(err)
	}
	return n
}

// sh runs commands (one per line) in the node namespace.
func (n *testNode) sh(tb testing.TB, script string) {
	tb.Helper()
	for _, line := range strings.Split(strings.TrimSpace(script), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if out, err := exec.Command(f[0], f[1:]...).CombinedOutput(); err != nil {
			tb.Fatalf("%s: %v: %s", line, err, out)
		}
	}
}

func (n *testNode) out(tb testing.TB, cmd string) string {
	tb.Helper()
	f := strings.Fields(cmd)
	out, err := exec.Command(f[0], f[1:]...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s: %v: %s", cmd, err, out)
	}
	return string(out)
}

// peer creates a namespace linked to the node by a veth pair and returns
// its name; hostSide is the node's end.
func (n *testNode) peer(tb testing.TB, short, hostSide, addr, gw string) string {
	tb.Helper()
	ns := n.name + "-" + short
	// Not `ip netns add`: it bind-mounts /run/netns over itself when that
	// is not yet a mount point, which hides every namespace already
	// mounted there and leaves a mount behind after the tests.
	n.sh(tb, "touch /run/netns/"+ns+"\nunshare --net=/run/netns/"+ns+" true")
	n.pods = append(n.pods, ns)
	n.sh(tb, fmt.Sprintf(`ip link add %s type veth peer name eth0 netns %s
		ip -n %s link set lo up
		ip -n %s addr add %s dev eth0
		ip -n %s link set eth0 up
		ip link set %s up
		ip -n %s route add default via %s`, hostSide, ns, ns, ns, addr, ns, hostSide, ns, gw))
	return ns
}

// buildNode wires the bridge with pods and the outside client.
func (n *testNode) buildNode(tb testing.TB, pods ...string) (podNS map[string]string, ext string) {
	tb.Helper()
	n.sh(tb, `ip link add br0 type bridge
		ip addr add 10.244.0.1/24 dev br0
		ip link set br0 up`)
	podNS = map[string]string{}
	for i, p := range pods {
		ns := n.peer(tb, p, "v"+p, fmt.Sprintf("10.244.0.%d/24", 11+i), bridgeIP)
		// A pod reaching itself through its service comes back out of the
		// port it came in on (CNI bridge's hairpinMode).
		n.sh(tb, fmt.Sprintf(`ip link set v%s master br0
			ip link set v%s type bridge_slave hairpin on`, p, p))
		podNS[p] = ns
	}
	ext = n.peer(tb, "ext", "vext", extIP+"/24", nodeIP)
	n.sh(tb, "ip addr add "+nodeIP+"/24 dev vext")
	// External IPs are routed to the node by the network (not assigned);
	// cluster IPs need a route on the node for its own connections.
	n.sh(tb, fmt.Sprintf(`ip -n %s route add 192.168.60.0/24 via %s
		ip route add default via %s`, ext, nodeIP, extIP))
	return podNS, ext
}

// in runs fn with the calling thread in namespace ns ("" = the node).
func (n *testNode) in(ns string, fn func() error) error {
	if ns == "" {
		return fn()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, err := netns.GetFromName(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	back, err := netns.Get()
	if err != nil {
		return err
	}
	defer back.Close()
	if err := netns.Set(h); err != nil {
		return err
	}
	defer func() {
		if err := netns.Set(back); err != nil {
			panic("cannot return to the node netns: " + err.Error())
		}
	}()
	return fn()
}

// serve answers every TCP connection (and UDP datagram) on port in
// namespace ns with "name peer-ip".
func (n *testNode) serve(tb testing.TB, ns, name string, port int) {
	tb.Helper()
	var l net.Listener
	var pc net.PacketConn
	err := n.in(ns, func() (err error) {
		if l, err = net.Listen("tcp4", fmt.Sprintf(":%d", port)); err != nil {
			return err
		}
		pc, err = net.ListenPacket("udp4", fmt.Sprintf(":%d", port))
		return err
	})
	if err != nil {
		tb.Fatalf("serve %s in %s: %v", name, ns, err)
	}
	tb.Cleanup(func() { l.Close(); pc.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			fmt.Fprintf(c, "%s %s\n", name, host)
			c.Close()
		}
	}()
	go func() {
		buf := make([]byte, 512)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(from.String())
			_, _ = pc.WriteTo(fmt.Appendf(nil, "%s %s\n", name, host), from)
		}
	}()
}

// ask connects from namespace ns to addr count times and returns the
// answers (backend name, and the client address the backend saw).
func (n *testNode) ask(ns, network, addr string, count int) (answers []string, err error) {
	err = n.in(ns, func() error {
		for range count {
			a, err := askOnce(network, addr)
			if err != nil {
				return err
			}
			answers = append(answers, a)
		}
		return nil
	})
	return answers, err
}

func askOnce(network, addr string) (string, error) {
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if network == "udp4" {
		if _, err := c.Write([]byte("hi")); err != nil {
			return "", err
		}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read from %s: %w", addr, err)
	}
	return strings.TrimSpace(line), nil
}

// refused dials once and reports how long the refusal took; err is nil
// only for a refusal.
func (n *testNode) refused(ns, addr string) (time.Duration, error) {
	var took time.Duration
	err := n.in(ns, func() error {
		start := time.Now()
		c, err := net.DialTimeout("tcp4", addr, 3*time.Second)
		took = time.Since(start)
		if err == nil {
			c.Close()
			return fmt.Errorf("connected to %s, want refusal", addr)
		}
		if !isRefused(err) {
			return fmt.Errorf("dial %s: %w, want connection refused", addr, err)
		}
		return nil
	})
	return took, err
}

func isRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "connection refused")
}

// countingExec wraps the real exec and counts iptables-restore calls.
type countingExec struct{ restores atomic.Int32 }

func (c *countingExec) exec(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	if strings.HasSuffix(name, "-restore") {
		c.restores.Add(1)
	}
	return runCommand(ctx, stdin, name, args...)
}

// run is t.Run with the subtest's goroutine in the node namespace (a
// subtest runs on another goroutine, hence another thread).
func (n *testNode) run(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		runtime.LockOSThread()
		back, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			t.Fatal(err)
		}
		defer back.Close()
		if err := netns.Set(n.ns); err != nil {
			runtime.UnlockOSThread()
			t.Fatal(err)
		}
		defer func() {
			if err := netns.Set(back); err == nil {
				runtime.UnlockOSThread()
			}
		}()
		fn(t)
	})
}
