// Package isolate runs one evaluation of user input (a CUE package, a
// Helm chart) in a child process of the same executable, under a
// wall-clock deadline and a memory cap. An evaluation inside the caller's
// process cannot be stopped (neither CUE nor text/template takes a
// context), and one that asks for a terabyte kills the process that runs
// it; a child is killed cleanly at its deadline, and its memory cap fails
// only the child.
//
// The child is this executable started again with an environment
// variable naming the worker. The package that owns a worker calls Serve
// from an init function, so every binary that links it (berth, and the
// test binaries of the packages above it) can act as the worker without
// wiring in main.
package isolate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"berth.dev/berth/compiler/budget"
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
	if os.Getenv(envConfined) == "" {
		// First image: the limit is inherited by the confined one.
		limitMemory(mem)
		confine(decodeDirs(os.Getenv(envRead)))
	}
	if mem > 0 {
		// The collector works harder as the cap nears.
		debug.SetMemoryLimit(mem / 4 * 3)
	}
	os.Exit(serve(work, Env{Confined: os.Getenv(envConfined) == "1"}))
}

// limitMemory caps the address space at what this process holds now plus
// mem.
func limitMemory(mem int64) {
	if mem > 0 {
		// The address space may grow by the budget from what the runtime
		// and the binary hold now: an allocation past it fails when the
		// runtime asks for the space, before any of it is touched (so a
		// gigabyte string costs nothing), and the runtime dies with "out
		// of memory". RLIMIT_DATA would not do: the Go heap maps over
		// space it reserved, which Linux does not count again.
		if vsz := addressSpace(); vsz > 0 {
			_ = unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: uint64(vsz + mem), Max: uint64(vsz + mem)})
		}
	}
}

func serve(work Work, env Env) int {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "read input: %v", err)
		return exitWorkError
	}
	out, err := work(in, env)
	if err != nil {
		fmt.Fprint(os.Stderr, err.Error())
		return exitWorkError
	}
	if _, err := os.Stdout.Write(out); err != nil {
		return exitWorkError
	}
	return 0
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

// Run runs the worker called name in a child process with input in. Past
// the deadline or the memory budget, the child is killed and the error is
// a *budget.Exceeded (budget.EvalTime or budget.EvalMemory) whose Where
// the caller fills in. When ctx ends first, the child is killed and
// ctx.Err() is returned.
func Run(ctx context.Context, name string, in []byte, opts Options) ([]byte, Stats, error) {
	if opts.Time <= 0 || opts.Memory <= 0 {
		return nil, Stats{}, errors.New("isolate: a time and a memory budget are required")
	}
	exe, err := executable()
	if err != nil {
		return nil, Stats{}, err
	}
	tctx, cancel := context.WithTimeout(ctx, opts.Time)
	defer cancel()
	cmd := exec.CommandContext(tctx, exe)
	cmd.Env = append(os.Environ(), envWorker+"="+name, envMemory+"="+strconv.FormatInt(opts.Memory, 10),
		envRead+"="+encodeDirs(opts.Read), "GOTRACEBACK=none")
	cmd.Stdin = bytes.NewReader(in)
	// Output past the memory budget stops the child; stderr is only
	// truncated.
	out := &capped{max: opts.Memory, stop: cancel}
	errOut := &capped{max: stderrCap}
	cmd.Stdout, cmd.Stderr = out, errOut
	// The child dies with the caller, and a kill reaches it at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	// Pdeathsig fires when the thread that started the child ends, not
	// the process: keep this goroutine on its thread until the child is
	// gone, so no other goroutine can end the thread under it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	runErr := cmd.Run()
	st := Stats{Wall: time.Since(start)}
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			st.MaxRSS = ru.Maxrss * 1024
		}
	}
	switch {
	case runErr == nil && !out.over:
		return out.buf.Bytes(), st, nil
	case ctx.Err() != nil:
		return nil, st, ctx.Err()
	case errors.Is(tctx.Err(), context.DeadlineExceeded):
		return nil, st, &budget.Exceeded{Limit: budget.EvalTime, Got: int64(st.Wall.Round(time.Millisecond)), Max: int64(opts.Time)}
	case out.over:
		return nil, st, &budget.Exceeded{Limit: budget.EvalMemory, Max: opts.Memory}
	}
	var ee *exec.ExitError
	if errors.As(runErr, &ee) && ee.ExitCode() == exitWorkError {
		return nil, st, &WorkError{Msg: errOut.buf.String()}
	}
	if outOfMemory(errOut.buf.String()) {
		return nil, st, &budget.Exceeded{Limit: budget.EvalMemory, Max: opts.Memory}
	}
	return nil, st, &WorkError{Msg: fmt.Sprintf("the evaluation crashed (%v): %s", runErr, firstLine(errOut.buf.String()))}
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

// addressSpace is this process's virtual size in bytes (0: unknown).
func addressSpace() int64 {
	b, err := os.ReadFile("/proc/self/statm")
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

// capped is a buffer that keeps at most max bytes. Past it, it notes the
// overflow and calls stop, or drops the rest when stop is nil.
type capped struct {
	buf  bytes.Buffer
	max  int64
	over bool
	stop func()
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - int64(c.buf.Len()); int64(len(p)) > room {
		c.buf.Write(p[:max(room, 0)])
		if c.stop == nil {
			return len(p), nil
		}
		c.over = true
		c.stop()
		return 0, errors.New("output over budget")
	}
	return c.buf.Write(p)
}
