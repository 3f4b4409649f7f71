// Package volumes makes a pod's volumes on a node: emptyDir directories
// (tmpfs for medium Memory), checked hostPath and PV directories, configMap
// and secret files written the kubelet's atomic way (secrets on tmpfs only),
// and the pod's /etc/hosts and /etc/resolv.conf. The containerd driver bind-mounts what it returns.
package volumes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"berth.dev/berth/compiler/plan"
)

// Volume kinds, as in plan.Volume.Kind.
const (
	KindEmptyDir  = "emptyDir"
	KindHostPath  = "hostPath"
	KindConfigMap = "configMap"
	KindSecret    = "secret"
	KindPVC       = "persistentVolumeClaim"
	// KindDownwardAPI and KindProjected are written like a secret: files
	// on tmpfs (the kubelet's plugins wrap a Memory emptyDir), which the
	// node has filled (plan.Volume.Project) before Prepare or Update.
	KindDownwardAPI = "downwardAPI"
	KindProjected   = "projected"
)

// MediumMemory is the emptyDir medium backed by tmpfs.
const MediumMemory = "Memory"

// Layout of a pod's directory under the root.
const (
	volumesDir = "volumes"
	hostsFile  = "hosts"
	resolvFile = "resolv.conf"
)

// Manager owns the per-pod directories under one root. It is safe for
// concurrent use; operations are serialized because they are short and
// a pod's Prepare and Update must not interleave.
type Manager struct {
	root string
	now  func() time.Time
	// hostHosts is the node's hosts file, which hostNetwork pods see.
	hostHosts string
	mu   sync.Mutex
	// retired maps a replaced payload directory to when it was replaced.
	retired map[string]time.Time
}

// New returns a Manager whose pods live under root/<namespace>_<name>/.
func New(root string) *Manager {
	return &Manager{root: filepath.Clean(root), now: time.Now, retired: map[string]time.Time{}, hostHosts: "/etc/hosts"}
}

// WithHostHosts sets the node's hosts file that hostNetwork pods see
// (tests give their own); it returns m.
func (m *Manager) WithHostHosts(path string) *Manager {
	m.hostHosts = path
	return m
}

// WithClock sets the clock that names the timestamped payload directories
// (tests pin it); it returns m.
func (m *Manager) WithClock(now func() time.Time) *Manager {
	m.now = now
	return m
}

// Root is the directory that holds every pod's directory.
func (m *Manager) Root() string { return m.root }

// PodDir is the directory of the pod namespace/name; it validates both parts.
func (m *Manager) PodDir(namespace, name string) (string, error) {
	if err := checkName("namespace", namespace); err != nil {
		return "", err
	}
	if strings.Contains(namespace, "_") {
		// "_" separates namespace and name in the directory name.
		return "", fmt.Errorf("namespace %q: must not contain '_'", namespace)
	}
	if err := checkName("pod name", name); err != nil {
		return "", err
	}
	return filepath.Join(m.root, namespace+"_"+name), nil
}

// checkName refuses names that could leave the root when used as one path
// element: empty, ".", "..", anything with '/' or NUL, or a leading dot.
func checkName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s must not be empty", what)
	case strings.ContainsAny(s, "/\x00"):
		return fmt.Errorf("%s %q: must not contain '/' or NUL", what, s)
	case strings.HasPrefix(s, "."):
		return fmt.Errorf("%s %q: must not start with '.'", what, s)
	case len(s) > 253:
		return fmt.Errorf("%s %q: longer than 253 characters", what, s)
	}
	return nil
}

// realRoot creates the root if missing and returns it with symlinks
// resolved, because /proc/self/mountinfo reports resolved paths.
func (m *Manager) realRoot() (string, error) {
	if err := os.MkdirAll(m.root, 0o700); err != nil {
		return "", fmt.Errorf("create volume root %s: %w", m.root, err)
	}
	r, err := filepath.EvalSymlinks(m.root)
	if err != nil {
		return "", fmt.Errorf("resolve volume root %s: %w", m.root, err)
	}
	return r, nil
}

// podPaths validates the pod's names and returns its resolved directory.
func (m *Manager) podPaths(pod *plan.Pod) (root, dir string, err error) {
	if pod == nil {
		return "", "", errors.New("nil pod")
	}
	if _, err := m.PodDir(pod.Namespace, pod.Name); err != nil {
		return "", "", fmt.Errorf("pod %s: %w", pod.Key(), err)
	}
	root, err = m.realRoot()
	if err != nil {
		return "", "", err
	}
	return root, filepath.Join(root, pod.Namespace+"_"+pod.Name), nil
}

