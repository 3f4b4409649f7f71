package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"berth.dev/berth/compiler/dockercfg"
)

// DefaultFileMode is Kubernetes' defaultMode of configMap and secret
// volume files (0644).
const DefaultFileMode = 0o644

// Resolve returns a copy of pod that a node can run on its own: env
// references and envFrom read from look, configMap and secret volume
// files projected, pull credentials parsed. It is what the kubelet reads
// from the API server when it starts a pod; the compiler checks every
// reference first, so a missing one here is an optional one and is left
// out, as the kubelet does. pod is not modified; what Resolve does not
// touch is shared with it.
func Resolve(look ConfigLookup, pod *Pod) Pod {
	out := *pod
	ns := pod.Namespace
	out.Spec.InitContainers = resolveContainers(look, ns, pod.Spec.InitContainers)
	out.Spec.Containers = resolveContainers(look, ns, pod.Spec.Containers)
	if len(pod.Spec.Volumes) > 0 {
		out.Spec.Volumes = slices.Clone(pod.Spec.Volumes)
		for i := range out.Spec.Volumes {
			v := &out.Spec.Volumes[i]
			switch v.Kind {
			case "configMap", "secret":
				v.Files = ResolveFiles(look, ns, v)
			case "projected":
				v.Sources = resolveSources(look, ns, v)
			}
		}
	}
	out.Spec.RegistryAuths = nil
	for _, name := range pod.Spec.ImagePullSecrets {
		if s := look.Secret(ns, name); s != nil {
			if auths, err := ParseDockerConfig(s.Data[dockercfg.ConfigJSONKey].Data); err == nil {
				out.Spec.RegistryAuths = append(out.Spec.RegistryAuths, auths...)
			}
		}
	}
	slices.SortStableFunc(out.Spec.RegistryAuths, func(a, b RegistryAuth) int { return strings.Compare(a.Registry, b.Registry) })
	return out
}

func resolveContainers(look ConfigLookup, ns string, cs []Container) []Container {
	if len(cs) == 0 {
		return cs
	}
	out := slices.Clone(cs)
	for i := range out {
		out[i].Env = ResolveEnv(look, ns, &cs[i])
		out[i].EnvFrom = nil
	}
	return out
}

// ResolveEnv is a container's environment as the kubelet builds it from
// envFrom and env: envFrom's keys first (sorted, with their prefix; keys
// that are not variable names are skipped), then env; a later variable
// of the same name replaces an earlier one in place. Values referenced
// from ConfigMaps and Secrets are read from look; a missing (optional)
// one is left out. FieldRefs stay for the node to fill.
func ResolveEnv(look ConfigLookup, ns string, c *Container) []EnvVar {
	if len(c.EnvFrom) == 0 && !hasRefs(c.Env) {
		return c.Env
	}
	var out []EnvVar
	index := map[string]int{}
	set := func(v EnvVar) {
		if i, ok := index[v.Name]; ok {
			out[i] = v
			return
		}
		index[v.Name] = len(out)
		out = append(out, v)
	}
	for _, ef := range c.EnvFrom {
		var src *ConfigData
		if ef.ConfigMap != "" {
			src = look.ConfigMap(ns, ef.ConfigMap)
		} else {
			src = look.Secret(ns, ef.Secret)
		}
		if src == nil {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(src.Data)) {
			if ValidEnvName(ef.Prefix + k) {
				set(EnvVar{Name: ef.Prefix + k, Value: src.Data[k]})
			}
		}
	}
	for _, e := range c.Env {
		var src *ConfigData
		var ref *KeyRef
		switch {
		case e.ConfigMapKeyRef != nil:
			ref, src = e.ConfigMapKeyRef, look.ConfigMap(ns, e.ConfigMapKeyRef.Name)
		case e.SecretKeyRef != nil:
			ref, src = e.SecretKeyRef, look.Secret(ns, e.SecretKeyRef.Name)
		default:
			set(e)
			continue
		}
		if src == nil {
			continue
		}
		v, ok := src.Data[ref.Key]
		if !ok {
			continue
		}
		set(EnvVar{Name: e.Name, Value: v})
	}
	return out
}

func hasRefs(env []EnvVar) bool {
	for _, e := range env {
		if e.ConfigMapKeyRef != nil || e.SecretKeyRef != nil {
			return true
		}
	}
	return false
}

// ResolveFiles projects a configMap or secret volume into its files,
// sorted by path: the listed items whose key exists, or every key.
func ResolveFiles(look ConfigLookup, ns string, v *Volume) []File {
	var src *ConfigData
	switch v.Kind {
	case "configMap":
		src = look.ConfigMap(ns, v.Source)
	case "secret":
		src = look.Secret(ns, v.Source)
	}
	if src == nil {
		return nil
	}
	mode := int32(DefaultFileMode)
	if v.DefaultMode != nil {
		mode = *v.DefaultMode
	}
	var files []File
	if len(v.Items) == 0 {
		for _, k := range slices.Sorted(maps.Keys(src.Data)) {
			files = append(files, File{Path: k, Mode: mode, Data: src.Data[k]})
		}
		return files
	}
	for _, it := range v.Items {
		d, ok := src.Data[it.Key]
		if !ok {
			continue
		}
		m := mode
		if it.Mode != nil {
			m = *it.Mode
		}
		files = append(files, File{Path: it.Path, Mode: m, Data: d})
	}
	slices.SortStableFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files
}

// ValidEnvName is Kubernetes' rule for the names envFrom produces: keys
// that are not valid names are skipped, as the kubelet does.
func ValidEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		ok := c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}

// ParseDockerConfig reads a .dockerconfigjson with the one reader lint
// uses too (dockercfg.ParseDockerConfigJSON); its errors never quote the
// content: it is a secret.
func ParseDockerConfig(raw string) ([]RegistryAuth, error) {
	auths, err := dockercfg.ParseDockerConfigJSON([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dockercfg.ConfigJSONKey, err)
	}
	out := make([]RegistryAuth, 0, len(auths))
	for _, a := range auths {
		out = append(out, RegistryAuth{Registry: a.Registry, Username: Sensitive(a.Username), Password: Sensitive(a.Password)})
	}
	return out, nil
}
