package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"berth.dev/berth/compiler/diag"
)

// sandboxFS is the file system kustomize sees: the disk, read-only, and
// only below the repository root (after following links). It also reads
// every kustomization file on its way to kustomize, to refuse remote
// references before kustomize would clone or download them (it runs git
// for a remote base), and so that each object can be traced to its file:
// it marks resource files and generators (markers.go), or, when origins
// is set, turns on kustomize's origin annotations in the root
// kustomization.
type sandboxFS struct {
	disk filesys.FileSystem
	root string // absolute, links resolved
	top  string // the root kustomization's directory, absolute, resolved
	// display maps an absolute path to the path shown to the user.
	display func(string) string

	mu sync.Mutex
	// kustDirs are the directories whose kustomization file was read.
	kustDirs map[string]bool
	// refused holds located findings about kustomization files (a remote
	// reference); they explain the build error kustomize then reports.
	refused []diag.Diagnostic
	// userOrigin is set when the root kustomization asks for origin
	// annotations itself, so they stay in the output.
	userOrigin bool

	// origins asks kustomize for its origin annotations instead of
	// marking what it reads.
	origins bool
	// resources are the files (resolved) that kustomizations list as
	// resources; each document read from one is marked.
	resources map[string]bool
	markers   []marker
}

var errReadOnly = errors.New("berth renders read-only: a kustomization cannot write files")

func newSandboxFS(root, top string, display func(string) string) *sandboxFS {
	return &sandboxFS{disk: filesys.MakeFsOnDisk(), root: root, top: top, display: display, kustDirs: map[string]bool{},
		resources: map[string]bool{}}
}

// check resolves name and refuses it when it is outside the root.
func (s *sandboxFS) check(name string) (string, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", err
	}
	real := resolveExisting(abs)
	if !within(s.root, real) {
		return "", fmt.Errorf("%s is outside the repository (%s): berth reads nothing outside it", s.display(abs), s.display(s.root))
	}
	return real, nil
}

// resolveExisting follows the links of the longest existing prefix of abs
// and appends the rest: a path that does not exist yet still resolves
// through a linked parent.
func resolveExisting(abs string) string {
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	parent := filepath.Dir(abs)
	if parent == abs {
		return abs
	}
	return filepath.Join(resolveExisting(parent), filepath.Base(abs))
}

func (s *sandboxFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (s *sandboxFS) Mkdir(string) error                  { return errReadOnly }
func (s *sandboxFS) MkdirAll(string) error               { return errReadOnly }
func (s *sandboxFS) RemoveAll(string) error              { return errReadOnly }
func (s *sandboxFS) WriteFile(string, []byte) error      { return errReadOnly }

func (s *sandboxFS) Open(name string) (filesys.File, error) {
	real, err := s.check(name)
	if err != nil {
		return nil, err
	}
	return s.disk.Open(real)
}

func (s *sandboxFS) IsDir(name string) bool {
	real, err := s.check(name)
	return err == nil && s.disk.IsDir(real)
}

func (s *sandboxFS) ReadDir(name string) ([]string, error) {
	real, err := s.check(name)
	if err != nil {
		return nil, err
	}
	return s.disk.ReadDir(real)
}

func (s *sandboxFS) CleanedAbs(name string) (filesys.ConfirmedDir, string, error) {
	if _, err := s.check(name); err != nil {
		return "", "", err
	}
	d, f, err := s.disk.CleanedAbs(name)
	if err != nil {
		return d, f, err
	}
	if _, err := s.check(d.Join(f)); err != nil {
		return "", "", err
	}
	return d, f, nil
}

func (s *sandboxFS) Exists(name string) bool {
	real, err := s.check(name)
	return err == nil && s.disk.Exists(real)
}

func (s *sandboxFS) Glob(pattern string) ([]string, error) {
	if _, err := s.check(filepath.Dir(pattern)); err != nil {
		return nil, err
	}
	found, err := s.disk.Glob(pattern)
	var keep []string
	for _, f := range found {
		if _, cerr := s.check(f); cerr == nil {
			keep = append(keep, f)
		}
	}
	return keep, err
}

func (s *sandboxFS) Walk(name string, fn filepath.WalkFunc) error {
	real, err := s.check(name)
	if err != nil {
		return err
	}
	return s.disk.Walk(real, fn)
}

func (s *sandboxFS) ReadFile(name string) ([]byte, error) {
	real, err := s.check(name)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(real)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: s.display(real), Err: errors.New("not a regular file")}
	}
	data, err := s.disk.ReadFile(real)
	if err != nil {
		return data, err
	}
	if isKustomizationFile(real) {
		return s.kustomization(real, data)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.origins && s.resources[real] {
		return s.markResources(real, data), nil
	}
	return data, nil
}

func isKustomizationFile(p string) bool {
	for _, n := range kustomizationFiles {
		if filepath.Base(p) == n {
			return true
		}
	}
	return false
}

