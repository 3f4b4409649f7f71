package isolate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"berth.dev/berth/compiler/budget"
)

// Session is one worker process that runs evaluations one after another,
// each under the deadline of Options.Time; the memory budget bounds the
// process's peak, so each evaluation's. A budget broken kills the process,
// and the next Run starts another. A Session is not safe for concurrent
// use: give each goroutine its own.
type Session struct {
	name string
	opts Options
	p    *proc
}

// proc is a running child.
type proc struct {
	cmd    *exec.Cmd
	stdin  *os.File
	stdout *os.File
	out    *bufio.Reader
	stderr *capped
	exited chan struct{} // closed when the child is gone
}

// NewSession prepares a session; the child starts with the first Run.
func NewSession(name string, opts Options) (*Session, error) {
	if opts.Time <= 0 || opts.Memory <= 0 {
		return nil, errors.New("isolate: a time and a memory budget are required")
	}
	return &Session{name: name, opts: opts}, nil
}

// Close ends the child.
func (s *Session) Close() {
	if s.p == nil {
		return
	}
	s.p.stdin.Close() // the child's serve loop ends at EOF
	select {
	case <-s.p.exited:
	case <-time.After(time.Second):
		s.stop()
	}
	s.release()
}

// Run evaluates in (see the package Run for the errors).
func (s *Session) Run(ctx context.Context, in []byte) ([]byte, Stats, error) {
	if s.p == nil {
		if err := s.start(); err != nil {
			return nil, Stats{}, err
		}
	}
	p := s.p
	type answer struct {
		status byte
		data   []byte
		err    error
	}
	res := make(chan answer, 1)
	go func() {
		if err := writeRequest(p.stdin, in); err != nil {
			res <- answer{err: err}
			return
		}
		status, data, err := readAnswer(p.out, s.opts.Memory)
		res <- answer{status, data, err}
	}()
	start := time.Now()
	timer := time.NewTimer(s.opts.Time)
	defer timer.Stop()
	var a answer
	select {
	case a = <-res:
	case <-timer.C:
		s.stop()
		<-res
		st := s.stats(start)
		s.release()
		return nil, st, &budget.Exceeded{Limit: budget.EvalTime, Got: int64(st.Wall.Round(time.Millisecond)), Max: int64(s.opts.Time)}
	case <-ctx.Done():
		s.stop()
		<-res
		st := s.stats(start)
		s.release()
		return nil, st, ctx.Err()
	}
	if a.err == nil {
		st := s.stats(start)
		if a.status == statusError {
			return nil, st, &WorkError{Msg: string(a.data)}
		}
		return a.data, st, nil
	}
	// The child died, or answered more than its budget.
	s.stop()
	st := s.stats(start)
	stderr := p.stderr.buf.String()
	s.release()
	switch {
	case errors.Is(a.err, errOverBudget), outOfMemory(stderr):
		return nil, st, &budget.Exceeded{Limit: budget.EvalMemory, Max: s.opts.Memory}
	}
	return nil, st, &WorkError{Msg: fmt.Sprintf("the evaluation crashed (%v): %s", p.cmd.ProcessState, firstLine(stderr))}
}

// start runs the child from a goroutine locked to its thread until the
// child is gone: Pdeathsig fires when the thread that started the child
// ends, not the process, and Go ends threads (a goroutine that locked
// one and returned without unlocking).
func (s *Session) start() error {
	exe, err := executable()
	if err != nil {
		return err
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return err
	}
	p := &proc{stdin: inW, stdout: outR, out: bufio.NewReader(outR), stderr: &capped{max: stderrCap}, exited: make(chan struct{})}
	p.cmd = exec.Command(exe)
	p.cmd.Env = append(os.Environ(), envWorker+"="+s.name, envMemory+"="+strconv.FormatInt(s.opts.Memory, 10), "GOTRACEBACK=none",
		// Threads and the C allocator's arenas grow with the cores, not
		// the evaluation: bound them so the cap measures the work.
		"GOMAXPROCS="+strconv.Itoa(workerThreads), "MALLOC_ARENA_MAX=1")
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = inR, outW, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends after the child
		if restrictThread(s.opts.Read) {
			p.cmd.Env = append(p.cmd.Env, envConfined+"=1")
		}
		err := p.cmd.Start()
		inR.Close()
		outW.Close()
		started <- err
		if err == nil {
			_ = p.cmd.Wait()
		}
		close(p.exited)
	}()
	if err := <-started; err != nil {
		inW.Close()
		outR.Close()
		return fmt.Errorf("isolate: start the worker: %w", err)
	}
	s.p = p
	if err := s.ready(); err != nil {
		s.stop()
		s.release()
		return err
	}
	return nil
}

// startTimeout bounds a worker's start.
const startTimeout = 30 * time.Second

// ready waits for the worker's first frame, which it writes once its
// image is up, and caps its memory.
func (s *Session) ready() error {
	p := s.p
	up := make(chan error, 1)
	go func() {
		_, _, err := readAnswer(p.out, 0)
		up <- err
	}()
	// Starting is berth's own work, not the evaluation's: it has a bound
	// of its own, on a loaded machine well over a short budget.
	limit := max(s.opts.Time, startTimeout)
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case err := <-up:
		if err != nil {
			return fmt.Errorf("isolate: the worker did not start: %v: %s", err, firstLine(p.stderr.buf.String()))
		}
	case <-timer.C:
		return fmt.Errorf("isolate: the worker did not start within %s", limit)
	}
	return limitMemory(p.cmd.Process.Pid, s.opts.Memory)
}

// stop kills the child and waits for it.
func (s *Session) stop() {
	if s.p.cmd.Process != nil {
		_ = s.p.cmd.Process.Kill()
	}
	<-s.p.exited
}

// release drops the pipes of a child that is gone.
func (s *Session) release() {
	s.p.stdin.Close()
	s.p.stdout.Close()
	s.p = nil
}

// stats reads the child's peak memory: from /proc while it runs, from its
// rusage once it is gone.
func (s *Session) stats(start time.Time) Stats {
	st := Stats{Wall: time.Since(start)}
	select {
	case <-s.p.exited: // ProcessState is written before exited closes
		if ps := s.p.cmd.ProcessState; ps != nil {
			if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
				st.MaxRSS = ru.Maxrss * 1024
			}
		}
		return st
	default:
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.p.cmd.Process.Pid))
	if err != nil {
		return st
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			st.MaxRSS = kb * 1024
		}
	}
	return st
}

// The wire: a request is a length and bytes; an answer a status byte, a
// length and bytes.
const (
	statusOK    byte = 0
	statusError byte = 1
)

var errOverBudget = errors.New("answer over the memory budget")

func writeRequest(w io.Writer, data []byte) error {
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(len(data)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

func writeFrame(w io.Writer, status byte, data []byte) error {
	var hdr [9]byte
	hdr[0] = status
	binary.BigEndian.PutUint64(hdr[1:], uint64(len(data)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

// readFrame reads a request (max < 0: any size).
func readFrame(r io.Reader, max int64) ([]byte, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	return readBody(r, binary.BigEndian.Uint64(hdr[:]), max)
}

func readAnswer(r io.Reader, max int64) (byte, []byte, error) {
	var hdr [9]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	data, err := readBody(r, binary.BigEndian.Uint64(hdr[1:]), max)
	return hdr[0], data, err
}

func readBody(r io.Reader, n uint64, max int64) ([]byte, error) {
	if max >= 0 && n > uint64(max) {
		return nil, errOverBudget
	}
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, int64(n)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf.Bytes(), nil
}

// capped is a buffer that keeps the first max bytes written to it.
type capped struct {
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
