package containerd

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/containerd/containerd/v2/pkg/cio"
	"golang.org/x/sys/unix"

	"berth.dev/berth/compiler/plan"
)

// taskIO is where a container's output goes (its log file, written by
// the shim) and, for a container with stdin, what its standard input
// is: a FIFO that nobody ever opens for writing. The shim's read of it
// waits for a writer forever, so the container's stdin stays open and
// empty, as on the kubelet when nothing attaches, and it stays so while
// the daemon is down (berth holds no end of it).
//
// A container with a terminal (tty) writes to the terminal, which the
// shim copies to its logging binary (RunLogCopy), since it can copy a
// terminal to a file only that way.
func (r *Runtime) taskIO(key string, c plan.Container, logPath string) (cio.Creator, error) {
	if !c.Stdin && !c.TTY {
		return cio.LogFile(logPath), nil
	}
	out := (&url.URL{Scheme: "file", Path: logPath}).String()
	if c.TTY {
		exe := r.opts.Executable
		if exe == "" {
			var err error
			if exe, err = os.Executable(); err != nil {
				return nil, fmt.Errorf("tty: the binary that copies a terminal to the log: %w", err)
			}
		}
		out = logCopyURI(exe, logPath)
	}
	cfg := cio.Config{Stdout: out, Stderr: out, Terminal: c.TTY}
	if c.Stdin {
		dir := filepath.Join(r.podDir(key), "stdin")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("stdin: %w", err)
		}
		cfg.Stdin = filepath.Join(dir, c.Name)
		if err := unix.Mkfifo(cfg.Stdin, 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("stdin: %w", err)
		}
	}
	return func(string) (cio.IO, error) { return fixedIO{cfg}, nil }, nil
}

// fixedIO is an IO the shim does all the work of: berth copies nothing.
type fixedIO struct{ cfg cio.Config }

func (f fixedIO) Config() cio.Config { return f.cfg }
func (fixedIO) Cancel()              {}
func (fixedIO) Wait()                {}
func (fixedIO) Close() error         { return nil }
