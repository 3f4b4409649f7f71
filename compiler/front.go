// Package compiler turns a repository's manifests into checked objects
// and, later in the pipeline, into a plan. This file is the front end:
// load, validate against the schemas, decode, and run the checks.
package compiler

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/admit"
	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/check"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/podsecurity"
	"berth.dev/berth/compiler/render"
	"berth.dev/berth/compiler/validate"
	"berth.dev/berth/schema"
)

// Options tune the front end.
type Options struct {
	// Workers validate documents (and load files) in parallel; 0 means
	// runtime.NumCPU(). The results do not depend on it.
	Workers int
	// AllowUnknownFields turns unknown-field errors into warnings.
	AllowUnknownFields bool
	// Standalone checks the files taken alone (berth lint --standalone):
	// references to objects none of them holds are warnings, not errors.
	Standalone bool
	// Exclude holds globs of paths that Lint does not load.
	Exclude []string
	// Stdin is read for the path "-"; nil means os.Stdin.
	Stdin io.Reader
	// Schemas is the compiled schema set; nil means schema.Load(). A
	// long-lived caller (the daemon) loads it once and passes it here.
	Schemas *schema.Set
	// PodSecurity is the Pod Security policy of namespaces without
	// pod-security labels; nil is Kubernetes' default (privileged).
	PodSecurity *podsecurity.Policy
	// Render configures kustomize and Helm rendering (the chart cache, a
	// fetcher for the daemon, budgets); the zero value renders offline.
	Render render.Options
	// Limits are the budgets of reading the input (zero: the defaults).
	Limits budget.Limits
	// Context ends the run's evaluations early (nil: never).
	Context context.Context
}

// Summary counts what a lint run looked at and found.
type Summary struct {
	Objects  int
	Files    int
	Errors   int
	Warnings int
	// Checked lists every document that was checked, in load order, for
	// reports that list passes as well as failures (JUnit).
	Checked []Checked
}

// Checked names one document that was checked.
type Checked struct {
	File       string
	Line       int
	APIVersion string
	Kind       string
	// ID is "Kind namespace/name", as in diag.Diagnostic.Object.
	ID string
}

// RuleDuplicate is the rule of a second object with the same identity.
const RuleDuplicate = "duplicate-object"

// RuleDecode is the rule of a schema-valid document that does not decode
// into its Go type: a mismatch between schema and api types, not a user
// mistake, but reported rather than hidden.
const RuleDecode = "decode"

// Front validates every document against its kind's schema, decodes the
// valid ones into objects and validates each as the API server would
// (compiler/validate), runs the cross-object checks on the whole set,
// then admission (compiler/admit), which mutates the set's pod templates
// as the admission plugins do: the set returned is the admitted one.
// Documents with schema errors are left out of the set, so checks never
// see malformed values; the checks do not report what follows from an
// object already rejected (one mistake, one error). The diagnostics are
// sorted.
func Front(docs []load.Document, opts Options) (*object.Set, []diag.Diagnostic) {
	schemas := opts.Schemas
	if schemas == nil {
		var err error
		if schemas, err = schema.Load(); err != nil {
			return object.NewSet(nil), []diag.Diagnostic{{Severity: diag.Error, Rule: "schema",
				Message: fmt.Sprintf("load the built-in schemas: %v (this is a bug in berth)", err)}}
		}
	}
	type result struct {
		obj      *object.Object
		diags    []diag.Diagnostic
		rejected bool
	}
	results := make([]result, len(docs))
	sopts := schema.Options{AllowUnknownFields: opts.AllowUnknownFields}
	parallel(len(docs), opts.Workers, func(i int) {
		doc := &docs[i]
		var ds []diag.Diagnostic
		failed := false
		for _, v := range schemas.Validate(doc.Node, sopts) {
			ds = append(ds, violation(doc, v))
			failed = failed || !v.Warning
		}
		if !failed {
			obj, err := object.Decode(doc)
			if err != nil {
				ds = append(ds, diag.Diagnostic{Pos: diag.Pos{File: doc.File, Line: doc.Node.Line, Col: doc.Node.Column},
					Severity: diag.Error, Rule: RuleDecode, Object: identify(doc.Node).ID, Message: err.Error()})
			} else {
				for _, d := range validate.Object(obj) {
					ds = append(ds, d)
					failed = failed || d.Severity == diag.Error
				}
			}
			results[i].obj = obj
		}
		results[i].diags = ds
		results[i].rejected = failed
	})

	var diags []diag.Diagnostic
	objs := make([]*object.Object, 0, len(docs))
	var rejected *check.Rejected
	for i, r := range results {
		diags = append(diags, r.diags...)
		if r.obj != nil {
			objs = append(objs, r.obj)
		}
		if r.rejected {
			if rejected == nil {
				rejected = check.NewRejected()
			}
			reject(rejected, docs[i].Node, r.obj)
		}
	}
	set := object.NewSet(objs)
	for _, dup := range set.Duplicates() {
		first := set.Get(dup.Kind, dup.Namespace, dup.Name)
		d := dup.Diag(diag.Error, RuleDuplicate, "metadata.name", "%s is already defined at %s; names must be unique per kind and namespace",
			dup.ID(), first.Pos("metadata.name"))
		diags = append(diags, d)
	}
	templates := admit.Templates(set)
	diags = append(diags, check.Run(set, check.Options{Standalone: opts.Standalone, Rejected: rejected, PodSecurity: opts.PodSecurity, Templates: templates})...)
	// Admission, once: it writes the ServiceAccounts' pull secrets, the
	// priorities and the LimitRange defaults into the templates of set,
	// and the plan is compiled from what it admitted.
	diags = append(diags, admit.Admit(rejected.Admissible(set), templates)...)
	diag.Sort(diags)
	return set, diags
}

