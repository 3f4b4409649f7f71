package volumes

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"berth.dev/berth/compiler/plan"
	"golang.org/x/sys/unix"
)

// The kubelet's AtomicWriter layout: the payload lives in a timestamped
// directory, dataLink points at it, and every user-visible top-level name is
// a symlink through dataLink. Renaming a new symlink over dataLink swaps the
// whole set at once, so a reader sees the old files or the new, never a mix.
const (
	dataLink    = "..data"
	dataLinkTmp = "..data_tmp"
	// defaultMode is used for a file whose Mode is 0 (unset in the plan).
	defaultMode = 0o644
	maxPathLen  = 4096
	// payloadGrace is how long a replaced payload directory is kept.
	payloadGrace = 10 * time.Second
	maxNameLen   = 255
)

// ValidatePath checks the relative path of a configMap or secret file: not
// empty, not absolute, no "", "." or ".." element, no NUL, and no first
// element starting with ".." (reserved for the writer's own entries).
func ValidatePath(p string) error {
	switch {
	case p == "":
		return errors.New("file path must not be empty")
	case len(p) > maxPathLen:
		return fmt.Errorf("file path %.40q...: longer than %d bytes", p, maxPathLen)
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("file path %q: must not contain NUL", p)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("file path %q: must be relative", p)
	}
	for i, el := range strings.Split(p, "/") {
		switch {
		case el == "":
			return fmt.Errorf("file path %q: must not have an empty element (\"//\" or a trailing '/')", p)
		case el == "." || el == "..":
			return fmt.Errorf("file path %q: must not contain %q", p, el)
		case len(el) > maxNameLen:
			return fmt.Errorf("file path %q: element longer than %d bytes", p, maxNameLen)
		case i == 0 && strings.HasPrefix(el, ".."):
			return fmt.Errorf("file path %q: must not start with \"..\"", p)
		}
	}
	return nil
}

// checkPayload validates every file of a volume and their combination: no
// duplicate, no file that is also another file's directory, a valid mode.
func checkPayload(files []plan.File) error {
	set := make(map[string]bool, len(files))
	for _, f := range files {
		if err := ValidatePath(f.Path); err != nil {
			return err
		}
		if f.Mode < 0 || f.Mode > 0o777 {
			return fmt.Errorf("file %q: mode %#o is outside 0..0777", f.Path, f.Mode)
		}
		if set[f.Path] {
			return fmt.Errorf("file %q: listed twice", f.Path)
		}
		set[f.Path] = true
	}
	for p := range set {
		for d := filepath.Dir(p); d != "."; d = filepath.Dir(d) {
			if set[d] {
				return fmt.Errorf("file %q: %q is a file, so it cannot also be a directory", p, d)
			}
		}
	}
	return nil
}

func fileMode(f plan.File) fs.FileMode {
	if f.Mode == 0 {
		return defaultMode
	}
	return fs.FileMode(f.Mode) & fs.ModePerm
}

// writePayload makes dir hold exactly files, atomically. When the current
// payload already matches, it only repairs the user-visible links.
func (m *Manager) writePayload(dir string, files []plan.File) error {
	cur := currentPayloadDir(dir)
	if cur != "" && samePayload(filepath.Join(dir, cur), files) {
		if err := linkUserPaths(dir, files); err != nil {
			return err
		}
		if err := pruneUserPaths(dir, files); err != nil {
			return err
		}
		return m.prunePayloads(dir, cur)
	}
	next, err := m.writeTimestamped(dir, files)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, dataLinkTmp)
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Symlink(next, tmp); err != nil {
		return fmt.Errorf("link new payload: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataLink)); err != nil {
		return fmt.Errorf("swap payload: %w", err)
	}
	if cur != "" {
		m.retired[filepath.Join(dir, cur)] = m.now()
	}
	if err := linkUserPaths(dir, files); err != nil {
		return err
	}
	if err := pruneUserPaths(dir, files); err != nil {
		return err
	}
	return m.prunePayloads(dir, next)
}

// currentPayloadDir returns the name ..data points at, or "" when it is
// missing or not one of ours.
func currentPayloadDir(dir string) string {
	t, err := os.Readlink(filepath.Join(dir, dataLink))
	if err != nil || !isPayloadDir(t) {
		return ""
	}
	return t
}

func isPayloadDir(name string) bool {
	return strings.HasPrefix(name, "..") && name != dataLink && name != dataLinkTmp &&
		!strings.Contains(name, "/") && name != ".."
}

