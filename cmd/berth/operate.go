package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"berth.dev/berth/reconciler/gitops"
	"berth.dev/berth/reconciler/nodeapi"
)

func init() {
	register(&command{name: "suspend", usage: "[--all-nodes]", summary: "stop applying new revisions (resync and drift repair go on) until berth resume", run: operateCmd("suspend", false)})
	register(&command{name: "resume", usage: "[--all-nodes]", summary: "apply new revisions again after berth suspend", run: operateCmd("resume", false)})
	register(&command{name: "pin", usage: "[--all-nodes] REVISION", summary: "serve an earlier revision until berth unpin, whatever the branch does", run: operateCmd("pin", true)})
	register(&command{name: "unpin", usage: "[--all-nodes]", summary: "follow the branch again after berth pin", run: operateCmd("unpin", false)})
	register(&command{name: "retry", usage: "REVISION", summary: "try a failed revision again on every node (it is not retried by itself)", run: operateCmd("retry", true)})
	register(&command{name: "history", usage: "[--api ADDR] [-o text|json]", summary: "list the revisions this node has seen: time, outcome, reason", run: runHistory})
}

// operateCmd is one operator command: the node takes it, and with
// --all-nodes passes it to every node of the inventory through the
// authenticated peer exchange.
func operateCmd(verb string, needsRev bool) func(e *env, args []string) int {
	return func(e *env, args []string) int {
		var all bool
		fs := flag.NewFlagSet(verb, flag.ContinueOnError)
		fs.SetOutput(e.stderr)
		addr, token := apiFlag(fs)
		if verb != "retry" {
			fs.BoolVar(&all, "all-nodes", false, "every node of the inventory, not only this one (it passes the command on through the authenticated peer exchange)")
		}
		rest, err := parseInterspersed(fs, args)
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		if err != nil {
			return exitUsage
		}
		tok, err := readToken(*token)
		if err != nil {
			fmt.Fprintf(e.stderr, "berth %s: %v\n", verb, err)
			return exitUsage
		}
		c := nodeapi.NewClient(*addr, tok)
		rev := ""
		if needsRev {
			if len(rest) != 1 {
				fmt.Fprintf(e.stderr, "usage: berth %s %s\n", verb, commands[verb].usage)
				return exitUsage
			}
			rev = rest[0]
		} else if len(rest) != 0 {
			fmt.Fprintf(e.stderr, "usage: berth %s %s\n", verb, commands[verb].usage)
			return exitUsage
		}
		msg, err := c.Operate(context.Background(), verb, rev, all)
		if err != nil {
			fmt.Fprintf(e.stderr, "berth %s: %v\n", verb, err)
			return 1
		}
		fmt.Fprint(e.stdout, msg)
		return exitOK
	}
}

func runHistory(e *env, args []string) int {
	var output string
	c, fs, code := clientFlags(e, "history", args, func(fs *flag.FlagSet) {
		fs.StringVar(&output, "o", "text", "output format: text or json")
	})
	if code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "usage: berth history [--api ADDR] [-o text|json]")
		return exitUsage
	}
	return fetchAndShow(e, "berth history", output, c.History, printHistory)
}

// printHistory is one line per revision, newest first: when the node saw
// it, what became of it, and why.
func printHistory(w io.Writer, recs []gitops.Record) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REVISION\tSEEN\tOUTCOME\tSUBJECT\tREASON")
	for _, r := range recs {
		reason := r.Reason
		if r.Object != "" && !strings.Contains(reason, r.Object) {
			reason = r.Object + ": " + reason
		}
		if r.RevertedTo != "" {
			reason += fmt.Sprintf(" (reverted to %.12s)", r.RevertedTo)
		}
		subject := r.Message
		if len(subject) > 40 {
			subject = subject[:37] + "..."
		}
		fmt.Fprintf(tw, "%.12s\t%s\t%s\t%s\t%s\n", r.Revision, r.Seen.Local().Format(time.DateTime), r.Outcome, orDash(subject), orDash(oneLine(reason)))
	}
	tw.Flush()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// printOperating is the part of `berth status` about what the node runs
// and why: the revision's health, a failed head, a revert, suspend, pin.
func printOperating(w io.Writer, g gitops.Status) {
	if h := g.Health; h != nil {
		line := h.State
		if h.Reason != "" {
			line += ": " + oneLine(h.Reason)
		}
		if h.Object != "" && h.State != "healthy" {
			line += " (" + h.Object + ")"
		}
		fmt.Fprintf(w, "health:    %.12s %s\n", h.Revision, line)
	}
	if f := g.Failure; f != nil {
		fmt.Fprintf(w, "failed:    %.12s on %s: %s: %s\n", g.Head, f.Node, f.Object, oneLine(f.Reason))
	}
	switch g.Why {
	case "reverted":
		fmt.Fprintf(w, "reverted:  to %.12s, the last revision healthy on every node; %.12s is not tried again until a new commit or berth retry\n", g.Target, g.Head)
	case "failed":
		if g.AutoRevert {
			fmt.Fprintln(w, "reverted:  no (no revision was healthy on every node before it)")
		} else {
			fmt.Fprintln(w, "reverted:  no (--auto-revert=false)")
		}
	}
	if g.Suspended {
		fmt.Fprintln(w, "suspended: yes: new revisions wait until berth resume (resync and drift repair go on)")
	}
	if g.Pinned != "" {
		fmt.Fprintf(w, "pinned:    %.12s until berth unpin\n", g.Pinned)
	}
	if len(g.Drained) > 0 {
		fmt.Fprintf(w, "drained:   %s (unschedulable until berth node uncordon)\n", strings.Join(g.Drained, ", "))
	}
}

// printClusterHealth says, under `berth status --cluster`, how each
// node's applied revision is doing, and which nodes are suspended or
// pinned.
func printClusterHealth(w io.Writer, nodes []nodeapi.NodeSummary) {
	var health, ops []string
	for _, n := range nodes {
		if n.Health != "" {
			health = append(health, n.Node+" "+n.Health)
		}
		if n.Suspended {
			ops = append(ops, n.Node+" suspended")
		}
		if n.Pinned != "" {
			ops = append(ops, fmt.Sprintf("%s pinned to %.12s", n.Node, n.Pinned))
		}
	}
	if len(health) > 0 {
		fmt.Fprintf(w, "\nhealth: %s\n", strings.Join(health, ", "))
	}
	if len(ops) > 0 {
		fmt.Fprintf(w, "operating: %s\n", strings.Join(ops, ", "))
	}
}
