package volumes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"berth.dev/berth/compiler/plan"
)

// subPathsDir holds a pod's subPath bind mounts, one per container and
// volumeMount, as the kubelet's volume-subpaths directory does.
const subPathsDir = "volume-subpaths"

// SubPath is one volumeMount of a container that mounts a part of a
// volume.
type SubPath struct {
	Volume     string // the volume's name
	VolumePath string // the volume's host path, as Prepare returned it
	Container  string // the container's name
	Index      int    // the volumeMount's index in the container
	Path       string // the subPath, or the expanded subPathExpr
}

// SubPathTarget is the path a container's spec bind-mounts for sp. It is
// berth's own mount point, not a path inside the volume: a container can
// plant a symlink in a volume (ln -s / x; subPath: x), and runc would
// follow it when it mounts by name (CVE-2017-1002101). BindSubPath mounts
// the resolved subPath there before each start of the container.
func (m *Manager) SubPathTarget(pod *plan.Pod, sp SubPath) (string, error) {
	_, dir, err := m.podPaths(pod)
	if err != nil {
		return "", err
	}
	if err := checkName("volume name", sp.Volume); err != nil {
		return "", err
	}
	if err := checkName("container name", sp.Container); err != nil {
		return "", err
	}
	if sp.Index < 0 {
		return "", fmt.Errorf("volumeMount index %d", sp.Index)
	}
	return filepath.Join(dir, subPathsDir, sp.Volume, sp.Container, strconv.Itoa(sp.Index)), nil
}

// BindSubPath resolves sp inside its volume and bind-mounts the result at
// SubPathTarget, the kubelet's way: symlinks are resolved once and the
// result must stay inside the volume (a symlink that leads out is an
// error, as on the kubelet); the result is then opened with O_PATH inside
// the volume root (securejoin's openat2 RESOLVE_IN_ROOT or its safe
// emulation) and the mount is made from /proc/self/fd/N, so a component
// swapped for a symlink between the check and the mount cannot redirect
// it. A missing subPath is created as a directory with the volume's mode,
// as the kubelet does. An existing mount of the same file is kept; another
// is replaced. It returns the target.
func (m *Manager) BindSubPath(pod *plan.Pod, sp SubPath) (string, error) {
	what := fmt.Sprintf("subPath %q of volume %q", sp.Path, sp.Volume)
	if !filepath.IsLocal(sp.Path) {
		return "", fmt.Errorf("%s must be a relative path that stays inside the volume", what)
	}
	target, err := m.SubPathTarget(pod, sp)
	if err != nil {
		return "", err
	}
	fh, err := openSubPath(sp.VolumePath, sp.Path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	defer fh.Close()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := mountSubPath(fh, target); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return target, nil
}

// errOutside is the kubelet's refusal of a subPath that leaves its volume.
var errOutside = errors.New("resolves outside the volume (through a symlink); refused")

// openSubPath returns an O_PATH handle of sub inside the volume vol.
func openSubPath(vol, sub string) (*os.File, error) {
	realVol, err := filepath.EvalSymlinks(vol)
	if err != nil {
		return nil, fmt.Errorf("resolve the volume: %w", err)
	}
	root, err := os.OpenFile(realVol, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the volume: %w", err)
	}
	defer root.Close()
	full := filepath.Join(realVol, sub)
	resolved, err := filepath.EvalSymlinks(full)
	if errors.Is(err, fs.ErrNotExist) {
		if err := makeSubPathDir(root, sub); err != nil {
			return nil, err
		}
		resolved, err = filepath.EvalSymlinks(full)
	}
	if err != nil {
		return nil, fmt.Errorf("resolve: %w", err)
	}
	if !within(realVol, resolved) {
		return nil, errOutside
	}
	rel, err := filepath.Rel(realVol, resolved)
	if err != nil {
		return nil, err
	}
	// rel has no symlink left unless a container changed the tree since
	// EvalSymlinks; even then the handle stays inside the volume root.
	fh, err := pathrs.OpenatInRoot(root, rel)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	got, err := procfs.ProcSelfFdReadlink(fh)
	if err != nil || got != resolved {
		fh.Close()
		return nil, errors.New("changed while it was being resolved; the next start tries again")
	}
	return fh, nil
}

// makeSubPathDir creates a missing subPath as a directory with the
// volume's mode (0777 for an emptyDir), without leaving the volume.
func makeSubPathDir(root *os.File, sub string) error {
	fi, err := root.Stat()
	if err != nil {
		return err
	}
	d, err := pathrs.MkdirAllHandle(root, sub, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("create the subPath directory: %w", err)
	}
	defer d.Close()
	// mkdir's mode went through the umask; the kubelet sets it exactly.
	if err := unix.Fchmodat(unix.AT_FDCWD, procFd(d), uint32(fi.Mode().Perm()), 0); err != nil {
		return fmt.Errorf("chmod the subPath directory: %w", err)
	}
	return nil
}

func procFd(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// mountSubPath bind-mounts the file behind fh at target, unless target
// already is a mount of that same file.
func mountSubPath(fh *os.File, target string) error {
	var want unix.Stat_t
	if err := unix.Fstat(int(fh.Fd()), &want); err != nil {
		return err
	}
	mounted, err := mountinfo.Mounted(target)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("check the mount at %s: %w", target, err)
	}
	if mounted {
		var have unix.Stat_t
		if err := unix.Lstat(target, &have); err == nil && have.Dev == want.Dev && have.Ino == want.Ino {
			return nil
		}
		if err := unmount(target); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		return err
	}
	if err := mountPoint(target, want.Mode&unix.S_IFMT == unix.S_IFDIR); err != nil {
		return err
	}
	if err := unix.Mount(procFd(fh), target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mount at %s: %w", target, err)
	}
	return nil
}

// mountPoint makes target a directory, or an empty file for anything
// else (a file is a mount point for any non-directory, as on the kubelet);
// an entry of the other type, left by an earlier subPath, is replaced.
func mountPoint(target string, dir bool) error {
	fi, err := os.Lstat(target)
	if err == nil && fi.IsDir() == dir && (dir || fi.Mode().IsRegular()) {
		return nil
	}
	if err == nil {
		if err := os.Remove(target); err != nil {
			return err
		}
	}
	if dir {
		return os.Mkdir(target, 0o750)
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_NOFOLLOW, 0o640)
	if err != nil {
		return err
	}
	return f.Close()
}

func unmount(target string) error {
	err := unix.Unmount(target, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(target, unix.MNT_DETACH)
	}
	if err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("unmount %s: %w", target, err)
	}
	return nil
}
