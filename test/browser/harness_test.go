package browser_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth.dev/berth/internal/testneed"
)

// The environment, found (or built) once by TestMain.
var (
	berthBin   string
	chromium   string
	containerd string
	registry   string
	missing    string // why the environment is absent, "" when present
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	containerd, registry = os.Getenv("BERTH_TEST_CONTAINERD"), os.Getenv("BERTH_TEST_REGISTRY")
	var err error
	switch {
	case os.Geteuid() != 0:
		missing = "not root (the daemon needs network namespaces, iptables and containerd)"
	case containerd == "" || registry == "":
		missing = `$BERTH_TEST_CONTAINERD or $BERTH_TEST_REGISTRY is unset (run: eval "$(scripts/testenv.sh)")`
	}
	if missing == "" {
		if chromium, err = exec.LookPath("chromium"); err != nil {
			missing = "no chromium in $PATH (apt-get install chromium; scripts/testenv.sh installs it)"
		}
	}
	if missing != "" {
		fmt.Fprintf(os.Stderr, "browser: SKIPPING the browser tests: %s\n", missing)
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "berth-browser-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := prepare(dir); err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		return 1
	}
	return m.Run()
}

// prepare builds berth and publishes the hello server v1, the image the
// examples run.
func prepare(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	berthBin = filepath.Join(dir, "berth")
	hello := filepath.Join(dir, "hello-image")
	for bin, pkg := range map[string]string{berthBin: "berth.dev/berth/cmd/berth", hello: "berth.dev/berth/cmd/hello-image"} {
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
		}
	}
	if out, err := exec.CommandContext(ctx, hello, "-containerd", containerd, "-registry", registry, "-version", "v1").CombinedOutput(); err != nil {
		return fmt.Errorf("hello-image v1: %w\n%s", err, out)
	}
	return nil
}

func need(t *testing.T) {
	t.Helper()
	testneed.Env(t, "browser", missing)
}

// daemon is one `berth daemon` with names of its own: chain prefix TBRW,
// bridge btbrw0, pod CIDR 10.69.0.0/16, service CIDR 10.169.0.0/16 (no
// other test or demo uses them).
type daemon struct {
	t     *testing.T
	dir   string
	sock  string
	logf  string
	cmd   *exec.Cmd
	done  chan struct{}
	bare  string
	work  string
	addr  string // host:port of the TCP API, on a non-loopback address
	token string
	ns    string
}

func (d *daemon) flags() []string {
	return []string{"--state-dir", filepath.Join(d.dir, "state"), "--run-dir", filepath.Join(d.dir, "run"),
		"--containerd-address", containerd, "--containerd-namespace", d.ns, "--bridge", "btbrw0",
		"--pod-cidr", "10.69.0.0/16", "--service-cidr", "10.169.0.0/16", "--chain-prefix", "TBRW"}
}

// startDaemon makes a repository of the examples and starts the daemon on
// it, its API on addr with a token.
func startDaemon(t *testing.T, host string) *daemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "berth-browser-")
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, dir: dir, sock: filepath.Join(dir, "run", "berth.sock"), logf: filepath.Join(dir, "daemon.log"),
		bare: filepath.Join(dir, "repo.git"), work: filepath.Join(dir, "work"), token: "browser-test-token-0123456789abcdef",
		ns: fmt.Sprintf("berth-browser-%d", os.Getpid())}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(d.logf)
			lines := strings.Split(string(b), "\n")
			t.Logf("daemon log (%s), last lines:\n%s", d.logf, strings.Join(lines[max(0, len(lines)-60):], "\n"))
		}
		d.stop()
		d.cleanup()
		os.RemoveAll(dir)
	})
	d.git("", "init", "-q", "--bare", "-b", "main", d.bare)
	d.git("", "init", "-q", "-b", "main", d.work)
	d.git(d.work, "config", "user.email", "ada@example.com")
	d.git(d.work, "config", "user.name", "Ada Lovelace")
	d.git(d.work, "remote", "add", "origin", d.bare)
	for _, ex := range []string{"web", "rollouts", "batch", "quota"} {
		if out, err := exec.Command("cp", "-r", filepath.Join("..", "..", "examples", ex), filepath.Join(d.work, ex)).CombinedOutput(); err != nil {
			t.Fatalf("copy example %s: %v %s", ex, err, out)
		}
	}
	d.commit("the examples: web, rollouts, batch, quota")
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte(d.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t, host)
	d.addr = net.JoinHostPort(host, fmt.Sprint(port))
	logf, err := os.Create(d.logf)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"daemon", "--repo", d.bare, "--api", d.sock, "--api-addr", d.addr, "--api-token-file", tok,
		"--poll", "1s", "--resync", "5s",
		// The tour shows a failed rollout as it stays without the
		// automatic revert (the revert has its own tests in test/e2e).
		"--auto-revert=false"}, d.flags()...)
	d.cmd = exec.Command(berthBin, args...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.done = make(chan struct{})
	go func() { d.cmd.Wait(); logf.Close(); close(d.done) }()
	return d
}

func (d *daemon) git(dir string, args ...string) string {
	d.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		d.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// commit commits every change in the work tree, pushes it, and returns
// the commit.
func (d *daemon) commit(msg string) string {
	d.t.Helper()
	d.git(d.work, "add", "-A")
	d.git(d.work, "commit", "-q", "-m", msg)
	d.git(d.work, "push", "-q", "origin", "main")
	return d.git(d.work, "rev-parse", "HEAD")
}

// edit rewrites a file of the work tree with old replaced by new.
func (d *daemon) edit(file, old, new string) {
	d.t.Helper()
	p := filepath.Join(d.work, file)
	b, err := os.ReadFile(p)
	if err != nil || !bytes.Contains(b, []byte(old)) {
		d.t.Fatalf("edit %s: %v (or no %q in it)", file, err, old)
	}
	if err := os.WriteFile(p, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// berth runs a client command on the daemon's socket.
func (d *daemon) berth(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, berthBin, append(args, "--api", d.sock)...).CombinedOutput()
	return string(out), err
}

func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
}

// cleanup removes what the daemon made: `berth cleanup`, the bridge, the
// images of its containerd namespace, the namespace.
func (d *daemon) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, berthBin, append([]string{"cleanup"}, d.flags()...)...).CombinedOutput(); err != nil {
		d.t.Logf("berth cleanup: %v\n%s", err, out)
	}
	exec.CommandContext(ctx, "ip", "link", "del", "btbrw0").Run()
	ctr := func(args ...string) string {
		out, _ := exec.CommandContext(ctx, "ctr", append([]string{"-a", containerd, "-n", d.ns}, args...)...).Output()
		return string(out)
	}
	if imgs := strings.Fields(ctr("images", "ls", "-q")); len(imgs) > 0 {
		ctr(append([]string{"images", "rm"}, imgs...)...)
	}
	for range 10 {
		if exec.CommandContext(ctx, "ctr", "-a", containerd, "namespaces", "rm", d.ns).Run() == nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, detail)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func freePort(t *testing.T, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// nonLoopback is an IPv4 address of this machine that is not loopback,
// so the browser reaches the daemon as a neighbour would: the address of
// the default route's interface (other tests' bridges come and go).
func nonLoopback(t *testing.T) string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile("/proc/net/route"); err == nil {
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 1 && f[1] == "00000000" {
				if i, err := net.InterfaceByName(f[0]); err == nil {
					ifs = append([]net.Interface{*i}, ifs...)
				}
			}
		}
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				return n.IP.String()
			}
		}
	}
	t.Fatal("this machine has no non-loopback IPv4 address to test the login from")
	return ""
}
