package browser_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// console collects the browser's console errors and exceptions.
type console struct {
	mu   sync.Mutex
	msgs []string
}

func (c *console) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.msgs
	c.msgs = nil
	return out
}

// newBrowser starts chromium headless with the flags a machine without
// internet needs (no sandbox as root, no GPU, no QUIC, no background
// connections, a new empty profile), and collects its console errors.
func newBrowser(t *testing.T) (context.Context, *console) {
	t.Helper()
	profile := t.TempDir()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 900))
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser and its tab
		t.Fatalf("start chromium: %v", err)
	}
	c := &console{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				c.mu.Lock()
				c.msgs = append(c.msgs, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
				c.mu.Unlock()
			}
		}
	}()
	return ctx, c
}

// screenshots is where the test writes a PNG of each page.
func screenshots(t *testing.T) string {
	dir := os.Getenv("BERTH_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "berth-browser-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of every page: %s", dir)
	fmt.Fprintf(os.Stderr, "browser: screenshots of every page: %s\n", dir)
	return dir
}

// run runs actions with a timeout, failing the test with what.
func run(t *testing.T, ctx context.Context, what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitText waits until the page's main element contains every one of want,
// reloading nothing: what changes, changes live.
func waitText(t *testing.T, ctx context.Context, what string, timeout time.Duration, want ...string) {
	t.Helper()
	var conds []string
	for _, w := range want {
		conds = append(conds, fmt.Sprintf("document.querySelector('main').innerText.includes(%q)", w))
	}
	c, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[bool](strings.Join(conds, " && "),
		chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(250*time.Millisecond))); err != nil {
		text := eval[string](t, ctx, "document.querySelector('main').innerText")
		t.Fatalf("%s: %v; the page says:\n%s", what, err, text)
	}
}

// TestWebView runs the examples under a daemon whose API listens on a
// non-loopback address with a token, and walks the web view in chromium.
func TestWebView(t *testing.T) {
	need(t)
	d := startDaemon(t, nonLoopback(t))
	base := "http://" + d.addr
	ctx, con := newBrowser(t)
	shots := screenshots(t)
	shot := func(name string) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	noErrors := func(page string) {
		t.Helper()
		if errs := con.take(); len(errs) > 0 {
			t.Errorf("%s: console errors:\n%s", page, strings.Join(errs, "\n"))
		}
	}

	// From a non-loopback address, every page asks for the token first.
	run(t, ctx, "open the fleet page", 30*time.Second, chromedp.Navigate(base+"/ui/workloads"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc := eval[string](t, ctx, "location.pathname + location.search"); loc != "/ui/login?next=%2Fui%2Fworkloads" {
		t.Fatalf("without a session, /ui/workloads went to %s, want the login form", loc)
	}
	shot("login")
	noErrors("login")
	run(t, ctx, "a wrong token", 20*time.Second, chromedp.SendKeys(chromedp.ID("token"), "not-the-token"),
		chromedp.Submit(chromedp.ID("token")), chromedp.WaitVisible(chromedp.ID("login-error")))
	run(t, ctx, "log in", 20*time.Second, chromedp.SendKeys(chromedp.ID("token"), d.token),
		chromedp.Submit(chromedp.ID("token")), chromedp.WaitVisible(chromedp.CSS("table.workloads")))
	if loc := eval[string](t, ctx, "location.pathname"); loc != "/ui/workloads" {
		t.Errorf("after the login: %s, want back on /ui/workloads", loc)
	}
	noErrors("login")

	// The examples run.
	first := d.git(d.work, "rev-parse", "HEAD")
	waitFor(t, 3*time.Minute, "the examples applied and web ready", func() (bool, string) {
		out, err := d.berth("status")
		return err == nil && strings.Contains(out, first[:12]) && strings.Contains(out, "web") && webReady(out), out
	})
	var webPod string
	out, _ := d.berth("get", "pods")
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "web-") {
			webPod = f
			break
		}
	}
	if webPod == "" {
		t.Fatalf("no web pod in:\n%s", out)
	}
	for _, p := range []struct{ name, path, want string }{
		{"fleet", "/ui/", "Recent revisions"},
		{"workloads", "/ui/workloads", "Deployment default/web"},
		{"workloads-team-a", "/ui/workloads?ns=team-a&label=app%3Dapi", "Deployment team-a/api"},
		{"workload", "/ui/workloads/Deployment/default/web", "Written in"},
		{"pod", "/ui/pods/default/" + webPod, "deployment.yaml"},
		{"services", "/ui/services", "Endpoints per node"},
		{"plan", "/ui/plan", "The node runs the branch head"},
		{"revision", "/ui/revisions/" + first, "Plan diff from the revision before"},
		{"history", "/ui/history", first[:12]},
	} {
		run(t, ctx, "open "+p.path, 30*time.Second, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS("main h1")))
		waitText(t, ctx, p.path, 30*time.Second, p.want)
		shot(p.name)
		noErrors(p.path)
	}
	// Every page is readable without colour and reachable by keyboard:
	// the first Tab lands on the skip link.
	run(t, ctx, "tab", 10*time.Second, chromedp.KeyEvent("\t"))
	if got := eval[string](t, ctx, "document.activeElement.textContent"); got != "Skip to content" {
		t.Errorf("the first Tab focuses %q, want the skip link", got)
	}

	// A push shows up on the open history page, without a reload.
	run(t, ctx, "mark the page", 5*time.Second, chromedp.Evaluate[chromedp.Void]("window.berthMark = 1"))
	d.edit("web/config.yaml", "LOG_LEVEL: info", "LOG_LEVEL: debug")
	second := d.commit("web: debug logs")
	waitText(t, ctx, "the pushed commit on the history page", 60*time.Second, second[:12], "web: debug logs", "Ada Lovelace")
	hc, cancel := context.WithTimeout(ctx, 40*time.Second)
	if _, err := chromedp.Run(hc, chromedp.Poll[bool](fmt.Sprintf("document.querySelector('header .revs').innerText.includes(%q)", "applied "+second[:12]),
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Errorf("the header does not follow the applied revision live: %v (%q)", err, eval[string](t, ctx, "document.querySelector('header .revs').innerText"))
	}
	cancel()
	if eval[int](t, ctx, "window.berthMark || 0") != 1 {
		t.Error("the history page reloaded; the push should arrive live")
	}
	noErrors("history, live")

	// A rollout that cannot progress fails with its reason, on the
	// workloads page and in the history.
	d.edit("web/deployment.yaml", "minReadySeconds: 2", "minReadySeconds: 2\n  progressDeadlineSeconds: 8")
	d.edit("web/deployment.yaml", "berth/hello:v1", "berth/hello:does-not-exist")
	third := d.commit("web: an image that does not exist")
	run(t, ctx, "open the workloads page", 30*time.Second, chromedp.Navigate(base+"/ui/workloads?ns=default"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	waitText(t, ctx, "the failed rollout and its reason", 120*time.Second, "✗ failed", "progress deadline exceeded")
	shot("workloads-failed")
	noErrors("workloads, failed rollout")
	run(t, ctx, "open the history", 30*time.Second, chromedp.Navigate(base+"/ui/history"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	waitText(t, ctx, "the failed revision in the history", 30*time.Second, third[:12], "✗ failed", "Deployment default/web: progress deadline exceeded")
	shot("history-failed")
	noErrors("history, failed")

	if os.Getenv("UPDATE_GOLDEN") == "1" {
		for _, name := range []string{"workloads-failed", "history-failed"} {
			b, err := os.ReadFile(filepath.Join(shots, name+".png"))
			if err == nil {
				err = os.WriteFile(filepath.Join("..", "..", "docs", "img", "webui-"+name+".png"), b, 0o644)
			}
			if err != nil {
				t.Error(err)
			}
		}
	}
}

// webReady reports whether `berth status` shows web with 3 of 3 ready.
func webReady(status string) bool {
	for _, line := range strings.Split(status, "\n") {
		if strings.Contains(line, "default/web") && strings.Contains(line, "3/3") {
			return true
		}
	}
	return false
}
