package cluster_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/testneed"
	"berth.dev/berth/nodes"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/nodeapi"
)

// The cluster of scripts/cluster.sh.
const (
	base      = "/var/lib/berth-cluster"
	runDir    = "/run/berth-cluster"
	serviceIP = "10.96.77.10"
)

var nodeNames = []string{"n1", "n2", "n3"}

var (
	root    string // the module's root
	missing string // why the environment is absent

	upOnce sync.Once
	upErr  error
	wasUp  bool
)

func TestMain(m *testing.M) {
	wd, _ := os.Getwd()
	root = filepath.Clean(filepath.Join(wd, "../.."))
	switch sock := os.Getenv("BERTH_TEST_CONTAINERD"); {
	case os.Geteuid() != 0:
		missing = "not root"
	case sock == "" || os.Getenv("BERTH_TEST_REGISTRY") == "":
		missing = `BERTH_TEST_CONTAINERD/BERTH_TEST_REGISTRY unset (eval "$(scripts/testenv.sh)")`
	default:
		if _, err := os.Stat(sock); err != nil {
			missing = "no containerd socket at " + sock
		}
		for _, tool := range []string{"nsenter", "git", "ip"} {
			if _, err := exec.LookPath(tool); err != nil {
				missing = tool + " not found"
			}
		}
	}
	code := m.Run()
	if wasUp && os.Getenv("CLUSTER_KEEP") == "" {
		if out, err := script("down"); err != nil {
			fmt.Fprintf(os.Stderr, "cluster.sh down: %v\n%s", err, out)
		}
	}
	os.Exit(code)
}

// need brings the cluster up once (scripts/cluster.sh down, then up, with
// a fresh build of berth unless BERTH_BIN names one), or skips loudly.
func need(t *testing.T) {
	t.Helper()
	testneed.Long(t, "cluster test")
	testneed.Env(t, "cluster", missing)
	upOnce.Do(func() {
		if os.Getenv("BERTH_BIN") == "" {
			bin := filepath.Join(os.TempDir(), "berth-cluster-test")
			cmd := exec.Command("go", "build", "-o", bin, "./cmd/berth")
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				upErr = fmt.Errorf("build berth: %v\n%s", err, out)
				return
			}
			os.Setenv("BERTH_BIN", bin)
		}
		_, _ = script("down")
		wasUp = true
		if out, err := script("up"); err != nil {
			upErr = fmt.Errorf("cluster.sh up: %v\n%s", err, out)
		}
	})
	if upErr != nil {
		t.Fatal(upErr)
	}
}

// script runs scripts/cluster.sh.
func script(args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(root, "scripts/cluster.sh"), args...)
	cmd.Dir = root
	return cmd.CombinedOutput()
}

// nodeStatus is a node's status document, with the reconciler's part.
type nodeStatus struct {
	nodeapi.StatusDoc
	Rec reconciler.Status
}

func status(ctx context.Context, node string) (nodeStatus, error) {
	c := nodeapi.NewClient(filepath.Join(runDir, node, "berth.sock"), "")
	doc, raw, err := c.Status(ctx)
	if err != nil {
		return nodeStatus{}, err
	}
	s := nodeStatus{StatusDoc: doc}
	var whole struct {
		Workloads *reconciler.Status `json:"workloads"`
	}
	whole.Workloads = &s.Rec
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &whole); err != nil {
			return s, fmt.Errorf("decode the workloads of %s: %w", node, err)
		}
	}
	return s, nil
}

// converged says whether s runs head with every workload ready and no
// rollout in progress.
func (s nodeStatus) converged(head string) bool {
	if s.GitOps.Applied != head {
		return false
	}
	for _, w := range s.Rec.Workloads {
		if w.Ready != w.Total || (w.Phase != "" && w.Phase != reconciler.PhaseComplete) {
			return false
		}
	}
	return true
}

// webPods are the node's running pods of the web Deployment.
func (s nodeStatus) webPods() []nodes.PodStatus {
	var out []nodes.PodStatus
	for _, p := range s.Pods {
		if p.Owner.Name == "web" && p.Phase == nodes.PhaseRunning {
			out = append(out, p)
		}
	}
	return out
}

// waitConverged waits until every node of ns runs head, converged.
func waitConverged(t *testing.T, head string, timeout time.Duration, ns ...string) map[string]nodeStatus {
	t.Helper()
	if len(ns) == 0 {
		ns = nodeNames
	}
	deadline := time.Now().Add(timeout)
	for {
		out := map[string]nodeStatus{}
		var late []string
		for _, n := range ns {
			s, err := status(context.Background(), n)
			if err != nil || !s.converged(head) {
				late = append(late, fmt.Sprintf("%s (applied %.8s, err %v, workloads %+v)", n, s.GitOps.Applied, err, s.Rec.Workloads))
			}
			out[n] = s
		}
		if len(late) == 0 {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged on %.8s after %v: %s", head, timeout, strings.Join(late, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// commit changes the work tree with edit, commits and pushes; it returns
// the new head and when the push started.
func commit(t *testing.T, msg string, edit func(dir string) error) (string, time.Time) {
	t.Helper()
	dir := filepath.Join(base, "work")
	if err := edit(dir); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("add", "-A")
	git("commit", "-qm", msg)
	start := time.Now()
	git("push", "-q", "origin", "main")
	return git("rev-parse", "HEAD"), start
}

// replaceIn edits one file of the work tree.
func replaceIn(file, old, new string) func(string) error {
	return func(dir string) error {
		p := filepath.Join(dir, file)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), old) {
			return fmt.Errorf("%s has no %q", file, old)
		}
		return os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644)
	}
}

