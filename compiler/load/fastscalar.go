package load

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// The scalars and flow sequences of the fast path (see fastyaml.go).

// quoted reads a quoted scalar at the start of s that closes on the same
// line; ok is false otherwise.
func quoted(s string) (v string, end int, ok bool) {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && q == '"':
			return quotedSlow(s)
		case c == q:
			if q == '\'' && i+1 < len(s) && s[i+1] == '\'' {
				return quotedSlow(s)
			}
			return s[1:i], i + 1, true
		}
	}
	return "", 0, false
}

// quotedSlow handles quoted scalars with escapes: ” in single quotes,
// and the common backslash escapes in double quotes.
func quotedSlow(s string) (string, int, bool) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case q == '\'' && c == '\'':
			if i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			return b.String(), i + 1, true
		case q == '"' && c == '"':
			return b.String(), i + 1, true
		case q == '"' && c == '\\':
			if i+1 >= len(s) {
				return "", 0, false
			}
			i++
			switch s[i] {
			case '"', '\\':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				return "", 0, false
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

// flowSequence reads a one-line flow sequence of scalars, "[a, "b", 1]".
func (p *fastParser) flowSequence(l *fastLine, off int) (*yaml.Node, int) {
	s := l.s[off:]
	n := p.node(yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: l.num, Column: l.col(off)})
	mark := len(p.stack)
	i := 1
	for {
		i += countSpaces(s[i:])
		if i >= len(s) {
			fail()
		}
		if s[i] == ']' {
			if len(p.stack) > mark && s[i-1-countSpacesBack(s[:i])] == ',' {
				fail() // a trailing comma: leave it to yaml.v3
			}
			n.Content = p.children(mark)
			return n, i + 1
		}
		item := p.node(yaml.Node{Kind: yaml.ScalarNode, Line: l.num, Column: l.col(off + i)})
		switch s[i] {
		case '"', '\'':
			v, e, ok := quoted(s[i:])
			if !ok {
				fail()
			}
			item.Tag, item.Value = "!!str", v
			item.Style = yaml.DoubleQuotedStyle
			if s[i] == '\'' {
				item.Style = yaml.SingleQuotedStyle
			}
			i += e
		case '[', ']', '{', '}', ',', '#', '&', '*', '!', '|', '>', '%', '@', '`', '?', ':', '-':
			fail()
		default:
			j := i
			for j < len(s) && s[j] != ',' && s[j] != ']' {
				if !flowSafe(s[j]) {
					fail() // flow plain scalars have rules of their own
				}
				j++
			}
			item.Value = strings.TrimRight(s[i:j], " ")
			item.Tag = p.resolve(item.Value)
			i = j
		}
		p.stack = append(p.stack, item)
		i += countSpaces(s[i:])
		if i >= len(s) {
			fail()
		}
		switch s[i] {
		case ',':
			i++
		case ']':
		default:
			fail()
		}
	}
}

func countSpacesBack(s string) int { return len(s) - len(strings.TrimRight(s, " ")) }

// literal reads a "|" or "|-" block scalar whose header is at l.s[off].
func (p *fastParser) literal(l *fastLine, off, parent int) *yaml.Node {
	n := p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.LiteralStyle, Line: l.num, Column: l.col(off)})
	h := l.s[off+1:]
	strip := false
	if strings.HasPrefix(h, "-") {
		strip, h = true, h[1:]
	}
	if !emptyRest(h) || h != "" && h[0] != ' ' {
		fail() // keep (+), explicit indentation, or junk
	}
	p.i++
	indent := -1
	var b strings.Builder
	trailing := 0 // empty lines not yet written
	last := -1    // the last content line
	for ; p.i < len(p.lines); p.i++ {
		ln := &p.lines[p.i]
		if strings.TrimLeft(ln.s, " ") == "" {
			if indent >= 0 && len(ln.s) > indent || indent < 0 && len(ln.s) > parent+1 {
				fail() // spaces that would be content, or fix the indentation
			}
			trailing++
			continue
		}
		if indent < 0 {
			if ln.start <= parent {
				break
			}
			indent = ln.start
			if trailing > 0 {
				fail() // leading empty lines: leave them to yaml.v3
			}
		}
		if ln.start < indent {
			break
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		for ; trailing > 0; trailing-- {
			b.WriteByte('\n')
		}
		b.WriteString(ln.s[indent:])
		last = p.i
	}
	// Clipping keeps the content's final line break, if it has one.
	if last >= 0 && !strip && (last < len(p.lines)-1 || p.finalNL) {
		b.WriteByte('\n')
	}
	n.Value = b.String()
	if p.i < len(p.lines) && p.lines[p.i].start > parent && !p.lines[p.i].blank() {
		fail()
	}
	return n
}

// numberish reports whether v could be an int, float or timestamp to
// yaml.v3: "100m", "128Mi" and "25%" cannot, having other characters.
func numberish(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || strings.IndexByte("xXoO_+-.:tTzZ ", c) >= 0) {
			return false
		}
	}
	return true
}

// resolve is yaml.v3's tag for a plain scalar. The common cases are
// decided here; the rest (octal, floats, timestamps, ...) are asked of
// yaml.v3 itself, once per distinct value.
func (p *fastParser) resolve(v string) string {
	if v == "" {
		return "!!null"
	}
	if v == "<<" {
		fail() // the merge key's tag, wherever it stands
	}
	switch v[0] {
	case '+', '-', '.', '~', 'y', 'Y', 'n', 'N', 't', 'T', 'f', 'F', 'o', 'O',
		'0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
	default:
		return "!!str"
	}
	switch v {
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return "!!bool"
	case "~", "null", "Null", "NULL":
		return "!!null"
	}
	if v == "0" {
		return "!!int"
	}
	if v[0] >= '1' && v[0] <= '9' && len(v) < 19 {
		digits := true
		for i := 1; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				digits = false
				break
			}
		}
		if digits {
			return "!!int"
		}
	}
	if !numberish(v) {
		return "!!str"
	}
	if t, ok := p.tags[v]; ok {
		return t
	}
	if p.tags == nil {
		p.tags = map[string]string{}
	}
	var n yaml.Node
	t := "!!str"
	if yaml.Unmarshal([]byte(v), &n) == nil && len(n.Content) == 1 && n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Value == v {
		t = n.Content[0].Tag
	} else {
		fail()
	}
	if t == "!!merge" {
		fail()
	}
	p.tags[v] = t
	return t
}

// flowSafe is a character that a plain scalar inside a flow sequence may
// hold without raising any of YAML's flow-context rules.
func flowSafe(c byte) bool {
	return c >= 0x80 || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(" ._/=+-", c) >= 0
}
