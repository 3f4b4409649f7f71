package containerd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	containerd "github.com/containerd/containerd/v2/client"

	"berth.dev/berth/compiler/plan"
)

// The kubelet's bounds on a termination message
// (kubecontainer.MaxContainerTerminationMessage*).
const (
	maxTerminationMessage = 4 << 10
	maxFallbackLogBytes   = 2 << 10
	maxFallbackLogLines   = 80
)

// terminationLog is the host file bind-mounted at the container's
// terminationMessagePath, created empty and writable by any user, as
// the kubelet makes it (0666: the container may run as anyone).
func (r *Runtime) terminationLog(key, container string) (string, error) {
	dir := filepath.Join(r.podDir(key), "termination")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("termination message: %w", err)
	}
	path := filepath.Join(dir, container)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o666)
	if err != nil {
		return "", fmt.Errorf("termination message: %w", err)
	}
	f.Close()
	return path, os.Chmod(path, 0o666) // whatever the umask
}

// resetTerminationLog empties the file before a start: each run writes
// its own message (the kubelet gives each run a new file).
func (r *Runtime) resetTerminationLog(key, container string) {
	path := filepath.Join(r.podDir(key), "termination", container)
	if err := os.Truncate(path, 0); err != nil && !os.IsNotExist(err) {
		r.log.Warn("reset termination message", "pod", key, "container", container, "err", err)
	}
}

// terminationMessage is the message of a run that ended with code: the
// file's first 4 KiB, or, with FallbackToLogsOnError, a failed run that
// wrote none, the last 80 lines of its log (at most 2 KiB), as the
// kubelet's getTerminationMessage.
func (r *Runtime) terminationMessage(key string, c plan.Container, code int) string {
	msg := readHead(filepath.Join(r.podDir(key), "termination", c.Name), maxTerminationMessage)
	if msg != "" || code == 0 || c.TerminationMessagePolicy != plan.TerminationMessageFallbackToLogsOnErr {
		return msg
	}
	return logTail(filepath.Join(r.logDir(key), c.Name+".log"), maxFallbackLogLines, maxFallbackLogBytes)
}

func readHead(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, n))
	return string(b)
}

// logTail is the kubelet's tail of a log: the last lines lines, of which
// the first limit bytes.
func logTail(path string, lines int, limit int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	// 80 lines of a log are rarely above 64 KiB; a longer tail only
	// loses lines that the byte limit drops anyway.
	const window = 64 << 10
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-window, 0)
	b := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return ""
	}
	parts := bytes.SplitAfter(b, []byte("\n"))
	if len(parts[len(parts)-1]) == 0 {
		parts = parts[:len(parts)-1]
	}
	if off > 0 && len(parts) > 0 {
		parts = parts[1:] // the window starts inside a line
	}
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	out := bytes.Join(parts, nil)
	if len(out) > limit {
		out = out[:limit]
	}
	return string(out)
}

// imageUser is the user of the image's config ("uid[:gid]", a name, or
// "" for root).
func imageUser(ctx context.Context, img containerd.Image) (string, error) {
	spec, err := img.Spec(ctx)
	if err != nil {
		return "", fmt.Errorf("image config of %s: %w", img.Name(), err)
	}
	return spec.Config.User, nil
}
