package schema

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// walker validates one object against a compiled node tree. Walkers are
// pooled; a valid object costs no allocation beyond the defaults inserted.
type walker struct {
	set   *Set
	opts  Options
	path  []seg
	viols []Violation
	// trial mode counts errors without recording them or writing
	// defaults; disjunctions use it to find the alternative that fits.
	trial  bool
	abort  bool // trial found a hard error: stop early
	hard   int  // errors that rule an alternative out
	inc    int  // missing required fields (CUE's "incomplete")
	redact bool
	noGo   bool // skip the Go-only checks
	hint   *altHint
	slab   []yaml.Node
	ctx    checkCtx
}

// seg is one step of a field path.
type seg struct {
	name string
	idx  int // -1 for a field
	key  bool
}

// altHint tells the struct walk which disjunction chose it, to explain
// a field that belongs to another alternative.
type altHint struct {
	or   *node
	alt  *node
	disc string // "type is \"Recreate\"", or "" for presence
	data *yaml.Node
	// oneOf lists the fields of which one is required when the data has
	// none: their own "missing" errors are replaced by one message.
	oneOf []string
}

// Validate checks one object, a YAML mapping node, and writes the
// schema's defaults into it in place. Inserted nodes carry the position of
// the mapping they were added to.
func (s *Set) Validate(n *yaml.Node, opts Options) []Violation {
	return s.validate(n, opts, true)
}

// validate is Validate, optionally without the Go-only checks (for the
// differential test against CUE, which does not know them).
func (s *Set) validate(n *yaml.Node, opts Options, goChecks bool) []Violation {
	w := s.pool.Get().(*walker)
	w.opts = opts
	w.noGo = !goChecks
	w.path = w.path[:0]
	w.viols = w.viols[:0]
	w.trial, w.abort, w.hard, w.inc, w.redact, w.hint = false, false, 0, 0, false, nil
	w.object(n)
	var out []Violation
	if len(w.viols) > 0 {
		out = append(out, w.viols...)
		clear(w.viols)
	}
	s.pool.Put(w)
	return out
}

func (w *walker) object(n *yaml.Node) {
	for n != nil && (n.Kind == yaml.DocumentNode && len(n.Content) == 1 || n.Kind == yaml.AliasNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else {
			n = n.Content[0]
		}
	}
	if n == nil || n.Kind == yaml.DocumentNode && len(n.Content) == 0 {
		return // an empty document holds no object
	}
	if n.Kind != yaml.MappingNode {
		w.report(n, "schema", "a manifest must be a mapping with apiVersion and kind, got "+kindOfData(n))
		return
	}
	av, k := mapValue(n, "apiVersion"), mapValue(n, "kind")
	if k == nil || isNull(k) {
		w.report(n, "schema", `required field "kind" is missing`)
		return
	}
	if k.Kind != yaml.ScalarNode {
		w.path = append(w.path, seg{name: "kind", idx: -1})
		w.report(k, "schema", "kind must be a string, got "+kindOfData(k))
		return
	}
	kd := w.set.lookupKind(av, k)
	if kd == nil {
		w.unknownKind(n, av, k)
		return
	}
	w.validate(n, kd.n)
}

func (s *Set) lookupKind(av, k *yaml.Node) *kindDef {
	if av == nil || av.Kind != yaml.ScalarNode {
		return nil
	}
	for _, kd := range s.byKind[k.Value] {
		if kd.Kind.Kind == k.Value && kd.APIVersion == av.Value {
			return kd
		}
	}
	return nil
}

func (w *walker) unknownKind(n, av, k *yaml.Node) {
	kds := w.set.byLower[strings.ToLower(k.Value)]
	var exact *kindDef
	for _, kd := range kds {
		if kd.Kind.Kind == k.Value {
			exact = kd
		}
	}
	switch {
	case exact != nil && (av == nil || isNull(av)):
		w.report(n, "schema", fmt.Sprintf(`required field "apiVersion" is missing (%s is %q)`, exact.Kind.Kind, exact.APIVersion))
	case exact != nil && av.Kind != yaml.ScalarNode:
		w.path = append(w.path, seg{name: "apiVersion", idx: -1})
		w.report(av, "schema", fmt.Sprintf("expected a string, got %s (%s is %q)", kindOfData(av), exact.Kind.Kind, exact.APIVersion))
	case exact != nil:
		w.path = append(w.path, seg{name: "apiVersion", idx: -1})
		w.report(av, "unknown-kind", fmt.Sprintf("apiVersion %q does not serve kind %q; use %q", av.Value, exact.Kind.Kind, exact.APIVersion))
	case len(kds) > 0:
		w.path = append(w.path, seg{name: "kind", idx: -1})
		w.report(k, "unknown-kind", fmt.Sprintf("kind %q is not supported; did you mean %q?", k.Value, kds[0].Kind.Kind))
	default:
		w.path = append(w.path, seg{name: "kind", idx: -1})
		w.report(k, "unknown-kind", fmt.Sprintf("kind %q is not supported by berth; supported kinds: %s", k.Value, w.set.kindNames()))
	}
}

