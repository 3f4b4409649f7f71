package gossip

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
// bench/gossip.sh runs the shapes of the README. Everything runs in one
// process, so the CPU per member includes the driver's share.
//
// -sim.scale k dilates time: every interval of the clockwork (probe,
// gossip, flush, heads, push/pull, retries, timeouts) is k times the
// LAN default and the change rate is divided by k, so every member does
// per wall second 1/k of the work of a LAN member, and the same work per
// gossip round. The report then gives times divided by k and rates
// (bytes, CPU) multiplied by k, "LAN-equivalent", beside the raw
// figures. What this assumes: a LAN's round trip (well under a
// millisecond) is negligible beside the intervals, at any scale; and a
// member's CPU is spent per message and per timer tick, both of which
// dilation scales. It is how 1,000 members fit on a machine whose 2
// cores 1,000 LAN-timed members would saturate (they then miss their
// own deadlines, and what is measured is the overload).
var (
	simN        = flag.Int("sim.n", 200, "members")
	simServices = flag.Int("sim.services", 2000, "Services every member publishes readiness for")
	simRate     = flag.Float64("sim.rate", 0.01, "fraction of the Services whose readiness changes per second")
	simScope    = flag.String("sim.scope", "cluster", "cluster: rate × services changes per second in the whole cluster; member: on every member")
	simDuration = flag.Duration("sim.duration", time.Minute, "how long changes are made (LAN-equivalent: the wall time is × -sim.scale)")
	simKill     = flag.Int("sim.kill", 3, "members killed one after the other at the end (detection time)")
	simProbe    = flag.Duration("sim.probe", 0, "probe interval (0: LAN)")
	simGossip   = flag.Duration("sim.gossip", 0, "gossip interval (0: LAN)")
	simFlush    = flag.Duration("sim.flush", 0, "flush interval (0: LAN)")
	simHeads    = flag.Duration("sim.heads", 0, "heads interval (0: LAN)")
	simSuspect  = flag.Int("sim.suspicion", 0, "SuspicionMult (0: LAN)")
	simRetrans  = flag.Int("sim.retransmit", 0, "RetransmitMult (0: LAN)")
	simVerbose  = flag.Bool("sim.v", false, "print progress")
	simScale    = flag.Float64("sim.scale", 1, "time dilation: intervals × scale, change rate ÷ scale; reported LAN-equivalent")
	simProfile  = flag.String("sim.cpuprofile", "", "write a CPU profile of the measured window (the changes) to this file")
)

// dilate multiplies every interval of t by k (and divides its rates).
func (t Timing) dilate(k float64) Timing {
	if k == 1 {
		return t
	}
	for _, d := range []*time.Duration{&t.ProbeInterval, &t.ProbeTimeout, &t.GossipInterval, &t.PushPullInterval, &t.GossipToTheDead,
		&t.TCPTimeout, &t.Flush, &t.Notify, &t.GapWait, &t.Retry, &t.Heads, &t.HeadsWindow, &t.Reconnect, &t.QuietGrace,
		&t.HostCheck, &t.DialTimeout} {
		*d = time.Duration(float64(*d) * k)
	}
	t.ServeRate /= k
	return t
}

func BenchmarkGossipSim(b *testing.B) {
	for range b.N {
		runSim(b)
	}
}

