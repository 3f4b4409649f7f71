package schema

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// dataKind is the kind of a YAML value by its resolved tag: "8000" quoted
// is a string, 8000 an integer. JSON read as YAML gets the same tags.
func dataKind(n *yaml.Node) kindMask {
	switch n.Kind {
	case yaml.MappingNode:
		return kStruct
	case yaml.SequenceNode:
		return kList
	}
	switch n.Tag {
	case "!!int":
		return kInt
	case "!!float":
		return kFloat
	case "!!bool":
		return kBool
	case "!!null":
		return kNull
	}
	return kString // !!str, !!timestamp, !!binary and custom tags
}

func kindOfData(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return dataKind(n).describe()
	}
	return "a document"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func acceptsNull(nd *node) bool {
	switch nd.typ {
	case nAny:
		return true
	case nScalar:
		return nd.kinds&kNull != 0
	case nOr:
		for _, a := range nd.alts {
			if acceptsNull(a) {
				return true
			}
		}
	}
	return false
}

// failed is what the checks return instead of a message when the caller
// only wants to know whether a value fits (disjunctions, trial mode):
// formatting messages for alternatives that do not apply would dominate
// the cost of validation.
const failed = "!"

// scalar checks a scalar value; it returns "" when it fits, else the
// message (or failed when explain is false).
func (w *walker) scalar(n *yaml.Node, nd *node, explain bool) string {
	if n.Kind != yaml.ScalarNode {
		return w.explain(explain, func() string { return w.typeMsg(n, nd.kinds) })
	}
	k := dataKind(n)
	if nd.kinds&k == 0 {
		if k == kInt && nd.kinds&kFloat != 0 {
			k = kFloat // an integer is a number
		} else {
			return w.explain(explain, func() string { return w.typeMsg(n, nd.kinds) })
		}
	}
	switch k {
	case kString:
		return w.str(n, nd, explain)
	case kInt:
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil {
			return w.explain(explain, func() string { return fmt.Sprintf("%s does not fit in a 64-bit integer", w.show(n)) })
		}
		if nd.lit != nil && (nd.lit.kind != kInt || nd.lit.i != i) {
			return w.explain(explain, func() string { return fmt.Sprintf("%s must be %s", w.show(n), nd.lit) })
		}
		if !nd.fits(i) {
			return w.explain(explain, func() string {
				return fmt.Sprintf("%s does not fit in a %d-bit integer", w.show(n), nd.typeBit)
			})
		}
		return w.numeric(n, nd, float64(i), explain)
	case kFloat:
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			f = math.NaN()
		}
		if nd.lit != nil && (nd.lit.kind&kNumber == 0 || nd.lit.f != f) {
			return w.explain(explain, func() string { return fmt.Sprintf("%s must be %s", w.show(n), nd.lit) })
		}
		return w.numeric(n, nd, f, explain)
	case kBool:
		b := n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
		if nd.lit != nil && (nd.lit.kind != kBool || (nd.lit.i == 1) != b) {
			return w.explain(explain, func() string { return fmt.Sprintf("%s must be %s", w.show(n), nd.lit) })
		}
	case kNull:
		if nd.lit != nil && nd.lit.kind != kNull {
			return w.explain(explain, func() string { return fmt.Sprintf("null must be %s", nd.lit) })
		}
	}
	return w.goChecks(n, nd, explain)
}

func (w *walker) explain(explain bool, msg func() string) string {
	if !explain {
		return failed
	}
	return msg()
}

func (w *walker) numeric(n *yaml.Node, nd *node, f float64, explain bool) string {
	lo, hi := nd.min, nd.max
	if lo != nil && (f < lo.v || lo.exclusive && f == lo.v) || hi != nil && (f > hi.v || hi.exclusive && f == hi.v) || f != f {
		return w.explain(explain, func() string { return fmt.Sprintf("%s is out of range (%s)", w.show(n), rangeText(lo, hi)) })
	}
	for _, l := range nd.notEq {
		if l.kind&kNumber != 0 && l.f == f {
			return w.explain(explain, func() string { return fmt.Sprintf("%s must not be %s", w.show(n), l) })
		}
	}
	return w.goChecks(n, nd, explain)
}

