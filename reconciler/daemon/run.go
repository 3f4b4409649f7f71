package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/gitops"
	"berth.dev/berth/reconciler/nodeapi"
	"berth.dev/berth/reconciler/notify"
	"berth.dev/berth/reconciler/redact"
	"berth.dev/berth/reconciler/source"
	"berth.dev/berth/reconciler/webhook"
)

// dirSource follows a plain directory (--watch): every save is a
// candidate revision, identified by content.
type dirSource struct{ dir string }

func (d dirSource) Fetch(_ context.Context, have string) (source.Revision, bool, error) {
	rev, err := source.DirRevision(d.dir)
	return rev, err == nil && rev.ID != have, err
}

// Run is `berth daemon`: it follows the source until ctx ends. Pods and
// service rules stay in place when it returns.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	// Every credential read is masked in whatever the daemon shows: its
	// log, status (errors pass through the source, which masks them) and
	// metrics (which carry no URL).
	secrets := &redact.Secrets{}
	cfg.Logger = slog.New(secrets.Handler(cfg.Logger.Handler()))
	if err := checkStateStore(&cfg); err != nil {
		return err
	}
	log := cfg.Logger.With("node", cfg.Node)
	tcp, err := listenTCP(cfg, secrets, log)
	if err != nil {
		return err
	}
	if tcp != nil {
		defer tcp.Close()
	}
	comp, err := NewCompiler(&cfg)
	if err != nil {
		return err
	}
	if comp.credentials != nil {
		// A rotated token is read at the next fetch, and masked too.
		secrets.Add(comp.credentials.Secrets()...)
		comp.credentials.Follow(func(values, warnings []string) {
			secrets.Add(values...)
			for _, w := range warnings {
				log.Warn(w)
			}
		})
	}

	var (
		src      gitops.Fetcher
		watchDir []string
		branch   = cfg.Branch
	)
	switch {
	case cfg.WatchDir != "" && cfg.Repo != "":
		return errors.New("use either --repo or --watch, not both")
	case cfg.WatchDir != "":
		abs, err := filepath.Abs(cfg.WatchDir)
		if err != nil {
			return err
		}
		src, watchDir = dirSource{dir: abs}, []string{abs}
	case cfg.Repo != "":
		var keyring string
		if cfg.Keyring != "" {
			b, err := os.ReadFile(cfg.Keyring)
			if err != nil {
				return fmt.Errorf("--require-signed-commits: %w", err)
			}
			keyring = string(b)
		}
		g, err := source.NewGit(source.GitOptions{
			URL: cfg.Repo, Branch: cfg.Branch, Path: cfg.Path, Dir: filepath.Join(cfg.StateDir, "git"),
			Auth: cfg.Auth, Keyring: keyring, AllowNonFastForward: cfg.AllowNonFastForward,
			Limits: cfg.Limits, Secrets: secrets, Logger: log.With("component", "git"),
		})
		if err != nil {
			return err
		}
		src = g
		if p := g.LocalPath(); p != "" {
			watchDir = source.RefPaths(p)
		}
	default:
		return errors.New("nothing to follow: pass --repo URL (a Git repository) or --watch DIR")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	node := NewNode(&cfg)
	node.syncs = newDriverMetrics(reg)
	defer node.Close()
	comp.previous = node.LastApplied
	podMetrics := newPodMetrics(reg, node)
	notes, err := notify.New(notify.Options{URLs: cfg.NotifyURLs, Mask: secrets, Logger: log.With("component", "notify"), Registerer: reg})
	if err != nil {
		return err
	}
	for _, u := range cfg.NotifyURLs {
		secrets.Add(u) // a Slack webhook URL is a credential
	}
	go notes.Run(ctx)
	drift := &driftNotes{n: notes, node: cfg.Node}
	node.onDrift = drift.repaired
	newPeerMetrics(reg, node.peers)
	loopMetrics := gitops.NewMetrics(reg)
	node.onPass = func(res reconciler.Result, took time.Duration, err error) {
		loopMetrics.Passed(took, err != nil || res.Failed > 0)
	}
	loop := gitops.New(gitops.Options{
		Source:         src,
		Compile:        comp.Compile,
		Apply:          node,
		Poll:           cfg.Poll,
		CompileTimeout: time.Duration(cfg.Limits.Get(budget.CompileTime)),
		StateDir:       cfg.StateDir,
		Logger:         log.With("component", "gitops"),
		Metrics:        loopMetrics,
		Node:           cfg.Node,
		AutoRevert:     cfg.AutoRevert,
		Fleet:          node.peers,
		Notify:         notes,
		OnRetry: func(string) {
			if r := node.Reconciler(); r != nil {
				_ = r.RetryFailed()
			}
		},
	})
	comp.drained = loop.Drained
	_ = podMetrics

	for _, d := range watchDir {
		if _, err := os.Stat(d); err != nil {
			return fmt.Errorf("watch %s: %w", d, err)
		}
	}
	if len(watchDir) > 0 {
		debounce := 100 * time.Millisecond
		if cfg.WatchDir != "" {
			debounce = 300 * time.Millisecond // editors write in bursts
		}
		ch, err := source.Watch(ctx, debounce, watchDir...)
		if err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		go func() {
			for range ch {
				loop.Trigger()
			}
		}()
	}

	var hook http.Handler
	if cfg.WebhookSecretFile != "" {
		secret, err := os.ReadFile(cfg.WebhookSecretFile)
		if err != nil {
			return fmt.Errorf("--webhook-secret-file: %w", err)
		}
		secrets.Add(string(secret))
		hook = &webhook.Handler{Secret: []byte(strings.TrimSpace(string(secret))), Branch: branch,
			OnPush: func(webhook.Push) { loop.Trigger() }, Logger: log.With("component", "webhook")}
	}
	node.peers.summary = func() nodeapi.NodeSummary { return summarize(cfg.Node, loop.Status(), node.Reconciler()) }
	ui, err := newUI(cfg, loop, node, src, node.peers.Cluster, log)
	if err != nil {
		return err
	}
	api := nodeapi.Handler(nodeapi.Options{
		Node: cfg.Node, Loop: loop, Workloads: node, Pods: node, Webhook: hook, Registry: reg,
		Logger: log, Ready: func() bool { p := loop.Plan(); return p != nil && loop.Status().Applied == p.Revision }, Plan: loop.Plan,
		Cluster: node.peers.Cluster, UI: ui, Operator: loop, Held: node.HeldPods,
	})
	l, err := nodeapi.ListenUnix(cfg.API)
	if err != nil {
		return err
	}
	go func() { _ = nodeapi.Serve(ctx, l, api) }()
	if tcp != nil {
		go func() { _ = tcp.Serve(ctx, api) }()
	}
	go watchHealth(ctx, loop, node)
	log.Info("berth daemon started", "api", cfg.API, "source", describe(cfg))
	return loop.Run(ctx)
}

