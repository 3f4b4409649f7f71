package schema

import (
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// FieldTable renders every supported field of every kind as markdown, for
// the README. Definitions used by several kinds (the pod template, object
// metadata) get a section of their own, which the kinds' tables refer to.
func (s *Set) FieldTable() string {
	shared := s.sharedDefs()
	var b strings.Builder
	b.WriteString("Every kind berth accepts and every field it supports; any other field is an error (a warning with `--allow-unknown-fields`). `berth schema KIND` prints the CUE definitions.\n")
	for _, k := range s.list {
		kd := s.kinds[k.APIVersion+"/"+k.Kind]
		fmt.Fprintf(&b, "\n### %s (`%s`)\n\n", k.Kind, k.APIVersion)
		s.table(&b, kd.n, shared, kd.def)
	}
	names := make([]string, 0, len(shared))
	for name := range shared {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&b, "\n### %s\n\n", strings.TrimPrefix(name, "#"))
		s.table(&b, s.comp.memo[name], shared, name)
	}
	return b.String()
}

// sharedDefs are the struct definitions reachable from two kinds or more.
func (s *Set) sharedDefs() map[string]bool {
	count := map[string]int{}
	for _, k := range s.list {
		seen := map[string]bool{}
		var visit func(def string)
		visit = func(def string) {
			for r := range s.comp.refs[def] {
				if !seen[r] {
					seen[r] = true
					visit(r)
				}
			}
		}
		visit(s.kinds[k.APIVersion+"/"+k.Kind].def)
		for d := range seen {
			count[d]++
		}
	}
	shared := map[string]bool{}
	for d, c := range count {
		n := s.comp.memo[d]
		private := len(d) > 1 && d[1] >= 'a' && d[1] <= 'z'
		if c >= 2 && !private && len(unionFields(n)) >= 3 {
			shared[d] = true
		}
	}
	return shared
}

type tableRow struct{ path, typ, dflt, req, node string }

func (s *Set) table(b *strings.Builder, n *node, shared map[string]bool, self string) {
	var rows []tableRow
	var walk func(prefix string, n *node)
	walk = func(prefix string, n *node) {
		var oneOf []string
		if n.typ == nOr {
			oneOf = exclusiveRequired(n)
		}
		for _, f := range unionFields(n) {
			p := prefix + f.name
			row := tableRow{path: p, typ: describeNode(f.n), dflt: describeDefault(f), req: "", node: f.nodeText}
			if len(f.n.unsupported) > 0 {
				row.typ += " (Kubernetes also accepts " + f.n.unsupportedList() + ": not supported by berth)"
			}
			switch {
			case slices.Contains(oneOf, f.name):
				row.req = "one of"
			case f.required:
				row.req = "yes"
			}
			inner := f.n
			if inner.typ == nList {
				inner = inner.elem
				p += "[]"
			}
			if inner.def != "" && shared[inner.def] && inner.def != self {
				row.typ += fmt.Sprintf(" (see [%s](#%s))", strings.TrimPrefix(inner.def, "#"), strings.ToLower(strings.TrimPrefix(inner.def, "#")))
				rows = append(rows, row)
				continue
			}
			rows = append(rows, row)
			if len(unionFields(inner)) > 0 {
				walk(p+".", inner)
			}
			for _, pf := range inner.patterns {
				if len(unionFields(pf.val)) > 0 {
					walk(p+".*.", pf.val)
				}
			}
		}
	}
	walk("", n)
	// The column of what a field does on a node is there when a field of
	// the table says something.
	if slices.ContainsFunc(rows, func(r tableRow) bool { return r.node != "" }) {
		b.WriteString("| Field | Type | Default | Required | On a berth node |\n|---|---|---|---|---|\n")
		for _, r := range rows {
			fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s |\n", r.path, mdEscape(r.typ), mdEscape(r.dflt), r.req, mdEscape(r.node))
		}
		return
	}
	b.WriteString("| Field | Type | Default | Required |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", r.path, mdEscape(r.typ), mdEscape(r.dflt), r.req)
	}
}

