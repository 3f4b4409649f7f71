package load

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/mod/modfile"
	"cuelang.org/go/mod/module"

	"berth.dev/berth/compiler/diag"
)

// offlineRegistry is the CUE module registry berth gives the CUE loader:
// it refuses every module, so that no lint or plan ever opens a
// connection and a plan depends on the repository alone (CUE's default
// registry is a third party's server on the Internet).
type offlineRegistry struct{}

func (offlineRegistry) ModFile(_ context.Context, mv module.Version) (*modfile.File, error) {
	return nil, noModule(mv.Path())
}

func (offlineRegistry) Fetch(_ context.Context, mv module.Version) (module.SourceLoc, error) {
	return module.SourceLoc{}, noModule(mv.Path())
}

func (offlineRegistry) ModuleVersions(_ context.Context, mpath string) ([]string, error) {
	return nil, noModule(mpath)
}

func noModule(path string) error {
	return fmt.Errorf("CUE module %s is not in the repository, and berth never downloads modules: "+
		"vendor its packages into cue.mod/pkg/ and remove it from deps in cue.mod/module.cue", path)
}

// cueReadDirs are the directories a CUE evaluation may read: the tree
// being loaded, and the CUE module enclosing the package (its cue.mod may
// be above that tree), links resolved.
func cueReadDirs(root, pkgDir string) ([]string, error) {
	r, err := realPath(root)
	if err != nil {
		return nil, err
	}
	dirs := []string{r}
	d, err := realPath(pkgDir)
	if err != nil {
		return nil, err
	}
	for {
		if fi, err := os.Stat(filepath.Join(d, "cue.mod")); err == nil && fi.IsDir() {
			if !within(r, d) {
				dirs = append(dirs, d)
			}
			break
		}
		up := filepath.Dir(d)
		if up == d {
			break
		}
		d = up
	}
	return dirs, nil
}

// linkOutside finds a symbolic link under dirs that leads out of all of
// them: where the kernel cannot confine the evaluation, a package whose
// module holds such a link is refused rather than evaluated.
func linkOutside(dirs []string) (string, bool) {
	var bad string
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || bad != "" {
				return filepath.SkipDir
			}
			if d.IsDir() && d.Name() == ".git" {
				return filepath.SkipDir
			}
			if d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			target, err := realPath(p)
			if err != nil {
				return nil
			}
			for _, r := range dirs {
				if within(r, target) {
					return nil
				}
			}
			bad = p
			return filepath.SkipAll
		})
		if bad != "" {
			return bad, true
		}
	}
	return "", false
}

// moduleDeps reports the deps entries of the CUE module enclosing pkgDir
// that would need a registry (a local directory replacement does not):
// refused even when nothing imports them yet, so that a plan never starts
// to depend on a download. displayDir is pkgDir as diagnostics show it.
func moduleDeps(pkgDir, displayDir string) []diag.Diagnostic {
	root := pkgDir
	for {
		if fi, err := os.Stat(filepath.Join(root, "cue.mod")); err == nil && fi.IsDir() {
			break
		}
		up := filepath.Dir(root)
		if up == root {
			return nil
		}
		root = up
	}
	path := filepath.Join(root, "cue.mod", "module.cue")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil // the CUE loader reports a missing or unreadable one
	}
	f, err := modfile.ParseNonStrict(data, "module.cue")
	if err != nil {
		return nil // and a malformed one
	}
	rel, err := filepath.Rel(pkgDir, path)
	if err != nil {
		rel = path
	}
	shown := filepath.Clean(filepath.Join(displayDir, rel))
	var out []diag.Diagnostic
	for _, m := range slices.Sorted(maps.Keys(f.Deps)) {
		if r := f.Deps[m].ReplaceWith; strings.HasPrefix(r, ".") || strings.HasPrefix(r, "/") {
			continue
		}
		line, col := 0, 0
		for i, l := range strings.Split(string(data), "\n") {
			if c := strings.Index(l, strconv.Quote(m)); c >= 0 {
				line, col = i+1, c+1
				break
			}
		}
		out = append(out, diag.Diagnostic{Pos: diag.Pos{File: shown, Line: line, Col: col}, Severity: diag.Error, Rule: RuleCUE,
			Message: noModule(m).Error()})
	}
	return out
}
