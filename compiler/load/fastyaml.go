package load

import (
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// This file is a fast path for the YAML that manifests are made of: block
// mappings and sequences, single-line plain and quoted scalars, literal
// block scalars and one-line flow sequences. It builds the same node tree
// as yaml.v3 (positions, tags and styles included; comments are dropped,
// nothing in berth reads them) several times faster and with far fewer
// allocations, because values are substrings of the file rather than
// copies and there is no token queue. Anything else (anchors, tags, flow
// mappings, multi-line plain scalars, folded scalars, tabs, syntax
// errors, ...) makes it give up, and the caller parses the document with
// yaml.v3 instead, so that the fast path never decides what YAML means.
// FuzzFastYAML checks that both agree wherever the fast path answers.

// fastParse parses one document whose root is a block mapping. ok is
// false when the text is outside the subset (the caller then uses
// yaml.v3); a nil node with ok means an empty document.
func fastParse(text string, lineOff int) (n *yaml.Node, ok bool) {
	if strings.ContainsAny(text, "\t\r") {
		return nil, false
	}
	defer func() {
		if recover() != nil {
			n, ok = nil, false
		}
	}()
	p := &fastParser{lineOff: lineOff}
	p.split(text)
	p.skipBlank()
	if p.i < len(p.lines) && strings.HasPrefix(p.lines[p.i].s, "---") {
		rest := strings.TrimLeft(p.lines[p.i].s[3:], " ")
		if rest != "" && rest[0] != '#' {
			return nil, false
		}
		p.i++
		p.skipBlank()
	}
	if p.i >= len(p.lines) {
		return nil, true
	}
	l := &p.lines[p.i]
	if l.start != 0 || isSeqEntry(l.content()) {
		return nil, false
	}
	n = p.block(-1)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, false
	}
	p.skipBlank()
	if p.i != len(p.lines) {
		return nil, false
	}
	return n, true
}

// giveUp aborts the fast path; fastParse recovers it.
type giveUp struct{}

func fail() { panic(giveUp{}) }

type fastLine struct {
	s     string // the line without its newline
	num   int    // 1-based line number within the file
	start int    // byte offset of the content still to parse
	ascii bool
}

func (l *fastLine) content() string { return l.s[l.start:] }

// blank is a line with nothing but spaces or a comment.
func (l *fastLine) blank() bool {
	c := strings.TrimLeft(l.s, " ")
	return c == "" || c[0] == '#'
}

// col is the 1-based column of byte offset off; yaml.v3 counts runes.
func (l *fastLine) col(off int) int {
	if l.ascii {
		return off + 1
	}
	return utf8.RuneCountInString(l.s[:off]) + 1
}

type fastParser struct {
	lines   []fastLine
	i       int
	lineOff int
	tags    map[string]string // plain scalar -> tag, for the slow cases
	finalNL bool              // the text ends with a newline
}

func (p *fastParser) split(text string) {
	p.finalNL = strings.HasSuffix(text, "\n")
	p.lines = make([]fastLine, 0, strings.Count(text, "\n")+1)
	for num := p.lineOff + 1; text != ""; num++ {
		s := text
		if j := strings.IndexByte(text, '\n'); j >= 0 {
			s, text = text[:j], text[j+1:]
		} else {
			text = ""
		}
		start := len(s) - len(strings.TrimLeft(s, " "))
		ascii := isASCII(s)
		if !ascii && !printable(s) {
			fail()
		}
		p.lines = append(p.lines, fastLine{s: s, num: num, start: start, ascii: ascii})
	}
}

// isASCII reports whether s is printable ASCII; a control character
// (which YAML rejects) gives up.
func isASCII(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf:
			ascii = false
		case c < 0x20 || c == 0x7f:
			fail()
		}
	}
	return ascii
}