// inNetns is an HTTP client whose connections start in the network
// namespace at path (a node's, or a pod's), one connection per request
// so that every request is balanced anew.
func inNetns(path string) *http.Client {
	return &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: dialIn(path), DisableKeepAlives: true}}
}

// dialIn dials from the network namespace at path.
func dialIn(path string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ns, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		defer unix.Close(ns)
		// The socket is made on a thread switched into the namespace; it
		// stays there, and the thread goes back before it is released.
		runtime.LockOSThread()
		self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			return nil, err
		}
		defer unix.Close(self)
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			return nil, fmt.Errorf("enter %s: %w", path, err)
		}
		d := net.Dialer{Timeout: 2 * time.Second}
		c, derr := d.DialContext(ctx, network, addr)
		if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			return c, derr
		}
		runtime.UnlockOSThread()
		return c, derr
	}
}

func nodeClient(node string) *http.Client { return inNetns("/run/netns/berth-" + node) }

// podClient is a client in the network namespace of one of node's web
// pods.
func podClient(t *testing.T, node string) *http.Client {
	t.Helper()
	return inNetns(podNetns(t, node))
}

// podNetns is the network namespace of one of node's web pods
// (nodes/containerd names it berth-<sha256(containerd namespace, pod
// key)>, under <run dir>/netns).
func podNetns(t *testing.T, node string) string {
	t.Helper()
	s, err := status(context.Background(), node)
	if err != nil {
		t.Fatal(err)
	}
	pods := s.webPods()
	if len(pods) == 0 {
		t.Fatalf("no web pod on %s", node)
	}
	sum := sha256.Sum256([]byte("berth-" + node + "\x00" + pods[0].Key()))
	return filepath.Join(runDir, node, "netns", "berth-"+hex.EncodeToString(sum[:6]))
}

// get fetches the service's page: "<pod name> <version>".
func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", url, resp.Status)
	}
	return strings.TrimSpace(string(b)), nil
}

// sample makes n requests and counts the answers by pod name.
func sample(c *http.Client, url string, n int) (map[string]int, []error) {
	got := map[string]int{}
	var errs []error
	for range n {
		body, err := get(c, url)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got[strings.Fields(body)[0]]++
	}
	return got, errs
}

// prober requests the service from every node until stopped, counting
// failures: the Service must keep answering through a change.
type prober struct {
	once  sync.Once
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	ok    map[string]int
	fails map[string][]string
}

func probe(t *testing.T, ns ...string) *prober {
	p := &prober{stop: make(chan struct{}), ok: map[string]int{}, fails: map[string][]string{}}
	for _, n := range ns {
		c := nodeClient(n)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				select {
				case <-p.stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				_, err := get(c, "http://"+serviceIP+"/")
				p.mu.Lock()
				if err != nil {
					p.fails[n] = append(p.fails[n], time.Now().Format("15:04:05.000")+" "+err.Error())
				} else {
					p.ok[n]++
				}
				p.mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() { p.done(t) })
	return p
}

// done stops the prober and fails t if any request failed.
func (p *prober) done(t *testing.T) {
	t.Helper()
	p.once.Do(func() { p.report(t) })
}

func (p *prober) report(t *testing.T) {
	t.Helper()
	close(p.stop)
	p.wg.Wait()
	for _, n := range slices.Sorted(func(yield func(string) bool) {
		for k := range p.ok {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Logf("prober %s: %d ok, %d failed", n, p.ok[n], len(p.fails[n]))
	}
	for n, fs := range p.fails {
		if len(fs) > 0 {
			t.Errorf("from %s, %d requests failed, the first: %v", n, len(fs), fs[:min(3, len(fs))])
		}
	}
}

// localOnly says whether a node's service routes reach only its own pods:
// the reconciler does not have the node inventory (reconciler.Desired
// does not carry it), so it cannot route to other nodes' transit ports.
func localOnly(t *testing.T) bool {
	t.Helper()
	s, err := status(context.Background(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	local := map[string]bool{}
	for _, p := range s.webPods() {
		local[p.Name] = true
	}
	got, _ := sample(nodeClient("n1"), "http://"+serviceIP+"/", 30)
	for pod := range got {
		if !local[pod] {
			return false
		}
	}
	return len(got) > 0
}

// wantAllPods fails t unless all 6 pods answered; when the nodes route
// to their own pods only, that is the known missing inventory.
func wantAllPods(t *testing.T, from string, got map[string]int) {
	t.Helper()
	if len(got) == 6 {
		return
	}
	if localOnly(t) {
		t.Fatalf("from %s only %d pods answer %v: services reach only the node's own pods; "+
			"reconciler.Desired must carry the node inventory (Desired.Nodes, returned by reconciler/transit.go inventory)", from, len(got), got)
	}
	t.Errorf("from %s: %d distinct pods answered, want all 6: %v", from, len(got), got)
}

// webImage is the image of the web Deployment the cluster starts with
// (the test image in the cluster's registry), for the workloads a
// scenario commits.
func webImage(t *testing.T) string {
	t.Helper()
	web, err := os.ReadFile(filepath.Join(base, "work", "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`image: (\S+)`).FindSubmatch(web)
	if m == nil {
		t.Fatal("no image in web.yaml")
	}
	return string(m[1])
}