// validate checks n against nd.
func (w *walker) validate(n *yaml.Node, nd *node) {
	n = resolve(n)
	switch nd.typ {
	case nAny:
	case nOr:
		w.or(n, nd)
	case nStruct:
		if n.Kind != yaml.MappingNode {
			w.typeErr(n, kStruct)
			return
		}
		w.structure(n, nd)
	case nList:
		if n.Kind != yaml.SequenceNode {
			w.typeErr(n, kList)
			return
		}
		if len(n.Content) < nd.minItems {
			msg := fmt.Sprintf("at least %d items are required, got %d", nd.minItems, len(n.Content))
			if nd.minItems == 1 {
				msg = "at least one item is required"
			}
			w.fail(n, msg)
		}
		for i, e := range n.Content {
			if w.abort {
				return
			}
			w.path = append(w.path, seg{idx: i})
			w.validate(e, nd.elem)
			w.path = w.path[:len(w.path)-1]
		}
	case nScalar:
		if msg := w.scalar(n, nd, !w.trial); msg != "" {
			w.fail(n, msg)
		}
	}
}

// structure checks a mapping against a closed struct and fills defaults.
func (w *walker) structure(n *yaml.Node, nd *node) {
	hint := w.hint
	w.hint = nil
	if hint != nil && hint.alt != nd {
		hint = nil
	}
	nv, nh := len(w.viols), w.hard
	var seen uint64
	for i := 0; i+1 < len(n.Content); i += 2 {
		if w.abort {
			return
		}
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			w.merge(n, v, nd, &seen, hint)
			continue
		}
		w.pair(n, k, v, nd, &seen, hint)
	}
	if missing := nd.reqMask &^ seen; missing != 0 {
		for i, f := range nd.fields {
			if missing&(1<<i) != 0 && (hint == nil || !slices.Contains(hint.oneOf, f.name)) {
				w.missing(n, f.name)
			}
		}
	}
	if !w.trial {
		w.defaults(n, nd, seen)
	}
	if len(nd.declChk) > 0 && !w.noGo && len(w.viols) == nv && w.hard == nh {
		w.ctx.set, w.ctx.redact = w.set, w.redact
		for _, c := range nd.declChk {
			if msg := c.fn(&w.ctx, n); msg != "" {
				w.fail(n, msg)
			}
		}
	}
}

// merge applies a YAML merge key (<<: *base): its pairs count unless the
// mapping sets the same key itself.
func (w *walker) merge(n, v *yaml.Node, nd *node, seen *uint64, hint *altHint) {
	v = resolve(v)
	var sources []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		sources = []*yaml.Node{v}
	case yaml.SequenceNode:
		for _, s := range v.Content {
			sources = append(sources, resolve(s))
		}
	}
	for _, src := range sources {
		if src.Kind != yaml.MappingNode {
			w.fail(src, "a merge key (<<) needs a mapping, got "+kindOfData(src))
			continue
		}
		for i := 0; i+1 < len(src.Content); i += 2 {
			k := src.Content[i]
			if mapValue(n, k.Value) != nil && !isMergeOnly(n, k.Value) {
				continue
			}
			w.pair(n, k, src.Content[i+1], nd, seen, hint)
		}
	}
}

func isMergeOnly(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i].Tag != "!!merge" {
			return false
		}
	}
	return true
}

