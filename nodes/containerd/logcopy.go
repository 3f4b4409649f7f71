package containerd

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"sync"
)

// LogCopyArg makes a berth binary the shim's logging binary of a
// container with a terminal: `berth log-copy FILE`. The shim can write
// a container's output straight to a file only without a terminal; with
// one it hands the output to such a process (containerd's binary://
// logging), which it starts and keeps, so the log is written while the
// daemon is down, as for every other container.
const LogCopyArg = "log-copy"

// RunLogCopy is the logging binary: it appends the container's output
// (file descriptors 3 and 4, as the shim passes them) to path, opened
// O_APPEND so that log rotation can truncate it underneath, after it
// tells the shim it is ready (closing descriptor 5). It returns the exit
// code, when the container's output ends.
func RunLogCopy(path string) int {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth log-copy:", err)
		return 1
	}
	defer f.Close()
	os.NewFile(5, "ready").Close()
	var wg sync.WaitGroup
	for _, fd := range []uintptr{3, 4} {
		in := os.NewFile(fd, "output")
		wg.Go(func() {
			io.Copy(f, in)
			in.Close()
		})
	}
	wg.Wait()
	return 0
}

// logCopyURI is the shim's binary:// address of `exe log-copy path`:
// the shim passes the query's key and value as the arguments.
func logCopyURI(exe, path string) string {
	return (&url.URL{Scheme: "binary", Path: exe, RawQuery: url.Values{LogCopyArg: {path}}.Encode()}).String()
}
