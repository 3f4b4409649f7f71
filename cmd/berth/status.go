package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/nodeapi"
)

func init() {
	register(&command{name: "status", usage: "[--api ADDR] [--cluster] [-o text|json]", summary: "show what the daemon applied, each workload's state, errors and events; --cluster: every node", run: runStatus})
	register(&command{name: "get", usage: "pods|services|jobs [--api ADDR]", summary: "list this node's pods, the services, or the Jobs and CronJobs", run: runGet})
	register(&command{name: "logs", usage: "[-c CONTAINER] [-f] [--previous] POD", summary: "print a container's log", run: runLogs})
	register(&command{name: "promote", usage: "NAME", summary: "promote a paused blue/green or canary rollout", run: gateCmd("promote")})
	register(&command{name: "abort", usage: "NAME", summary: "send a blue/green or canary rollout back to its stable revision", run: gateCmd("abort")})
}

// clientFlags parses the flags shared by the API clients.
func clientFlags(e *env, name string, args []string, extra func(fs *flag.FlagSet)) (*nodeapi.Client, *flag.FlagSet, int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr, token := apiFlag(fs)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, fs, exitOK
		}
		return nil, fs, exitUsage
	}
	tok, err := readToken(*token)
	if err != nil {
		fmt.Fprintf(e.stderr, "berth %s: %v\n", name, err)
		return nil, fs, exitUsage
	}
	return nodeapi.NewClient(*addr, tok), fs, -1
}

type fullStatus struct {
	nodeapi.StatusDoc
	Workloads *reconciler.Status `json:"workloads,omitempty"`
}

func fetchStatus(ctx context.Context, c *nodeapi.Client) (fullStatus, []byte, error) {
	_, raw, err := c.Status(ctx)
	if err != nil {
		return fullStatus{}, nil, err
	}
	var st fullStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return fullStatus{}, nil, fmt.Errorf("status: %w", err)
	}
	return st, raw, nil
}

func runStatus(e *env, args []string) int {
	var output string
	var cluster bool
	c, fs, code := clientFlags(e, "status", args, func(fs *flag.FlagSet) {
		fs.StringVar(&output, "o", "text", "output format: text or json")
		fs.BoolVar(&cluster, "cluster", false, "every node of the inventory, as this node's gossip state has it")
	})
	if code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "usage: berth status [--api ADDR] [--cluster] [-o text|json]")
		return exitUsage
	}
	if cluster {
		return clusterStatus(e, c, output)
	}
	st, raw, err := fetchStatus(context.Background(), c)
	if err != nil {
		fmt.Fprintf(e.stderr, "berth status: %v\n", err)
		return 1
	}
	if output == "json" {
		e.stdout.Write(raw)
		return exitOK
	}
	printStatus(e.stdout, st)
	return exitOK
}

// clusterStatus prints every node as the daemon last heard from it.
func clusterStatus(e *env, c *nodeapi.Client, output string) int {
	return fetchAndShow(e, "berth status --cluster", output, c.Cluster, printCluster)
}

// fetchAndShow reads one thing from the daemon and prints it as JSON (-o
// json) or as text; what names the command in an error.
func fetchAndShow[T any](e *env, what, output string, get func(context.Context) (T, error), text func(io.Writer, T)) int {
	v, err := get(context.Background())
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", what, err)
		return 1
	}
	if output == "json" {
		b, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", b)
		return exitOK
	}
	text(e.stdout, v)
	return exitOK
}

