package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"berth.dev/berth/reconciler/nodeapi"
)

func init() {
	register(&command{name: "node", usage: "drain|uncordon [--api ADDR] NODE",
		summary: "drain a node (unschedulable on every node; its pods move as the disruption budgets allow), or undo it", run: runNode})
}

// runNode is berth node drain|uncordon NODE: the daemon it talks to
// takes the mark and passes it to every node of the inventory through
// the authenticated peer exchange, as kubectl drain and uncordon mark the
// Node object every kubelet and the scheduler read.
func runNode(e *env, args []string) int {
	usage := func() int {
		fmt.Fprintf(e.stderr, "usage: berth node %s\n", commands["node"].usage)
		return exitUsage
	}
	if len(args) == 0 || args[0] != "drain" && args[0] != "uncordon" {
		return usage()
	}
	verb := args[0]
	fs := flag.NewFlagSet("node "+verb, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr, token := apiFlag(fs)
	rest, err := parseInterspersed(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(rest) != 1 {
		return usage()
	}
	tok, err := readToken(*token)
	if err != nil {
		fmt.Fprintf(e.stderr, "berth node %s: %v\n", verb, err)
		return exitUsage
	}
	msg, err := nodeapi.NewClient(*addr, tok).Cordon(context.Background(), rest[0], verb == "drain")
	if err != nil {
		fmt.Fprintf(e.stderr, "berth node %s: %v\n", verb, err)
		return 1
	}
	fmt.Fprint(e.stdout, msg)
	return exitOK
}
