package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/daemon"
	"berth.dev/berth/reconciler/store"
)

func init() {
	register(&command{
		name:    "apply",
		usage:   "[flags] [PATH]",
		summary: "converge this node to a directory's plan once, showing progress",
		run:     runApply,
	})
	register(&command{
		name:    "cleanup",
		usage:   "[flags]",
		summary: "remove every pod, service rule and route berth made on this node (volume data stays)",
		run:     runCleanup,
	})
}

func runApply(e *env, args []string) int {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var nf nodeFlags
	nf.register(fs)
	registryConfigFlag(fs, &nf.cfg.RegistryConfig, "")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up when not converged after this long")
	quiet := fs.Bool("q", false, "print only the final line")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: berth apply [flags] [PATH]\n\n"+
			"Compiles PATH (default .) and converges this node to its plan: pulls images,\n"+
			"starts pods, rolls changed workloads, programs service rules; it waits until\n"+
			"every pod is ready and no rollout is moving. Invalid manifests change nothing.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	path := "."
	if fs.NArg() > 1 {
		fs.Usage()
		return exitUsage
	} else if fs.NArg() == 1 {
		path = fs.Arg(0)
	}
	pol, err := nf.policy.resolve()
	if err != nil {
		fmt.Fprintf(e.stderr, "berth apply: %v\n", err)
		return exitUsage
	}
	nf.cfg.NodePolicy = &pol
	nf.cfg.SecretKeyFile = nf.policy.secretKeyFile
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cfg, err := nf.config()
	if err != nil {
		fmt.Fprintf(e.stderr, "berth apply: %v\n", err)
		return exitUsage
	}
	last := ""
	diags, err := daemon.Apply(ctx, cfg, path, func(res reconciler.Result, st reconciler.Status) {
		line := progressLine(res, st)
		if line != last && !*quiet {
			fmt.Fprintln(e.stdout, line)
			last = line
		}
	})
	for _, d := range diags {
		if d.Severity == diag.Error || err == nil {
			fmt.Fprintln(e.stderr, d.String())
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "berth apply: %v\n", err)
		if errors.Is(err, daemon.ErrInvalid) {
			return exitFindings
		}
		if errors.As(err, new(*store.CorruptError)) {
			return exitStateDamaged
		}
		return 1
	}
	fmt.Fprintln(e.stdout, "converged")
	return exitOK
}

// progressLine is one line of `berth apply` progress: pods ready per
// workload and what is still awaited.
func progressLine(res reconciler.Result, st reconciler.Status) string {
	ready, total := 0, 0
	var rolling []string
	for _, w := range st.Workloads {
		ready += w.Ready
		total += w.Total
		if w.Phase != "" && w.Phase != "Healthy" && w.Phase != "Complete" {
			s := fmt.Sprintf("%s/%s %s", w.Kind, w.Name, w.Phase)
			if w.Steps > 0 {
				s += fmt.Sprintf(" step %d/%d", w.Step, w.Steps)
			}
			if w.Weight > 0 {
				s += fmt.Sprintf(" weight %d%%", w.Weight)
			}
			rolling = append(rolling, s)
		}
	}
	line := fmt.Sprintf("pods ready %d/%d, %d actions", ready, total, len(res.Actions))
	if res.Failed > 0 {
		line += fmt.Sprintf(", %d failed", res.Failed)
	}
	if len(rolling) > 0 {
		line += "; " + strings.Join(rolling, ", ")
	}
	if len(res.Waiting) > 0 && len(res.Waiting) <= 3 {
		line += "; waiting: " + strings.Join(res.Waiting, ", ")
	} else if len(res.Waiting) > 3 {
		line += fmt.Sprintf("; waiting: %s and %d more", strings.Join(res.Waiting[:3], ", "), len(res.Waiting)-3)
	}
	return line
}

func runCleanup(e *env, args []string) int {
	fs := flag.NewFlagSet("cleanup", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var nf nodeFlags
	nf.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	cfg, err := nf.config()
	if err != nil {
		fmt.Fprintf(e.stderr, "berth cleanup: %v\n", err)
		return exitUsage
	}
	if err := daemon.Cleanup(context.Background(), cfg); err != nil {
		fmt.Fprintf(e.stderr, "berth cleanup: %v\n", err)
		return 1
	}
	fmt.Fprintln(e.stdout, "removed berth's pods, service rules and routes; volume and hostPath data were kept")
	return exitOK
}
