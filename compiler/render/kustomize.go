package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/load"
)

// kustomizeMu serialises builds: krusty sets the OpenAPI schema of kyaml,
// a package-level variable, on every run, so two builds at once could see
// each other's schema.
var kustomizeMu sync.Mutex

// kustomize builds the kustomization in rt.Dir, as `kustomize build` does
// with its default load restrictions (files only below each
// kustomization's directory) inside the repository.
func (r *Renderer) kustomize(rt load.Root) result {
	res := result{kind: "kustomize", source: Source{Kind: "kustomize", Path: rt.Dir}, usedDirs: map[string]bool{}}
	top := absDir(rt.Dir)
	root := r.repoRoot(rt.Top)
	show := func(abs string) string { return display(rt.Dir, top, abs) }
	sfs := newSandboxFS(root, top, show)
	kfile := rt.Dir
	for _, n := range kustomizationFiles {
		if load.HasFile(rt.Dir, n) {
			kfile = filepath.Join(rt.Dir, n)
			break
		}
	}

	var m resmap.ResMap
	err := runBudgeted(r.opts.Limits.Time, func(context.Context) error {
		kustomizeMu.Lock()
		defer kustomizeMu.Unlock()
		opts := krusty.MakeDefaultOptions()
		opts.LoadRestrictions = types.LoadRestrictionsRootOnly
		opts.PluginConfig = types.DisabledPluginConfig()
		var err error
		m, err = krusty.MakeKustomizer(opts).Run(sfs, top)
		return err
	})
	for d := range sfs.kustDirs {
		if d != top {
			res.usedDirs[d] = true
		}
	}
	if len(sfs.refused) > 0 {
		res.diags = append(res.diags, sfs.refused...)
		return res
	}
	if err != nil {
		var be *budgetError
		if errors.As(err, &be) {
			res.diags = append(res.diags, errorAt(kfile, 0, 0, RuleBudget, "", "kustomize build: %v", err))
			return res
		}
		res.diags = append(res.diags, errorAt(kfile, 0, 0, RuleKustomize, "", "kustomize build: %s", cleanKustomizeError(err, top, rt.Dir)))
		return res
	}
	if n := m.Size(); n > r.opts.Limits.Objects {
		res.diags = append(res.diags, errorAt(kfile, 0, 0, RuleBudget, "",
			"kustomize build makes %d objects, more than the %d one render may make", n, r.opts.Limits.Objects))
		return res
	}

	src := newSourceIndex(sfs, r.opts.Budget)
	var total int64
	for _, rs := range m.Resources() {
		origin, _ := rs.GetOrigin()
		file := kfile
		if origin != nil {
			switch {
			case origin.Path != "":
				file = show(filepath.Join(top, filepath.FromSlash(origin.Path)))
			case origin.ConfiguredIn != "":
				file = show(filepath.Join(top, filepath.FromSlash(origin.ConfiguredIn)))
			}
		}
		if !sfs.userOrigin {
			if err := rs.SetOrigin(nil); err != nil {
				res.diags = append(res.diags, errorAt(kfile, 0, 0, RuleKustomize, "", "kustomize build: %v", err))
				return res
			}
		}
		data, err := rs.AsYAML()
		if err != nil {
			res.diags = append(res.diags, errorAt(file, 0, 0, RuleKustomize, "", "kustomize output: %v", err))
			continue
		}
		total += int64(len(data))
		if total > r.opts.Limits.OutputBytes {
			res.diags = append(res.diags, errorAt(kfile, 0, 0, RuleBudget, "",
				"kustomize build makes more than %d bytes of YAML", r.opts.Limits.OutputBytes))
			return res
		}
		docs, ds := load.ParseYAML(file, data, r.opts.Budget)
		res.diags = append(res.diags, ds...)
		for i := range docs {
			docs[i].Index = len(res.docs)
			forget(docs[i].Node)
			if origin != nil && origin.Path != "" {
				src.locate(&docs[i], file, rs.GetKind(), rs.GetName())
			}
			res.docs = append(res.docs, docs[i])
		}
	}
	return res
}

// cleanKustomizeError shows kustomize's error with the paths as the user
// names them.
func cleanKustomizeError(err error, top, dir string) string {
	msg := err.Error()
	msg = strings.ReplaceAll(msg, top+string(filepath.Separator), dir+string(filepath.Separator))
	return strings.ReplaceAll(msg, top, dir)
}

// sourceIndex finds, for a built object, the documents it was written in:
// its resource file and the strategic-merge patches of the
// kustomizations the build read.
type sourceIndex struct {
	files   map[string][]load.Document // by display path
	patches []load.Document
	lim     budget.Limits
}