// writeTimestamped writes files into a new ..<timestamp>.<random> directory
// and returns its name. Every step goes through directory descriptors opened
// with O_NOFOLLOW, so a symlink planted in the volume (by a container that
// was given it read-write) cannot redirect a write outside it.
func (m *Manager) writeTimestamped(dir string, files []plan.File) (string, error) {
	pattern := ".." + m.now().UTC().Format("2006_01_02_15_04_05.") + "*"
	ts, err := os.MkdirTemp(dir, pattern)
	if err != nil {
		return "", fmt.Errorf("create payload directory: %w", err)
	}
	root, err := openDir(unix.AT_FDCWD, ts)
	if err != nil {
		return "", fmt.Errorf("open payload directory: %w", err)
	}
	defer unix.Close(root)
	for _, f := range files {
		if err := writeAt(root, f.Path, []byte(f.Data.Data), fileMode(f)); err != nil {
			return "", fmt.Errorf("write %s: %w", f.Path, err)
		}
	}
	return filepath.Base(ts), nil
}

// openDir opens name relative to dirfd as a directory, not following a
// symlink, and sets it 0755 regardless of the umask.
func openDir(dirfd int, name string) (int, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if err := unix.Fchmod(fd, 0o755); err != nil {
		unix.Close(fd)
		return -1, &fs.PathError{Op: "chmod", Path: name, Err: err}
	}
	return fd, nil
}

// writeAt creates the file rel (already validated) below the directory
// root, creating its parent directories.
func writeAt(root int, rel string, data []byte, mode fs.FileMode) error {
	parts := strings.Split(rel, "/")
	dfd := root
	closeDir := func() {
		if dfd != root {
			unix.Close(dfd)
		}
	}
	for _, el := range parts[:len(parts)-1] {
		if err := unix.Mkdirat(dfd, el, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			closeDir()
			return &fs.PathError{Op: "mkdir", Path: el, Err: err}
		}
		next, err := openDir(dfd, el)
		closeDir()
		if err != nil {
			return err
		}
		dfd = next
	}
	name := parts[len(parts)-1]
	fd, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	closeDir()
	if err != nil {
		return &fs.PathError{Op: "create", Path: name, Err: err}
	}
	return fill(os.NewFile(uintptr(fd), name), data, mode)
}

func writeFile(p string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return fill(f, data, mode)
}

// fill writes data to a file created 0600, then gives it mode, and
// closes it.
func fill(f *os.File, data []byte, mode fs.FileMode) error {
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// samePayload reports whether the payload directory holds exactly files,
// with the same content and modes.
func samePayload(ts string, files []plan.File) bool {
	n := 0
	err := filepath.WalkDir(ts, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			n++
		} else if !d.IsDir() {
			return errors.New("unexpected entry")
		}
		return nil
	})
	if err != nil || n != len(files) {
		return false
	}
	for _, f := range files {
		p := filepath.Join(ts, f.Path)
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != fileMode(f) ||
			fi.Size() != int64(len(f.Data.Data)) {
			return false
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, []byte(f.Data.Data)) {
			return false
		}
	}
	return true
}

// topLevel returns the sorted first path elements of files.
func topLevel(files []plan.File) []string {
	set := map[string]bool{}
	for _, f := range files {
		first, _, _ := strings.Cut(f.Path, "/")
		set[first] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// linkUserPaths makes every top-level name a symlink through ..data.
func linkUserPaths(dir string, files []plan.File) error {
	for _, name := range topLevel(files) {
		link := filepath.Join(dir, name)
		want := dataLink + "/" + name
		if t, err := os.Readlink(link); err == nil && t == want {
			continue
		}
		if err := os.RemoveAll(link); err != nil {
			return err
		}
		if err := os.Symlink(want, link); err != nil {
			return fmt.Errorf("link %s: %w", name, err)
		}
	}
	return nil
}

// pruneUserPaths removes user-visible names no longer in files.
func pruneUserPaths(dir string, files []plan.File) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, n := range topLevel(files) {
		want[n] = true
	}
	for _, e := range entries {
		name := e.Name()
		if want[name] || strings.HasPrefix(name, "..") {
			continue
		}
		// RemoveAll does not follow symlinks, and everything in dir is ours.
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("remove stale %s: %w", name, err)
		}
	}
	return nil
}

// prunePayloads removes payload directories other than current, except
// those retired less than payloadGrace ago: a reader that resolved ..data
// just before a swap may still be walking into the old directory (the
// kubelet deletes it at once, and a stress test does see ENOENT then).
// Unknown ones (a crash's leftovers) go at once.
func (m *Manager) prunePayloads(dir, current string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	now := m.now()
	for _, e := range entries {
		name := e.Name()
		if name == current || (name != dataLinkTmp && !isPayloadDir(name)) {
			continue
		}
		p := filepath.Join(dir, name)
		if t, ok := m.retired[p]; ok && now.Sub(t) < payloadGrace {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("remove old payload %s: %w", name, err)
		}
		delete(m.retired, p)
	}
	return nil
}
