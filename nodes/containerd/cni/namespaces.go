package cni

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Namespaces are the bind-mounted namespaces of one pod.
type Namespaces struct {
	Net, UTS, IPC string
}

// Paths returns where the namespaces of the pod called id live.
func Paths(netnsDir, nsDir, id string) Namespaces {
	return Namespaces{
		Net: filepath.Join(netnsDir, id),
		UTS: filepath.Join(nsDir, id+"-uts"),
		IPC: filepath.Join(nsDir, id+"-ipc"),
	}
}

// Create makes the pod's network, UTS and IPC namespaces (idempotently),
// with loopback up and the hostname set.
func Create(ns Namespaces, hostname string) error {
	if mounted(ns.Net) && mounted(ns.UTS) && mounted(ns.IPC) {
		return nil
	}
	for _, p := range []string{ns.Net, ns.UTS, ns.IPC} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		_ = unix.Unmount(p, unix.MNT_DETACH)
		f, err := os.OpenFile(p, os.O_CREATE|os.O_RDONLY, 0o444)
		if err != nil {
			return fmt.Errorf("namespace file: %w", err)
		}
		f.Close()
	}
	if err := onUnsharedThread(unix.CLONE_NEWNET|unix.CLONE_NEWUTS|unix.CLONE_NEWIPC, func(tid int) error {
		return createOnThread(ns, hostname, tid)
	}); err != nil {
		_, _ = Remove(ns)
		return err
	}
	return nil
}

// onUnsharedThread runs fn on a new OS thread that has unshared the
// namespaces in flags. The thread is never returned to the Go scheduler:
// it leaves the goroutine locked and exits with it, so no other goroutine
// ever runs in those namespaces.
func onUnsharedThread(flags int, fn func(tid int) error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(flags); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		errc <- fn(unix.Gettid())
	}()
	return <-errc
}

func createOnThread(ns Namespaces, hostname string, tid int) error {
	if err := unix.Sethostname([]byte(hostname)); err != nil {
		return fmt.Errorf("sethostname %q: %w", hostname, err)
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	for kind, p := range map[string]string{"net": ns.Net, "uts": ns.UTS, "ipc": ns.IPC} {
		src := fmt.Sprintf("/proc/self/task/%d/ns/%s", tid, kind)
		if err := unix.Mount(src, p, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s namespace to %s: %w", kind, p, err)
		}
	}
	return nil
}

// Remove unmounts and deletes the namespaces; missing ones are fine.
//
// A namespace whose bind mount a later mount of its directory hides (what
// `ip netns add` does to /run/netns when that is not yet a mount point:
// it bind-mounts the directory over itself) cannot be unmounted by path,
// and its file cannot be deleted (EBUSY). Remove returns such paths in
// hidden instead of failing: the pod's name is not stuck, Create mounts a
// new namespace on the same path, and the old kernel namespace lives until
// whoever made the covering mount removes it.
func Remove(ns Namespaces) (hidden []string, err error) {
	var errs []error
	for _, p := range []string{ns.Net, ns.UTS, ns.IPC} {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
			continue
		}
		err := os.Remove(p)
		switch {
		case err == nil || os.IsNotExist(err):
		case errors.Is(err, unix.EBUSY) && mountedUnder(p):
			hidden = append(hidden, p)
		default:
			errs = append(errs, err)
		}
	}
	return hidden, errors.Join(errs...)
}

// mountedUnder reports whether some mount, visible or not, has p as its
// mount point. After p's visible mount is gone, one that is left is
// hidden under a later mount of a directory above it.
func mountedUnder(p string) bool {
	mps, err := MountPoints()
	if err != nil {
		return false
	}
	for _, mp := range mps {
		if mp == p {
			return true
		}
	}
	return false
}

// MountPoints lists the mount points of this mount namespace, hidden ones
// included, from /proc/self/mountinfo (octal escapes decoded).
func MountPoints() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 {
			out = append(out, unescapeMountinfo(f[4]))
		}
	}
	return out, nil
}

// unescapeMountinfo decodes the \ooo escapes the kernel writes for space,
// tab, newline and backslash.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mounted reports whether p is a namespace bind mount (an nsfs inode).
func mounted(p string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}

// Exists reports whether any of the namespaces is present.
func Exists(ns Namespaces) bool {
	for _, p := range []string{ns.Net, ns.UTS, ns.IPC} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}
