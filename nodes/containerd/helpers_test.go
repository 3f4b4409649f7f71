package containerd

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/internal/testneed"
	"berth.dev/berth/nodes"
	"berth.dev/berth/nodes/containerd/cni"
	"berth.dev/berth/nodes/testimage"
)

// The integration tests share one state directory and pod network, and use
// their own containerd namespace, bridge and subnet so test packages can
// run in parallel with this one.
const (
	testNamespace = "berthtest-containerd"
	testBridge    = "berthtest0"
	testCIDR      = "10.99.0.0/24"
)

var (
	testImage    string
	testMissing  string // why the integration tests skip
	testStateDir string
)

func TestMain(m *testing.M) {
	// The shim runs this binary as the logging binary of a container
	// with a terminal.
	if len(os.Args) == 3 && os.Args[1] == LogCopyArg {
		os.Exit(RunLogCopy(os.Args[2]))
	}
	// and as the holder of a pod's shared PID namespace.
	if len(os.Args) == 2 && os.Args[1] == PauseArg {
		os.Exit(RunPause())
	}
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	// Two runs of this package (a developer's and CI's) would share the
	// containerd namespace and bridge, and each Runtime removes containers
	// it has no state for: serialize them.
	if lock, err := os.OpenFile(filepath.Join(os.TempDir(), "berth-nodes-containerd-test.lock"), os.O_CREATE|os.O_RDWR, 0o600); err == nil {
		defer lock.Close()
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
			fmt.Fprintln(os.Stderr, "lock:", err)
		}
	}
	switch {
	case os.Geteuid() != 0:
		testMissing = "not root"
	default:
		ref, missing, err := testimage.FromEnv(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, "publish test image:", err)
			return 1
		}
		testImage, testMissing = ref, missing
	}
	// A fixed state directory: a run that was killed leaves pods behind,
	// and the next run removes them through the Runtime (IPs, namespaces,
	// volumes), as a restarted daemon would.
	testStateDir = filepath.Join(os.TempDir(), "berth-nodes-containerd-test")
	if d := os.Getenv("BERTH_TEST_STATEDIR"); d != "" {
		testStateDir = d
	}
	if testMissing == "" {
		if err := removeLeftovers(); err != nil {
			fmt.Fprintln(os.Stderr, "remove pods of an earlier run:", err)
			return 1
		}
	}
	code := m.Run()
	if testMissing == "" {
		if left := mountsUnder(testStateDir); len(left) > 0 {
			fmt.Fprintln(os.Stderr, "tests left mounts behind:", strings.Join(left, " "))
			code = 1
		}
	}
	return code
}

// mountsUnder lists the mount points under dir, hidden ones included.
func mountsUnder(dir string) []string {
	mps, err := cni.MountPoints()
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, mp := range mps {
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out
}

func removeLeftovers() error {
	ctx := context.Background()
	opts := testOptions(nil)
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rt, err := New(ctx, opts)
	if err != nil {
		return err
	}
	defer rt.Close()
	st, err := rt.Observe(ctx)
	if err != nil {
		return err
	}
	for _, p := range st.Pods {
		fmt.Fprintln(os.Stderr, "removing pod left by an earlier run:", p.Key())
		if err := rt.RemovePod(ctx, p.Key(), time.Time{}); err != nil {
			return err
		}
	}
	return nil
}

// newRuntime opens a Runtime on the shared test environment, or skips
// loudly when there is none (never under CI=true).
func newRuntime(t testing.TB) *Runtime {
	t.Helper()
	return newRuntimeWith(t, testOptions(t))
}

// newRuntimeWith is newRuntime with other options.
func newRuntimeWith(t testing.TB, opts Options) *Runtime {
	t.Helper()
	testneed.Env(t, "integration", testMissing)
	rt, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func testOptions(t testing.TB) Options {
	return Options{
		Address:            os.Getenv("BERTH_TEST_CONTAINERD"),
		Namespace:          testNamespace,
		StateDir:           testStateDir,
		RunDir:             testStateDir + "/run",
		InsecureRegistries: []string{os.Getenv("BERTH_TEST_REGISTRY")},
		Bridge:             testBridge,
		PodCIDR:            testCIDR,
		Logger:             testLogger(t),
		BackoffBase:        200 * time.Millisecond,
		BackoffMax:         2 * time.Second,
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if t == nil {
		return nil
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// cleanup removes the pods at the end of the test, then closes rt.
func cleanup(t testing.TB, rt *Runtime, keys ...string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, k := range keys {
			if err := rt.RemovePod(ctx, k, time.Time{}); err != nil {
				t.Errorf("remove %s: %v", k, err)
			}
		}
		rt.Close()
	})
}

func container(name string, cmd ...string) plan.Container {
	return plan.Container{Name: name, Image: testImage, ImagePullPolicy: "IfNotPresent", Command: cmd}
}

func testPod(name string, cs ...plan.Container) *plan.Pod {
	return &plan.Pod{
		Namespace: "default",
		Name:      name,
		Hash:      "hash-" + name,
		Owner:     plan.Owner{Kind: "Pod", Name: name},
		Spec: plan.PodSpec{
			Containers:                    cs,
			RestartPolicy:                 "Always",
			TerminationGracePeriodSeconds: 2,
		},
	}
}

// waitPod polls Observe until cond holds for the pod.
func waitPod(t testing.TB, rt *Runtime, key string, timeout time.Duration, what string, cond func(p *nodes.PodStatus) bool) nodes.PodStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last nodes.PodStatus
	for time.Now().Before(deadline) {
		st, err := rt.Observe(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if p := st.Pod(key); p != nil {
			last = *p
			if cond(p) {
				return *p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pod %s: timed out waiting for %s; last status %+v", key, what, last)
	return last
}

func running(p *nodes.PodStatus) bool {
	if p.Phase != nodes.PhaseRunning {
		return false
	}
	for _, c := range p.Containers {
		if c.State != nodes.StateRunning {
			return false
		}
	}
	return true
}

// waitLog polls a container's log until it contains want.
func waitLog(t testing.TB, rt *Runtime, key, ctr, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var buf bytes.Buffer
	for time.Now().Before(deadline) {
		buf.Reset()
		if err := rt.Logs(context.Background(), key, ctr, false, false, &buf); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), want) {
			return buf.String()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("log of %s/%s lacks %q; log:\n%s", key, ctr, want, buf.String())
	return ""
}