func printCluster(w io.Writer, nodes []nodeapi.NodeSummary) {
	hashes := map[string]bool{}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tMEMBER\tAPPLIED\tPLAN\tPODS READY\tCONVERGED")
	for _, n := range nodes {
		if n.PlanHash != "" {
			hashes[n.PlanHash] = true
		}
		member, converged := n.State, "yes"
		if member == "" { // a daemon from before gossip
			member = map[bool]string{true: "alive", false: "-"}[n.Answers]
		}
		if !n.Converged {
			converged = "no"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.12s\t%.12s\t%d/%d\t%s\n", n.Node, member, orDash(n.Applied), orDash(n.PlanHash), n.Ready, n.Total, converged)
	}
	tw.Flush()
	printClusterHealth(w, nodes)
	if len(hashes) > 1 {
		fmt.Fprintf(w, "\nthe nodes run %d different plans (a commit is still on its way, or their flags differ)\n", len(hashes))
	}
}

func printStatus(w io.Writer, st fullStatus) {
	g := st.GitOps
	fmt.Fprintf(w, "node:      %s\n", st.Node)
	fmt.Fprintf(w, "applied:   %s\n", orNone(g.Applied))
	if g.Applying != "" {
		fmt.Fprintf(w, "applying:  %s\n", g.Applying)
	}
	if g.Head != "" && g.Head != g.Applied {
		fmt.Fprintf(w, "head:      %s\n", g.Head)
	}
	fmt.Fprintf(w, "plan hash: %s\n", orNone(g.PlanHash))
	if !g.LastFetch.IsZero() {
		fmt.Fprintf(w, "fetched:   %s ago\n", time.Since(g.LastFetch).Round(time.Second))
	}
	if g.Compiling != "" {
		fmt.Fprintf(w, "compiling: %s\n", g.Compiling)
	}
	printOperating(w, g)
	if len(st.Held) > 0 {
		fmt.Fprintf(w, "\nheld by disruption budgets:\n")
		for _, h := range st.Held {
			fmt.Fprintf(w, "  %s\n", h)
		}
	}
	if g.Rejected != nil {
		if g.Rejected.Reason != "" {
			fmt.Fprintf(w, "\nrevision %s refused: %s\n", g.Rejected.Revision, g.Rejected.Reason)
		}
		fmt.Fprintf(w, "\nrevision %s was REJECTED; the node keeps running %s:\n", g.Rejected.Revision, orNone(g.Applied))
		for _, d := range g.Rejected.Diagnostics {
			fmt.Fprintf(w, "  %s\n", d)
		}
	}
	if g.LastError != "" {
		fmt.Fprintf(w, "\nlast error: %s\n", g.LastError)
	}
	if st.Workloads != nil && len(st.Workloads.Workloads) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WORKLOAD\tREADY\tSTRATEGY\tSTATE")
		for _, wl := range st.Workloads.Workloads {
			fmt.Fprintf(tw, "%s/%s/%s\t%d/%d\t%s\t%s\n", wl.Kind, wl.Namespace, wl.Name, wl.Ready, wl.Total, orDash(wl.Strategy), workloadState(wl))
		}
		tw.Flush()
		for _, wl := range st.Workloads.Workloads {
			printOrdinals(w, wl)
		}
	}
	if st.Workloads != nil && len(st.Workloads.Peers) > 0 {
		fmt.Fprintln(w, "\nother nodes:")
		for _, name := range slices.Sorted(maps.Keys(st.Workloads.Peers)) {
			p := st.Workloads.Peers[name]
			if !p.Reachable {
				fmt.Fprintf(w, "  %s: failed (no traffic to it)\n", name)
				continue
			}
			n := 0
			for _, c := range p.Ready {
				n += c
			}
			fmt.Fprintf(w, "  %s: alive, %d ready pods behind %d services\n", name, n, len(p.Ready))
		}
	}
	if st.Workloads != nil && st.Workloads.LastError != "" {
		fmt.Fprintf(w, "\nreconcile error: %s\n", st.Workloads.LastError)
	}
	if st.Workloads != nil && len(st.Workloads.Events) > 0 {
		fmt.Fprintln(w, "\nrecent events:")
		evs := st.Workloads.Events
		if len(evs) > 10 {
			evs = evs[len(evs)-10:]
		}
		for _, ev := range evs {
			fmt.Fprintf(w, "  %s\n", eventLine(ev))
		}
	}
}

// printOrdinals lists a StatefulSet's ordinals on this node: each one's
// state, readiness and revision (and whether it is the desired one).
func printOrdinals(w io.Writer, wl reconciler.WorkloadStatus) {
	if len(wl.Ordinals) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s/%s/%s ordinals (revision %s):\n", wl.Kind, wl.Namespace, wl.Name, orDash(wl.Revision))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, o := range wl.Ordinals {
		ready, rev := "not ready", orDash(o.Revision)
		if o.Ready {
			ready = "ready"
		}
		switch {
		case o.State == "Missing":
			ready, rev = "-", "-"
		case o.Current:
			rev += " (current)"
		default:
			rev += " (old)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", o.Pod, o.State, ready, rev)
	}
	tw.Flush()
}

// eventLine renders one event: time, object, action, target, reason,
// result and error, leaving out the empty ones.
func eventLine(ev reconciler.Event) string {
	parts := []string{ev.Time.Format("15:04:05")}
	for _, v := range []string{ev.Object, ev.Action, ev.Target, ev.Reason, ev.Result, ev.Error} {
		if v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, "  ")
}

