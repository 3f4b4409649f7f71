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
// yaml.v3); a nil node with ok means an empty document. tags caches the
// resolution of plain scalars that needed yaml.v3 (one map per file,
// owned by one goroutine; nil is allowed). A bug in the fast path that
// panics costs speed, never a crash: the caller falls back.
func fastParse(text string, lineOff int, tags map[string]string, a *arena) (n *yaml.Node, ok bool) {
	defer func() {
		if recover() != nil {
			n, ok = nil, false
		}
	}()
	return fastParseStrict(text, lineOff, tags, a)
}

// fastParseStrict is fastParse letting through panics other than giving
// up, so that the tests see bugs.
func fastParseStrict(text string, lineOff int, tags map[string]string, a *arena) (n *yaml.Node, ok bool) {
	if strings.ContainsAny(text, "\t\r") {
		return nil, false
	}
	defer func() {
		if r := recover(); r != nil {
			if _, gaveUp := r.(giveUp); !gaveUp {
				panic(r)
			}
			n, ok = nil, false
		}
	}()
	if a == nil {
		a = &arena{}
	}
	p := &fastParser{lineOff: lineOff, tags: tags, arena: a}
	p.split(text)
	p.skipBlank()
	if p.i < len(p.lines) && isMarker(p.lines[p.i].s) {
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
	arena   *arena
	stack   []*yaml.Node // children of the collections being parsed
}

func (p *fastParser) node(n yaml.Node) *yaml.Node {
	a := p.arena
	if len(a.nodes) == cap(a.nodes) {
		a.nodes = make([]yaml.Node, 0, arenaNodes)
	}
	a.nodes = append(a.nodes, n)
	return &a.nodes[len(a.nodes)-1]
}

// children moves the collection's children, stack[mark:], into the arena.
func (p *fastParser) children(mark int) []*yaml.Node {
	src := p.stack[mark:]
	defer func() { p.stack = p.stack[:mark] }()
	a := p.arena
	if len(src) > arenaPtrs/8 {
		return append([]*yaml.Node(nil), src...)
	}
	if cap(a.ptrs)-len(a.ptrs) < len(src) {
		a.ptrs = make([]*yaml.Node, 0, arenaPtrs)
	}
	start := len(a.ptrs)
	a.ptrs = append(a.ptrs, src...)
	// Capacity capped: whoever appends to a Content gets a copy.
	return a.ptrs[start:len(a.ptrs):len(a.ptrs)]
}

// arena allocates nodes and children slices in chunks: one allocation for
// a thousand nodes instead of one each, and no slack from append's
// doubling. Every node of a load lives as long as the documents, so the
// chunks waste nothing but their unused tails. One arena per goroutine.
type arena struct {
	nodes []yaml.Node
	ptrs  []*yaml.Node
}

const (
	arenaNodes = 1024
	arenaPtrs  = 2048
)

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
		if num > p.lineOff+1 && isMarker(s) || strings.HasPrefix(s, "...") && (len(s) == 3 || s[3] == ' ') {
			fail() // a document marker past the first line: yaml.v3 decides
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

// printable reports whether s holds only characters the fast path may
// treat as ordinary: YAML's printable set (c-printable) without the
// characters libyaml reads as line breaks.
func printable(s string) bool {
	for _, r := range s {
		switch {
		case r == utf8.RuneError, r == 0xFEFF, r == 0x85, r == 0x2028, r == 0x2029:
			// Invalid, a byte order mark, or one of the line breaks of
			// YAML 1.1 (NEL, LS, PS) that libyaml honours.
			return false
		case r < 0x80:
		case r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
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
	if _, _, _, ok := key(l); ok {
		return p.mapping(l.start)
	}
	return p.inline(l, l.start, parent)
}

func (p *fastParser) mapping(indent int) *yaml.Node {
	first := &p.lines[p.i]
	n := p.node(yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: first.num, Column: first.col(indent)})
	mark := len(p.stack)
	for {
		p.skipBlank()
		if p.i >= len(p.lines) || p.lines[p.i].start < indent {
			n.Content = p.children(mark)
			return n
		}
		l := &p.lines[p.i]
		if l.start > indent || isSeqEntry(l.content()) {
			fail()
		}
		kv, style, rest, ok := key(l)
		if !ok || kv == "<<" && style == 0 || rest-l.start > 1000 {
			// Not a key, a merge key, or near YAML's 1024-character limit
			// on implicit keys: yaml.v3 decides.
			fail()
		}
		tag := "!!str"
		if style == 0 {
			tag = p.resolve(kv)
		}
		k := p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Style: style, Value: kv, Line: l.num, Column: l.col(l.start)})
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
		p.stack = append(p.stack, k, v)
	}
}

func (p *fastParser) sequence(indent int) *yaml.Node {
	first := &p.lines[p.i]
	n := p.node(yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: first.num, Column: first.col(indent)})
	mark := len(p.stack)
	for {
		p.skipBlank()
		if p.i >= len(p.lines) || p.lines[p.i].start < indent {
			n.Content = p.children(mark)
			return n
		}
		l := &p.lines[p.i]
		if l.start > indent {
			fail()
		}
		if !isSeqEntry(l.content()) {
			// The next key of a mapping at the same indentation.
			n.Content = p.children(mark)
			return n
		}
		after := l.start + 1
		if emptyRest(l.s[after:]) {
			p.i++
			p.skipBlank()
			if p.i < len(p.lines) && p.lines[p.i].start > indent {
				v := p.block(indent)
				p.stack = append(p.stack, v)
			} else {
				p.stack = append(p.stack, p.null(l, after))
			}
			continue
		}
		// "- x": the item's content starts after the dash, as if indented.
		l.start = after + countSpaces(l.s[after:])
		v := p.block(indent)
		p.stack = append(p.stack, v)
	}
}

