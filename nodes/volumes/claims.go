package volumes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// claimsDir holds the directories of berth's local provisioner, beside
// the pods' volume root (never inside it: a pod's directory is deleted
// with the pod, a claim's data never is).
const claimsDir = "claims"

// ClaimsRoot is where the claims of StorageClass berth-local live:
// <state>/claims/<namespace>_<claim>, as k3s's local-path provisioner
// keeps <path>/pvc-<uid>_<namespace>_<claim>.
func (m *Manager) ClaimsRoot() string { return filepath.Join(filepath.Dir(m.root), claimsDir) }

// localClaim creates (on first use) and returns the directory of a
// provisioned claim. It is 0777 like local-path's, so any container user
// may write it; the pod's fsGroup owns it as a local volume.
func (m *Manager) localClaim(root, ns, claim string) (string, error) {
	if err := checkName("namespace", ns); err != nil {
		return "", err
	}
	if err := checkName("claim", claim); err != nil {
		return "", fmt.Errorf("provisioned volume: %w", err)
	}
	dir := m.ClaimsRoot()
	if within(root, dir) {
		return "", fmt.Errorf("claims directory %s is inside the pod volume root %s", dir, root)
	}
	if err := mkVolumeDir(dir, 0o700); err != nil {
		return "", fmt.Errorf("provisioned volume: %w", err)
	}
	p := filepath.Join(dir, ns+"_"+claim)
	_, err := os.Lstat(p)
	fresh := errors.Is(err, fs.ErrNotExist)
	if err := mkVolumeDir(p, 0o777); err != nil {
		return "", fmt.Errorf("provisioned volume: %w", err)
	}
	if fresh {
		// The umask took bits off; a new claim is world-writable, and
		// later modes are the user's.
		return p, os.Chmod(p, 0o777)
	}
	return p, nil
}

// DeleteClaim deletes a provisioned claim's directory with its data. Only
// a StatefulSet's persistentVolumeClaimRetentionPolicy of Delete asks for
// it (reconciler.Claims), once the ordinal's pod is gone; a claim bound
// to a declared PersistentVolume has no directory here, and its volume's
// data is never touched. A claim that has no directory is done.
func (m *Manager) DeleteClaim(ns, claim string) error {
	if err := checkName("namespace", ns); err != nil {
		return err
	}
	if err := checkName("claim", claim); err != nil {
		return err
	}
	p := filepath.Join(m.ClaimsRoot(), ns+"_"+claim)
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("delete claim %s/%s: %w", ns, claim, err)
	}
	return nil
}