// printable is YAML's set of printable characters (the spec's
// c-printable, as yaml.v3 checks it).
func printable(s string) bool {
	for _, r := range s {
		switch {
		case r == utf8.RuneError, r == 0xFEFF:
			return false
		case r < 0x80:
		case r == 0x85, r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

func (p *fastParser) skipBlank() {
	for p.i < len(p.lines) && p.lines[p.i].blank() {
		p.i++
	}
}

func isSeqEntry(c string) bool { return c != "" && c[0] == '-' && (len(c) == 1 || c[1] == ' ') }

// block parses the node at the current line's content; parent is the
// indentation of the enclosing collection (-1 at the root).
func (p *fastParser) block(parent int) *yaml.Node {
	l := &p.lines[p.i]
	if l.start <= parent {
		fail()
	}
	c := l.content()
	if isSeqEntry(c) {
		return p.sequence(l.start)
	}
	if _, _, ok := p.key(l); ok {
		return p.mapping(l.start)
	}
	return p.inline(l, l.start, parent)
}

func (p *fastParser) mapping(indent int) *yaml.Node {
	first := &p.lines[p.i]
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: first.num, Column: first.col(indent)}
	for {
		p.skipBlank()
		if p.i >= len(p.lines) || p.lines[p.i].start < indent {
			return n
		}
		l := &p.lines[p.i]
		if l.start > indent || isSeqEntry(l.content()) {
			fail()
		}
		k, rest, ok := p.key(l)
		if !ok {
			fail()
		}
		var v *yaml.Node
		if emptyRest(l.s[rest:]) {
			p.i++
			p.skipBlank()
			switch {
			case p.i < len(p.lines) && p.lines[p.i].start > indent:
				v = p.block(indent)
			case p.i < len(p.lines) && p.lines[p.i].start == indent && isSeqEntry(p.lines[p.i].content()):
				v = p.sequence(indent)
			default:
				v = p.null(l, rest)
			}
		} else {
			v = p.inline(l, rest+countSpaces(l.s[rest:]), indent)
		}
		n.Content = append(n.Content, k, v)
	}
}

func (p *fastParser) sequence(indent int) *yaml.Node {
	first := &p.lines[p.i]
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: first.num, Column: first.col(indent)}
	for {
		p.skipBlank()
		if p.i >= len(p.lines) || p.lines[p.i].start < indent {
			return n
		}
		l := &p.lines[p.i]
		if l.start > indent {
			fail()
		}
		if !isSeqEntry(l.content()) {
			return n // the next key of a mapping at the same indentation
		}
		after := l.start + 1
		if emptyRest(l.s[after:]) {
			p.i++
			p.skipBlank()
			if p.i < len(p.lines) && p.lines[p.i].start > indent {
				n.Content = append(n.Content, p.block(indent))
			} else {
				n.Content = append(n.Content, p.null(l, after))
			}
			continue
		}
		// "- x": the item's content starts after the dash, as if indented.
		l.start = after + countSpaces(l.s[after:])
		n.Content = append(n.Content, p.block(indent))
	}
}

// null is the empty value after a key or dash, where yaml.v3 puts it.
func (p *fastParser) null(l *fastLine, off int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: l.num, Column: l.col(off)}
}

func emptyRest(s string) bool {
	s = strings.TrimLeft(s, " ")
	return s == "" || s[0] == '#' && len(s) > 0
}

func countSpaces(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

// key parses "key:" at the line's content and returns the key node and
// the offset after the colon; ok is false when the line holds no key.
func (p *fastParser) key(l *fastLine) (*yaml.Node, int, bool) {
	c := l.content()
	if c == "" {
		return nil, 0, false
	}
	switch c[0] {
	case '"', '\'':
		v, end, ok := quoted(c)
		if !ok {
			return nil, 0, false
		}
		j := end + countSpaces(c[end:])
		if j >= len(c) || c[j] != ':' || j+1 < len(c) && c[j+1] != ' ' {
			return nil, 0, false
		}
		style := yaml.DoubleQuotedStyle
		if c[0] == '\'' {
			style = yaml.SingleQuotedStyle
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: style, Value: v, Line: l.num, Column: l.col(l.start)}, l.start + j + 1, true
	case '[', ']', '{', '}', ',', '#', '&', '*', '!', '|', '>', '%', '@', '`', '?', ':':
		return nil, 0, false
	}
	if c[0] == '-' && (len(c) == 1 || c[1] == ' ') {
		return nil, 0, false
	}
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case ':':
			if i+1 == len(c) || c[i+1] == ' ' {
				k := strings.TrimRight(c[:i], " ")
				if k == "<<" {
					fail() // merge keys: yaml.v3 decides
				}
				return &yaml.Node{Kind: yaml.ScalarNode, Tag: p.resolve(k), Value: k, Line: l.num, Column: l.col(l.start)}, l.start + i + 1, true
			}
		case '#':
			if c[i-1] == ' ' {
				return nil, 0, false
			}
		}
	}
	return nil, 0, false
}

