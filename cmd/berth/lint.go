package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"berth.dev/berth/cmd/berth/report"
	"berth.dev/berth/compiler"
	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/render"
)

func init() {
	register(&command{
		name:    "lint",
		usage:   "[flags] [PATH...]",
		summary: "check manifests against the schemas and the cross-object rules",
		run:     runLint,
	})
}

// globs is a repeatable string flag.
type globs []string

func (g *globs) String() string     { return strings.Join(*g, ",") }
func (g *globs) Set(s string) error { *g = append(*g, s); return nil }

func runLint(e *env, args []string) int {
	fs := flag.NewFlagSet("lint", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var (
		output      = fs.String("o", "text", "output format: "+strings.Join(report.Names(), ", "))
		workers     = fs.Int("j", 0, "parallel workers (0: one per CPU); the output does not depend on it")
		warnErrors  = fs.Bool("warnings-as-errors", false, "treat warnings as errors (exit 1 on any warning)")
		allowFields = fs.Bool("allow-unknown-fields", false, "report fields berth does not support as warnings, not errors")
		cache       = chartCacheFlag(fs)
		standalone  = fs.Bool("standalone", false, "check the files taken alone: a ConfigMap, Secret, PersistentVolumeClaim, Service or Namespace they refer to but do not hold is a warning, not an error")
		exclude     globs
		limits      budget.Limits
	)
	fs.Var(&exclude, "exclude", "skip paths matching this glob (path, parent directory or base name); repeatable")
	budgetFlags(fs, &limits)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: berth lint [flags] [PATH...]\n\n"+
			"Checks the manifests (YAML, JSON, CUE) in each PATH: a file, a directory\n"+
			"tree, or - for stdin. The default PATH is the current directory.\n"+
			"Files and directories listed in a .berthignore (gitignore syntax) are skipped.\n"+
			"Without --standalone the files are a whole repository: every reference\n"+
			"must resolve among them, as the plan needs.\n"+
			"Exit status: 0 clean, 1 errors found, 2 usage or IO error.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	f, err := report.New(*output)
	if err != nil {
		fmt.Fprintf(e.stderr, "berth lint: %v\n", err)
		return exitUsage
	}
	if *workers < 0 {
		fmt.Fprintf(e.stderr, "berth lint: -j %d: the worker count must be positive (0: one per CPU)\n", *workers)
		return exitUsage
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	diags, sum, err := compiler.Lint(paths, compiler.Options{
		Workers:            *workers,
		AllowUnknownFields: *allowFields,
		Standalone:         *standalone,
		Exclude:            exclude,
		Stdin:              e.stdin,
		Render:             render.Options{ChartCache: *cache},
		Limits:             limits,
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "berth lint: %v\n", err)
		return exitUsage
	}
	if *warnErrors {
		for i := range diags {
			if diags[i].Severity == diag.Warning {
				diags[i].Severity = diag.Error
			}
		}
		sum.Errors, sum.Warnings = diag.Count(diags)
	}
	res := report.Result{
		Diagnostics: diags,
		Summary:     report.Summary{Objects: sum.Objects, Files: sum.Files, Errors: sum.Errors, Warnings: sum.Warnings},
		Objects:     make([]report.Object, len(sum.Checked)),
	}
	for i, c := range sum.Checked {
		res.Objects[i] = report.Object{File: c.File, Line: c.Line, APIVersion: c.APIVersion, Kind: c.Kind, ID: c.ID}
	}
	if err := f.Format(e.stdout, res); err != nil {
		fmt.Fprintf(e.stderr, "berth lint: write report: %v\n", err)
		return exitUsage
	}
	if sum.Errors > 0 {
		return exitFindings
	}
	return exitOK
}
