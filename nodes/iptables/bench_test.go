package iptables

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/nodes"
)

// benchRoutes are n kube-proxy-shaped services as one node of a
// 100-node cluster sees them: one TCP port, 3 endpoints, the first 1,000
// with a NodePort. An endpoint is a pod on this node one time in a
// hundred (at most 250 of them: a node's pod subnet is a /24) and
// otherwise another node's address with the service's transit port.
func benchRoutes(n int) []nodes.ServiceRoute {
	return benchShape(n, func(i, e int) nodes.Backend {
		if node := e % 100; node != 0 {
			return nodes.Backend{IP: fmt.Sprintf("192.168.0.%d", node), Port: int32(40000 + i%10000), Weight: 1, Remote: true}
		}
		return nodes.Backend{IP: fmt.Sprintf("10.244.0.%d", e/100%250+2), Port: 8080, Weight: 1}
	})
}

// benchRoutesAllLocal is the worst case: every one of the 30,000
// endpoints a distinct pod on this node (more than a /24 pod subnet
// holds), so every endpoint has its own hairpin rule.
func benchRoutesAllLocal(n int) []nodes.ServiceRoute {
	return benchShape(n, func(_, e int) nodes.Backend {
		return nodes.Backend{IP: fmt.Sprintf("10.%d.%d.%d", 128+e/62500, e/250%250, e%250+2), Port: 8080, Weight: 1}
	})
}

func benchShape(n int, backend func(svc, endpoint int) nodes.Backend) []nodes.ServiceRoute {
	routes := make([]nodes.ServiceRoute, n)
	for i := range routes {
		bes := make([]nodes.Backend, 3)
		for k := range bes {
			bes[k] = backend(i, i*3+k)
		}
		p := nodes.RoutePort{Name: "http", Protocol: "TCP", Port: 80, Backends: bes}
		if i < 1000 {
			p.NodePort = int32(30000 + i)
		}
		routes[i] = nodes.ServiceRoute{Namespace: "bench", Name: fmt.Sprintf("svc-%05d", i),
			ClusterIP: fmt.Sprintf("10.96.%d.%d", i/250, i%250+1), Ports: []nodes.RoutePort{p}}
	}
	return routes
}

// benchShapes are the route sets the sync benchmarks run on.
var benchShapes = []struct {
	name   string
	routes func(int) []nodes.ServiceRoute
}{{"node", benchRoutes}, {"all-local", benchRoutesAllLocal}}

// BenchmarkRender10k renders 10,000 services (3 endpoints each) into the
// full iptables-restore input.
func BenchmarkRender10k(b *testing.B) {
	routes := benchRoutes(10000)
	cfg := Config{Prefix: "BERTH"}
	b.ReportAllocs()
	var rs Ruleset
	var text []byte
	for b.Loop() {
		rs, _ = Render(cfg, routes)
		text = RestoreText(Diff(rs, nil), rs)
	}
	b.ReportMetric(float64(rs.Chains()), "chains")
	b.ReportMetric(float64(rs.Rules()), "rules")
	b.ReportMetric(float64(len(text)), "restore-bytes")
}

// BenchmarkDiff10k compares two 10,000-service rulesets that differ in
// one service: the work a partial sync does besides rendering.
func BenchmarkDiff10k(b *testing.B) {
	routes := benchRoutes(10000)
	cfg := Config{Prefix: "BERTH"}
	old, _ := Render(cfg, routes)
	routes[4321].Ports[0].Backends = routes[4321].Ports[0].Backends[:2]
	cur, _ := Render(cfg, routes)
	b.ReportAllocs()
	for b.Loop() {
		if d := Diff(cur, old); d.Empty() {
			b.Fatal("no change found")
		}
	}
}

// cpuExec runs commands like runCommand and adds up the CPU time
// (user+sys) of iptables-restore: unlike wall time it does not depend on
// what else the machine is doing.
type cpuExec struct{ restoreCPU time.Duration }

func (c *cpuExec) exec(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if strings.HasSuffix(name, "-restore") && cmd.ProcessState != nil {
		c.restoreCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", name, err, stderr.String())
	}
	return out, nil
}

// chunkFromEnv lets a benchmark run try other nft transaction sizes:
// BERTH_IPT_CHUNK=2000 go test -bench FullSync10k.
func chunkFromEnv(b *testing.B) {
	if v := os.Getenv("BERTH_IPT_CHUNK"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		old := nftRestoreRules
		nftRestoreRules = n
		b.Cleanup(func() { nftRestoreRules = old })
	}
}

func backends(b *testing.B) []string {
	var bins []string
	for _, bin := range []string{"iptables-nft", "iptables-legacy"} {
		if _, err := exec.LookPath(bin + "-restore"); err == nil {
			bins = append(bins, bin)
		} else {
			b.Logf("SKIP %s: %s-restore not installed", bin, bin)
		}
	}
	return bins
}

// BenchmarkFullSync10k is the first sync of 10,000 services on an empty
// node namespace, per iptables backend.
func BenchmarkFullSync10k(b *testing.B) { eachShape(b, benchFullSync) }