// Prepare creates every volume of pod and returns volume name -> host path to
// bind-mount. It is idempotent: existing emptyDir content is kept, mounted
// tmpfs are reused, and unchanged configMap/secret files are not rewritten.
func (m *Manager) Prepare(pod *plan.Pod) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	root, dir, err := m.podPaths(pod)
	if err != nil {
		return nil, err
	}
	if err := checkVolumes(pod.Spec.Volumes); err != nil {
		return nil, fmt.Errorf("pod %s: %w", pod.Key(), err)
	}
	if err := ensurePodDir(dir); err != nil {
		return nil, fmt.Errorf("pod %s: %w", pod.Key(), err)
	}
	paths := make(map[string]string, len(pod.Spec.Volumes))
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		p, err := m.prepareVolume(root, dir, pod.Namespace, v)
		if err == nil {
			err = owned(pod, v, p)
		}
		if err != nil {
			return nil, fmt.Errorf("pod %s: volume %q (%s): %w", pod.Key(), v.Name, v.Kind, err)
		}
		paths[v.Name] = p
	}
	return paths, nil
}

// owned gives the pod's fsGroup the volumes the kubelet gives it:
// emptyDir, configMap and secret (whatever the change policy, as the
// kubelet's plugins pass none; projected and downwardAPI volumes belong
// with them), and local PersistentVolumes (by the policy); never a
// hostPath.
func owned(pod *plan.Pod, v *plan.Volume, path string) error {
	gid, policy := fsGroupOf(pod)
	if gid == nil {
		return nil
	}
	switch {
	case v.Kind == KindEmptyDir:
		return setOwnership(path, *gid, "", false)
	case v.Kind == KindConfigMap || v.Kind == KindSecret || v.Kind == KindDownwardAPI || v.Kind == KindProjected:
		return setOwnership(path, *gid, "", true)
	case v.Kind == KindPVC && v.LocalPV:
		return setOwnership(path, *gid, policy, false)
	}
	return nil
}

// Update rewrites the configMap and secret volume files of pod in place,
// atomically; it is a no-op for unchanged volumes and touches nothing for
// a pod without such volumes. A missing volume is created as by Prepare.
func (m *Manager) Update(pod *plan.Pod) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	root, dir, err := m.podPaths(pod)
	if err != nil {
		return err
	}
	if err := checkVolumes(pod.Spec.Volumes); err != nil {
		return fmt.Errorf("pod %s: %w", pod.Key(), err)
	}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if !filesKind(v.Kind) {
			continue
		}
		if err := ensurePodDir(dir); err != nil {
			return fmt.Errorf("pod %s: %w", pod.Key(), err)
		}
		p, err := m.prepareVolume(root, dir, pod.Namespace, v)
		if err == nil {
			err = owned(pod, v, p)
		}
		if err != nil {
			return fmt.Errorf("pod %s: update volume %q (%s): %w", pod.Key(), v.Name, v.Kind, err)
		}
	}
	return nil
}

// ensurePodDir creates the pod's directory and its volumes directory, 0700:
// they hold secrets' mount points and only root (runc) needs to reach them,
// since a bind mount is not affected by its source's parents' modes.
func ensurePodDir(dir string) error {
	for _, d := range []string{dir, filepath.Join(dir, volumesDir)} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		fi, err := os.Lstat(d)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory; remove it", d)
		}
	}
	return nil
}

// mkVolumeDir creates a volume's directory; an existing entry must be a
// real directory, never a symlink that would carry writes elsewhere.
func mkVolumeDir(d string, perm fs.FileMode) error {
	if err := os.Mkdir(d, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := os.Lstat(d)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is a %s, not a directory; remove it", d, describe(fi.Mode()))
	}
	return nil
}

// filesKind reports whether a volume kind is files berth writes and
// keeps up to date.
func filesKind(kind string) bool {
	switch kind {
	case KindConfigMap, KindSecret, KindDownwardAPI, KindProjected:
		return true
	}
	return false
}