func runSim(b *testing.B) {
	n, S := *simN, *simServices
	k := *simScale
	tim := Timing{ProbeInterval: *simProbe, GossipInterval: *simGossip, Flush: *simFlush, Heads: *simHeads,
		SuspicionMult: *simSuspect, RetransmitMult: *simRetrans}.withDefaults().dilate(k)
	dil := func(d time.Duration) time.Duration { return time.Duration(float64(d) * k) }
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
	for i := range cs {
		initial[i] = newCounts(S)
		for k := range S {
			initial[i].v[k] = uint8(mrand.IntN(4))
		}
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
	// Start from the converged state: each member, as it starts, has its
	// own state at version 1 and every earlier member's, and every
	// earlier member has its, as if its first delta had reached everyone.
	// Seeded any later (all members running), the push/pulls of the
	// joins tell members seeded first about owners the others do not
	// have yet: at 400 members the snapshot requests and the suspicions
	// of an overloaded process fed each other for minutes.
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
		c.SetTable(table)
		c.mu.Lock()
		c.onMember = func(name, state string) { tr.member(i, name, state) }
		p := c.pub
		p.cur = counts{v: slices.Clone(initial[i].v)}
		for k, key := range table.Keys {
			if n := p.cur.get(k); n > 0 {
				p.ready[key] = int(n)
			}
		}
		p.live, p.started, p.version = true, true, 1
		p.history[1] = sent{b: encodeDelta(&delta{header: p.header(), flags: flagReset, entries: p.cur.nonZero()})}
		for j := range i {
			seed(c, cs[j], inv[j].Name, initial[j])
			tr.known[i][j] = 1
		}
		c.mu.Unlock()
		cs[i] = c
		for j := range i {
			o := cs[j]
			o.mu.Lock()
			seed(o, c, inv[i].Name, initial[i])
			tr.known[j][i] = 1
			o.mu.Unlock()
		}
	}
	// A start that overloads the process declares some members dead;
	// the push/pull repairs that, so the wait covers two of them.
	settle := max(10*time.Minute, 2*tim.PushPullInterval)
	for deadline := time.Now().Add(settle); ; time.Sleep(time.Second) {
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
			b.Fatalf("only %d of %d members see all the others after %v: %v", all, n, settle, missing)
		}
	}
	b.Logf("%d members up and seeing each other after %v", n, time.Since(start).Round(time.Second))
	time.Sleep(dil(5 * time.Second)) // let the joins' push/pulls settle

	perSec := *simRate * float64(S) / k
	if *simScope == "member" {
		perSec *= float64(n)
	}
	stats := func() (in, out uint64, st Stats) {
		for _, c := range cs {
			if c != nil {
				in += c.net.in.Load()
				out += c.net.out.Load()
				st.Deltas += c.sent.deltas.Load()
				st.DeltaBytes += c.sent.deltaBytes.Load()
				st.Repairs += c.sent.repairs.Load()
				st.Snapshots += c.sent.snapshots.Load()
				st.SnapshotBytes += c.sent.snapshotBytes.Load()
				st.PushPulls += c.sent.pushPulls.Load()
				st.PushPullBytes += c.sent.pushPullBytes.Load()
			}
		}
		return
	}
	if *simProfile != "" {
		f, err := os.Create(*simProfile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
	}
	in0, out0, st0 := stats()
	load0 := loadavg()
	cpu0, t0 := cpuTime(), time.Now()
	var changes atomic.Int64
	tick := 10 * time.Millisecond
	// Changes follow the clock, not the ticks: a tick that comes late
	// (the machine is busy) makes up for the ones it missed.
	for now := time.Now(); now.Sub(t0) < dil(*simDuration); now = time.Now() {
		for want := int64(now.Sub(t0).Seconds() * perSec); changes.Load() < want; {
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
	in1, out1, st1 := stats()
	cpu := cpuTime() - cpu0
	load1 := loadavg()
	if *simProfile != "" {
		pprof.StopCPUProfile()
	}
	for deadline := time.Now().Add(dil(15 * time.Second)); tr.pending() > 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	tr.mu.Lock()
	times := slices.Clone(tr.times)
	tr.mu.Unlock()
	late := tr.pending()
	if late > 0 {
		tr.logLate(b, cs, inv)
	}
	falseEvents, falseMembers := tr.failures(t0, t0.Add(elapsed))
	pushPull, own := measurePushPull(cs, inv, port)

	// Kill members one after the other: until the first member suspects
	// it, and until every other member declared it failed.
	var suspect, failed []time.Duration
	dead := map[int]bool{}
	for kill := range min(*simKill, n-2) {
		victim := (kill*7919 + 13) % n
		tr.membersMu.Lock()
		delete(tr.suspectAt, victim)
		tr.membersMu.Unlock()
		t := time.Now()
		cs[victim].Kill()
		cs[victim] = nil
		dead[victim] = true
		for deadline := t.Add(dil(time.Minute)); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if at, ok := tr.allFailed(cs, inv[victim].Name, victim, t); ok {
				failed = append(failed, at.Sub(t))
				tr.membersMu.Lock()
				if s := tr.suspectAt[victim]; !s.IsZero() {
					suspect = append(suspect, s.Sub(t))
				}
				tr.membersMu.Unlock()
				break
			}
		}
		time.Sleep(dil(2 * time.Second))
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
	lan := func(d time.Duration) time.Duration { return time.Duration(float64(d) / k) }
	lanList := func(ds []time.Duration) []time.Duration {
		out := make([]time.Duration, len(ds))
		for i, d := range ds {
			out[i] = lan(d)
		}
		return out
	}
	bIn, bOut := float64(in1-in0)/sec/float64(n)*k, float64(out1-out0)/sec/float64(n)*k
	cpuMs := cpu.Seconds() / sec / float64(n) * 1000 * k
	b.ReportMetric(lan(pct(times, 0.5)).Seconds(), "conv-p50-s")
	b.ReportMetric(lan(pct(times, 0.99)).Seconds(), "conv-p99-s")
	b.ReportMetric(bIn/1024, "KB/s-in/node")
	b.ReportMetric(bOut/1024, "KB/s-out/node")
	b.ReportMetric(cpuMs, "cpu-ms/s/node")
	b.ReportMetric(lan(pct(failed, 0.5)).Seconds(), "detect-p50-s")
	b.ReportMetric(lan(pct(failed, 1)).Seconds(), "detect-max-s")
	lanNote := ""
	if k != 1 {
		lanNote = fmt.Sprintf(" (LAN-equivalent: time dilated %g×, wall times ÷ %g, rates × %g)", k, k, k)
	}
	fmt.Printf("members %d, services %d, %.1f changes/s LAN-equivalent (%s scope, rate %.3g), %v of changes%s\n", n, S,
		float64(changes.Load())/sec*k, *simScope, *simRate, lan(elapsed).Round(time.Second), lanNote)
	fmt.Printf("  clockwork (wall): probe %v, gossip %v, flush %v, heads %v, push/pull %v scaled by memberlist to %v; suspicion ×%d, retransmit ×%d\n",
		tim.ProbeInterval, tim.GossipInterval, tim.Flush, tim.Heads, tim.PushPullInterval, pushPullEvery(tim.PushPullInterval, n),
		tim.SuspicionMult, tim.RetransmitMult)
	fmt.Printf("  load average before and after the changes: %s, %s; the process used %.2f cores\n", load0, load1, cpu.Seconds()/sec)
	fmt.Printf("  convergence until every member applied a change: p50 %v, p99 %v, max %v (%d changes timed, %d not everywhere %v after the end)\n",
		lan(pct(times, 0.5)).Round(time.Millisecond), lan(pct(times, 0.99)).Round(time.Millisecond), lan(pct(times, 1)).Round(time.Millisecond),
		len(times), late, 15*time.Second)
	fmt.Printf("  gossip per member: %.1f KB/s in, %.1f KB/s out (UDP and TCP, encrypted); CPU per member %.2f ms/s\n", bIn/1024, bOut/1024, cpuMs)
	perMember := func(v uint64) float64 { return float64(v) / sec / float64(n) * k }
	d := st1.Deltas - st0.Deltas
	fmt.Printf("  own state sent per member a second: %.2f deltas (%.0f bytes each), %.3f deltas resent, %.4f whole states on request (%.0f bytes each), %.4f push/pulls (%.0f bytes each)\n",
		perMember(d), float64(st1.DeltaBytes-st0.DeltaBytes)/max(1, float64(d)), perMember(st1.Repairs-st0.Repairs),
		perMember(st1.Snapshots-st0.Snapshots), float64(st1.SnapshotBytes-st0.SnapshotBytes)/max(1, float64(st1.Snapshots-st0.Snapshots)),
		perMember(st1.PushPulls-st0.PushPulls), float64(st1.PushPullBytes-st0.PushPullBytes)/max(1, float64(st1.PushPulls-st0.PushPulls)))
	every := pushPullEvery(tim.PushPullInterval, n)
	fmt.Printf("  push/pull (rarely inside the measured window, so not in the bytes above): %.1f KB an exchange both ways (%.1f KB of it berth's digest and snapshot), every %v LAN-equivalent on each member: %.2f KB/s in and out a member more\n",
		float64(pushPull)/1024, float64(2*own)/1024, lan(every), float64(pushPull)/1024/lan(every).Seconds())
	fmt.Printf("  killed members: first suspicion after %v, failed on every other member after %v (%d of %d); failure events while changing (all false): %d, about %d members\n",
		pctList(lanList(suspect)), pctList(lanList(failed)), len(failed), len(dead), falseEvents, falseMembers)
	fmt.Printf("  today's poll for the same N: %.1f MB/s out and in per node (%d-byte replies to %d nodes a second)\n",
		pollPerNode/1e6, len(reply), n-1)
}

// pushPullEvery is memberlist's push/pull interval for n members (its
// pushPullScale: doubled for every doubling past 32 members).
func pushPullEvery(d time.Duration, n int) time.Duration {
	if n <= 32 {
		return d
	}
	return time.Duration(math.Ceil(math.Log2(float64(n))-math.Log2(32))+1) * d
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func pctList(ds []time.Duration) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Round(10*time.Millisecond).String())
	}
	return fmt.Sprint(s)
}

