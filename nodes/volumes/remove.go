package volumes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Remove deletes everything of the pod under the root: emptyDirs, config and
// secret files, /etc/hosts. It unmounts the pod's tmpfs first and refuses to
// delete while any mount remains below the pod's directory, so it can never
// reach through a mount into hostPath or PV data; os.RemoveAll does not
// follow symlinks. key is the pod key "namespace/name" (or the directory
// name "namespace_name"); a missing pod is not an error.
func (m *Manager) Remove(key string) error {
	ns, name, err := splitKey(key)
	if err != nil {
		return err
	}
	if _, err := m.PodDir(ns, name); err != nil {
		return fmt.Errorf("remove pod %q: %w", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	root, err := m.realRoot()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, ns+"_"+name)
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove pod %s: %w", key, err)
	}
	if !fi.IsDir() {
		// Not ours to walk: drop the entry itself (a symlink is not followed).
		return os.Remove(dir)
	}
	if err := unmountAll(dir); err != nil {
		return fmt.Errorf("remove pod %s: %w", key, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove pod %s: %w", key, err)
	}
	for p := range m.retired {
		if within(dir, p) {
			delete(m.retired, p)
		}
	}
	return nil
}

// splitKey accepts "namespace/name" or "namespace_name"; anything with a
// second '/' or a ".." is refused by the name checks.
func splitKey(key string) (ns, name string, err error) {
	if strings.Contains(key, "..") {
		return "", "", fmt.Errorf("pod key %q: must not contain \"..\"", key)
	}
	if ns, name, ok := strings.Cut(key, "/"); ok {
		return ns, name, nil
	}
	if ns, name, ok := strings.Cut(key, "_"); ok {
		return ns, name, nil
	}
	return "", "", fmt.Errorf("pod key %q: want namespace/name", key)
}
