package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"berth.dev/berth/schema"
)

func init() {
	register(&command{
		name:    "schema",
		usage:   "[KIND]",
		summary: "print the CUE schema of a kind (no KIND: list the kinds)",
		run:     runSchema,
	})
}

func runSchema(e *env, args []string) int {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: berth schema [KIND]\n\n"+
			"Prints the CUE definition berth checks objects of KIND against: exactly\n"+
			"the fields berth supports. Without KIND, lists the supported kinds.\n")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return exitUsage
	}
	set, err := schema.Load()
	if err != nil {
		fmt.Fprintf(e.stderr, "berth schema: %v\n", err)
		return exitUsage
	}
	if fs.NArg() == 0 {
		for _, k := range set.Kinds() {
			fmt.Fprintf(e.stdout, "%-22s %s\n", k.APIVersion, k.Kind)
		}
		return exitOK
	}
	src, err := set.Source(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(e.stderr, "berth schema: %v\nRun 'berth schema' for the list of kinds.\n", err)
		return exitUsage
	}
	fmt.Fprint(e.stdout, src)
	if !strings.HasSuffix(src, "\n") {
		fmt.Fprintln(e.stdout)
	}
	return exitOK
}