// unionFields are the fields of a struct, or of every struct alternative
// of a disjunction, in declaration order without repeats.
func unionFields(n *node) []*field {
	switch n.typ {
	case nStruct:
		return n.fields
	case nOr:
		var out []*field
		seen := map[string]int{}
		for ai, a := range n.alts {
			if a.typ != nStruct {
				continue
			}
			for _, f := range a.fields {
				i, ok := seen[f.name]
				if !ok {
					seen[f.name] = len(out)
					out = append(out, f)
					continue
				}
				// A discriminator (type: "Recreate" | "RollingUpdate"):
				// show the values of every alternative.
				prev := out[i]
				if f.n.lit == nil || prev.n.typ != nOr && prev.n.lit == nil {
					continue
				}
				merged := &field{name: f.name, n: &node{typ: nOr, dflt: -1}}
				if prev.n.typ == nOr {
					merged.n.alts = append(merged.n.alts, prev.n.alts...)
					merged.n.dflt = prev.n.dflt
				} else {
					merged.n.alts = append(merged.n.alts, prev.n)
				}
				if ai == n.dflt {
					merged.n.dflt = len(merged.n.alts)
				}
				merged.n.alts = append(merged.n.alts, f.n)
				out[i] = merged
			}
		}
		return out
	}
	return nil
}

func describeDefault(f *field) string {
	switch {
	case f.pullPol:
		return "Always for an untagged or :latest image, else IfNotPresent"
	case f.dfltText != "":
		return f.dfltText
	case f.n.typ == nOr && f.n.dflt >= 0 && f.n.alts[f.n.dflt].sibling != "":
		return "the value of " + f.n.alts[f.n.dflt].sibling
	case f.required || f.optional:
		return ""
	}
	if l := f.n.defaultLit(); l != nil {
		if f.omitEmpty {
			// The API server defaults Go's zero value too.
			zero := "0"
			if l.kind == kString {
				zero = `""`
			}
			return l.String() + " (also for " + zero + ")"
		}
		return l.String()
	}
	return ""
}

func describeNode(n *node) string {
	switch n.typ {
	case nAny:
		return "any"
	case nList:
		s := "list of " + describeNode(n.elem)
		if n.minItems > 0 {
			s = "non-empty " + s
		}
		return s
	case nStruct:
		if len(n.fields) == 0 && len(n.patterns) == 1 {
			return "map of " + describeNode(n.patterns[0].key) + " to " + describeNode(n.patterns[0].val)
		}
		return "object"
	case nOr:
		var parts []string
		var exclusive []string
		for i, a := range n.alts {
			if a.sibling != "" {
				continue // shown as the default
			}
			if i == n.dflt && a.lit != nil && len(n.alts) > 1 && n.alts[len(n.alts)-1].lit == nil {
				continue // the default is shown in its own column
			}
			if a.typ == nStruct {
				for _, f := range a.fields {
					if f.required && n.keyAlts[f.name] != n.structAlts {
						exclusive = append(exclusive, "`"+f.name+"`")
					}
				}
				continue
			}
			parts = append(parts, describeNode(a))
		}
		if n.structAlts != 0 {
			if len(exclusive) >= bits.OnesCount64(n.structAlts) {
				parts = append(parts, "object with one of "+strings.Join(exclusive, ", "))
			} else {
				parts = append(parts, "object")
			}
		}
		if n.def != "" && len(parts) > 1 && n.structAlts == 0 && n.alts[0].lit == nil {
			return strings.TrimPrefix(n.def, "#")
		}
		return strings.Join(parts, " \\| ")
	}
	// nScalar
	if n.lit != nil {
		return n.lit.String()
	}
	if n.def != "" && (len(n.regexes) > 0 || len(n.checks) > 0) {
		return strings.TrimPrefix(n.def, "#")
	}
	var s string
	switch {
	case n.kinds == kString:
		s = "string"
	case n.kinds == kInt:
		s = "integer"
	case n.kinds&kNumber == kNumber:
		s = "number"
	case n.kinds == kBool:
		s = "boolean"
	default:
		s = n.kinds.describe()
	}
	if n.min != nil || n.max != nil {
		s += " " + rangeText(n.min, n.max)
	}
	for _, p := range n.regexes {
		if p.desc != "" {
			s += ", " + p.desc
		} else {
			s += ", matching " + strconv.Quote(p.src)
		}
	}
	for _, l := range n.notEq {
		if l.kind == kString && l.s == "" {
			s += ", not empty"
		}
	}
	return s
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\\\\|", "\\|")
}
