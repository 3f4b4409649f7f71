// Command berth checks Kubernetes-style manifests, compiles them into a
// plan, and runs that plan on plain Linux nodes. See README.md.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	"berth.dev/berth/nodes/containerd"
)

func main() {
	// The shim runs berth as the logging binary of a container with a
	// terminal (not a command a user types).
	if len(os.Args) == 3 && os.Args[1] == containerd.LogCopyArg {
		os.Exit(containerd.RunLogCopy(os.Args[2]))
	}
	// ... and as the holder (PID 1) of a pod's shared PID namespace.
	if len(os.Args) == 2 && os.Args[1] == containerd.PauseArg {
		os.Exit(containerd.RunPause())
	}
	os.Exit(Main())
}

// Exit codes shared by every subcommand.
const (
	exitOK       = 0 // success, nothing to report
	exitFindings = 1 // the input has errors (lint, plan)
	exitUsage    = 2 // bad flags or arguments, or an input that cannot be read
)

// env is what a subcommand may touch: its streams. Commands get it
// passed in rather than reaching for os.Stdout, so tests can capture it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is one subcommand.
type command struct {
	name    string
	usage   string // arguments, e.g. "[flags] [PATH...]"
	summary string // one line for `berth help`
	run     func(e *env, args []string) int
}

// commands is the table of subcommands. Each file that defines a command
// adds it from its own init() through register, so a new subcommand (plan,
// daemon, ...) is one new file in this package and no edit here. It is
// written only during package initialisation and read-only afterwards.
var commands = map[string]*command{}

// register adds c to the command table; two commands with one name is a
// programming error.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("berth: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

func init() {
	register(&command{name: "version", summary: "print berth's version", run: runVersion})
	register(&command{name: "help", usage: "[COMMAND]", summary: "show help for berth or one command", run: runHelp})
}

// Main runs berth with os.Args and returns the exit code; main and the
// CLI tests both call it.
func Main() int {
	return run(&env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
}

func run(e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		usage(e.stdout)
		return exitOK
	case "-v", "-version", "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.stderr, "berth: unknown command %q\nRun 'berth help' for the list of commands.\n", name)
		return exitUsage
	}
	return c.run(e, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "berth runs Kubernetes-style manifests from Git on plain Linux nodes.\n\nUsage:\n\n\tberth <command> [arguments]\n\nCommands:\n\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "\t%-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'berth help <command>' for details of one command.\n")
}

func runHelp(e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stdout)
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "berth help: unknown command %q\n", args[0])
		return exitUsage
	}
	// Each command prints its own flags for -h, on its stderr: asked for,
	// help belongs on stdout.
	return c.run(&env{stdin: e.stdin, stdout: e.stdout, stderr: e.stdout}, []string{"-h"})
}

func runVersion(e *env, args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(e.stderr, "usage: berth version")
		return exitUsage
	}
	fmt.Fprintf(e.stdout, "berth %s\n", version())
	return exitOK
}

// version is the module version, or the VCS revision of a development
// build, as the Go toolchain recorded it.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if (v == "" || v == "(devel)") && rev != "" {
		v = "devel-" + rev[:min(12, len(rev))] + dirty
	}
	if v == "" {
		v = "(devel)"
	}
	return strings.TrimSpace(v + " " + info.GoVersion)
}

// parseInterspersed parses flags that may follow the positional arguments
// ("berth lint examples --exclude examples/broken"), which the flag
// package alone stops at. Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" || len(rest) == 0 {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
