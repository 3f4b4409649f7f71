package render

import (
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/load"
)

// kustomize builds the kustomization in rt.Dir in the worker (see
// kustbuild.go), and reads what it made into documents placed on the
// lines they were written on.
func (r *Renderer) kustomize(rt load.Root, w *worker) result {
	res := result{kind: "kustomize", source: Source{Kind: "kustomize", Path: rt.Dir}, usedDirs: map[string]bool{}}
	top := absDir(rt.Dir)
	root := r.repoRoot(rt.Top)
	show := func(abs string) string { return display(rt.Dir, top, abs) }
	kfile := rt.Dir
	for _, n := range kustomizationFiles {
		if load.HasFile(rt.Dir, n) {
			kfile = filepath.Join(rt.Dir, n)
			break
		}
	}
	resp, err := w.run(request{Kust: &kustRequest{Root: root, Top: top, Dir: rt.Dir, Limits: r.opts.Budget}})
	if err != nil {
		res.diags = append(res.diags, failed(err, kfile, RuleKustomize, "", "kustomize build"))
		return res
	}
	k := resp.Kust
	for _, d := range k.Dirs {
		if d != top {
			res.usedDirs[d] = true
		}
	}
	switch {
	case len(k.Refused) > 0:
		res.diags = append(res.diags, k.Refused...)
		return res
	case k.Err != "":
		res.diags = append(res.diags, errorAt(kfile, 0, 0, RuleKustomize, "", "kustomize build: %s", k.Err))
		return res
	case k.Exceeded != nil:
		res.diags = append(res.diags, exceeded(k.Exceeded, kfile, ""))
		return res
	}

	src := newSourceIndex(k.Dirs, root, show, r.opts.Budget)
	parser := load.NewParser(r.opts.Budget)
	for _, o := range k.Objects {
		file := kfile
		if o.File != "" {
			file = show(o.File)
		}
		docs, ds := parser.Parse(file, o.YAML)
		res.diags = append(res.diags, ds...)
		for i := range docs {
			docs[i].Index = len(res.docs)
			forget(docs[i].Node)
			if o.Written {
				src.locate(&docs[i], file, o.Kind, o.Name)
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
	parser  *load.Parser
}

func newSourceIndex(dirs []string, root string, show func(string) string, lim budget.Limits) *sourceIndex {
	s := &sourceIndex{files: map[string][]load.Document{}, parser: load.NewParser(lim)}
	for _, dir := range dirs {
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
				if real := resolveExisting(abs); !within(root, real) || strings.ContainsAny(p, "\n") {
					continue
				}
				if data, err := os.ReadFile(abs); err == nil {
					docs, _ := s.parser.Parse(show(abs), data)
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
			docs, _ = s.parser.Parse(file, data)
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