func (w *walker) pair(n, k, v *yaml.Node, nd *node, seen *uint64, hint *altHint) {
	if k.Kind != yaml.ScalarNode {
		w.fail(k, "a field name must be a string, got "+kindOfData(k))
		return
	}
	name := k.Value
	if fi := nd.field(name); fi >= 0 {
		f := nd.fields[fi]
		bit := uint64(1) << fi
		if *seen&bit != 0 {
			w.path = append(w.path, seg{name: name, idx: -1})
			w.fail(k, fmt.Sprintf("field %q is given more than once", name))
			w.path = w.path[:len(w.path)-1]
			return
		}
		*seen |= bit
		v = resolve(v)
		if isNull(v) && !acceptsNull(f.n) || f.omitEmpty && !w.noGo && zeroScalar(v, f) {
			switch {
			case f.required:
				w.path = append(w.path, seg{name: name, idx: -1})
				w.missingAt(v, name)
				w.path = w.path[:len(w.path)-1]
			case !f.optional && !w.trial:
				// null means absent: the default replaces it in place.
				if d := w.defaultFor(n, f); d != nil {
					line, col := v.Line, v.Column
					*v = *d
					v.Line, v.Column = line, col
					if d.Kind == yaml.MappingNode {
						w.path = append(w.path, seg{name: name, idx: -1})
						w.validate(v, f.n)
						w.path = w.path[:len(w.path)-1]
					}
				}
			}
			return
		}
		w.path = append(w.path, seg{name: name, idx: -1})
		redact := w.redact
		w.redact = w.redact || f.sensitive
		w.validate(v, f.n)
		w.redact = redact
		w.path = w.path[:len(w.path)-1]
		return
	}
	for _, p := range nd.patterns {
		if w.str(k, p.key, false) == "" {
			w.path = append(w.path, seg{name: name, idx: -1, key: true})
			redact := w.redact
			w.redact = w.redact || p.sensitive
			w.validate(v, p.val)
			w.redact = redact
			w.path = w.path[:len(w.path)-1]
			return
		}
	}
	if len(nd.patterns) > 0 && len(nd.fields) == 0 {
		w.path = append(w.path, seg{name: name, idx: -1, key: true})
		msg := w.str(k, nd.patterns[0].key, true)
		if !strings.HasPrefix(msg, "Invalid value") {
			msg = "key " + msg
		}
		w.fail(k, msg)
		w.path = w.path[:len(w.path)-1]
		return
	}
	w.unknown(k, nd, hint)
}

func (w *walker) unknown(k *yaml.Node, nd *node, hint *altHint) {
	w.path = append(w.path, seg{name: k.Value, idx: -1})
	defer func() { w.path = w.path[:len(w.path)-1] }()
	if w.trial {
		// Even a tolerated unknown field rules an alternative out, so that
		// a field of another alternative is never taken for an unknown one.
		w.hard++
		w.abort = true
		return
	}
	if hint != nil {
		if msg := hint.explain(k.Value); msg != "" {
			w.viols = append(w.viols, Violation{Node: k, Path: w.pathString(), Message: msg, Rule: "schema"})
			return
		}
	}
	msg := fmt.Sprintf("field %q is not supported by berth", k.Value)
	if why, ok := unsupportedWhy[k.Value]; ok {
		msg += ": " + why
	} else if s := suggest(k.Value, nd); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	w.viols = append(w.viols, Violation{Node: k, Path: w.pathString(), Message: msg, Rule: "unknown-field", Warning: w.opts.AllowUnknownFields})
}

// explain says why a field of another alternative is not allowed here.
func (h *altHint) explain(key string) string {
	for _, a := range h.or.alts {
		if a == h.alt || a.typ != nStruct || a.field(key) < 0 {
			continue
		}
		if h.disc != "" {
			return fmt.Sprintf("field %q is not allowed when %s", key, h.disc)
		}
		for i := 0; i+1 < len(h.data.Content); i += 2 {
			other := h.data.Content[i].Value
			if other != key && h.alt.field(other) >= 0 && a.field(other) < 0 {
				return fmt.Sprintf("fields %q and %q cannot both be set", other, key)
			}
		}
	}
	return ""
}

func (w *walker) missing(n *yaml.Node, name string) {
	if w.trial {
		w.inc++
		return
	}
	w.path = append(w.path, seg{name: name, idx: -1})
	w.missingAt(n, name)
	w.path = w.path[:len(w.path)-1]
}

func (w *walker) missingAt(n *yaml.Node, name string) {
	if w.trial {
		w.inc++
		return
	}
	w.viols = append(w.viols, Violation{Node: n, Path: w.pathString(), Message: fmt.Sprintf("required field %q is missing", name), Rule: "schema"})
}

