// Package isolate runs one evaluation of user input (a CUE package, a
// Helm chart) in a child process of the same executable, under a
// wall-clock deadline and a memory cap. An evaluation inside the caller's
// process cannot be stopped (neither CUE nor text/template takes a
// context), and one that asks for a terabyte kills the process that runs
// it; a child is killed cleanly at its deadline, and its memory cap fails
// only the child.
//
// A Session keeps one child for many evaluations, one after another, each
// under its own deadline (starting a process costs some 10 ms; a small
// CUE package evaluates in less). The child is this executable started
// again with an environment variable naming the worker. The package that owns a worker calls Serve
// from an init function, so every binary that links it (berth, and the
// test binaries of the packages above it) can act as the worker without
// wiring in main.
package isolate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	envWorker = "BERTH_ISOLATE_WORKER"
	envMemory = "BERTH_ISOLATE_MEMORY"

	// exitWorkError is the child's exit code when the worker returned an
	// error (written to stderr); the Go runtime exits 2 on a fatal error.
	exitWorkError = 3
	// stderrCap bounds what is kept of the child's stderr.
	stderrCap = 64 << 10
)

// Work is one evaluation: it reads its input and returns its output. An
// error is returned to Run's caller as a *WorkError.
type Work func(in []byte, env Env) ([]byte, error)

// Env tells a worker how it runs.
type Env struct {
	// Confined is true when the kernel enforces Options.Read and the ban
	// on TCP (Landlock); a worker that needs the guarantee checks for
	// itself otherwise.
	Confined bool
}

// Serve turns this process into the worker called name when Run started
// it as that worker, and then never returns; otherwise it returns at
// once. Call it from an init function of the package that owns the work.
func Serve(name string, work Work) {
	if os.Getenv(envWorker) != name {
		return
	}
	mem, _ := strconv.ParseInt(os.Getenv(envMemory), 10, 64)
	if mem > 0 {
		// The collector works harder as the cap nears.
		debug.SetMemoryLimit(mem / 4 * 3)
	}
	// Say the image is up: the parent caps its address space from what
	// it holds now (see limitMemory), before the first request.
	if err := writeFrame(os.Stdout, statusOK, nil); err != nil {
		os.Exit(exitWorkError)
	}
	os.Exit(serve(work, Env{Confined: os.Getenv(envConfined) == "1"}))
}

// limitMemory caps the address space of the worker pid at what it holds
// now plus mem. The address space may grow by the budget from what the
// runtime and the binary hold once started: an allocation past it fails
// when the runtime asks for the space, before any of it is touched (so a
// gigabyte string costs nothing), and the runtime dies with "out of
// memory". RLIMIT_DATA would not do: the Go heap maps over space it
// reserved, which Linux does not count again. The parent sets it, as the
// confined worker cannot read its own size in /proc.
func limitMemory(pid int, mem int64) error {
	vsz := addressSpace(pid)
	if vsz <= 0 {
		return fmt.Errorf("isolate: cannot read the worker's size in /proc/%d/statm", pid)
	}
	cap := uint64(vsz + mem + threadReserve())
	lim := unix.Rlimit{Cur: cap, Max: cap}
	if err := unix.Prlimit(pid, unix.RLIMIT_AS, &lim, nil); err != nil {
		return fmt.Errorf("isolate: cap the worker's memory: %w", err)
	}
	return nil
}

// workerThreads bounds the Ps of a worker (its GOMAXPROCS): the threads
// it may start, each with a stack of the size of RLIMIT_STACK reserved
// by the C library, are part of its address space and would otherwise
// grow with the machine's cores, not with the evaluation.
const workerThreads = 4

// threadReserve is the address space the worker's threads may reserve
// after the cap is set: one stack of RLIMIT_STACK (8 MiB on most
// systems, at most 64 MiB counted here) for each P's thread. It is
// reserved, not resident; the heap shares what is left.
func threadReserve() int64 {
	stack := int64(8 << 20)
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_STACK, &r); err == nil && r.Cur != unix.RLIM_INFINITY && r.Cur > 0 {
		stack = int64(min(r.Cur, 64<<20))
	}
	return workerThreads * stack
}

// serve answers requests until its input ends: each is a frame in, and a
// frame out with a status (ok, or the worker's error).
func serve(work Work, env Env) int {
	in := bufio.NewReader(os.Stdin)
	for {
		req, err := readFrame(in, -1)
		if errors.Is(err, io.EOF) {
			return 0
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "read request: %v", err)
			return exitWorkError
		}
		out, err := work(req, env)
		status := statusOK
		if err != nil {
			status, out = statusError, []byte(err.Error())
		}
		if err := writeFrame(os.Stdout, status, out); err != nil {
			return exitWorkError
		}
	}
}

// Options bound one Run.
type Options struct {
	// Time is the wall-clock budget (required).
	Time time.Duration
	// Memory is the memory budget in bytes (required); the output may
	// not be larger either.
	Memory int64
	// Read lists the directories the worker may read beneath; it may read
	// nothing else, and open no TCP connection, where the kernel has
	// Landlock (see Env.Confined).
	Read []string
}

// Stats are what the child cost.
type Stats struct {
	// MaxRSS is the child's peak resident memory in bytes.
	MaxRSS int64
	Wall   time.Duration
}

// WorkError is an error the worker returned, or a crash of the child
// that was not a budget.
type WorkError struct{ Msg string }

func (e *WorkError) Error() string { return e.Msg }

// Run runs the worker called name once, in a child process of its own,
// with input in: a Session for one evaluation. Past the deadline or the
// memory budget, the child is killed and the error is a *budget.Exceeded
// (budget.EvalTime or budget.EvalMemory) whose Where the caller fills in.
// When ctx ends first, the child is killed and ctx.Err() is returned.
func Run(ctx context.Context, name string, in []byte, opts Options) ([]byte, Stats, error) {
	s, err := NewSession(name, opts)
	if err != nil {
		return nil, Stats{}, err
	}
	defer s.Close()
	return s.Run(ctx, in)
}

// outOfMemory says whether a crashed child died of its address-space
// limit. The Go runtime reports a failed mapping as "out of memory", or
// (a thread stack, a structure of the collector) as some other fatal
// error or fault of its own; only a panic is the evaluator's fault.
func outOfMemory(stderr string) bool {
	if strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "cannot allocate memory") {
		return true
	}
	return !strings.HasPrefix(strings.TrimSpace(stderr), "panic:")
}

// addressSpace is the virtual size of process pid in bytes (0: unknown).
func addressSpace(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	pages, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// executable is this program: /proc/self/exe still works when the binary
// was replaced on disk by an upgrade while the daemon runs.
func executable() (string, error) {
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		return "/proc/self/exe", nil
	}
	return os.Executable()
}