// listenTCP opens --api-addr first, so that a bad token or certificate
// file stops the daemon before it touches the node.
func listenTCP(cfg Config, secrets *redact.Secrets, log *slog.Logger) (*nodeapi.TCPListener, error) {
	if cfg.APIAddr == "" {
		if cfg.APITokenFile != "" || cfg.APITLSCert != "" || cfg.APITLSKey != "" || cfg.APITLSClientCA != "" {
			return nil, errors.New("--api-token-file and --api-tls-* secure the TCP API: pass --api-addr too")
		}
		return nil, nil
	}
	token, err := nodeapi.ReadToken(cfg.APITokenFile)
	if err != nil {
		return nil, err
	}
	secrets.Add(token)
	return nodeapi.ListenTCP(nodeapi.TCPOptions{Addr: cfg.APIAddr, Token: token,
		TLSCert: cfg.APITLSCert, TLSKey: cfg.APITLSKey, TLSClientCA: cfg.APITLSClientCA, Logger: log})
}

func describe(cfg Config) string {
	if cfg.WatchDir != "" {
		return "dir " + cfg.WatchDir
	}
	s := redact.URL(cfg.Repo) + "@" + cfg.Branch
	if cfg.Path != "" {
		s += ":" + cfg.Path
	}
	return s
}

// summarize is this node for `berth status --cluster`.
func summarize(node string, g gitops.Status, rec *reconciler.Reconciler) nodeapi.NodeSummary {
	s := nodeapi.NodeSummary{Node: node, Answers: true, Applied: g.Applied, PlanHash: g.PlanHash, Suspended: g.Suspended, Pinned: g.Pinned}
	if g.Health != nil && g.Health.Revision == g.Applied {
		s.Health = g.Health.State
	}
	if rec == nil {
		return s
	}
	s.Converged = g.Applied != "" && g.Applying == ""
	for _, w := range rec.Status().Workloads {
		if w.Kind == "Job" || w.Kind == "CronJob" {
			// Finished pods are not ready pods: a Job counts by its phase.
			if w.Phase == reconciler.JobFailed {
				s.Converged = false
			}
			continue
		}
		s.Ready += w.Ready
		s.Total += w.Total
		if w.Ready != w.Total || (w.Phase != "" && w.Phase != reconciler.PhaseComplete) {
			s.Converged = false
		}
	}
	return s
}
