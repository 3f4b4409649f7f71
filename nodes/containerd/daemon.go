package containerd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
)

// connect dials the configured containerd; with no address it tries the
// system socket and otherwise starts an embedded containerd (as k3s does),
// so a node needs nothing but the packages.
func connect(ctx context.Context, opts Options, log *slog.Logger) (*containerd.Client, *daemon, error) {
	if opts.Address != "" {
		c, err := dial(ctx, opts.Address)
		if err != nil {
			return nil, nil, fmt.Errorf("containerd at %s: %w (is containerd running? check --containerd-address)", opts.Address, err)
		}
		return c, nil, nil
	}
	if c, err := dial(ctx, opts.systemSocket); err == nil {
		return c, nil, nil
	}
	d := &daemon{dir: filepath.Join(opts.StateDir, "containerd"), log: log}
	// A crashed berth leaves its containerd running (its own process
	// group): use it rather than start a second one on the same root.
	if c, err := dial(ctx, d.socket()); err == nil {
		log.Info("using the embedded containerd left running", "socket", d.socket())
		return c, nil, nil
	}
	if err := d.start(); err != nil {
		return nil, nil, err
	}
	c, err := dial(ctx, d.socket())
	if err != nil {
		d.stop()
		return nil, nil, fmt.Errorf("embedded containerd: %w (see %s)", err, d.logPath())
	}
	return c, d, nil
}

// dial connects and checks that the daemon answers.
func dial(ctx context.Context, address string) (*containerd.Client, error) {
	if _, err := os.Stat(address); err != nil {
		return nil, err
	}
	c, err := containerd.New(address, containerd.WithTimeout(3*time.Second))
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if ok, err := c.IsServing(cctx); err != nil || !ok {
		c.Close()
		if err == nil {
			err = fmt.Errorf("not serving")
		}
		return nil, err
	}
	return c, nil
}

// daemon is an embedded containerd child with its own root, state and
// socket, restarted when it dies.
type daemon struct {
	dir string
	log *slog.Logger

	mu      sync.Mutex
	cmd     *exec.Cmd
	stopped bool
	done    chan struct{}
}

func (d *daemon) socket() string  { return filepath.Join(d.dir, "containerd.sock") }
func (d *daemon) logPath() string { return filepath.Join(d.dir, "containerd.log") }

func (d *daemon) config() string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
[grpc]
  address = %q
[ttrpc]
  address = %q
[plugins."io.containerd.grpc.v1.cri"]
  disable = true
`, filepath.Join(d.dir, "root"), filepath.Join(d.dir, "state"), d.socket(), d.socket()+".ttrpc")
}

func (d *daemon) start() error {
	bin, err := exec.LookPath("containerd")
	if err != nil {
		return fmt.Errorf("no containerd at /run/containerd/containerd.sock and no containerd binary to start (install containerd): %w", err)
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return err
	}
	cfg := filepath.Join(d.dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(d.config()), 0o600); err != nil {
		return err
	}
	d.done = make(chan struct{})
	if err := d.spawn(bin, cfg); err != nil {
		return err
	}
	go d.supervise(bin, cfg)
	for range 100 {
		if _, err := os.Stat(d.socket()); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("embedded containerd did not create %s (see %s)", d.socket(), d.logPath())
}

func (d *daemon) spawn(bin, cfg string) error {
	logf, err := os.OpenFile(d.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "--config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C to berth must not kill the runtime
	// under the running containers.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start embedded containerd: %w", err)
	}
	logf.Close()
	d.mu.Lock()
	d.cmd = cmd
	d.mu.Unlock()
	return nil
}

// supervise restarts the child when it exits, with a growing delay.
func (d *daemon) supervise(bin, cfg string) {
	defer close(d.done)
	delay := time.Second
	for {
		d.mu.Lock()
		cmd := d.cmd
		d.mu.Unlock()
		err := cmd.Wait()
		d.mu.Lock()
		stopped := d.stopped
		d.mu.Unlock()
		if stopped {
			return
		}
		d.log.Warn("embedded containerd exited; restarting", "err", err, "delay", delay)
		time.Sleep(delay)
		delay = min(delay*2, time.Minute)
		if err := d.spawn(bin, cfg); err != nil {
			d.log.Error("restart embedded containerd", "err", err)
		}
	}
}

func (d *daemon) stop() error {
	d.mu.Lock()
	d.stopped = true
	cmd := d.cmd
	d.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-d.done
	}
	return nil
}