func rangeText(lo, hi *bound) string {
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	switch {
	case lo != nil && hi != nil && !lo.exclusive && !hi.exclusive:
		return num(lo.v) + ".." + num(hi.v)
	case lo != nil && hi != nil:
		return boundText(lo, true) + " and " + boundText(hi, false)
	case lo != nil:
		return boundText(lo, true)
	case hi != nil:
		return boundText(hi, false)
	}
	return "a number"
}

func boundText(b *bound, lower bool) string {
	v := strconv.FormatFloat(b.v, 'f', -1, 64)
	switch {
	case lower && b.exclusive:
		return "greater than " + v
	case lower:
		return "at least " + v
	case b.exclusive:
		return "less than " + v
	}
	return "at most " + v
}

// str checks a string (a value, or the node of a map key) against nd,
// its Go checks included.
func (w *walker) str(n *yaml.Node, nd *node, explain bool) string {
	s := n.Value
	if nd.typ == nAny {
		return ""
	}
	if nd.typ == nOr {
		for _, a := range nd.alts {
			if w.str(n, a, false) == "" {
				return ""
			}
		}
		return w.explain(explain, func() string { return w.quote(s) + " is not allowed here" })
	}
	if nd.typ != nScalar || nd.kinds&kString == 0 {
		return w.explain(explain, func() string {
			return fmt.Sprintf("expected %s, got %s (a string)", nd.kinds.describe(), w.quote(s))
		})
	}
	if nd.lit != nil {
		if nd.lit.kind != kString || nd.lit.s != s {
			return w.explain(explain, func() string { return w.enumMessage(n, nd, []string{nd.lit.String()}) })
		}
		return ""
	}
	for _, p := range nd.regexes {
		if !p.match(s) {
			return w.explain(explain, func() string { return p.message(w.quote(s)) })
		}
	}
	if nd.maxLen >= 0 && len(s) > nd.maxLen && utf8.RuneCountInString(s) > nd.maxLen {
		return w.explain(explain, func() string { return fmt.Sprintf("%s is longer than %d characters", w.quote(s), nd.maxLen) })
	}
	for _, l := range nd.notEq {
		if l.kind == kString && l.s == s {
			return w.explain(explain, func() string {
				if s == "" {
					return "the value must not be empty"
				}
				return fmt.Sprintf("%s must not be %s", w.quote(s), l)
			})
		}
	}
	return w.goChecks(n, nd, explain)
}

func (w *walker) goChecks(n *yaml.Node, nd *node, explain bool) string {
	if len(nd.checks) == 0 || w.noGo {
		return ""
	}
	w.ctx.set, w.ctx.redact = w.set, w.redact
	if w.ctx.cache == nil {
		w.ctx.cache = map[cacheKey]string{}
	}
	for _, c := range nd.checks {
		if msg := c.fn(&w.ctx, n); msg != "" {
			return w.explain(explain, func() string { return msg })
		}
	}
	return ""
}

// typeMsg says what kind was expected and what was found.
func (w *walker) typeMsg(n *yaml.Node, want kindMask) string {
	got := ""
	switch n.Kind {
	case yaml.MappingNode:
		got = "a mapping"
		if want&kList != 0 {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i].Value; strings.HasPrefix(k, "-") && len(k) > 1 {
					got += fmt.Sprintf(` (is a space missing after the dash in "%s"?)`, k)
					break
				}
			}
		}
	case yaml.SequenceNode:
		got = "a list"
	default:
		got = w.show(n) + " (" + strings.TrimPrefix(dataKind(n).describe(), "") + ")"
		if isNull(n) {
			got = "null"
		}
	}
	return fmt.Sprintf("expected %s, got %s", want.describe(), got)
}

