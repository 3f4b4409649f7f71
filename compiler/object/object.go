// Package object decodes validated documents into typed Kubernetes objects
// that remember where each of their fields was written.
package object

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
)

// Object is one decoded object.
type Object struct {
	Doc        *load.Document
	APIVersion string
	Kind       string
	Namespace  string // "" for cluster-scoped kinds (Namespace, PersistentVolume, Node)
	Name       string
	// Value is a pointer to the api type of Kind (*api.Pod, *api.Service, ...).
	Value any
}

// ID is "Kind namespace/name" (or "Kind name" when cluster-scoped).
func (o *Object) ID() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// ClusterScoped reports whether kind has no namespace.
func ClusterScoped(kind string) bool {
	switch kind {
	case "Namespace", "PersistentVolume", "Node":
		return true
	}
	return false
}

// Pos is the position of the value at path (e.g.
// "spec.template.spec.containers[0].image"), or of the nearest ancestor
// that exists: a missing field is reported on the object that lacks it.
func (o *Object) Pos(path string) diag.Pos {
	n := Find(o.Doc.Node, path)
	return diag.Pos{File: o.Doc.FileOf(n), Line: n.Line, Col: n.Column}
}

// Diag builds a diagnostic about the value at path.
func (o *Object) Diag(sev diag.Severity, rule, path, format string, args ...any) diag.Diagnostic {
	return diag.Diagnostic{
		Pos:      o.Pos(path),
		Severity: sev,
		Rule:     rule,
		Object:   o.ID(),
		Path:     path,
		Message:  fmt.Sprintf(format, args...),
	}
}

// Find walks path from root and returns the deepest node it reaches. For a
// mapping key it returns the value node; Find(root, "") is root.
func Find(root *yaml.Node, path string) *yaml.Node {
	n := root
	for _, step := range splitPath(path) {
		next := child(n, step)
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

// FindKey is like Find but, when the final step is a mapping key, returns
// the key node: unknown-field errors point at the key, not its value.
func FindKey(root *yaml.Node, path string) *yaml.Node {
	steps := splitPath(path)
	if len(steps) == 0 {
		return root
	}
	parent := Find(root, strings.Join(steps[:len(steps)-1], "."))
	last := steps[len(steps)-1]
	if parent.Kind == yaml.MappingNode && !strings.HasPrefix(last, "[") {
		for i := 0; i+1 < len(parent.Content); i += 2 {
			if parent.Content[i].Value == last {
				return parent.Content[i]
			}
		}
	}
	return Find(root, path)
}

// splitPath splits "a.b[0].c" into "a", "b", "[0]", "c".
func splitPath(path string) []string {
	var steps []string
	for _, part := range strings.Split(path, ".") {
		if part == "" {
			continue
		}
		for {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				steps = append(steps, part)
				break
			}
			if i > 0 {
				steps = append(steps, part[:i])
			}
			j := strings.IndexByte(part, ']')
			if j < i {
				steps = append(steps, part[i:])
				break
			}
			steps = append(steps, part[i:j+1])
			part = part[j+1:]
			if part == "" {
				break
			}
		}
	}
	return steps
}

func child(n *yaml.Node, step string) *yaml.Node {
	for n.Kind == yaml.DocumentNode && len(n.Content) == 1 || n.Kind == yaml.AliasNode {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else {
			n = n.Content[0]
		}
	}
	if strings.HasPrefix(step, "[") {
		i, err := strconv.Atoi(strings.Trim(step, "[]"))
		if err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
			return nil
		}
		return n.Content[i]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == step {
			return n.Content[i+1]
		}
	}
	return nil
}

// Decode turns a schema-valid document into an Object. Namespaced objects
// without metadata.namespace land in "default".
func Decode(doc *load.Document) (*Object, error) {
	var tm api.TypeMeta
	if err := doc.Node.Decode(&tm); err != nil {
		return nil, fmt.Errorf("%s:%d:%d: %w", doc.File, doc.Node.Line, doc.Node.Column, err)
	}
	v := newValue(tm.APIVersion, tm.Kind)
	if v == nil {
		return nil, fmt.Errorf("%s:%d:%d: %s %s is not a kind berth supports", doc.File, doc.Node.Line, doc.Node.Column, tm.APIVersion, tm.Kind)
	}
	if err := doc.Node.Decode(v); err != nil {
		return nil, fmt.Errorf("%s:%d:%d: decode %s: %w", doc.File, doc.Node.Line, doc.Node.Column, tm.Kind, err)
	}
	var meta struct {
		Metadata api.ObjectMeta `yaml:"metadata"`
	}
	if err := doc.Node.Decode(&meta); err != nil {
		return nil, fmt.Errorf("%s:%d:%d: decode metadata: %w", doc.File, doc.Node.Line, doc.Node.Column, err)
	}
	o := &Object{Doc: doc, APIVersion: tm.APIVersion, Kind: tm.Kind, Name: meta.Metadata.Name, Namespace: meta.Metadata.Namespace, Value: v}
	if ClusterScoped(tm.Kind) {
		o.Namespace = ""
	} else if o.Namespace == "" {
		o.Namespace = "default"
	}
	return o, nil
}

// Kinds maps apiVersion/kind to a constructor of its api type.
var kinds = map[string]func() any{
	"v1/Pod":                       func() any { return new(api.Pod) },
	"v1/Service":                   func() any { return new(api.Service) },
	"v1/ConfigMap":                 func() any { return new(api.ConfigMap) },
	"v1/Secret":                    func() any { return new(api.Secret) },
	"v1/Namespace":                 func() any { return new(api.Namespace) },
	"v1/ResourceQuota":             func() any { return new(api.ResourceQuota) },
	"v1/LimitRange":                func() any { return new(api.LimitRange) },
	"v1/PersistentVolume":          func() any { return new(api.PersistentVolume) },
	"v1/PersistentVolumeClaim":     func() any { return new(api.PersistentVolumeClaim) },
	"apps/v1/Deployment":           func() any { return new(api.Deployment) },
	"apps/v1/ReplicaSet":           func() any { return new(api.ReplicaSet) },
	"apps/v1/DaemonSet":            func() any { return new(api.DaemonSet) },
	"batch/v1/Job":                 func() any { return new(api.Job) },
	"batch/v1/CronJob":             func() any { return new(api.CronJob) },
	"argoproj.io/v1alpha1/Rollout": func() any { return new(api.Rollout) },
	"berth.dev/v1/Node":            func() any { return new(api.Node) },
	"berth.dev/v1/HelmRelease":     func() any { return new(api.HelmRelease) },
}

func newValue(apiVersion, kind string) any {
	f := kinds[apiVersion+"/"+kind]
	if f == nil {
		return nil
	}
	return f()
}

// Supported reports whether apiVersion/kind is a kind berth runs.
func Supported(apiVersion, kind string) bool { return kinds[apiVersion+"/"+kind] != nil }
