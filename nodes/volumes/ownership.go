package volumes

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"berth.dev/berth/compiler/plan"
)

// The kubelet's SetVolumeOwnership masks (pkg/volume/volume_linux.go).
const (
	rwMask   fs.FileMode = 0o660
	roMask   fs.FileMode = 0o440
	execMask fs.FileMode = 0o110
)

// fsGroupOf is the pod's fsGroup and change policy, or nil.
func fsGroupOf(pod *plan.Pod) (*int64, string) {
	if sc := pod.Spec.SecurityContext; sc != nil {
		return sc.FSGroup, sc.FSGroupChangePolicy
	}
	return nil, ""
}

// setOwnership is the kubelet's SetVolumeOwnership: every file and
// directory under dir gets group fsGroup, group read (and write unless
// the volume is read-only: configMap and secret volumes are), and each
// directory the setgid bit and group search, so what the containers
// create there keeps the group. Symbolic links get the group but no
// mode (a chmod would change their target). With OnRootMismatch, a
// volume whose root already has the group and the mode is left alone.
func setOwnership(dir string, fsGroup int64, policy string, readOnly bool) error {
	mask := rwMask
	if readOnly {
		mask = roMask
	}
	if policy == plan.FSGroupOnRootMismatch && !needsOwnership(dir, fsGroup, mask) {
		return nil
	}
	gid := int(fsGroup)
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(path, -1, gid); err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		m := mask
		if d.IsDir() {
			m |= fs.ModeSetgid | execMask
		}
		return os.Chmod(path, info.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSetuid|fs.ModeSticky)|m)
	})
}

// needsOwnership is the kubelet's requiresPermissionChange: the root is
// not a directory of group fsGroup with the mask, search and setgid.
func needsOwnership(dir string, fsGroup int64, mask fs.FileMode) bool {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return true
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int64(st.Gid) != fsGroup {
		return true
	}
	want := mask | execMask
	return fi.Mode().Perm()&want != want || fi.Mode()&fs.ModeSetgid == 0
}
