package check

import (
	"fmt"
	"slices"
	"strings"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
)

// checkNamespaces rejects objects in a namespace no Namespace object
// declares, as a Kubernetes API server would; "default" always exists.
func checkNamespaces(set *object.Set, opts Options) []diag.Diagnostic {
	var ds []diag.Diagnostic
	for _, o := range set.All() {
		if o.Namespace == "" || o.Namespace == "default" || set.Get("Namespace", "", o.Namespace) != nil || opts.Rejected.Has("Namespace", "", o.Namespace) {
			continue
		}
		if opts.Standalone {
			ds = append(ds, o.Diag(diag.Warning, RuleUndeclaredNamespace, "metadata.namespace",
				"Namespace %q is not in the files checked; --standalone assumes it is made elsewhere", o.Namespace))
			continue
		}
		ds = append(ds, o.Diag(diag.Error, RuleUndeclaredNamespace, "metadata.namespace",
			"namespace %q is not declared: add a Namespace object named %q to the repository, or move %s %s to a declared namespace", o.Namespace, o.Namespace, o.Kind, o.Name))
	}
	return ds
}

// lookupKeys finds a ConfigMap (keys in data and binaryData) or a Secret
// (keys in data and stringData) by name.
func lookupKeys(set *object.Set, kind, namespace, name string) (keySource, bool) {
	o := set.Get(kind, namespace, name)
	if o == nil {
		return keySource{}, false
	}
	switch v := o.Value.(type) {
	case *api.ConfigMap:
		return keySource{v.Data, v.BinaryData}, true
	case *api.Secret:
		return keySource{v.Data, v.StringData}, true
	}
	return keySource{}, true
}

// keySource is the two key maps of a ConfigMap or Secret.
type keySource struct{ a, b map[string]string }

func (k keySource) has(key string) bool {
	_, inA := k.a[key]
	_, inB := k.b[key]
	return inA || inB
}

// list is the sorted keys, for a message.
func (k keySource) list() []string {
	var keys []string
	for key := range k.a {
		keys = append(keys, key)
	}
	for key := range k.b {
		if _, dup := k.a[key]; !dup {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	return keys
}

func isOptional(b *bool) bool { return b != nil && *b }

func missingObject(o *object.Object, opts Options, kind, name, path string) []diag.Diagnostic {
	d, ok := missing(o, opts, kind, name, path,
		"%s %q does not exist in namespace %s: add it to the repository, fix the name, or set optional: true", kind, name, o.Namespace)
	if !ok {
		return nil
	}
	return []diag.Diagnostic{d}
}

func missingKey(o *object.Object, kind, name, key string, keys []string, path string) diag.Diagnostic {
	has := "it has no keys"
	if len(keys) > 0 {
		has = "it has " + strings.Join(keys, ", ")
	}
	return o.Diag(diag.Error, RuleMissingReference, path,
		"key %q is not in %s %q (%s): fix the key, add it to the %s, or set optional: true", key, kind, name, has, kind)
}

// checkContainerRefs checks the ConfigMaps, Secrets and keys a container's
// env and envFrom refer to.
func checkContainerRefs(set *object.Set, opts Options, o *object.Object, c containerRef) []diag.Diagnostic {
	var ds []diag.Diagnostic
	// Paths are built only for a finding: this runs for every env var.
	ref := func(kind string, ks *api.KeySelector, j int, field string) {
		if ks == nil || ks.Name == "" || isOptional(ks.Optional) {
			return
		}
		keys, ok := lookupKeys(set, kind, o.Namespace, ks.Name)
		path := func() string { return fmt.Sprintf("%s.env[%d].valueFrom.%s", c.path, j, field) }
		if !ok {
			ds = append(ds, missingObject(o, opts, kind, ks.Name, path()+".name")...)
			return
		}
		if ks.Key != "" && !keys.has(ks.Key) {
			ds = append(ds, missingKey(o, kind, ks.Name, ks.Key, keys.list(), path()+".key"))
		}
	}
	for j, e := range c.c.Env {
		if e.ValueFrom == nil {
			continue
		}
		ref("ConfigMap", e.ValueFrom.ConfigMapKeyRef, j, "configMapKeyRef")
		ref("Secret", e.ValueFrom.SecretKeyRef, j, "secretKeyRef")
	}
	for j, ef := range c.c.EnvFrom {
		if r := ef.ConfigMapRef; r != nil && r.Name != "" && !isOptional(r.Optional) && set.Get("ConfigMap", o.Namespace, r.Name) == nil {
			ds = append(ds, missingObject(o, opts, "ConfigMap", r.Name, fmt.Sprintf("%s.envFrom[%d].configMapRef.name", c.path, j))...)
		}
		if r := ef.SecretRef; r != nil && r.Name != "" && !isOptional(r.Optional) && set.Get("Secret", o.Namespace, r.Name) == nil {
			ds = append(ds, missingObject(o, opts, "Secret", r.Name, fmt.Sprintf("%s.envFrom[%d].secretRef.name", c.path, j))...)
		}
	}
	return ds
}

// checkVolumeSource checks a configMap or secret volume: the object must
// exist and every listed item key must be in it, unless optional.
func checkVolumeSource(set *object.Set, opts Options, o *object.Object, kind, name, path, nameField string, items []api.KeyToPath, optional *bool) []diag.Diagnostic {
	if name == "" || isOptional(optional) {
		return nil
	}
	keys, ok := lookupKeys(set, kind, o.Namespace, name)
	if !ok {
		return missingObject(o, opts, kind, name, path+"."+nameField)
	}
	var ds []diag.Diagnostic
	for m, it := range items {
		if it.Key != "" && !keys.has(it.Key) {
			ds = append(ds, missingKey(o, kind, name, it.Key, keys.list(), fmt.Sprintf("%s.items[%d].key", path, m)))
		}
	}
	return ds
}
