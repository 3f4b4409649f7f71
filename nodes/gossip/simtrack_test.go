package gossip

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

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
	// failedBy is when each member last declared each other one failed
	// (victim, then member).
	failedBy  map[int]map[int]time.Time
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
		failedAt: map[int][]time.Time{}, failedBy: map[int]map[int]time.Time{}, suspectAt: map[int]time.Time{}}
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
		now := time.Now()
		tr.failedAt[o] = append(tr.failedAt[o], now)
		if tr.failedBy[o] == nil {
			tr.failedBy[o] = map[int]time.Time{}
		}
		tr.failedBy[o][m] = now
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

// failures counts the failure events in [from, to) and the members they
// were about.
func (tr *tracker) failures(from, to time.Time) (events, members int) {
	tr.membersMu.Lock()
	defer tr.membersMu.Unlock()
	for _, ts := range tr.failedAt {
		n := 0
		for _, t := range ts {
			if !t.Before(from) && t.Before(to) {
				n++
			}
		}
		events += n
		if n > 0 {
			members++
		}
	}
	return events, members
}

// allFailed reports whether every member still running holds victim
// failed, and when the last of them declared it (at least since).
func (tr *tracker) allFailed(cs []*Cluster, name string, victim int, since time.Time) (time.Time, bool) {
	for _, c := range cs {
		if c == nil {
			continue
		}
		c.mu.Lock()
		m := c.members[name]
		alive := m != nil && m.alive
		c.mu.Unlock()
		if alive {
			return time.Time{}, false
		}
	}
	tr.membersMu.Lock()
	defer tr.membersMu.Unlock()
	last := since
	for m, t := range tr.failedBy[victim] {
		if cs[m] != nil && t.After(last) {
			last = t
		}
	}
	return last, true
}

// logLate logs a few of the changes some member never got.
func (tr *tracker) logLate(b testing.TB, cs []*Cluster, inv []Member) {
	shown := 0
	for o := range tr.owners {
		ot := &tr.owners[o]
		ot.mu.Lock()
		for _, t := range ot.targets {
			if shown++; shown > 5 {
				break
			}
			var lack []string
			for m := range tr.n {
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
