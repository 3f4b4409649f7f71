package iptables

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"

	"berth.dev/berth/nodes"
)

// TestDrainWaitsForConnections: a pod taken out of its service's rules
// still answers the request it accepted just before (1.5 s to answer);
// Drain returns only once that connection is over, and does not wait for
// an idle connection that carries nothing.
func TestDrainWaitsForConnections(t *testing.T) {
	n := enterNode(t)
	pods, _ := n.buildNode(t, "p1")
	var l net.Listener
	if err := n.in(pods["p1"], func() (err error) { l, err = net.Listen("tcp4", ":8080"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil || line != "slow\n" {
					time.Sleep(time.Minute) // an idle keep-alive connection
					return
				}
				time.Sleep(1500 * time.Millisecond)
				c.Write([]byte("answered\n"))
			}()
		}
	}()
	r, err := New(Options{PodCIDR: "10.244.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	route := func(backends ...nodes.Backend) []nodes.ServiceRoute {
		return []nodes.ServiceRoute{{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10",
			Ports: []nodes.RoutePort{{Protocol: "TCP", Port: 80, Backends: backends}}}}
	}
	if err := r.Sync(ctx, route(nodes.Backend{IP: "10.244.0.11", Port: 8080, Weight: 1})); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Cleanup(ctx) })

	idle, err := net.DialTimeout("tcp4", "10.96.0.10:80", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.Write([]byte("hello\n"))
	slow, err := net.DialTimeout("tcp4", "10.96.0.10:80", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Write([]byte("slow\n"))
	answered := make(chan string, 1)
	go func() {
		slow.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(slow).ReadString('\n')
		if err != nil {
			line = err.Error()
		}
		answered <- line
	}()

	if err := r.Sync(ctx, route()); err != nil { // the pod leaves the service
		t.Fatal(err)
	}
	active, err := r.Drain(ctx, []string{"10.244.0.11"}, time.Now().Add(8*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-answered:
		if got != "answered\n" {
			t.Errorf("the request in flight got %q", got)
		}
	default:
		t.Error("Drain returned while the request in flight was not answered yet")
	}
	if active != 0 {
		t.Errorf("Drain gave up with %d connections active, want 0 (the idle one is over)", active)
	}
}
