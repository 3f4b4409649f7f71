package load

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strconv"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/errors"
	cueload "cuelang.org/go/cue/load"
	"cuelang.org/go/cue/token"
	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/diag"
)

// ObjectsField is the top-level field of a CUE package that holds its
// objects: a list of objects, or a struct whose fields are objects (the
// field names are for the author only; order is declaration order).
// Everything else in the package is free for definitions and helpers.
const ObjectsField = "objects"

// parseCUE evaluates the CUE files of one directory as one package and
// converts each object to a YAML node tree that carries CUE positions.
func parseCUE(src source) parsed {
	var out parsed
	display := map[string]string{} // absolute path -> display path
	var args []string
	for i, p := range src.cuePath {
		abs, err := filepath.Abs(p)
		if err != nil {
			out.diags = append(out.diags, ioDiag(src.cue[i], err))
			return out
		}
		display[abs] = src.cue[i]
		display[p] = src.cue[i]
		args = append(args, abs)
	}
	insts := cueload.Instances(args, &cueload.Config{Dir: filepath.Dir(args[0])})
	if len(insts) == 0 {
		return out
	}
	if err := insts[0].Err; err != nil {
		return parsed{diags: cueDiags(src.display, display, err)}
	}
	v := cuecontext.New().BuildInstance(insts[0])
	if err := v.Err(); err != nil {
		return parsed{diags: cueDiags(src.display, display, err)}
	}
	objs := v.LookupPath(cue.MakePath(cue.Str(ObjectsField)))
	if !objs.Exists() {
		// A package without objects holds only definitions: not a manifest.
		return out
	}
	var items []cue.Value
	switch objs.IncompleteKind() {
	case cue.ListKind:
		it, err := objs.List()
		if err != nil {
			return parsed{diags: cueDiags(src.display, display, err)}
		}
		for it.Next() {
			items = append(items, it.Value())
		}
	case cue.StructKind:
		it, err := objs.Fields()
		if err != nil {
			return parsed{diags: cueDiags(src.display, display, err)}
		}
		for it.Next() {
			items = append(items, it.Value())
		}
	default:
		return parsed{diags: []diag.Diagnostic{cueDiag(src.display, display, objs.Pos(),
			fmt.Sprintf("%s must be a list or a struct of objects, not %v", ObjectsField, objs.IncompleteKind()))}}
	}
	index := map[string]int{}
	for _, item := range items {
		if err := item.Validate(cue.Concrete(true)); err != nil {
			out.diags = append(out.diags, cueDiags(src.display, display, err)...)
			continue
		}
		file := fileOf(item, display, src.display)
		n, err := toNode(item, file, display, item.Pos())
		if err != nil {
			out.diags = append(out.diags, cueDiags(src.display, display, err)...)
			continue
		}
		if n.Kind != yaml.MappingNode {
			out.diags = append(out.diags, cueDiag(src.display, display, item.Pos(), "an element of "+ObjectsField+" is not an object"))
			continue
		}
		out.docs = append(out.docs, Document{File: file, Index: index[file], Node: n})
		index[file]++
	}
	return out
}

// fileOf is the file that declares the object's kind: an object may be
// assembled from several files, and its kind is where a reader looks.
func fileOf(item cue.Value, display map[string]string, fallback string) string {
	for _, f := range []string{"kind", "apiVersion"} {
		if p := item.LookupPath(cue.MakePath(cue.Str(f))).Pos(); p.IsValid() {
			if d, ok := display[p.Filename()]; ok {
				return d
			}
		}
	}
	if d, ok := display[item.Pos().Filename()]; ok {
		return d
	}
	return fallback
}

// toNode converts a concrete CUE value to a YAML node. A value written in
// another file than the object's keeps its parent's position, so that no
// diagnostic points at a line of the wrong file.
func toNode(v cue.Value, file string, display map[string]string, parent token.Pos) (*yaml.Node, error) {
	pos := v.Pos()
	if !pos.IsValid() || display[pos.Filename()] != file {
		pos = parent
	}
	n := &yaml.Node{Line: pos.Line(), Column: pos.Column()}
	switch v.Kind() {
	case cue.StructKind:
		n.Kind, n.Tag = yaml.MappingNode, "!!map"
		it, err := v.Fields()
		if err != nil {
			return nil, err
		}
		for it.Next() {
			val, err := toNode(it.Value(), file, display, pos)
			if err != nil {
				return nil, err
			}
			key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: it.Selector().Unquoted(), Line: val.Line, Column: val.Column}
			n.Content = append(n.Content, key, val)
		}
	case cue.ListKind:
		n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
		it, err := v.List()
		if err != nil {
			return nil, err
		}
		for it.Next() {
			val, err := toNode(it.Value(), file, display, pos)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, val)
		}
	case cue.StringKind:
		s, err := v.String()
		if err != nil {
			return nil, err
		}
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!str", s
	case cue.BytesKind:
		b, err := v.Bytes()
		if err != nil {
			return nil, err
		}
		// Bytes become base64, as Secret data and ConfigMap binaryData expect.
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!str", encodeBase64(b)
	case cue.IntKind:
		i, err := v.Int(nil)
		if err != nil {
			return nil, err
		}
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!int", i.String()
	case cue.FloatKind:
		f, err := v.Float64()
		if err != nil {
			return nil, err
		}
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!float", strconv.FormatFloat(f, 'g', -1, 64)
	case cue.BoolKind:
		b, err := v.Bool()
		if err != nil {
			return nil, err
		}
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!bool", strconv.FormatBool(b)
	case cue.NullKind:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!null", "null"
	default:
		return nil, errors.Newf(v.Pos(), "value is not concrete (%v): a manifest needs a concrete value", v.IncompleteKind())
	}
	return n, nil
}

func cueDiags(fallback string, display map[string]string, err error) []diag.Diagnostic {
	var out []diag.Diagnostic
	for _, e := range errors.Errors(err) {
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		if p := e.Path(); len(p) > 0 {
			msg = joinPath(p) + ": " + msg
		}
		pos := e.Position()
		if !pos.IsValid() {
			// Conflicts have no single position; the last input is usually
			// the value the user wrote last, the one to fix.
			if in := e.InputPositions(); len(in) > 0 {
				pos = in[len(in)-1]
			}
		}
		out = append(out, cueDiag(fallback, display, pos, msg))
	}
	return out
}

func joinPath(p []string) string {
	s := ""
	for i, x := range p {
		if i > 0 {
			s += "."
		}
		s += x
	}
	return s
}

func cueDiag(fallback string, display map[string]string, pos token.Pos, msg string) diag.Diagnostic {
	d := diag.Diagnostic{Pos: diag.Pos{File: fallback}, Severity: diag.Error, Rule: RuleCUE, Message: msg}
	if pos.IsValid() {
		if f, ok := display[pos.Filename()]; ok {
			d.File, d.Line, d.Col = f, pos.Line(), pos.Column()
		}
	}
	return d
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
