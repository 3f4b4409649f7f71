package reconciler

import (
	"context"
	"fmt"
	"testing"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes/fake"
)

// node200 is a plan of 20 deployments of 10 pods, each behind a service.
func node200() *plan.Plan {
	var ds []deploy
	var svcs []plan.Service
	for i := range 20 {
		d := mkDeploy("Deployment", fmt.Sprintf("app%02d", i), "a", 10, plan.Strategy{Type: "RollingUpdate", MaxSurge: 1})
		ds = append(ds, d)
		svcs = append(svcs, mkService(fmt.Sprintf("app%02d", i), d.pods))
	}
	return mkPlan("r1", ds, svcs...)
}

// BenchmarkReconcileUnchanged200 is one pass over an unchanged node of 200
// pods: observe (fake), diff, routes; no action. Target: under 50 ms.
func BenchmarkReconcileUnchanged200(b *testing.B) {
	clock := fake.NewClock(t0)
	rt := fake.New(clock)
	rec := New(Options{Runtime: rt, Router: &fake.Router{}, Clock: clock, Node: "n1"})
	p := node200()
	ctx := context.Background()
	for range 2 {
		if _, err := rec.Reconcile(ctx, p, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := rec.Reconcile(ctx, p, "")
		if err != nil || len(res.Actions) != 0 {
			b.Fatalf("not unchanged: %v %v", err, summary(res.Actions))
		}
	}
}

// BenchmarkDiffUnchanged200 is the pure diff alone.
func BenchmarkDiffUnchanged200(b *testing.B) {
	clock := fake.NewClock(t0)
	rt := fake.New(clock)
	rec := New(Options{Runtime: rt, Router: &fake.Router{}, Clock: clock, Node: "n1"})
	p := node200()
	ctx := context.Background()
	for range 2 {
		if _, err := rec.Reconcile(ctx, p, ""); err != nil {
			b.Fatal(err)
		}
	}
	obs, _ := rt.Observe(ctx)
	d := DesiredFor(p, "n1")
	st := rec.state.clone()
	st.Now = t0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if as := Diff(d, obs, st); len(as) != 0 {
			b.Fatal(summary(as))
		}
	}
}

// BenchmarkHealth is the health of a converged node's revision, which
// the daemon computes every 200 ms: 200 pods, and 2,000 in five waves.
func BenchmarkHealth(b *testing.B) {
	for _, n := range []int{20, 200} {
		b.Run(fmt.Sprintf("pods=%d", n*10), func(b *testing.B) {
			var ds []deploy
			for i := range n {
				d := mkDeploy("Deployment", fmt.Sprintf("app%03d", i), "a", 10, plan.Strategy{Type: "RollingUpdate", MaxSurge: 1})
				if n > 20 {
					d.w.Wave = int32(i % 5)
				}
				ds = append(ds, d)
			}
			p := mkPlan("r1", ds)
			clock := fake.NewClock(t0)
			rt := fake.New(clock)
			rec := New(Options{Runtime: rt, Router: &fake.Router{}, Clock: clock, Node: "n1"})
			for range 20 {
				if _, err := rec.Reconcile(context.Background(), p, ""); err != nil {
					b.Fatal(err)
				}
			}
			if h := rec.Health(); h.State != HealthHealthy {
				b.Fatalf("health %+v", h)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rec.Health()
			}
		})
	}
}

// BenchmarkDiffIndexedJob is one diff pass over an Indexed Job of 10,000
// completions and parallelism 100, half way: 5,000 finished pods on
// record, 100 running, nothing to do. What grows with the Job is the
// run's record (one entry per pod ever started), as for any Job.
func BenchmarkDiffIndexedJob(b *testing.B) {
	clock := fake.NewClock(t0)
	rt := fake.New(clock)
	rec := New(Options{Runtime: rt, Router: &fake.Router{}, Clock: clock, Node: "n1"})
	p := jobPlan("abcdef", plan.Job{Completions: 10_000, Parallelism: 100, BackoffLimit: 6, Indexed: true})
	ctx := context.Background()
	for done := 0; done < 5_000; {
		if _, err := rec.Reconcile(ctx, p, ""); err != nil {
			b.Fatal(err)
		}
		obs, _ := rt.Observe(ctx)
		for _, o := range obs.Pods {
			if o.Phase == "Running" && done < 5_000 {
				rt.Exit(o.Key(), 0)
				done++
			}
		}
	}
	for range 2 { // the last pods seen
		if _, err := rec.Reconcile(ctx, p, ""); err != nil {
			b.Fatal(err)
		}
	}
	obs, _ := rt.Observe(ctx)
	d := DesiredFor(p, "n1")
	st := rec.state.clone()
	st.Now = clock.Now()
	if j := st.Jobs["Job/default/batch"]; j.CompletedIndexes != "0-4999" || j.active() != 100 {
		b.Fatalf("run: %s, %d active", j.CompletedIndexes, j.active())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if as := Diff(d, obs, st); len(as) != 0 {
			b.Fatal(summary(as))
		}
	}
}