func workloadState(w reconciler.WorkloadStatus) string {
	var parts []string
	if w.Phase != "" {
		parts = append(parts, w.Phase)
	}
	if w.Steps > 0 {
		parts = append(parts, fmt.Sprintf("step %d/%d", w.Step, w.Steps))
	}
	if w.Weight > 0 {
		parts = append(parts, fmt.Sprintf("canary %d%%", w.Weight))
	}
	if w.Completions > 0 {
		parts = append(parts, fmt.Sprintf("%d/%d completions", w.Succeeded, w.Completions))
	}
	if w.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", w.Failed))
	}
	if w.CompletedIndexes != "" {
		parts = append(parts, "indexes "+w.CompletedIndexes+" done")
	}
	if w.FailedIndexes != "" {
		parts = append(parts, "indexes "+w.FailedIndexes+" failed")
	}
	if !w.NextRun.IsZero() {
		parts = append(parts, "next run "+w.NextRun.Format(time.RFC3339))
	}
	if w.Suspended {
		parts = append(parts, "suspended")
	}
	if w.Message != "" {
		parts = append(parts, w.Message)
	}
	return orDash(strings.Join(parts, ", "))
}

func runGet(e *env, args []string) int {
	var what string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		what, args = args[0], args[1:]
	}
	c, _, code := clientFlags(e, "get", args, nil)
	if code >= 0 {
		return code
	}
	st, _, err := fetchStatus(context.Background(), c)
	if err != nil {
		fmt.Fprintf(e.stderr, "berth get: %v\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	switch what {
	case "pods", "pod", "po":
		fmt.Fprintln(tw, "NAMESPACE\tNAME\tREADY\tSTATUS\tRESTARTS\tIP")
		for _, p := range st.Pods {
			ready := 0
			for _, c := range p.Containers {
				if c.Ready {
					ready++
				}
			}
			status := p.Phase
			if p.Reason != "" {
				status = p.Reason
			}
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%d\t%s\n", p.Namespace, p.Name, ready, len(p.Containers), status, p.Restarts(), orDash(p.IP))
		}
	case "services", "service", "svc":
		fmt.Fprintln(tw, "NAMESPACE\tNAME\tTYPE\tCLUSTER-IP\tEXTERNAL-IP\tPORTS\tENDPOINTS")
		for _, s := range st.Services {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", s.Namespace, s.Name, s.Type, s.ClusterIP, orDash(strings.Join(s.ExternalIPs, ",")), strings.Join(s.Ports, ","), s.Endpoints)
		}
	case "jobs", "job", "cronjobs":
		fmt.Fprintln(tw, "KIND\tNAMESPACE\tNAME\tCOMPLETIONS\tSTATE")
		if st.Workloads != nil {
			for _, w := range st.Workloads.Workloads {
				if w.Kind == "Job" || w.Kind == "CronJob" {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\n", w.Kind, w.Namespace, w.Name, w.Succeeded, w.Completions, workloadState(w))
				}
			}
		}
	default:
		fmt.Fprintln(e.stderr, "usage: berth get pods|services|jobs [--api ADDR]")
		return exitUsage
	}
	return exitOK
}

func runLogs(e *env, args []string) int {
	var container string
	var follow, previous bool
	c, fs, code := clientFlags(e, "logs", args, func(fs *flag.FlagSet) {
		fs.StringVar(&container, "c", "", "container name (default: the pod's only or first container)")
		fs.BoolVar(&follow, "f", false, "follow the log")
		fs.BoolVar(&previous, "previous", false, "the log of the previous (restarted) container")
	})
	if code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "usage: berth logs [-c CONTAINER] [-f] [--previous] [NAMESPACE/]POD")
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := c.Logs(ctx, fs.Arg(0), container, follow, previous, e.stdout); err != nil && ctx.Err() == nil {
		fmt.Fprintf(e.stderr, "berth logs: %v\n", err)
		return 1
	}
	return exitOK
}

func gateCmd(action string) func(e *env, args []string) int {
	return func(e *env, args []string) int {
		c, fs, code := clientFlags(e, action, args, nil)
		if code >= 0 {
			return code
		}
		if fs.NArg() != 1 {
			fmt.Fprintf(e.stderr, "usage: berth %s [--api ADDR] NAME\n", action)
			return exitUsage
		}
		var msg string
		var err error
		if action == "promote" {
			msg, err = c.Promote(context.Background(), fs.Arg(0))
		} else {
			msg, err = c.Abort(context.Background(), fs.Arg(0))
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "berth %s: %v\n", action, err)
			return 1
		}
		fmt.Fprint(e.stdout, msg)
		return exitOK
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