// measurePushPull has one member join another (memberlist's join is one
// push/pull) three times and returns the median bytes both sent, and
// the size of a member's own push/pull state (digest and snapshot).
func measurePushPull(cs []*Cluster, inv []Member, port int) (exchange, own int) {
	a, b := cs[1], cs[2]
	addr := net.JoinHostPort(inv[2].Addr, strconv.Itoa(port))
	var got []int
	for range 3 {
		a0, b0 := a.net.out.Load(), b.net.out.Load()
		if _, err := a.ml.Join([]string{addr}); err != nil {
			continue
		}
		got = append(got, int(a.net.out.Load()-a0+b.net.out.Load()-b0))
	}
	slices.Sort(got)
	if len(got) > 0 {
		exchange = got[len(got)/2]
	}
	return exchange, len((*delegate)(a).LocalState(false))
}

// seed makes c's replica of owner o (named name) o's state at version 1
// with counts v; the caller holds c.mu. Whole: a push/pull may have
// left it behind, asking for what it now has.
func seed(c, o *Cluster, name string, v counts) {
	*c.reps.get(name) = replica{epoch: o.pub.epoch, version: 1, table: o.pub.table.ID, complete: true,
		counts: counts{v: slices.Clone(v.v)}, workloads: map[string]Workload{}, pods: map[string]Pod{}}
}
