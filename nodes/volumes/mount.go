package volumes

import (
	"errors"
	"fmt"
	"sort"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// tmpfsSource names berth's tmpfs mounts in /proc/self/mountinfo.
const tmpfsSource = "berth"

// ensureTmpfs mounts a tmpfs at dir unless one is already mounted exactly
// there. Checking mountinfo, not statfs, matters: dir may sit on a tmpfs
// (a root under /run) without being a mount of its own.
func ensureTmpfs(dir, opts string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(dir))
	if err != nil {
		return fmt.Errorf("read mounts: %w", err)
	}
	if len(mounts) > 0 {
		if fs := mounts[len(mounts)-1].FSType; fs != "tmpfs" {
			return fmt.Errorf("%s is already a %s mount, not tmpfs; unmount it", dir, fs)
		}
		return nil
	}
	err = unix.Mount(tmpfsSource, dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts)
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("mount tmpfs at %s: %w (berth must run as root to mount secret and memory volumes)", dir, err)
	}
	if err != nil {
		return fmt.Errorf("mount tmpfs at %s (%s): %w", dir, opts, err)
	}
	return nil
}

// mountsUnder returns the mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	out := make([]string, 0, len(mounts))
	for _, m := range mounts {
		out = append(out, m.Mountpoint)
	}
	// Deeper paths first, so a nested mount goes before its parent; a
	// stable sort keeps stacked mounts of one point in order (reversed).
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, nil
}

// unmountAll unmounts everything at or below dir. A busy mount is detached
// (lazy unmount) so that removing the pod never fails on a lingering user;
// the data is gone from the tree either way.
func unmountAll(dir string) error {
	// Stacked mounts need one pass per layer; a few passes are plenty.
	for range 8 {
		mps, err := mountsUnder(dir)
		if err != nil {
			return err
		}
		if len(mps) == 0 {
			return nil
		}
		for _, mp := range mps {
			err := unix.Unmount(mp, 0)
			if errors.Is(err, unix.EBUSY) {
				err = unix.Unmount(mp, unix.MNT_DETACH)
			}
			if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("unmount %s: %w", mp, err)
			}
		}
	}
	mps, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	if len(mps) > 0 {
		return fmt.Errorf("%s still has mounts %v after unmounting; not deleting it", dir, mps)
	}
	return nil
}

// requireTmpfs double-checks with statfs that dir is on tmpfs before secret
// bytes are written there, whatever mountinfo said.
func requireTmpfs(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dir, err)
	}
	if st.Type != unix.TMPFS_MAGIC {
		return fmt.Errorf("%s is not on tmpfs (filesystem magic %#x); refusing to write secret files to disk", dir, st.Type)
	}
	return nil
}