// checkVolumes validates names and file paths before anything is touched,
// so a bad plan changes nothing on disk.
func checkVolumes(vols []plan.Volume) error {
	seen := make(map[string]bool, len(vols))
	for _, v := range vols {
		if err := checkName("volume name", v.Name); err != nil {
			return err
		}
		if seen[v.Name] {
			return fmt.Errorf("volume %q: defined twice", v.Name)
		}
		seen[v.Name] = true
		switch v.Kind {
		case KindConfigMap, KindSecret, KindDownwardAPI, KindProjected:
			if err := checkPayload(v.Files); err != nil {
				return fmt.Errorf("volume %q: %w", v.Name, err)
			}
		case KindEmptyDir:
			if v.Medium != "" && v.Medium != MediumMemory {
				return fmt.Errorf("volume %q: unknown emptyDir medium %q (use \"\" or %q)", v.Name, v.Medium, MediumMemory)
			}
			if v.SizeLimit < 0 {
				return fmt.Errorf("volume %q: negative sizeLimit %d", v.Name, v.SizeLimit)
			}
		case KindHostPath, KindPVC:
		default:
			return fmt.Errorf("volume %q: unknown volume kind %q (use emptyDir, hostPath, configMap, secret, persistentVolumeClaim, downwardAPI or projected)", v.Name, v.Kind)
		}
	}
	return nil
}

func (m *Manager) prepareVolume(root, podDir, ns string, v *plan.Volume) (string, error) {
	volDir := filepath.Join(podDir, volumesDir, v.Name)
	switch v.Kind {
	case KindEmptyDir:
		if err := mkVolumeDir(volDir, 0o700); err != nil {
			return "", err
		}
		if v.Medium == MediumMemory {
			opts := "mode=0777"
			if v.SizeLimit > 0 {
				opts += fmt.Sprintf(",size=%d", v.SizeLimit)
			}
			if err := ensureTmpfs(volDir, opts); err != nil {
				return "", err
			}
		}
		// Any container user may write an emptyDir, as on the kubelet.
		if err := os.Chmod(volDir, 0o777); err != nil {
			return "", err
		}
		return volDir, nil
	case KindConfigMap:
		if err := mkVolumeDir(volDir, 0o755); err != nil {
			return "", err
		}
		return volDir, m.writePayload(volDir, v.Files)
	case KindSecret, KindDownwardAPI, KindProjected:
		if err := mkVolumeDir(volDir, 0o700); err != nil {
			return "", err
		}
		// Secrets never touch disk: the payload lives on a tmpfs.
		if err := ensureTmpfs(volDir, "mode=0755"); err != nil {
			return "", err
		}
		if err := requireTmpfs(volDir); err != nil {
			return "", err
		}
		return volDir, m.writePayload(volDir, v.Files)
	case KindHostPath:
		p, err := checkNodePath(root, v.Path)
		if err != nil {
			return "", err
		}
		return p, checkHostPath(p, v.HostPathType)
	case KindPVC:
		if v.LocalClaim != "" {
			return m.localClaim(root, ns, v.LocalClaim)
		}
		if v.Path == "" {
			return "", fmt.Errorf("claim %q is not bound to a volume with a path; bind it to a PersistentVolume with hostPath or local", v.Source)
		}
		p, err := checkNodePath(root, v.Path)
		if err != nil {
			return "", err
		}
		return p, checkHostPath(p, HostPathDirectoryOrCreate)
	default:
		return "", fmt.Errorf("unknown volume kind %q", v.Kind)
	}
}

// checkNodePath requires an absolute path outside the volume root: data
// under the root is deleted with its pod, and hostPath or PV data never is.
func checkNodePath(root, p string) (string, error) {
	if p == "" || !filepath.IsAbs(p) {
		return "", fmt.Errorf("path %q must be absolute", p)
	}
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("path %q contains NUL", p)
	}
	c := filepath.Clean(p)
	if within(root, c) || within(root, resolvedPrefix(c)) {
		return "", fmt.Errorf("path %s is inside berth's pod volume directory %s, whose content is deleted with pods; use a path outside it", c, root)
	}
	return c, nil
}

// resolvedPrefix resolves symlinks in the longest existing prefix of p.
func resolvedPrefix(p string) string {
	rest := ""
	for cur := p; ; cur = filepath.Dir(cur) {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		if cur == "/" || cur == "." {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
	}
}

// within reports whether p is dir or below it.
func within(dir, p string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}
