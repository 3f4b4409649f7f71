package check

import (
	"fmt"
	"slices"
	"strings"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
)

// keysOf returns the keys of a ConfigMap (data and binaryData) or a
// Secret (data and stringData), or nil, false when it does not exist.
func keysOf(set *object.Set, kind, namespace, name string) ([]string, bool) {
	o := set.Get(kind, namespace, name)
	if o == nil {
		return nil, false
	}
	var keys []string
	switch v := o.Value.(type) {
	case *api.ConfigMap:
		for k := range v.Data {
			keys = append(keys, k)
		}
		for k := range v.BinaryData {
			keys = append(keys, k)
		}
	case *api.Secret:
		for k := range v.Data {
			keys = append(keys, k)
		}
		for k := range v.StringData {
			if _, dup := v.Data[k]; !dup {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys, true
}

func isOptional(b *bool) bool { return b != nil && *b }

func missingObject(o *object.Object, kind, name, path string) diag.Diagnostic {
	return o.Diag(diag.Error, RuleMissingReference, path,
		"%s %q does not exist in namespace %s: add it to the repository, fix the name, or set optional: true", kind, name, o.Namespace)
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
func checkContainerRefs(set *object.Set, o *object.Object, c containerRef) []diag.Diagnostic {
	var ds []diag.Diagnostic
	ref := func(kind string, ks *api.KeySelector, path string) {
		if ks == nil || ks.Name == "" || isOptional(ks.Optional) {
			return
		}
		keys, ok := keysOf(set, kind, o.Namespace, ks.Name)
		if !ok {
			ds = append(ds, missingObject(o, kind, ks.Name, path+".name"))
			return
		}
		if _, found := slices.BinarySearch(keys, ks.Key); !found && ks.Key != "" {
			ds = append(ds, missingKey(o, kind, ks.Name, ks.Key, keys, path+".key"))
		}
	}
	for j, e := range c.c.Env {
		if e.ValueFrom == nil {
			continue
		}
		p := fmt.Sprintf("%s.env[%d].valueFrom", c.path, j)
		ref("ConfigMap", e.ValueFrom.ConfigMapKeyRef, p+".configMapKeyRef")
		ref("Secret", e.ValueFrom.SecretKeyRef, p+".secretKeyRef")
	}
	for j, ef := range c.c.EnvFrom {
		p := fmt.Sprintf("%s.envFrom[%d]", c.path, j)
		if r := ef.ConfigMapRef; r != nil && r.Name != "" && !isOptional(r.Optional) && set.Get("ConfigMap", o.Namespace, r.Name) == nil {
			ds = append(ds, missingObject(o, "ConfigMap", r.Name, p+".configMapRef.name"))
		}
		if r := ef.SecretRef; r != nil && r.Name != "" && !isOptional(r.Optional) && set.Get("Secret", o.Namespace, r.Name) == nil {
			ds = append(ds, missingObject(o, "Secret", r.Name, p+".secretRef.name"))
		}
	}
	return ds
}

// checkVolumeSource checks a configMap or secret volume: the object must
// exist and every listed item key must be in it, unless optional.
func checkVolumeSource(set *object.Set, o *object.Object, kind, name, path, nameField string, items []api.KeyToPath, optional *bool) []diag.Diagnostic {
	if name == "" || isOptional(optional) {
		return nil
	}
	keys, ok := keysOf(set, kind, o.Namespace, name)
	if !ok {
		return []diag.Diagnostic{missingObject(o, kind, name, path+"."+nameField)}
	}
	var ds []diag.Diagnostic
	for m, it := range items {
		if _, found := slices.BinarySearch(keys, it.Key); !found && it.Key != "" {
			ds = append(ds, missingKey(o, kind, name, it.Key, keys, fmt.Sprintf("%s.items[%d].key", path, m)))
		}
	}
	return ds
}
