package load

import (
	"io"
	"math"
	"os"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
)

// minAliasBase is the document size, in nodes, that the alias-expansion
// ratio applies to at least: a small document may reuse an anchor often
// (16 Ki expanded nodes cost the schema walk under a millisecond).
const minAliasBase = 1024

// readLimited reads a file or stdin, refusing more than the file-size
// budget even when the file grows after its size was counted (or has no
// size: stdin, a pipe).
func readLimited(r io.Reader, where string, lim budget.Limits) ([]byte, error) {
	max := lim.Get(budget.FileBytes)
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, &budget.Exceeded{Limit: budget.FileBytes, Where: where, Got: int64(len(data)), Max: max}
	}
	return data, nil
}

func readFileLimited(path, where string, lim budget.Limits) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	max := lim.Get(budget.FileBytes)
	size := int64(0)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	if size > max {
		return nil, &budget.Exceeded{Limit: budget.FileBytes, Where: where, Got: size, Max: max}
	}
	// One allocation of the file's size (as os.ReadFile), and a read
	// that stops past the budget if the file grew meanwhile.
	data := make([]byte, 0, size+512)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := f.Read(data[len(data):min(cap(data), int(max)+1)])
		data = data[:len(data)+n]
		if int64(len(data)) > max {
			return nil, &budget.Exceeded{Limit: budget.FileBytes, Where: where, Got: int64(len(data)), Max: max}
		}
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// checkDocuments applies the per-object budgets to the documents of one
// file (YAML alias expansion, then the encoded size) and drops those
// that exceed one, with a diagnostic each. textLen is the source size
// of each document (0: unknown, always measured).
func checkDocuments(docs []Document, textLen []int, lim budget.Limits) ([]Document, []diag.Diagnostic) {
	var diags []diag.Diagnostic
	kept := docs[:0]
	for i, d := range docs {
		n := 0
		if i < len(textLen) {
			n = textLen[i]
		}
		if err := checkDocument(d.Node, n, lim); err != nil {
			diags = append(diags, exceededDiag(d, err))
			continue
		}
		kept = append(kept, d)
	}
	return kept, diags
}

func exceededDiag(d Document, err *budget.Exceeded) diag.Diagnostic {
	err.Where = d.File
	return err.Diagnostic(diag.Pos{File: d.File, Line: d.Node.Line, Col: d.Node.Column})
}

// checkDocument measures one document: how many nodes its aliases expand
// it to, and the size of its JSON encoding (aliases expanded, as the API
// server would receive it). Both are computed with each anchored value
// measured once, so the cost is linear in the document as written even
// for an alias bomb. textLen is given for documents known to hold no
// alias (the fast path's): one of textLen bytes cannot encode to more
// than 8 times its text (quotes, separators and escapes cost at most
// that), so small ones are not walked at all.
func checkDocument(n *yaml.Node, textLen int, lim budget.Limits) *budget.Exceeded {
	maxBytes := lim.Get(budget.ObjectBytes)
	if textLen > 0 && int64(textLen)*8 <= maxBytes {
		return nil
	}
	return measureDocument(n, lim, &measurer{memo: map[*yaml.Node]cost{}})
}

func measureDocument(n *yaml.Node, lim budget.Limits, m *measurer) *budget.Exceeded {
	maxBytes := lim.Get(budget.ObjectBytes)
	written := countWritten(n)
	c := m.measure(n)
	ratio := lim.Get(budget.AliasExpansion)
	base := max(written, minAliasBase)
	if c.nodes > base*ratio {
		return &budget.Exceeded{Limit: budget.AliasExpansion, Got: c.nodes / base, Max: ratio}
	}
	if c.bytes > maxBytes {
		return &budget.Exceeded{Limit: budget.ObjectBytes, Got: c.bytes, Max: maxBytes}
	}
	return nil
}

// cost is what a node expands to. Sums saturate: a bomb's true size does
// not fit in an int64.
type cost struct{ nodes, bytes int64 }

func (c cost) add(o cost) cost { return cost{satAdd(c.nodes, o.nodes), satAdd(c.bytes, o.bytes)} }

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

type measurer struct {
	memo map[*yaml.Node]cost
	// visits counts the nodes measured, for the tests that show the cost
	// is linear in the document as written.
	visits int
}

// inProgress marks an anchor being measured: an alias back to it is a
// cycle, which expands without end.
var inProgress = cost{-1, -1}

func (m *measurer) measure(n *yaml.Node) cost {
	if n == nil {
		return cost{}
	}
	m.visits++
	if n.Kind == yaml.AliasNode {
		t := n.Alias
		if t == nil {
			return cost{1, 4}
		}
		if c, ok := m.memo[t]; ok {
			if c == inProgress {
				return cost{math.MaxInt64, math.MaxInt64}
			}
			return c
		}
		m.memo[t] = inProgress
		c := m.measure(t)
		m.memo[t] = c
		return c
	}
	c := cost{nodes: 1}
	switch n.Kind {
	case yaml.ScalarNode:
		c.bytes = scalarJSONSize(n)
	case yaml.MappingNode, yaml.SequenceNode, yaml.DocumentNode:
		// Brackets, and a separator (":" or ",") per child.
		c.bytes = 2 + int64(len(n.Content))
		for _, ch := range n.Content {
			c = c.add(m.measure(ch))
		}
	}
	return c
}

// scalarJSONSize is the length of a scalar in JSON: numbers, booleans and
// null as written, strings quoted with their escapes.
func scalarJSONSize(n *yaml.Node) int64 {
	switch n.ShortTag() {
	case "!!int", "!!float", "!!bool":
		return int64(len(n.Value))
	case "!!null":
		return 4
	}
	size := int64(len(n.Value)) + 2
	for i := 0; i < len(n.Value); i++ {
		switch c := n.Value[i]; {
		case c == '"' || c == '\\':
			size++
		case c < 0x20:
			size += 5 // \u00XX
		}
	}
	return size
}

// countWritten counts the nodes of a document as written, not following
// aliases.
func countWritten(n *yaml.Node) int64 {
	if n == nil {
		return 0
	}
	c := int64(1)
	for _, ch := range n.Content {
		c += countWritten(ch)
	}
	return c
}

// budgetDiag turns a budget refusal about a whole file into a diagnostic.
func budgetDiag(file string, err error) (diag.Diagnostic, bool) {
	ex, ok := err.(*budget.Exceeded)
	if !ok {
		return diag.Diagnostic{}, false
	}
	if ex.Where == "" {
		ex.Where = file
	}
	return ex.Diagnostic(diag.Pos{File: file}), true
}
