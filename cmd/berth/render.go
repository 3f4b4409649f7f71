package main

import (
	"errors"
	"flag"
	"fmt"

	"berth.dev/berth/compiler"
	"berth.dev/berth/compiler/render"
)

func init() {
	register(&command{
		name:    "render",
		usage:   "[flags] [PATH...]",
		summary: "print the objects berth reads from PATH: kustomizations built, charts rendered",
		run:     runRender,
	})
}

func runRender(e *env, args []string) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var (
		showSecrets = fs.Bool("show-secrets", false, "print the values of Secrets (they are redacted to a digest by default)")
		cache       = chartCacheFlag(fs)
	)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: berth render [flags] [PATH...]\n\n"+
			"Prints the objects lint and plan check in each PATH (default: the current\n"+
			"directory), as one YAML stream: kustomizations built, Helm charts and\n"+
			"HelmReleases rendered, plain manifests as written. Each object follows a\n"+
			"\"# Source:\" comment naming its file. Secret values are redacted unless\n"+
			"--show-secrets. Rendering is offline: charts from outside the repository\n"+
			"come from the chart cache (berth chart pull).\n"+
			"Exit status: 0 success, 1 errors in the input, 2 usage or IO error.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	docs, diags, err := compiler.Load(paths, compiler.Options{Stdin: e.stdin, Render: render.Options{ChartCache: *cache}})
	printDiags(e.stderr, diags, "")
	if err != nil {
		fmt.Fprintf(e.stderr, "berth render: %v\n", err)
		return exitUsage
	}
	if err := render.Print(e.stdout, docs, *showSecrets); err != nil {
		fmt.Fprintf(e.stderr, "berth render: %v\n", err)
		return exitUsage
	}
	if hasErrors(diags) {
		return exitFindings
	}
	return exitOK
}