// inline parses a value that starts on line l at byte off: a scalar, a
// one-line flow sequence, or a literal block scalar. parent is the
// indentation of the enclosing collection; nothing may follow deeper.
func (p *fastParser) inline(l *fastLine, off, parent int) *yaml.Node {
	s := l.s[off:]
	n := &yaml.Node{Kind: yaml.ScalarNode, Line: l.num, Column: l.col(off)}
	var end int
	switch s[0] {
	case '|':
		return p.literal(l, off, parent)
	case '"', '\'':
		v, e, ok := quoted(s)
		if !ok {
			fail()
		}
		n.Tag, n.Value, end = "!!str", v, e
		n.Style = yaml.DoubleQuotedStyle
		if s[0] == '\'' {
			n.Style = yaml.SingleQuotedStyle
		}
	case '[':
		n, end = p.flowSequence(l, off)
	case '{':
		if !strings.HasPrefix(s, "{}") {
			fail()
		}
		n.Kind, n.Tag, n.Style, end = yaml.MappingNode, "!!map", yaml.FlowStyle, 2
	case ']', '}', ',', '#', '&', '*', '!', '>', '%', '@', '`', '?', ':':
		fail()
	default:
		if s[0] == '-' && (len(s) == 1 || s[1] == ' ') {
			fail()
		}
		end = len(s)
		for i := 1; i < len(s); i++ {
			if s[i] == '#' && s[i-1] == ' ' {
				end = i
				break
			}
			if s[i] == ':' && (i+1 == len(s) || s[i+1] == ' ') {
				fail() // a mapping where a scalar must be: a syntax error
			}
		}
		n.Value = strings.TrimRight(s[:end], " ")
		n.Tag = p.resolve(n.Value)
	}
	if !emptyRest(s[end:]) {
		fail()
	}
	p.i++
	p.skipBlank()
	if p.i < len(p.lines) && p.lines[p.i].start > parent {
		fail() // a multi-line plain scalar, or an error
	}
	return n
}

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

// quotedSlow handles quoted scalars with escapes: '' in single quotes,
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
			case '"', '\\', '/':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
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
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: l.num, Column: l.col(off)}
	i := 1
	for {
		i += countSpaces(s[i:])
		if i >= len(s) {
			fail()
		}
		if s[i] == ']' {
			if len(n.Content) > 0 && s[i-1-countSpacesBack(s[:i])] == ',' {
				fail() // a trailing comma: leave it to yaml.v3
			}
			return n, i + 1
		}
		item := &yaml.Node{Kind: yaml.ScalarNode, Line: l.num, Column: l.col(off + i)}
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
				if s[j] == ':' || s[j] == '#' || s[j] == '[' || s[j] == '{' || s[j] == '}' {
					fail()
				}
				j++
			}
			item.Value = strings.TrimRight(s[i:j], " ")
			item.Tag = p.resolve(item.Value)
			i = j
		}
		n.Content = append(n.Content, item)
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
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.LiteralStyle, Line: l.num, Column: l.col(off)}
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

// resolve is yaml.v3's tag for a plain scalar. The common cases are
// decided here; the rest (octal, floats, timestamps, ...) are asked of
// yaml.v3 itself, once per distinct value.
func (p *fastParser) resolve(v string) string {
	if v == "" {
		return "!!null"
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
