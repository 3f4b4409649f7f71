package gossip

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The simulation: -sim.n memberlist members on loopback addresses, each
// publishing readiness for -sim.services Services, a fraction -sim.rate
// of them changing per second (on every member, or in the whole
// cluster: -sim.scope), for -sim.duration. It reports the convergence
// time of a change (until every member applied it, p50 and p99), the
// gossip bytes and CPU per member, the failure detection time of killed
// members, and today's all-to-all polling cost for the same N. It starts
// from a converged state (every member seeded with every other's
// state): what it measures is steady-state change, not a cold start.
//
//	go test ./nodes/gossip -run XXX -bench GossipSim -benchtime 1x -sim.n 1000
//
// bench/gossip.sh runs the shapes of the README. The cost knobs
// (-sim.gossip, -sim.probe, -sim.flush) trade detection and convergence
// time for CPU; everything runs in one process, so the CPU per member
// includes the driver's share.
var (
	simN        = flag.Int("sim.n", 200, "members")
	simServices = flag.Int("sim.services", 2000, "Services every member publishes readiness for")
	simRate     = flag.Float64("sim.rate", 0.01, "fraction of the Services whose readiness changes per second")
	simScope    = flag.String("sim.scope", "cluster", "cluster: rate × services changes per second in the whole cluster; member: on every member")
	simDuration = flag.Duration("sim.duration", time.Minute, "how long changes are made")
	simKill     = flag.Int("sim.kill", 3, "members killed one after the other at the end (detection time)")
	simProbe    = flag.Duration("sim.probe", 0, "probe interval (0: LAN)")
	simGossip   = flag.Duration("sim.gossip", 0, "gossip interval (0: LAN)")
	simFlush    = flag.Duration("sim.flush", 0, "flush interval (0: LAN)")
	simHeads    = flag.Duration("sim.heads", 0, "heads interval (0: LAN)")
	simVerbose  = flag.Bool("sim.v", false, "print progress")
)

func BenchmarkGossipSim(b *testing.B) {
	for range b.N {
		runSim(b)
	}
}

// tracker sees every version every member applies, and times each
// change until all the other members have it.
type tracker struct {
	n      int
	known  [][]uint64 // [member][owner], guarded by the owner's lock
	owners []ownerTrack

	mu    sync.Mutex
	times []time.Duration

	membersMu sync.Mutex
	alive     []int // alive members each member counts
	failedAt  map[int][]time.Time
	suspectAt map[int]time.Time
}

type ownerTrack struct {
	mu      sync.Mutex
	targets []*target
}

type target struct {
	version uint64
	t0      time.Time
	count   int
}

func newTracker(n int) *tracker {
	tr := &tracker{n: n, known: make([][]uint64, n), owners: make([]ownerTrack, n), alive: make([]int, n),
		failedAt: map[int][]time.Time{}, suspectAt: map[int]time.Time{}}
	for i := range tr.known {
		tr.known[i] = make([]uint64, n)
	}
	return tr
}

func memberIndex(name string) int {
	i, _ := strconv.Atoi(name[1:])
	return i
}

// applied is member m's OnApply.
func (tr *tracker) applied(m int, owner string, v uint64) {
	o := memberIndex(owner)
	ot := &tr.owners[o]
	ot.mu.Lock()
	defer ot.mu.Unlock()
	old := tr.known[m][o]
	if v <= old {
		return
	}
	tr.known[m][o] = v
	now := time.Now()
	kept := ot.targets[:0]
	for _, t := range ot.targets {
		if t.version > old && t.version <= v {
			t.count++
		}
		if t.count >= tr.n-1 {
			tr.mu.Lock()
			tr.times = append(tr.times, now.Sub(t.t0))
			tr.mu.Unlock()
			continue
		}
		kept = append(kept, t)
	}
	ot.targets = kept
}

// changed registers that owner o's version v carries a change made now.
func (tr *tracker) changed(o int, v uint64, now time.Time) {
	ot := &tr.owners[o]
	ot.mu.Lock()
	defer ot.mu.Unlock()
	if n := len(ot.targets); n > 0 && ot.targets[n-1].version == v {
		return
	}
	t := &target{version: v, t0: now}
	for m := range tr.n {
		if m != o && tr.known[m][o] >= v {
			t.count++
		}
	}
	ot.targets = append(ot.targets, t)
}

func (tr *tracker) pending() int {
	n := 0
	for i := range tr.owners {
		tr.owners[i].mu.Lock()
		n += len(tr.owners[i].targets)
		tr.owners[i].mu.Unlock()
	}
	return n
}

