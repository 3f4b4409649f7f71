package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"berth.dev/berth/nodes"
)

// Container logs live in StateDir/logs/<ns>_<name>/: <container>.log is
// written by the shim (opened O_APPEND, so it can be truncated under it),
// <container>.log.1 is the rotated part, <container>.previous.log the log
// of the previous run (`berth logs --previous`).

func (r *Runtime) logPath(key, container string) (string, error) {
	dir := r.logDir(key)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("log dir: %w", err)
	}
	return filepath.Join(dir, container+".log"), nil
}

// rotatePrevious keeps the log of the run that just ended as the previous
// log, before a restart starts a new one. The previous log is written
// aside and renamed into place, so `logs --previous` never reads it half
// written.
func (r *Runtime) rotatePrevious(key, container string) {
	dir := r.logDir(key)
	cur := filepath.Join(dir, container+".log")
	prev := filepath.Join(dir, container+".previous.log")
	f, err := os.Create(prev + ".tmp")
	if err != nil {
		return
	}
	for _, p := range []string{cur + ".1", cur} {
		if src, err := os.Open(p); err == nil {
			io.Copy(f, src)
			src.Close()
		}
	}
	err = f.Close()
	if err == nil {
		err = os.Rename(prev+".tmp", prev)
	}
	if err != nil {
		r.log.Warn("keep previous log", "pod", key, "container", container, "err", err)
		os.Remove(prev + ".tmp")
		return
	}
	os.Remove(cur + ".1")
	os.Truncate(cur, 0)
}

// rotateLoop rotates logs over LogMaxSize by copy and truncate, because the
// shim keeps the file open.
func (r *Runtime) rotateLoop() {
	defer r.wg.Done()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		files, _ := filepath.Glob(filepath.Join(r.opts.StateDir, "logs", "*", "*.log"))
		for _, f := range files {
			if st, err := os.Stat(f); err == nil && st.Size() > r.opts.LogMaxSize {
				if err := rotate(f); err != nil {
					r.log.Warn("rotate log", "file", f, "err", err)
				}
			}
		}
	}
}

func rotate(path string) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp := path + ".1.tmp"
	dst, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path+".1"); err != nil {
		return err
	}
	return os.Truncate(path, 0)
}

// Logs writes a container's log to w; follow keeps streaming until ctx
// ends or the container stops for good; previous is the last run's log.
func (r *Runtime) Logs(ctx context.Context, key, container string, follow, previous bool, w io.Writer) error {
	pd := r.lookup(key)
	if pd == nil {
		return fmt.Errorf("logs: no pod %s on this node", key)
	}
	if container == "" {
		pd.mu.Lock()
		if len(pd.apps) != 1 {
			pd.mu.Unlock()
			return fmt.Errorf("logs: pod %s has several containers; name one with -c", key)
		}
		container = pd.apps[0].spec.Name
		pd.mu.Unlock()
	}
	if !r.hasContainer(pd, container) {
		return fmt.Errorf("logs: pod %s has no container %q", key, container)
	}
	dir := r.logDir(key)
	if previous {
		f, err := os.Open(filepath.Join(dir, container+".previous.log"))
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("logs: container %s of pod %s has no previous run", container, key)
		}
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	}
	cur := filepath.Join(dir, container+".log")
	if f, err := os.Open(cur + ".1"); err == nil {
		io.Copy(w, f)
		f.Close()
	}
	var off int64
	for {
		n, err := copyFrom(cur, off, w)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		off = n
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-pd.done:
			copyFrom(cur, off, w)
			return nil
		case <-time.After(200 * time.Millisecond):
		}
		if r.finished(pd, container) {
			copyFrom(cur, off, w)
			return nil
		}
	}
}

// copyFrom copies path from off to w and returns the new offset; a file
// truncated by rotation restarts at 0.
func copyFrom(path string, off int64, w io.Writer) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return off, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return off, err
	}
	if st.Size() < off {
		off = 0
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return off, err
	}
	n, err := io.Copy(w, f)
	return off + n, err
}

func (r *Runtime) finished(pd *pod, container string) bool {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	for _, c := range pd.all() {
		if c.spec.Name == container {
			return c.state.State == nodes.StateTerminated
		}
	}
	return true
}

func (r *Runtime) hasContainer(pd *pod, name string) bool {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	for _, c := range pd.all() {
		if c.spec.Name == name {
			return true
		}
	}
	return false
}