// Lint loads paths, runs the front end and, on a clean repository, the
// plan's own passes (lintPlan), and counts. The error is for what stops
// the run (a path that cannot be read); findings in the manifests are
// diagnostics.
func Lint(paths []string, opts Options) ([]diag.Diagnostic, Summary, error) {
	docs, diags, err := loadPaths(paths, &opts)
	if err != nil {
		return diags, Summary{}, err
	}
	diags = append(diags, lintDocs(docs, opts)...)
	diag.Sort(diags)

	s := Summary{Objects: len(docs), Checked: make([]Checked, len(docs))}
	files := map[string]bool{}
	for i := range docs {
		files[docs[i].File] = true
		s.Checked[i] = identify(docs[i].Node)
		s.Checked[i].File = docs[i].File
	}
	for _, d := range diags {
		files[d.File] = true
	}
	s.Files = len(files)
	s.Errors, s.Warnings = diag.Count(diags)
	return diags, s, nil
}

// lintDocs is what lint finds in docs: the front end's findings and, on
// a clean repository taken whole, those of the plan's passes (lintPlan).
func lintDocs(docs []load.Document, opts Options) []diag.Diagnostic {
	set, diags := Front(docs, opts)
	if !opts.Standalone && !hasErrors(diags) {
		diags = append(diags, lintPlan(set)...)
	}
	return diags
}

// identify reads apiVersion, kind and metadata from a document without
// decoding it, so that even an invalid object is named in reports.
func identify(n *yaml.Node) Checked {
	c := Checked{Line: n.Line}
	var name, namespace string
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch k, v := n.Content[i].Value, n.Content[i+1]; k {
		case "apiVersion":
			c.APIVersion = v.Value
		case "kind":
			c.Kind = v.Value
		case "metadata":
			for j := 0; j+1 < len(v.Content); j += 2 {
				switch v.Content[j].Value {
				case "name":
					name = v.Content[j+1].Value
				case "namespace":
					namespace = v.Content[j+1].Value
				}
			}
		}
	}
	switch {
	case c.Kind == "" && name == "":
		// Not an object yet: diagnostics then name only the file.
	case object.ClusterScoped(c.Kind):
		c.ID = c.Kind + " " + name
	default:
		c.ID = c.Kind + " " + cmp.Or(namespace, "default") + "/" + name
	}
	return c
}

// reject records a rejected document: its identity, and for a workload
// its pod template's labels, from the object when it decoded, else as
// written.
func reject(r *check.Rejected, n *yaml.Node, obj *object.Object) {
	if obj != nil {
		r.Add(obj.Kind, obj.Namespace, obj.Name, check.TemplateLabels(obj), true)
		return
	}
	id := identify(n)
	var labels map[string]string
	known := false
	if check.WorkloadKind(id.Kind) {
		path := check.TemplateLabelsPath(id.Kind)
		if l := object.Find(n, path); l != nil && l != object.Find(n, parentPath(path)) {
			labels = mappingOfStrings(l)
			known = labels != nil
		} else {
			known = true // no labels written
		}
	}
	name, namespace := metaOf(n)
	r.Add(id.Kind, namespace, name, labels, known)
}

// mappingOfStrings reads a mapping of scalars, or nil when n is not one.
func mappingOfStrings(n *yaml.Node) map[string]string {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	m := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			return nil
		}
		m[k.Value] = v.Value
	}
	return m
}

func parentPath(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// metaOf reads metadata.name and metadata.namespace as written.
func metaOf(n *yaml.Node) (name, namespace string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "metadata" {
			continue
		}
		v := n.Content[i+1]
		for j := 0; j+1 < len(v.Content); j += 2 {
			switch v.Content[j].Value {
			case "name":
				name = v.Content[j+1].Value
			case "namespace":
				namespace = v.Content[j+1].Value
			}
		}
	}
	return name, namespace
}

// violation turns a schema violation into a diagnostic at the node it
// names (the document itself when it names none).
func violation(doc *load.Document, v schema.Violation) diag.Diagnostic {
	n := v.Node
	if n == nil || n.Line == 0 {
		n = doc.Node
	}
	sev := diag.Error
	if v.Warning {
		sev = diag.Warning
	}
	return diag.Diagnostic{
		Pos:      diag.Pos{File: doc.FileOf(n), Line: n.Line, Col: n.Column},
		Severity: sev,
		Rule:     cmp.Or(v.Rule, "schema"),
		Object:   identify(doc.Node).ID,
		Path:     v.Path,
		Message:  v.Message,
	}
}

// parallel calls f(0..n-1) on workers goroutines (0: one per CPU). Work is
// handed out in chunks so that small items do not pay a channel send each.
func parallel(n, workers int, f func(int)) {
	workers = cmp.Or(workers, runtime.NumCPU())
	if workers <= 1 || n < 2 {
		for i := range n {
			f(i)
		}
		return
	}
	const chunk = 64
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	take := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		lo := next
		next = min(next+chunk, n)
		return lo, next
	}
	for range min(workers, (n+chunk-1)/chunk) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo, hi := take()
				if lo >= hi {
					return
				}
				for i := lo; i < hi; i++ {
					f(i)
				}
			}
		}()
	}
	wg.Wait()
}