// eachShape runs bench per shape of 10,000 services and iptables backend,
// each in a fresh node namespace.
func eachShape(b *testing.B, bench func(b *testing.B, bin string, routes []nodes.ServiceRoute)) {
	chunkFromEnv(b)
	for _, shape := range benchShapes {
		for _, bin := range backends(b) {
			b.Run(shape.name+"/"+bin, func(b *testing.B) {
				enterNode(b)
				bench(b, bin, shape.routes(10000))
			})
		}
	}
}

// benchRouter is a Router whose restores are timed (CPU) and whose last
// sync's stats land in st.
func benchRouter(b *testing.B, bin string, ce *cpuExec, st *SyncStats) *Router {
	r, err := New(Options{IPTables: bin, Exec: ce.exec, OnSync: func(s SyncStats) { *st = s }})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func benchFullSync(b *testing.B, bin string, routes []nodes.ServiceRoute) {
	var st SyncStats
	var ce cpuExec
	r := benchRouter(b, bin, &ce, &st)
	ctx := context.Background()
	var render, restore time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := r.Cleanup(ctx); err != nil {
			b.Fatal(err)
		}
		ce.restoreCPU = 0
		b.StartTimer()
		if err := r.Sync(ctx, routes); err != nil {
			b.Fatal(err)
		}
		render += st.Render
		restore += st.Restore
	}
	b.ReportMetric(float64(render.Milliseconds())/float64(b.N), "render-ms")
	b.ReportMetric(float64(restore.Milliseconds())/float64(b.N), "restore-ms")
	b.ReportMetric(float64(ce.restoreCPU.Milliseconds()), "restore-cpu-ms")
	b.ReportMetric(float64(st.Restores), "restores")
	b.ReportMetric(float64(st.Rules), "rules")
	b.ReportMetric(float64(st.Bytes), "restore-bytes")
}

// BenchmarkOneServiceChange10k changes one service's endpoints on a node
// routing 10,000 services: render, diff and the partial restore, end to
// end.
func BenchmarkOneServiceChange10k(b *testing.B) { eachShape(b, benchOneServiceChange) }

func benchOneServiceChange(b *testing.B, bin string, routes []nodes.ServiceRoute) {
	var st SyncStats
	var ce cpuExec
	r := benchRouter(b, bin, &ce, &st)
	ctx := context.Background()
	if err := r.Sync(ctx, routes); err != nil {
		b.Fatal(err)
	}
	full := routes[4321].Ports[0].Backends
	var render, restore, total time.Duration
	ce.restoreCPU = 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		changeOne(b, r, routes, full, i, &st)
		render += st.Render
		restore += st.Restore
		total += st.Total
	}
	n := float64(b.N)
	b.ReportMetric(float64(render.Microseconds())/1000/n, "render-ms")
	b.ReportMetric(float64(restore.Microseconds())/1000/n, "restore-ms")
	b.ReportMetric(float64(total.Microseconds())/1000/n, "sync-ms")
	b.ReportMetric(float64(ce.restoreCPU.Microseconds())/1000/n, "restore-cpu-ms")
	b.ReportMetric(float64(st.Bytes), "restore-bytes")
}

// BenchmarkPartialSyncCPU10k is the Go side of a one-service change on a
// node with 10,000 services (render, dispatch, diff, restore text), with
// iptables-restore replaced by a no-op: what berth adds to the exec.
func BenchmarkPartialSyncCPU10k(b *testing.B) {
	routes := benchRoutes(10000)
	var st SyncStats
	rr := newRenderer(Config{Prefix: "BERTH"})
	r := &Router{cfg: rr.cfg, names: rr.n, rr: rr,
		exec:   func(context.Context, []byte, string, ...string) ([]byte, error) { return nil, nil },
		log:    slog.New(slog.DiscardHandler),
		onSync: func(s SyncStats) { st = s },
	}
	r.order, _ = rr.fragments(routes, nil)
	r.shared = rr.dispatch(r.order)
	r.synced = true
	full := routes[4321].Ports[0].Backends
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		changeOne(b, r, routes, full, i, &st)
	}
}

// changeOne gives service 4321 two of its endpoints (even i) or all of
// them (full) and syncs; anything but a partial sync fails the benchmark.
func changeOne(b *testing.B, r *Router, routes []nodes.ServiceRoute, full []nodes.Backend, i int, st *SyncStats) {
	if i%2 == 0 {
		routes[4321].Ports[0].Backends = full[:2]
	} else {
		routes[4321].Ports[0].Backends = full
	}
	if err := r.Sync(context.Background(), routes); err != nil {
		b.Fatal(err)
	}
	if st.Full || st.RestoreSkipped {
		b.Fatalf("want a partial sync, got %+v", st)
	}
}

// BenchmarkCheck10k is the drift check (iptables-save of both tables,
// compared with what berth wrote) on a node routing 10,000 services.
func BenchmarkCheck10k(b *testing.B) {
	for _, bin := range backends(b) {
		b.Run(bin, func(b *testing.B) {
			enterNode(b)
			r, err := New(Options{IPTables: bin})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := r.Sync(ctx, benchRoutes(10000)); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if drifted, err := r.Check(ctx); err != nil || drifted {
					b.Fatalf("Check = %v, %v; want no drift", drifted, err)
				}
			}
		})
	}
}