func (w *walker) typeErr(n *yaml.Node, want kindMask) { w.fail(n, w.typeMsg(n, want)) }

// show renders a scalar for a message: strings quoted, secrets hidden.
func (w *walker) show(n *yaml.Node) string {
	if w.redact {
		return "the value"
	}
	if dataKind(n) == kString {
		return w.quote(n.Value)
	}
	return n.Value
}

func (w *walker) quote(s string) string {
	if w.redact {
		return "the value"
	}
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return strconv.Quote(s)
}

// fail records a schema error at n (or counts it in trial mode).
func (w *walker) fail(n *yaml.Node, msg string) {
	if w.trial {
		w.hard++
		w.abort = true
		return
	}
	w.viols = append(w.viols, Violation{Node: n, Path: w.pathString(), Message: msg, Rule: "schema"})
}

func (w *walker) report(n *yaml.Node, rule, msg string) {
	w.viols = append(w.viols, Violation{Node: n, Path: w.pathString(), Message: msg, Rule: rule})
}

// pathString renders the current path: a.b[0].c, map keys that are not
// plain words as a["k.x/y"].
func (w *walker) pathString() string {
	var b strings.Builder
	for _, s := range w.path {
		switch {
		case s.idx >= 0:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.idx))
			b.WriteByte(']')
		case s.key && !plainKey(s.name):
			b.WriteString("[")
			b.WriteString(strconv.Quote(s.name))
			b.WriteString("]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.name)
		}
	}
	return b.String()
}

func plainKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// suggest is the declared field closest to an unknown one, or "".
func suggest(name string, nd *node) string {
	best, bestD := "", 3
	if len(name) <= 4 {
		bestD = 2
	}
	lname := strings.ToLower(strings.TrimLeft(name, "-"))
	for _, f := range nd.fields {
		d := editDistance(lname, strings.ToLower(f.name))
		if d < bestD {
			best, bestD = f.name, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// enumMessage explains a value outside an enumeration as the API server's
// field.NotSupported does (`Unsupported value: "Foo": supported values:
// "A", "B"`), or, for a value Kubernetes accepts and berth does not
// implement, says exactly that.
func (w *walker) enumMessage(n *yaml.Node, nd *node, lits []string) string {
	lits = slices.Compact(lits)
	supported := strings.Join(lits, ", ")
	if n.Kind == yaml.ScalarNode && dataKind(n) == kString && nd.isUnsupported(n.Value) {
		return fmt.Sprintf("value %s is valid Kubernetes but not supported by berth (supported: %s)", w.show(n), supported)
	}
	msg := fmt.Sprintf("Unsupported value: %s: supported values: %s", w.show(n), supported)
	if len(nd.unsupported) > 0 {
		msg += fmt.Sprintf(" (Kubernetes also accepts %s, which berth does not support)", nd.unsupportedList())
	}
	return msg
}

// isUnsupported reports whether s is a value Kubernetes accepts here and
// berth does not implement.
func (nd *node) isUnsupported(s string) bool {
	for _, u := range nd.unsupported {
		if p, ok := strings.CutSuffix(u, "*"); ok && strings.HasPrefix(s, p) || u == s {
			return true
		}
	}
	return false
}

// unsupportedList renders the unsupported values for a message or the
// README: "Indexed", "metadata.labels['…']", "HugePages-…".
func (nd *node) unsupportedList() string {
	q := make([]string, len(nd.unsupported))
	for i, u := range nd.unsupported {
		if p, ok := strings.CutSuffix(u, "[*"); ok {
			u = p + "['…']"
		} else if p, ok := strings.CutSuffix(u, "*"); ok {
			u = p + "…"
		}
		q[i] = strconv.Quote(u)
	}
	return strings.Join(q, ", ")
}
