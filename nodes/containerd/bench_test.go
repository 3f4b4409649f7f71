package containerd

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
)

func benchPods(n int) []*plan.Pod {
	pods := make([]*plan.Pod, n)
	for i := range pods {
		pods[i] = testPod(fmt.Sprintf("bench-%02d", i), container("app", "sleep", "3600"))
		pods[i].Spec.TerminationGracePeriodSeconds = 0
	}
	return pods
}

// startAll creates the pods (concurrently, as the reconciler's executor
// may) and waits until every container runs.
func startAll(tb testing.TB, rt *Runtime, pods []*plan.Pod) {
	var wg sync.WaitGroup
	errs := make([]error, len(pods))
	for i, p := range pods {
		wg.Go(func() { errs[i] = rt.CreatePod(context.Background(), p) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		st, err := rt.Observe(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		n := 0
		for i := range st.Pods {
			if running(&st.Pods[i]) {
				n++
			}
		}
		if n == len(pods) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("%d pods not running after 5 minutes", len(pods))
}

func removeAll(tb testing.TB, rt *Runtime, pods []*plan.Pod) {
	var wg sync.WaitGroup
	for _, p := range pods {
		wg.Go(func() {
			if err := rt.RemovePod(context.Background(), p.Key(), time.Time{}); err != nil {
				tb.Error(err)
			}
		})
	}
	wg.Wait()
}

// BenchmarkStart50 is the time from 50 CreatePod calls to 50 running pods
// (image present; network, namespaces, volumes, containers and tasks
// created). Compare with bench/compare.sh (ctr run -d, podman kube play).
func BenchmarkStart50(b *testing.B) {
	rt := newRuntime(b)
	defer rt.Close()
	pods := benchPods(50)
	// Pull once, outside the measurement, as podman's image is loaded.
	startAll(b, rt, pods[:1])
	removeAll(b, rt, pods[:1])
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		startAll(b, rt, pods)
		b.StopTimer()
		removeAll(b, rt, pods)
		b.StartTimer()
	}
}

// BenchmarkIdleOverhead50 measures the driver's idle cost with 50 pods
// running: CPU and RSS of this process over 30 s (run with -benchtime 1x).
func BenchmarkIdleOverhead50(b *testing.B) {
	rt := newRuntime(b)
	pods := benchPods(50)
	for i, p := range pods {
		if i%2 == 0 { // half with a readiness probe, as services would
			p.Spec.Containers[0].ReadinessProbe = &plan.Probe{Exec: &plan.ExecAction{Command: []string{"true"}}}
		}
	}
	b.Cleanup(func() { removeAll(b, rt, pods); rt.Close() })
	startAll(b, rt, pods)
	runtime.GC()
	b.ResetTimer()
	for b.Loop() {
		var r0, r1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
		t0 := time.Now()
		time.Sleep(30 * time.Second)
		syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
		wall := time.Since(t0)
		cpu := time.Duration(r1.Utime.Nano()+r1.Stime.Nano()-r0.Utime.Nano()-r0.Stime.Nano()) * time.Nanosecond
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%")
		b.ReportMetric(float64(rssMB()), "rss-MB")
	}
	st, _ := rt.Observe(context.Background())
	b.Logf("pods running: %d (RSS includes the test binary)", len(st.Pods))
}

func rssMB() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkStart1 is one pod's latency from CreatePod to running.
func BenchmarkStart1(b *testing.B) {
	rt := newRuntime(b)
	defer rt.Close()
	pods := benchPods(1)
	startAll(b, rt, pods)
	removeAll(b, rt, pods)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		startAll(b, rt, pods)
		b.StopTimer()
		removeAll(b, rt, pods)
		b.StartTimer()
	}
}