// kustomization checks a kustomization file for what berth refuses,
// notes its resource files and marks its generators, or, for the root
// one when origins is set, asks kustomize for origin annotations.
func (s *sandboxFS) kustomization(file string, data []byte) ([]byte, error) {
	dir := filepath.Dir(file)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kustDirs[dir] = true

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return data, nil // kustomize reports the syntax error
	}
	k := doc.Content[0]
	if ds := refuse(k, dir, s.display(file)); len(ds) > 0 {
		s.refused = append(s.refused, ds...)
		return nil, fmt.Errorf("%s", ds[0].Message)
	}
	if dir == s.top && s.askedOrigins(k) {
		s.userOrigin = true
		s.origins = true
		return data, nil
	}
	if !s.origins {
		for _, key := range []string{"resources", "bases"} {
			if l := mapValue(k, key); l != nil && l.Kind == yaml.SequenceNode {
				for _, n := range l.Content {
					if n.Kind == yaml.ScalarNode && n.Value != "" {
						s.resources[resolveExisting(filepath.Join(dir, filepath.FromSlash(n.Value)))] = true
					}
				}
			}
		}
		if !s.markGenerators(k, file) {
			return data, nil
		}
		return yaml.Marshal(k)
	}
	if dir != s.top {
		return data, nil
	}
	bm := mapValue(k, "buildMetadata")
	if bm == nil {
		bm = &yaml.Node{Kind: yaml.SequenceNode}
		k.Content = append(k.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "buildMetadata"}, bm)
	}
	bm.Content = append(bm.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "originAnnotations"})
	return yaml.Marshal(k)
}

// askedOrigins reports whether a kustomization asks for origin
// annotations itself.
func (s *sandboxFS) askedOrigins(k *yaml.Node) bool {
	bm := mapValue(k, "buildMetadata")
	if bm == nil {
		return false
	}
	for _, v := range bm.Content {
		if v.Value == "originAnnotations" {
			return true
		}
	}
	return false
}

// refuse finds the references of a kustomization that berth will not
// follow: remote bases and files (kustomize would clone or download
// them), and the Helm chart inflation generator (it runs the helm
// program).
func refuse(k *yaml.Node, dir, file string) []diag.Diagnostic {
	var out []diag.Diagnostic
	remote := func(n *yaml.Node, what string) {
		if n == nil || n.Kind != yaml.ScalarNode || !isRemote(n.Value, dir) {
			return
		}
		out = append(out, errorAt(file, n.Line, n.Column, RuleRemote, "",
			"%s %q is remote: berth renders offline and never fetches kustomize bases or files; vendor it into the repository (copy it into a directory here and refer to that path)", what, n.Value))
	}
	list := func(key, what string) {
		if l := mapValue(k, key); l != nil {
			for _, n := range l.Content {
				remote(n, what)
			}
		}
	}
	list("resources", "resource")
	list("bases", "base")
	list("components", "component")
	list("crds", "crd")
	list("configurations", "configuration")
	list("generators", "generator")
	list("transformers", "transformer")
	list("validators", "validator")
	list("patchesStrategicMerge", "patch")
	for _, key := range []string{"patches", "patchesJson6902", "replacements"} {
		if l := mapValue(k, key); l != nil {
			for _, p := range l.Content {
				remote(mapValue(p, "path"), "patch")
			}
		}
	}
	for _, key := range []string{"configMapGenerator", "secretGenerator"} {
		if l := mapValue(k, key); l != nil {
			for _, g := range l.Content {
				for _, fk := range []string{"files", "envs"} {
					if fl := mapValue(g, fk); fl != nil {
						for _, n := range fl.Content {
							if n.Kind == yaml.ScalarNode {
								_, src, _ := strings.Cut(n.Value, "=")
								if src == "" {
									src = n.Value
								}
								remote(&yaml.Node{Kind: yaml.ScalarNode, Value: src, Line: n.Line, Column: n.Column}, "file")
							}
						}
					}
				}
				remote(mapValue(g, "env"), "file")
			}
		}
	}
	if oa := mapValue(k, "openapi"); oa != nil {
		remote(mapValue(oa, "path"), "openapi schema")
	}
	for _, key := range []string{"helmCharts", "helmChartInflationGenerator", "helmGlobals"} {
		if n := mapKey(k, key); n != nil {
			out = append(out, errorAt(file, n.Line, n.Column, RuleKustomize, "",
				"%s is not supported by berth (kustomize runs the helm program for it); render the chart with a berth.dev/v1 HelmRelease instead", key))
		}
	}
	return out
}

// isRemote reports whether a kustomization entry names something kustomize
// would fetch (it runs git, or downloads): anything that is not a path in
// the repository and looks like a URL, a git address, or a host-qualified
// path (github.com/org/repo//dir?ref=v1).
func isRemote(ref, dir string) bool {
	if _, err := os.Lstat(filepath.Join(dir, ref)); err == nil && !strings.Contains(ref, "://") {
		return false
	}
	for _, mark := range []string{"://", "git@", "git::", "?ref=", "?version=", "?timeout=", "?submodules=", "//", ".git"} {
		if strings.Contains(ref, mark) {
			return true
		}
	}
	if strings.Contains(ref, "@") && strings.Contains(ref, ":") {
		return true // user@host:path
	}
	first, _, qualified := strings.Cut(ref, "/")
	return qualified && strings.Contains(first, ".") && !strings.HasPrefix(first, ".")
}

func mapKey(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return nil
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