// null is the empty value after a key or dash, where yaml.v3 puts it.
func (p *fastParser) null(l *fastLine, off int) *yaml.Node {
	return p.node(yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: l.num, Column: l.col(off)})
}

func emptyRest(s string) bool {
	s = strings.TrimLeft(s, " ")
	return s == "" || s[0] == '#' && len(s) > 0
}

func countSpaces(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

// key finds "key:" at the line's content and returns the key, its style
// and the offset after the colon; ok is false when the line holds no key.
func key(l *fastLine) (k string, style yaml.Style, rest int, ok bool) {
	c := l.content()
	if c == "" {
		return "", 0, 0, false
	}
	switch c[0] {
	case '"', '\'':
		v, end, ok := quoted(c)
		if !ok {
			return "", 0, 0, false
		}
		j := end + countSpaces(c[end:])
		if j >= len(c) || c[j] != ':' || j+1 < len(c) && c[j+1] != ' ' {
			return "", 0, 0, false
		}
		style := yaml.DoubleQuotedStyle
		if c[0] == '\'' {
			style = yaml.SingleQuotedStyle
		}
		return v, style, l.start + j + 1, true
	case '[', ']', '{', '}', ',', '#', '&', '*', '!', '|', '>', '%', '@', '`', '?', ':':
		return "", 0, 0, false
	}
	if c[0] == '-' && (len(c) == 1 || c[1] == ' ') {
		return "", 0, 0, false
	}
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case ':':
			if i+1 == len(c) || c[i+1] == ' ' {
				return strings.TrimRight(c[:i], " "), 0, l.start + i + 1, true
			}
		case '#':
			if c[i-1] == ' ' {
				return "", 0, 0, false
			}
		}
	}
	return "", 0, 0, false
}

// inline parses a value that starts on line l at byte off: a scalar, a
// one-line flow sequence, or a literal block scalar. parent is the
// indentation of the enclosing collection; nothing may follow deeper.
func (p *fastParser) inline(l *fastLine, off, parent int) *yaml.Node {
	s := l.s[off:]
	n := p.node(yaml.Node{Kind: yaml.ScalarNode, Line: l.num, Column: l.col(off)})
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
