package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/testneed"
	"berth.dev/berth/nodes/testimage"
)

// The binaries and images every test uses, made once by TestMain.
var (
	berthBin   string // the berth binary, built from this module
	containerd string // $BERTH_TEST_CONTAINERD
	registry   string // $BERTH_TEST_REGISTRY
	helloImage = map[string]string{}
	// resolveImage is busybox with the resolve tool (test/e2e/resolve).
	resolveImage string
	missing      string // why the environment is absent, "" when present
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	containerd = os.Getenv("BERTH_TEST_CONTAINERD")
	registry = os.Getenv("BERTH_TEST_REGISTRY")
	switch {
	case os.Geteuid() != 0:
		missing = "not root (the daemon needs network namespaces, iptables and containerd)"
	case containerd == "":
		missing = `$BERTH_TEST_CONTAINERD is unset (run: eval "$(scripts/testenv.sh)")`
	case registry == "":
		missing = `$BERTH_TEST_REGISTRY is unset (run: eval "$(scripts/testenv.sh)")`
	}
	if missing == "" {
		if _, err := os.Stat(containerd); err != nil {
			missing = fmt.Sprintf("no containerd socket at %s: %v", containerd, err)
		}
	}
	for _, tool := range []string{"git", "iptables", "ip"} {
		if _, err := exec.LookPath(tool); missing == "" && err != nil {
			missing = "no " + tool + " in $PATH"
		}
	}
	if missing != "" {
		fmt.Fprintf(os.Stderr, "e2e: SKIPPING the end-to-end tests: %s\n", missing)
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "berth-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	if err := prepare(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: built berth and published the hello images in %.1fs\n", time.Since(start).Seconds())
	return m.Run()
}

// prepare builds berth and the demo's hello-image tool, and publishes the
// hello server v1 and v2 to the test registry.
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
	for _, v := range []string{"v1", "v2"} {
		out, err := exec.CommandContext(ctx, hello, "-containerd", containerd, "-registry", registry, "-version", v).CombinedOutput()
		if err != nil {
			return fmt.Errorf("hello-image %s: %w\n%s", v, err, out)
		}
		helloImage[v] = strings.TrimSpace(string(out))
	}
	return publishResolve(ctx, dir)
}

// publishResolve builds test/e2e/resolve statically (Go's own resolver,
// no libc) into a busybox image and pushes it to the test registry.
func publishResolve(ctx context.Context, dir string) error {
	bin := filepath.Join(dir, "resolve")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "berth.dev/berth/test/e2e/resolve")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build resolve: %w\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	ref := registry + "/berth/resolve:e2e"
	a, err := testimage.BuildConfig(testimage.BusyboxPath, ref, testimage.ImageConfig{Files: map[string][]byte{"bin/resolve": b}})
	if err != nil {
		return err
	}
	if err := testimage.PublishArchive(ctx, containerd, registry, a); err != nil {
		return fmt.Errorf("publish %s: %w", ref, err)
	}
	resolveImage = ref
	return nil
}

// need skips t loudly when the environment is absent, or fails it under CI.
func need(t *testing.T) {
	t.Helper()
	testneed.Env(t, "end-to-end", missing)
}
