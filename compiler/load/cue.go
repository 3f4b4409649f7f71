package load

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/gob"
	stderrors "errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/errors"
	cueload "cuelang.org/go/cue/load"
	"cuelang.org/go/cue/token"
	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/budget/isolate"
	"berth.dev/berth/compiler/diag"
)

// ObjectsField is the top-level field of a CUE package that holds its
// objects: a list of objects, or a struct whose fields are objects (the
// field names are for the author only; order is declaration order).
// Everything else in the package is free for definitions and helpers.
const ObjectsField = "objects"

// cueWorker names the child process that evaluates CUE (see isolate).
const cueWorker = "cue"

func init() {
	// A berth process started as the CUE worker evaluates packages until
	// its input ends, and exits here, before main.
	isolate.Serve(cueWorker, (&cueServer{outside: map[string]string{}}).serve)
}

// cueEvaluator hands CUE packages to one worker process, started on first
// use and kept for the next package; each goroutine of Load owns one.
type cueEvaluator struct {
	opts isolate.Options
	s    *isolate.Session
}

func (e *cueEvaluator) run(ctx context.Context, in []byte) ([]byte, error) {
	if e.s == nil {
		s, err := isolate.NewSession(cueWorker, e.opts)
		if err != nil {
			return nil, err
		}
		e.s = s
	}
	out, _, err := e.s.Run(ctx, in)
	return out, err
}

func (e *cueEvaluator) close() {
	if e.s != nil {
		e.s.Close()
	}
}

// cueReadUnion sets each CUE source's readable directories and returns
// them all: the worker processes are confined to the union.
func cueReadUnion(srcs []source) []string {
	seen := map[string]bool{}
	var all []string
	for i := range srcs {
		if srcs[i].format != formatCUE {
			continue
		}
		dirs, err := cueReadDirs(srcs[i].root, filepath.Dir(srcs[i].cuePath[0]))
		if err != nil {
			continue // parseCUE reports it
		}
		srcs[i].cueRead = dirs
		for _, d := range dirs {
			if !seen[d] {
				seen[d] = true
				all = append(all, d)
			}
		}
	}
	return all
}

// cueRequest is what the parent sends the worker.
type cueRequest struct {
	Display string   // the package as shown: its first file
	Files   []string // display paths
	Paths   []string // paths to open
	Read    []string // the directories the evaluation may read
}

// cueResponse is what the worker sends back.
type cueResponse struct {
	Docs  []Document
	Diags []diag.Diagnostic
}

// parseCUE evaluates the CUE files of one directory as one package, in a
// child process held to the evaluation budgets: CUE evaluation cannot be
// interrupted, and a few bytes of CUE can ask for unbounded time or
// memory (strings.Repeat, list.Range). Past a budget the child is killed
// and the error names the package.
func parseCUE(src source, opts Options, ev *cueEvaluator) parsed {
	if src.cueRead == nil {
		dirs, err := cueReadDirs(src.root, filepath.Dir(src.cuePath[0]))
		if err != nil {
			return parsed{diags: []diag.Diagnostic{ioDiag(src.display, err)}}
		}
		src.cueRead = dirs
	}
	req := cueRequest{Display: src.display, Files: src.cue, Paths: src.cuePath, Read: src.cueRead}
	var in bytes.Buffer
	if err := gob.NewEncoder(&in).Encode(req); err != nil {
		return parsed{diags: []diag.Diagnostic{ioDiag(src.display, err)}}
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	out, err := ev.run(ctx, in.Bytes())
	if err != nil {
		if d, ok := budgetDiag(src.display, err); ok {
			return parsed{diags: []diag.Diagnostic{d}}
		}
		return parsed{diags: []diag.Diagnostic{{Pos: diag.Pos{File: src.display}, Severity: diag.Error, Rule: RuleCUE,
			Message: fmt.Sprintf("CUE evaluation failed: %v", err)}}}
	}
	var resp cueResponse
	if err := gob.NewDecoder(bytes.NewReader(out)).Decode(&resp); err != nil {
		return parsed{diags: []diag.Diagnostic{{Pos: diag.Pos{File: src.display}, Severity: diag.Error, Rule: RuleCUE,
			Message: fmt.Sprintf("CUE evaluation: bad answer from the worker: %v (this is a bug in berth)", err)}}}
	}
	docs, diags := checkDocuments(resp.Docs, nil, opts.Limits)
	return parsed{docs: docs, diags: append(resp.Diags, diags...)}
}

// cueServer is the worker's side: decode a request, evaluate, encode.
type cueServer struct {
	// outside caches the link found leading out of each directory set
	// ("" for none), where the kernel cannot confine the worker.
	outside map[string]string
}

func (c *cueServer) serve(in []byte, env isolate.Env) ([]byte, error) {
	var req cueRequest
	if err := gob.NewDecoder(bytes.NewReader(in)).Decode(&req); err != nil {
		return nil, err
	}
	if !env.Confined {
		key := strings.Join(req.Read, "\x00")
		link, ok := c.outside[key]
		if !ok {
			link, _ = linkOutside(req.Read)
			c.outside[key] = link
		}
		if link != "" {
			return encodeCUE(parsed{diags: []diag.Diagnostic{{Pos: diag.Pos{File: req.Display}, Severity: diag.Error, Rule: RuleSymlink,
				Message: fmt.Sprintf("the CUE module holds a symbolic link that leads outside it (%s), and this kernel cannot confine CUE evaluation (no Landlock): remove the link", link)}}})
		}
	}
	return encodeCUE(evalCUE(source{display: req.Display, cue: req.Files, cuePath: req.Paths}))
}

func encodeCUE(p parsed) ([]byte, error) {
	var out bytes.Buffer
	if err := gob.NewEncoder(&out).Encode(cueResponse{Docs: p.docs, Diags: p.diags}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// evalCUE evaluates one package and converts each object to a YAML node
// tree that carries CUE positions. It runs offline: no registry is ever
// asked for a module.
func evalCUE(src source) parsed {
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
	if ds := moduleDeps(filepath.Dir(args[0]), filepath.Dir(src.display)); len(ds) > 0 {
		return parsed{diags: ds}
	}
	insts := cueload.Instances(args, &cueload.Config{
		Dir:      filepath.Dir(args[0]),
		Registry: offlineRegistry{},
		Env:      []string{},
	})
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
		msg := cueMessage(e)
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

// cueMessage is an error's message followed by the messages of the
// errors it wraps, without their positions ("import failed: cannot find
// package ..."): CUE's top message alone is often too terse to act on.
func cueMessage(e errors.Error) string {
	var parts []string
	for u := error(e); u != nil; u = stderrors.Unwrap(u) {
		var m string
		if ce, ok := u.(errors.Error); ok {
			format, args := ce.Msg()
			m = fmt.Sprintf(format, args...)
		} else {
			m = u.Error()
		}
		if m != "" && (len(parts) == 0 || !strings.HasSuffix(parts[len(parts)-1], m)) {
			parts = append(parts, m)
		}
	}
	msg := strings.Join(parts, ": ")
	switch {
	case strings.Contains(msg, "cannot find module providing package"):
		msg += " (berth never downloads CUE modules: vendor the package into cue.mod/pkg/ under its import path)"
	case strings.Contains(msg, "permission denied"):
		// Landlock's refusal (see isolate).
		msg += " (CUE evaluation reads only inside the tree being loaded and its CUE module: a symbolic link that leads outside is not followed)"
	}
	return msg
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
