package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"berth.dev/berth/nodes/containerd"
)

func init() {
	register(&command{name: "image", usage: "import [flags] FILE.tar", summary: "import an OCI or docker image archive into this node (air-gapped nodes)", run: runImage})
}

func runImage(e *env, args []string) int {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(e.stderr, "usage: berth image import [flags] FILE.tar")
		return exitUsage
	}
	fs := flag.NewFlagSet("image import", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var nf nodeFlags
	nf.register(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "usage: berth image import [flags] FILE.tar")
		return exitUsage
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(e.stderr, "berth image import: %v\n", err)
		return exitUsage
	}
	defer f.Close()
	cfg, err := nf.config()
	if err != nil {
		fmt.Fprintf(e.stderr, "berth image import: %v\n", err)
		return exitUsage
	}
	ctx := context.Background()
	rt, err := containerd.New(ctx, containerd.Options{Address: cfg.ContainerdAddress, Namespace: cfg.ContainerdNamespace, StateDir: cfg.StateDir, RunDir: cfg.RunDir, Logger: cfg.Logger})
	if err != nil {
		fmt.Fprintf(e.stderr, "berth image import: %v\n", err)
		return 1
	}
	defer rt.Close()
	names, err := rt.ImportImage(ctx, f)
	if err != nil {
		fmt.Fprintf(e.stderr, "berth image import: %v\n", err)
		return 1
	}
	for _, n := range names {
		fmt.Fprintf(e.stdout, "imported %s\n", n)
	}
	return exitOK
}