// defaults inserts the schema's defaults for the regular fields n lacks.
func (w *walker) defaults(n *yaml.Node, nd *node, seen uint64) {
	missing := 0
	for i, f := range nd.fields {
		if seen&(1<<i) == 0 && !f.required && !f.optional {
			missing++
		}
	}
	if missing == 0 {
		return
	}
	n.Content = slices.Grow(n.Content, 2*missing) // one allocation, not several
	for i, f := range nd.fields {
		if seen&(1<<i) != 0 || f.required || f.optional {
			continue
		}
		d := w.defaultFor(n, f)
		if d == nil {
			continue
		}
		w.insert(n, f.name, d)
		if d.Kind == yaml.MappingNode {
			w.path = append(w.path, seg{name: f.name, idx: -1})
			w.validate(d, f.n)
			w.path = w.path[:len(w.path)-1]
		}
	}
}

// defaultFor builds the default value of field f of mapping n, or nil: a
// literal, a copy of a sibling, the pull policy for the image, or an empty
// mapping that validate then fills.
func (w *walker) defaultFor(n *yaml.Node, f *field) *yaml.Node {
	switch {
	case f.pullPol:
		img := mapValue(n, "image")
		if img == nil || img.Kind != yaml.ScalarNode {
			return nil
		}
		return w.scalarNode(n, "!!str", defaultPullPolicy(img.Value))
	case f.n.typ == nOr && f.n.dflt >= 0 && f.n.alts[f.n.dflt].sibling != "":
		src := mapValue(n, f.n.alts[f.n.dflt].sibling)
		if src == nil || src.Kind != yaml.ScalarNode {
			return nil
		}
		return w.scalarNode(n, src.Tag, src.Value)
	case f.n.defaultLit() != nil:
		l := f.n.defaultLit()
		return w.scalarNode(n, l.yamlTag(), l.s)
	case f.n.hasStructDefault():
		m := w.newNode()
		*m = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
		return m
	}
	return nil
}

func (w *walker) insert(n *yaml.Node, name string, v *yaml.Node) {
	k := w.scalarNode(n, "!!str", name)
	n.Content = append(n.Content, k, v)
}

func (w *walker) scalarNode(at *yaml.Node, tag, value string) *yaml.Node {
	m := w.newNode()
	*m = yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value, Line: at.Line, Column: at.Column}
	return m
}

// newNode hands out nodes from a shared slab: defaults cost one
// allocation per few hundred nodes. Handed-out nodes are never reused.
func (w *walker) newNode() *yaml.Node {
	if len(w.slab) == cap(w.slab) {
		w.slab = make([]yaml.Node, 0, 256)
	}
	w.slab = w.slab[:len(w.slab)+1]
	return &w.slab[len(w.slab)-1]
}

// zeroScalar reports whether v is the zero value of an omitempty field's
// kind (0 for a number, "" for a string): Kubernetes cannot tell it from
// an absent field, and defaults it.
func zeroScalar(v *yaml.Node, f *field) bool {
	if v.Kind != yaml.ScalarNode {
		return false
	}
	want := kString | kInt
	if l := f.n.defaultLit(); l != nil {
		want = l.kind
	}
	switch v.Tag {
	case "!!int":
		return want&kInt != 0 && (v.Value == "0" || v.Value == "+0" || v.Value == "-0")
	case "!!str":
		return want&kString != 0 && v.Value == ""
	}
	return false
}

// unsupportedWhy says why berth leaves out a field Kubernetes has,
// where the reason is berth's design rather than work not done yet: the
// refusal then tells the user what to do instead. Keyed by field name;
// each name here means one thing wherever it appears.
var unsupportedWhy = map[string]string{
	// A projected volume's source (and the token the ServiceAccount
	// admission plugin would mount): berth has no API server.
	"serviceAccountToken": NoTokenReason,
	// kubectl apply refuses generateName too; a Job is the exception
	// (berth derives its name from its content).
	"generateName": "berth applies objects by name, as kubectl apply does; set metadata.name (a Job may have a generateName: berth names it from its content)",
}

// NoTokenReason is why no service account token reaches a pod on a
// berth node, for every message that says so.
const NoTokenReason = "berth has no API server, so there is no service account token to mount (the pod's serviceAccountName is checked, but no token is mounted)"
