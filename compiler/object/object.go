// Package object decodes validated documents into typed Kubernetes objects
// that remember where each of their fields was written.
package object

import (
	"fmt"
	"reflect"
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
	case "Namespace", "PersistentVolume", "Node", "ClusterRole", "ClusterRoleBinding", "PriorityClass":
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
// mapping key it returns the value node; Find(root, "") is root. A path
// is berth's (spec.ports[0], labels["app.kubernetes.io/name"]) or the API
// server's (data[app.properties], limits[0].default[cpu]).
func Find(root *yaml.Node, path string) *yaml.Node {
	return find(root, splitPath(path))
}

func find(root *yaml.Node, steps []string) *yaml.Node {
	n := root
	for _, step := range steps {
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
	parent := find(root, steps[:len(steps)-1])
	last := steps[len(steps)-1]
	if k, ok := mapKey(last); ok && parent.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(parent.Content); i += 2 {
			if parent.Content[i].Value == k {
				return parent.Content[i]
			}
		}
	}
	return find(root, steps)
}

// splitPath splits "a.b[0].c[k.x]" into "a", "b", "[0]", "c", "[k.x]": a
// bracket holds an index or a map key, which may contain dots.
func splitPath(path string) []string {
	var steps []string
	for i := 0; i < len(path); {
		switch path[i] {
		case '.':
			i++
		case '[':
			j := closing(path, i)
			steps = append(steps, path[i:j])
			i = j
		default:
			j := i
			for j < len(path) && path[j] != '.' && path[j] != '[' {
				j++
			}
			steps = append(steps, path[i:j])
			i = j
		}
	}
	return steps
}

// closing is the index after the ']' that closes the '[' at i, skipping
// a quoted key; len(path) when it is not closed.
func closing(path string, i int) int {
	if i+1 < len(path) && path[i+1] == '"' {
		if s, err := strconv.QuotedPrefix(path[i+1:]); err == nil {
			j := i + 1 + len(s)
			if j < len(path) && path[j] == ']' {
				return j + 1
			}
		}
	}
	if j := strings.IndexByte(path[i:], ']'); j >= 0 {
		return i + j + 1
	}
	return len(path)
}

// mapKey is the key of a step: a name, or a bracketed key that is not an
// index (quoted or not).
func mapKey(step string) (string, bool) {
	inner, ok := strings.CutPrefix(step, "[")
	if !ok {
		return step, true
	}
	inner = strings.TrimSuffix(inner, "]")
	if _, err := strconv.Atoi(inner); err == nil {
		return "", false
	}
	if u, err := strconv.Unquote(inner); err == nil {
		return u, true
	}
	return inner, true
}

func child(n *yaml.Node, step string) *yaml.Node {
	for n.Kind == yaml.DocumentNode && len(n.Content) == 1 || n.Kind == yaml.AliasNode {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else {
			n = n.Content[0]
		}
	}
	if n.Kind == yaml.SequenceNode {
		i, err := strconv.Atoi(strings.Trim(step, "[]"))
		if err != nil || !strings.HasPrefix(step, "[") || i < 0 || i >= len(n.Content) {
			return nil
		}
		return n.Content[i]
	}
	key, ok := mapKey(step)
	if !ok || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Decode turns a schema-valid document into an Object. Namespaced objects
// without metadata.namespace land in "default". The document is decoded
// once (decoding dominates lint's time): apiVersion and kind are read
// from the node, the metadata from the decoded value.
func Decode(doc *load.Document) (*Object, error) {
	var tm api.TypeMeta
	n := doc.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "apiVersion":
			tm.APIVersion = n.Content[i+1].Value
		case "kind":
			tm.Kind = n.Content[i+1].Value
		}
	}
	v := newValue(tm.APIVersion, tm.Kind)
	if v == nil {
		return nil, fmt.Errorf("%s:%d:%d: %s %s is not a kind berth supports", doc.File, n.Line, n.Column, tm.APIVersion, tm.Kind)
	}
	if err := n.Decode(v); err != nil {
		return nil, fmt.Errorf("%s:%d:%d: decode %s: %w", doc.File, n.Line, n.Column, tm.Kind, err)
	}
	if j, ok := v.(*api.Job); ok && j.Metadata.Name == "" && j.Metadata.GenerateName != "" {
		j.Metadata.Name = generatedName(j)
	}
	// Every api type holds its metadata in a field named Metadata.
	var meta api.ObjectMeta
	if f := reflect.ValueOf(v).Elem().FieldByName("Metadata"); f.IsValid() {
		meta, _ = f.Interface().(api.ObjectMeta)
	}
	o := &Object{Doc: doc, APIVersion: tm.APIVersion, Kind: tm.Kind, Name: meta.Name, Namespace: meta.Namespace, Value: v}
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
	"apps/v1/StatefulSet":          func() any { return new(api.StatefulSet) },
	"apps/v1/DaemonSet":            func() any { return new(api.DaemonSet) },
	"batch/v1/Job":                 func() any { return new(api.Job) },
	"batch/v1/CronJob":             func() any { return new(api.CronJob) },
	"argoproj.io/v1alpha1/Rollout": func() any { return new(api.Rollout) },
	"berth.dev/v1/Node":            func() any { return new(api.Node) },
	"berth.dev/v1/HelmRelease":     func() any { return new(api.HelmRelease) },

	"v1/ServiceAccount":                               func() any { return new(api.ServiceAccount) },
	"rbac.authorization.k8s.io/v1/Role":               func() any { return new(api.Role) },
	"rbac.authorization.k8s.io/v1/ClusterRole":        func() any { return new(api.ClusterRole) },
	"rbac.authorization.k8s.io/v1/RoleBinding":        func() any { return new(api.RoleBinding) },
	"rbac.authorization.k8s.io/v1/ClusterRoleBinding": func() any { return new(api.ClusterRoleBinding) },
	"scheduling.k8s.io/v1/PriorityClass":              func() any { return new(api.PriorityClass) },
	"v1/ReplicationController":                        func() any { return new(api.ReplicationController) },
	"policy/v1/PodDisruptionBudget":                   func() any { return new(api.PodDisruptionBudget) },
	"networking.k8s.io/v1/NetworkPolicy":              func() any { return new(api.NetworkPolicy) },
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