func newSourceIndex(sfs *sandboxFS, lim budget.Limits) *sourceIndex {
	s := &sourceIndex{files: map[string][]load.Document{}, lim: lim}
	for dir := range sfs.kustDirs {
		for _, n := range kustomizationFiles {
			data, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				continue
			}
			var k yaml.Node
			if yaml.Unmarshal(data, &k) != nil || len(k.Content) == 0 {
				break
			}
			var paths []string
			if l := mapValue(k.Content[0], "patchesStrategicMerge"); l != nil {
				for _, p := range l.Content {
					paths = append(paths, p.Value)
				}
			}
			if l := mapValue(k.Content[0], "patches"); l != nil {
				for _, p := range l.Content {
					if v := mapValue(p, "path"); v != nil {
						paths = append(paths, v.Value)
					}
				}
			}
			for _, p := range paths {
				abs := filepath.Join(dir, p)
				if real := resolveExisting(abs); !within(sfs.root, real) || strings.ContainsAny(p, "\n") {
					continue
				}
				if data, err := os.ReadFile(abs); err == nil {
					docs, _ := load.ParseYAML(sfs.display(abs), data, lim)
					s.patches = append(s.patches, docs...)
				}
			}
			break
		}
	}
	return s
}

// locate gives the nodes of a built object the positions they have in
// the file they were written in, where the built value is the one
// written there; a strategic-merge patch that sets the value wins over
// the resource file. Fields a transformer changed keep no position.
func (s *sourceIndex) locate(doc *load.Document, file, kind, name string) {
	n := doc.Node
	docs, ok := s.files[file]
	if !ok {
		if data, err := os.ReadFile(file); err == nil {
			docs, _ = load.ParseYAML(file, data, s.lim)
		}
		s.files[file] = docs
	}
	if d := match(docs, kind, name); d != nil {
		copyPositions(n, d.Node, nil, "")
	}
	for i := range s.patches {
		if p := &s.patches[i]; p.File != file && match(s.patches[i:i+1], kind, name) != nil {
			if doc.Files == nil {
				doc.Files = map[*yaml.Node]string{}
			}
			copyPositions(n, p.Node, doc.Files, p.File)
		}
	}
}

// match finds the document of kind whose name the built name holds
// (namePrefix and nameSuffix only add to it), the longest first.
func match(docs []load.Document, kind, name string) *load.Document {
	var best *load.Document
	bestLen := -1
	for i := range docs {
		n := docs[i].Node
		if k := mapValue(n, "kind"); k == nil || k.Value != kind {
			continue
		}
		nm := mapValue(mapValue(n, "metadata"), "name")
		if nm == nil || !strings.Contains(name, nm.Value) || len(nm.Value) <= bestLen {
			continue
		}
		best, bestLen = &docs[i], len(nm.Value)
	}
	return best
}

// copyPositions copies src's positions onto n field by field; a scalar
// takes the position only when it holds the same value. A patch (files
// not nil) replaces positions already set, and records its file for the
// nodes it placed.
func copyPositions(n, src *yaml.Node, files map[*yaml.Node]string, file string) {
	if n == nil || src == nil || n.Kind != src.Kind {
		return
	}
	set := func(dst, from *yaml.Node) {
		if files != nil && (dst.Kind == yaml.ScalarNode || dst.Line == 0) {
			dst.Line, dst.Column = from.Line, from.Column
			files[dst] = file
		} else if dst.Line == 0 {
			dst.Line, dst.Column = from.Line, from.Column
		}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == src.Value {
			set(n, src)
		}
	case yaml.MappingNode:
		set(n, src)
		for i := 0; i+1 < len(n.Content); i += 2 {
			for j := 0; j+1 < len(src.Content); j += 2 {
				if src.Content[j].Value == n.Content[i].Value {
					set(n.Content[i], src.Content[j])
					copyPositions(n.Content[i+1], src.Content[j+1], files, file)
					break
				}
			}
		}
	case yaml.SequenceNode:
		set(n, src)
		for i, el := range n.Content {
			if name := mapValue(el, "name"); name != nil {
				for _, s := range src.Content {
					if sn := mapValue(s, "name"); sn != nil && sn.Value == name.Value {
						copyPositions(el, s, files, file)
						break
					}
				}
				continue
			}
			if i < len(src.Content) {
				copyPositions(el, src.Content[i], files, file)
			}
		}
	}
}

// forget clears every position of a tree: positions in generated text
// would point to lines that exist in no file.
func forget(n *yaml.Node) {
	n.Line, n.Column = 0, 0
	for _, c := range n.Content {
		forget(c)
	}
}
