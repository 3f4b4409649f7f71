package render

import (
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// lines.go places a field of a rendered chart object on its template line.
//
// A template is not YAML, but most keys of a chart's templates are
// written literally, at the indentation they render at, with the values
// templated after them (`containerPort: {{ .Values.port }}`). So each
// literal key line gets the path of keys above it by indentation, and a
// rendered field whose key path is the path of exactly one line of its
// template is placed there. Keys that come from elsewhere (include,
// toYaml of values, a range that repeats a line) match no line or more
// than one, and keep no position: a wrong line would be worse than none.

// keyLineRE is a literal key at the start of a line, after an optional
// list dash.
var keyLineRE = regexp.MustCompile(`^(- +)?([A-Za-z0-9_./"'-]+):(\s|$)`)

type keyPos struct{ line, col int }

// templateKeys maps the key paths of one template document to their line;
// a path on two lines maps to line 0.
type templateKeys struct {
	kind string // the document's literal kind, if any
	keys map[string]keyPos
}

// indexTemplate indexes every document of a template's source.
func indexTemplate(src string) []templateKeys {
	var out []templateKeys
	cur := templateKeys{keys: map[string]keyPos{}}
	type frame struct {
		indent int
		key    string
	}
	var stack []frame
	for i, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		if strings.HasPrefix(line, "---") {
			out = append(out, cur)
			cur, stack = templateKeys{keys: map[string]keyPos{}}, nil
			continue
		}
		m := keyLineRE.FindStringSubmatch(trimmed)
		if m == nil {
			continue // a template action, a value line, a comment
		}
		key := strings.Trim(m[2], `"'`)
		if m[1] != "" {
			indent += len(m[1])
		}
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		var path strings.Builder
		for _, f := range stack {
			path.WriteString(f.key)
			path.WriteByte('.')
		}
		path.WriteString(key)
		p := path.String()
		if _, dup := cur.keys[p]; dup {
			cur.keys[p] = keyPos{}
		} else {
			cur.keys[p] = keyPos{line: i + 1, col: indent + 1}
		}
		if p == "kind" {
			cur.kind = strings.TrimSpace(trimmed[len(m[0]):])
		}
		stack = append(stack, frame{indent, key})
	}
	return append(out, cur)
}

// placeOnTemplate gives the fields of a rendered document the lines of
// its template that write them, when the template has one document of
// its kind (or just one document).
func placeOnTemplate(doc *yaml.Node, tmpl []templateKeys) {
	kind := mapValue(doc, "kind")
	var keys map[string]keyPos
	for _, t := range tmpl {
		if len(tmpl) == 1 || (kind != nil && t.kind == kind.Value) {
			if keys != nil {
				return // two documents of this kind: which one is unknown
			}
			keys = t.keys
		}
	}
	if keys == nil {
		return
	}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := prefix + k.Value
				if pos, ok := keys[p]; ok && pos.line > 0 {
					k.Line, k.Column = pos.line, pos.col
					v.Line, v.Column = pos.line, pos.col
				}
				walk(v, p+".")
			}
		case yaml.SequenceNode:
			for _, el := range n.Content {
				walk(el, prefix)
			}
		}
	}
	// The document itself keeps no line: a finding about a field with no
	// place must name the object, not the kind line.
	walk(doc, "")
}
