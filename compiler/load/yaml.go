package load

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
)

// ParseYAML reads a YAML stream (JSON is YAML) that did not come from a
// file of the tree, such as a renderer's output, under the same budgets
// as a file: its size, and each document's alias expansion and encoded
// size. file names it in diagnostics.
func ParseYAML(file string, data []byte, lim budget.Limits) ([]Document, []diag.Diagnostic) {
	return NewParser(lim).Parse(file, data)
}

// Parser is ParseYAML for many small streams, such as the objects of one
// render: their nodes share allocations (a stream parsed on its own
// takes a chunk of a thousand nodes, and its documents keep all of it).
// A Parser is not safe for concurrent use.
type Parser struct {
	lim budget.Limits
	a   arena
}

// NewParser returns a Parser that holds streams to lim.
func NewParser(lim budget.Limits) *Parser { return &Parser{lim: lim} }

// Parse is ParseYAML of one stream.
func (p *Parser) Parse(file string, data []byte) ([]Document, []diag.Diagnostic) {
	if err := p.lim.Check(budget.FileBytes, file, int64(len(data))); err != nil {
		d, _ := budgetDiag(file, err)
		return nil, []diag.Diagnostic{d}
	}
	out := parseYAMLLimited(file, data, &p.a, p.lim)
	return out.docs, out.diags
}

// parseYAML reads a YAML stream with the default budgets.
func parseYAML(file string, data []byte, a *arena) parsed {
	return parseYAMLLimited(file, data, a, budget.Limits{})
}

// parseYAMLLimited reads a YAML stream (JSON is YAML) into documents.
// The stream is cut at its "---" lines first and each part parsed on its
// own: a syntax error then costs one document, not the rest of the file
// (the yaml.v3 decoder cannot resume after an error). Each document is
// then held to the per-object budgets.
func parseYAMLLimited(file string, data []byte, a *arena, lim budget.Limits) parsed {
	var out parsed
	// One copy of the file as a string: the fast path's values are
	// substrings of it.
	text := string(data)
	tags := map[string]string{}
	var textLen []int
	for i, part := range splitDocuments(text) {
		doc, d, fast, ok := parseDocument(file, i, part, tags, a)
		if d != nil {
			out.diags = append(out.diags, *d)
		}
		if ok {
			out.docs = append(out.docs, doc)
			// Only the fast path's documents are known to hold no alias.
			n := 0
			if fast {
				n = len(part.text)
			}
			textLen = append(textLen, n)
		}
	}
	var more []diag.Diagnostic
	out.docs, more = checkDocuments(out.docs, textLen, lim)
	out.diags = append(out.diags, more...)
	return out
}

// chunk is one document's text and the 0-based line it starts on.
type chunk struct {
	text string
	line int
}

// splitDocuments cuts data before every line that starts with the "---"
// document marker. YAML forbids that marker at the start of a line inside
// any scalar, so the cut never splits a value.
func splitDocuments(data string) []chunk {
	var out []chunk
	start, startLine, line := 0, 0, 0
	for off := 0; off < len(data); {
		end := strings.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		if off > start && isMarker(data[off:next]) {
			out = append(out, chunk{data[start:off], startLine})
			start, startLine = off, line
		}
		off = next
		line++
	}
	return append(out, chunk{data[start:], startLine})
}

func isMarker(line string) bool {
	if !strings.HasPrefix(line, "---") {
		return false
	}
	return len(line) == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\n' || line[3] == '\r'
}

var errLine = regexp.MustCompile(`^yaml: line (\d+): `)

// parseDocument parses one document. ok is false for an empty document
// or a syntax error (then d says where and why); fast says the fast path
// read it.
func parseDocument(file string, index int, c chunk, tags map[string]string, a *arena) (doc Document, d *diag.Diagnostic, fast, ok bool) {
	if n, ok := fastParse(c.text, c.line, tags, a); ok {
		if n == nil {
			return doc, nil, true, false
		}
		return Document{File: file, Index: index, Node: n}, nil, true, true
	}
	var root yaml.Node
	err := unmarshal([]byte(c.text), &root)
	if err != nil {
		return doc, syntaxDiag(file, c, err), false, false
	}
	n := &root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return doc, nil, false, false
		}
		n = n.Content[0]
	}
	if n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return doc, nil, false, false
	}
	if c.line > 0 {
		shift(n, c.line)
	}
	if n.Kind != yaml.MappingNode {
		return doc, &diag.Diagnostic{
			Pos:      diag.Pos{File: file, Line: n.Line, Col: n.Column},
			Severity: diag.Error,
			Rule:     RuleSyntax,
			Message:  fmt.Sprintf("document is a %s, not an object: a manifest is a mapping with apiVersion, kind and metadata", kindName(n)),
		}, false, false
	}
	return Document{File: file, Index: index, Node: n}, nil, false, true
}

// unmarshal shields the caller from a panic inside the YAML parser: bad
// input must become a diagnostic, never a crash.
func unmarshal(data []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: cannot parse: %v", r)
		}
	}()
	return yaml.Unmarshal(data, n)
}

func syntaxDiag(file string, c chunk, err error) *diag.Diagnostic {
	msg := err.Error()
	line := c.line + 1
	if m := errLine.FindStringSubmatch(msg); m != nil {
		if l, err := strconv.Atoi(m[1]); err == nil {
			line = c.line + l
		}
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return &diag.Diagnostic{
		Pos:      diag.Pos{File: file, Line: line, Col: 1},
		Severity: diag.Error,
		Rule:     RuleSyntax,
		Message:  "YAML syntax error: " + msg,
	}
}

// shift moves every node of a document that started on line off+1.
func shift(n *yaml.Node, off int) {
	n.Line += off
	for _, c := range n.Content {
		shift(c, off)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "scalar"
}
