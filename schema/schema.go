package schema

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
	"gopkg.in/yaml.v3"
)

//go:embed cue/*.cue
var cueFiles embed.FS

// Options tune validation.
type Options struct {
	// AllowUnknownFields reports fields outside the schema as warnings
	// instead of errors (berth lint --allow-unknown-fields).
	AllowUnknownFields bool
}

// Violation is one way an object breaks its schema.
type Violation struct {
	// Node is the offending value; for an unknown field, its key node; for
	// a missing required field, the mapping that lacks it.
	Node *yaml.Node
	// Path is the field path, e.g.
	// spec.template.spec.containers[0].ports[0].containerPort.
	Path string
	// Message says what is wrong, e.g. `70000 is out of range (1..65535)`.
	Message string
	// Rule is "schema", "unknown-field" or "unknown-kind".
	Rule string
	// Warning is true for unknown fields when Options.AllowUnknownFields.
	Warning bool
}

// Kind is an apiVersion and kind berth supports.
type Kind struct{ APIVersion, Kind string }

// Set is the compiled schema of every supported kind. It is immutable and
// safe for concurrent use.
type Set struct {
	kinds   map[string]*kindDef   // apiVersion + "/" + kind
	byLower map[string][]*kindDef // by lower-case kind, for suggestions
	byKind  map[string][]*kindDef
	list    []Kind
	comp    *compiler
	texts   map[string]string // file name -> source, for Source
	files   []*ast.File
	pool    sync.Pool
}

type kindDef struct {
	Kind
	def string
	n   *node
}

var loadOnce = sync.OnceValues(load)

// Load compiles the embedded CUE schemas once; every call returns the same
// Set.
func Load() (*Set, error) { return loadOnce() }

func load() (*Set, error) {
	names, err := fs.Glob(cueFiles, "cue/*.cue")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	srcs := make(map[string][]byte, len(names))
	for _, name := range names {
		src, err := cueFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		srcs[path.Base(name)] = src
	}
	return compileSources(srcs)
}

// compileSources compiles CUE files (by name) into a Set.
func compileSources(srcs map[string][]byte) (*Set, error) {
	names := make([]string, 0, len(srcs))
	for name := range srcs {
		names = append(names, name)
	}
	sort.Strings(names)
	s := &Set{kinds: map[string]*kindDef{}, byLower: map[string][]*kindDef{}, byKind: map[string][]*kindDef{}, texts: map[string]string{}}
	for _, name := range names {
		src := srcs[name]
		f, err := parser.ParseFile(name, src, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("schema: parse %s: %w", name, err)
		}
		s.files = append(s.files, f)
		s.texts[name] = string(src)
	}
	c, err := newCompiler(s.files)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	s.comp = c
	defs := make([]string, 0, len(c.decls))
	for name := range c.decls {
		defs = append(defs, name)
	}
	sort.Strings(defs)
	for _, name := range defs {
		n, err := c.def(name)
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		if err := prepare(n, name); err != nil {
			return nil, err
		}
		av, k := literalField(n, "apiVersion"), literalField(n, "kind")
		if av == "" || k == "" {
			continue
		}
		kd := &kindDef{Kind: Kind{av, k}, def: name, n: n}
		s.kinds[av+"/"+k] = kd
		s.byLower[strings.ToLower(k)] = append(s.byLower[strings.ToLower(k)], kd)
		s.byKind[k] = append(s.byKind[k], kd)
		s.list = append(s.list, kd.Kind)
	}
	sort.Slice(s.list, func(i, j int) bool {
		if s.list[i].Kind != s.list[j].Kind {
			return s.list[i].Kind < s.list[j].Kind
		}
		return s.list[i].APIVersion < s.list[j].APIVersion
	})
	s.pool.New = func() any { return &walker{set: s} }
	return s, nil
}

// prepare indexes disjunctions and rejects schemas the validator cannot
// represent.
func prepare(n *node, def string) error {
	var walk func(n *node) error
	seen := map[*node]bool{}
	walk = func(n *node) error {
		if n == nil || seen[n] {
			return nil
		}
		seen[n] = true
		if n.typ == nStruct && len(n.fields) > 64 {
			return fmt.Errorf("schema: %s: a struct has more than 64 fields", def)
		}
		if n.typ == nOr {
			if len(n.alts) > 64 {
				return fmt.Errorf("schema: %s: a disjunction has more than 64 alternatives", def)
			}
			n.keyAlts = map[string]uint64{}
			for i, a := range n.alts {
				if a.typ != nStruct {
					continue
				}
				n.structAlts |= 1 << i
				if len(a.patterns) > 0 {
					n.openAlts |= 1 << i
				}
				for _, f := range a.fields {
					n.keyAlts[f.name] |= 1 << i
				}
			}
		}
		for _, f := range n.fields {
			if err := walk(f.n); err != nil {
				return err
			}
		}
		for _, p := range n.patterns {
			if err := walk(p.val); err != nil {
				return err
			}
		}
		for _, a := range n.alts {
			if err := walk(a); err != nil {
				return err
			}
		}
		return walk(n.elem)
	}
	return walk(n)
}

// literalField is the string literal value of a struct field, or "".
func literalField(n *node, name string) string {
	if n.typ != nStruct {
		return ""
	}
	i := n.field(name)
	if i < 0 {
		return ""
	}
	if l := n.fields[i].n.lit; l != nil && l.kind == kString {
		return l.s
	}
	return ""
}

// Kinds lists the supported kinds, sorted by kind then apiVersion.
func (s *Set) Kinds() []Kind { return append([]Kind(nil), s.list...) }

// kindNames is "ConfigMap, CronJob, ..." for messages.
func (s *Set) kindNames() string {
	names := make([]string, len(s.list))
	for i, k := range s.list {
		names[i] = k.Kind
	}
	return strings.Join(names, ", ")
}

// Source returns the CUE text of a kind's definition followed by the
// definitions it uses, for `berth schema KIND`. The kind name is matched
// case-insensitively.
func (s *Set) Source(kind string) (string, error) {
	kds := s.byLower[strings.ToLower(kind)]
	if len(kds) == 0 {
		return "", fmt.Errorf("unknown kind %q; berth supports: %s", kind, s.kindNames())
	}
	kd := kds[0]
	order := []string{kd.def}
	seen := map[string]bool{kd.def: true}
	for i := 0; i < len(order); i++ {
		var next []string
		for r := range s.comp.refs[order[i]] {
			if !seen[r] {
				seen[r] = true
				next = append(next, r)
			}
		}
		sort.Strings(next)
		order = append(order, next...)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// %s %s: the fields berth supports. Definitions are closed:\n// any other field is an error.\n\n", kd.APIVersion, kd.Kind.Kind)
	for i, name := range order {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(s.declText(name))
		b.WriteString("\n")
	}
	return b.String(), nil
}

// declText is the source of one top-level definition with its doc comment.
func (s *Set) declText(name string) string {
	fd := s.comp.decls[name]
	start, end := fd.Pos(), fd.End()
	for _, cg := range ast.Comments(fd) {
		if cg.Doc && cg.Pos().Offset() < start.Offset() {
			start = cg.Pos()
		}
	}
	src := s.texts[start.Filename()]
	if src == "" || end.Offset() > len(src) {
		return name
	}
	return src[start.Offset():end.Offset()]
}