// member is member m's onMember.
func (tr *tracker) member(m int, name, state string) {
	tr.membersMu.Lock()
	defer tr.membersMu.Unlock()
	o := memberIndex(name)
	switch state {
	case StateAlive:
		tr.alive[m]++
	case StateFailed:
		tr.alive[m]--
		tr.failedAt[o] = append(tr.failedAt[o], time.Now())
	case StateSuspect:
		if tr.suspectAt[o].IsZero() {
			tr.suspectAt[o] = time.Now()
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func runSim(b *testing.B) {
	n, S := *simN, *simServices
	tim := Timing{ProbeInterval: *simProbe, GossipInterval: *simGossip, Flush: *simFlush, Heads: *simHeads}.withDefaults()
	keys := make([]string, S)
	for i := range keys {
		keys[i] = fmt.Sprintf("ns-%02d/svc-%04d", i%50, i)
	}
	table := NewTable(keys)
	key := make([]byte, 32)
	rand.Read(key)
	port := freePort(b, n)
	inv := make([]Member, n)
	for i := range inv {
		inv[i] = Member{Name: fmt.Sprintf("m%04d", i), Addr: loopback(i)}
	}
	tr := newTracker(n)
	cs := make([]*Cluster, n)
	initial := make([]counts, n)
	start := time.Now()
	for i := range cs {
		// The members' hosts are all this one: a failed member's host
		// "does not answer" (as if it died with its host), at once.
		hostDown := func(string, string, time.Duration) (net.Conn, error) { return nil, errors.New("host down") }
		c, err := New(Config{Self: inv[i], Port: port, Keys: [][]byte{key}, Timing: tim, Dial: hostDown,
			OnApply: func(owner string, v uint64) { tr.applied(i, owner, v) }}, inv)
		if err != nil {
			b.Fatalf("member %d: %v", i, err)
		}
		c.mu.Lock()
		c.onMember = func(name, state string) { tr.member(i, name, state) }
		c.mu.Unlock()
		cs[i] = c
	}
	defer func() {
		var wg sync.WaitGroup
		for _, c := range cs {
			if c != nil {
				wg.Go(func() { c.Kill() })
			}
		}
		wg.Wait()
	}()
	// Seed the converged state, every member's replicas first (nothing
	// is told yet, so nothing is fetched), then every member's own state
	// at version 1, as if its first delta had reached everyone.
	for i := range cs {
		initial[i] = newCounts(S)
		for k := range S {
			initial[i].v[k] = uint8(mrand.IntN(4))
		}
	}
	for j, c := range cs {
		c.SetTable(table)
		c.mu.Lock()
		for i, o := range cs {
			if i == j {
				continue
			}
			r := c.reps.get(inv[i].Name)
			r.epoch, r.version, r.table, r.complete = o.pub.epoch, 1, table.ID, true
			r.counts = counts{v: slices.Clone(initial[i].v)}
			tr.known[j][i] = 1
		}
		c.mu.Unlock()
	}
	for i, c := range cs {
		c.mu.Lock()
		p := c.pub
		p.cur = counts{v: slices.Clone(initial[i].v)}
		for k, key := range table.Keys {
			if n := p.cur.get(k); n > 0 {
				p.ready[key] = int(n)
			}
		}
		p.live, p.started, p.version = true, true, 1
		p.history[1] = sent{b: encodeDelta(&delta{header: p.header(), flags: flagReset, entries: p.cur.nonZero()})}
		c.mu.Unlock()
	}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(time.Second) {
		all := 0
		var missing []string
		for i, c := range cs {
			if got := c.ml.NumMembers(); got == n {
				all++
			} else if len(missing) < 5 {
				seen := map[string]bool{}
				for _, m := range c.ml.Members() {
					seen[m.Name] = true
				}
				var not []string
				for _, m := range inv {
					if !seen[m.Name] && len(not) < 3 {
						not = append(not, m.Name)
					}
				}
				missing = append(missing, fmt.Sprintf("%s sees %d (counts %d), not %v", inv[i].Name, got, c.alive.Load(), not))
			}
		}
		if all == n {
			break
		}
		if *simVerbose {
			tr.membersMu.Lock()
			fails := 0
			for _, f := range tr.failedAt {
				fails += len(f)
			}
			tr.membersMu.Unlock()
			fmt.Printf("%v: %d of %d see all; failure events %d; cpu %.1fs; e.g. %v\n", time.Since(start).Round(time.Second), all, n, fails, cpuTime().Seconds(), missing)
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d members see all the others after 3 minutes: %v", all, n, missing)
		}
	}
	b.Logf("%d members up and seeing each other after %v", n, time.Since(start).Round(time.Second))
	time.Sleep(5 * time.Second) // let the joins' push/pulls settle

	perSec := *simRate * float64(S)
	if *simScope == "member" {
		perSec *= float64(n)
	}
	stats := func() (in, out uint64) {
		for _, c := range cs {
			if c != nil {
				st := c.net
				in += st.in.Load()
				out += st.out.Load()
			}
		}
		return
	}
	in0, out0 := stats()
	cpu0, t0 := cpuTime(), time.Now()
	var changes atomic.Int64
	tick := 10 * time.Millisecond
	carry := 0.0
	for now := time.Now(); now.Sub(t0) < *simDuration; now = time.Now() {
		carry += perSec * tick.Seconds()
		for ; carry >= 1; carry-- {
			i, s := mrand.IntN(n), mrand.IntN(S)
			c := cs[i]
			c.mu.Lock()
			v := c.pub.cur.get(table.Index(keys[s]))
			c.mu.Unlock()
			nv := (int(v) + 1 + mrand.IntN(3)) % 4
			tr.changed(i, c.SetReady(map[string]int{keys[s]: nv}), now)
			changes.Add(1)
		}
		time.Sleep(tick - time.Since(now)%tick)
	}
	elapsed := time.Since(t0)
	in1, out1 := stats()
	cpu := cpuTime() - cpu0
	for deadline := time.Now().Add(15 * time.Second); tr.pending() > 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	tr.mu.Lock()
	times := slices.Clone(tr.times)
	tr.mu.Unlock()
	late := tr.pending()
	if late > 0 {
		shown := 0
		for o := range tr.owners {
			ot := &tr.owners[o]
			ot.mu.Lock()
			for _, t := range ot.targets {
				if shown++; shown > 5 {
					break
				}
				var lack []string
				for m := range n {
					if m != o && tr.known[m][o] < t.version {
						c := cs[m]
						c.mu.Lock()
						r := c.reps.owners[inv[o].Name]
						lack = append(lack, fmt.Sprintf("%s at v%d (pending %d, want %d, behind %v, asked %v ago)", inv[m].Name, r.version,
							len(r.pending), r.want, !r.behind.IsZero(), time.Since(r.askedAt).Round(time.Millisecond)))
						c.mu.Unlock()
					}
				}
				cs[o].mu.Lock()
				ov := cs[o].pub.version
				cs[o].mu.Unlock()
				b.Logf("late: %s v%d (owner at v%d), %d members got it; lacking: %v", inv[o].Name, t.version, ov, t.count, lack)
			}
			ot.mu.Unlock()
		}
	}
	tr.membersMu.Lock()
	falseFailures := len(tr.failedAt)
	tr.membersMu.Unlock()

	// Kill members one after the other: until the first member suspects
	// it, and until every other member declared it failed.
	var suspect, failed []time.Duration
	for k := range min(*simKill, n-2) {
		victim := (k*7919 + 13) % n
		t := time.Now()
		cs[victim].Kill()
		cs[victim] = nil
		for deadline := t.Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			tr.membersMu.Lock()
			got := len(tr.failedAt[victim])
			s := tr.suspectAt[victim]
			tr.membersMu.Unlock()
			if got >= n-1-k {
				failed = append(failed, time.Since(t))
				if !s.IsZero() {
					suspect = append(suspect, s.Sub(t))
				}
				break
			}
		}
		time.Sleep(2 * time.Second)
	}

	// Today's poll: every node answers every other once a second with
	// the ready count of every Service (JSON).
	ready := map[string]int{}
	for _, k := range keys {
		ready[k] = 2
	}
	reply, _ := json.Marshal(map[string]any{"node": inv[0].Name, "ready": ready})
	pollPerNode := float64(n-1) * float64(len(reply)+200) // + HTTP headers, each way

	sec := elapsed.Seconds()
	bIn, bOut := float64(in1-in0)/sec/float64(n), float64(out1-out0)/sec/float64(n)
	b.ReportMetric(pct(times, 0.5).Seconds(), "conv-p50-s")
	b.ReportMetric(pct(times, 0.99).Seconds(), "conv-p99-s")
	b.ReportMetric(bIn/1024, "KB/s-in/node")
	b.ReportMetric(bOut/1024, "KB/s-out/node")
	b.ReportMetric(cpu.Seconds()/sec/float64(n)*1000, "cpu-ms/s/node")
	b.ReportMetric(pct(failed, 0.5).Seconds(), "detect-p50-s")
	b.ReportMetric(pct(failed, 1).Seconds(), "detect-max-s")
	fmt.Printf("members %d, services %d, %.0f changes/s (%s scope, rate %.3g), %v; probe %v, gossip %v, flush %v, heads %v\n", n, S,
		float64(changes.Load())/sec, *simScope, *simRate, elapsed.Round(time.Second), tim.ProbeInterval, tim.GossipInterval, tim.Flush, tim.Heads)
	fmt.Printf("  convergence until every member applied a change: p50 %v, p99 %v, max %v (%d changes timed, %d not everywhere 15 s after the end)\n",
		pct(times, 0.5).Round(time.Millisecond), pct(times, 0.99).Round(time.Millisecond), pct(times, 1).Round(time.Millisecond), len(times), late)
	fmt.Printf("  gossip per member: %.1f KB/s in, %.1f KB/s out; CPU per member %.2f ms/s (the whole process: %.2f cores)\n",
		bIn/1024, bOut/1024, cpu.Seconds()/sec/float64(n)*1000, cpu.Seconds()/sec)
	fmt.Printf("  killed members: first suspicion after %v, failed on every member after %v (each of %d); members wrongly failed during the run: %d\n",
		pctList(suspect), pctList(failed), len(failed), falseFailures)
	fmt.Printf("  today's poll for the same N: %.1f MB/s out and in per node (%d-byte replies to %d nodes a second)\n",
		pollPerNode/1e6, len(reply), n-1)
}

func pctList(ds []time.Duration) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Round(10*time.Millisecond).String())
	}
	return fmt.Sprint(s)
}
