package expand

import (
	"fmt"
	"strings"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/fieldpath"
	"berth.dev/berth/compiler/plan"
)

// downward is what the downward API reads from a pod template at
// compile time: its ServiceAccount and containers. needsAnnotations
// records that a reference reads the pod's annotations, which the plan
// then carries in the pod (only then: most pods never read them).
type downward struct {
	serviceAccount   string
	containers       map[string]*api.Container
	needsAnnotations bool
}

func newDownward(spec *api.PodSpec) *downward {
	d := &downward{serviceAccount: spec.ServiceAccount(), containers: map[string]*api.Container{}}
	for _, cs := range [][]api.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			d.containers[cs[i].Name] = &cs[i]
		}
	}
	return d
}

// fieldEnv is an env fieldRef in the plan: what is known from the
// template is a value, what only the node or the running pod knows
// (name, uid, labels, annotations, node, addresses) stays a reference.
func (d *downward) fieldEnv(src source, p, ns, name string, fs *api.ObjectFieldSelector) (plan.EnvVar, *diag.Diagnostic) {
	apiVersion := fs.APIVersion
	if apiVersion == "" {
		apiVersion = "v1"
	}
	internal, err := api.ConvertFieldLabel(apiVersion, fs.FieldPath)
	if err != nil {
		e := src.errorf("schema", p+".fieldPath", "%v", err)
		return plan.EnvVar{}, &e
	}
	switch internal {
	case "metadata.namespace":
		return plan.EnvVar{Name: name, Value: plan.Plain(ns)}, nil
	case "spec.serviceAccountName":
		return plan.EnvVar{Name: name, Value: plan.Plain(d.serviceAccount)}, nil
	case "metadata.name", "metadata.uid", "spec.nodeName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs":
		return plan.EnvVar{Name: name, FieldRef: internal}, nil
	}
	if path, _, ok := fieldpath.SplitSubscript(internal); ok {
		if path == "metadata.annotations" {
			d.needsAnnotations = true
		}
		return plan.EnvVar{Name: name, FieldRef: internal}, nil
	}
	e := src.errorf("schema", p+".fieldPath", "fieldPath %q is not available to an environment variable", fs.FieldPath)
	return plan.EnvVar{}, &e
}

// resource is a resourceFieldRef's value (ok) or, for a limit the
// container does not set, the reference the node fills with its
// allocatable amount (the kubelet's defaultPodLimitsForDownwardAPI). A
// request that is not set is the limit (the API server's defaulting) or
// 0. self is the container whose variable it is ("" for a file).
func (d *downward) resource(src source, p string, self *api.Container, fs *api.ResourceFieldSelector) (value string, ref *plan.ResourceRef, diags []diag.Diagnostic) {
	c := self
	if fs.ContainerName != "" {
		if c = d.containers[fs.ContainerName]; c == nil {
			return "", nil, []diag.Diagnostic{src.errorf("reference", p+".containerName", "the pod has no container %q (the kubelet could not start it; name one of the pod's containers)", fs.ContainerName)}
		}
	}
	kind, name, _ := strings.Cut(fs.Resource, ".")
	if name != "cpu" && name != "memory" && name != "ephemeral-storage" {
		return "", nil, []diag.Diagnostic{src.errorf("unsupported", p+".resource", "resource %q is valid Kubernetes but not supported by berth (berth nodes have no huge pages; supported: limits.cpu, limits.memory, limits.ephemeral-storage and the same requests)", fs.Resource)}
	}
	div := int64(1)
	if fs.Divisor != "" {
		q, err := api.ParseQuantity(fs.Divisor)
		if err != nil {
			return "", nil, []diag.Diagnostic{src.errorf("schema", p+".divisor", "%v", err)}
		}
		if name == "cpu" {
			div = q.MilliValue()
		} else {
			div = q.Value()
		}
	}
	if name == "cpu" && fs.Divisor == "" {
		div = 1000 // the unset divisor is 1: whole cores
	}
	if div <= 0 {
		div = 1
		if name == "cpu" {
			div = 1000
		}
	}
	amount, set := c.Resources.Limits[name]
	if kind == "requests" {
		if r, ok := c.Resources.Requests[name]; ok {
			amount, set = r, true
		}
		if !set {
			return "0", nil, nil
		}
	}
	if !set {
		return "", &plan.ResourceRef{Resource: fs.Resource, Divisor: div}, nil
	}
	q, err := api.ParseQuantity(amount)
	if err != nil {
		return "", nil, []diag.Diagnostic{src.errorf("schema", p+".resource", "%v", err)}
	}
	if name == "cpu" {
		return plan.DivideUp(q.MilliValue(), div), nil, nil
	}
	return plan.DivideUp(q.Value(), div), nil, nil
}

func fileMode(m *int32) *int32 {
	mode := int32(plan.DefaultFileMode)
	if m != nil {
		mode = *m
	}
	return &mode
}

// downwardFiles resolves the files of a downwardAPI volume or source:
// what the template fixes is a value, the rest the node's to fill.
func (x *expander) downwardFiles(src source, path string, items []api.DownwardAPIVolumeFile, dw *downward) ([]plan.DownwardFile, []diag.Diagnostic) {
	var out []plan.DownwardFile
	var diags []diag.Diagnostic
	for i := range items {
		it := &items[i]
		p := fmt.Sprintf("%s.items[%d]", path, i)
		f := plan.DownwardFile{Path: it.Path, Mode: it.Mode}
		switch {
		case it.FieldRef != nil:
			apiVersion := it.FieldRef.APIVersion
			if apiVersion == "" {
				apiVersion = "v1"
			}
			internal, err := api.ConvertFieldLabel(apiVersion, it.FieldRef.FieldPath)
			if err != nil {
				diags = append(diags, src.errorf("schema", p+".fieldRef.fieldPath", "%v", err))
				continue
			}
			if strings.HasPrefix(internal, "metadata.annotations") {
				dw.needsAnnotations = true
			}
			f.FieldRef = internal
		case it.ResourceFieldRef != nil:
			v, ref, d := dw.resource(src, p+".resourceFieldRef", nil, it.ResourceFieldRef)
			if len(d) > 0 {
				diags = append(diags, d...)
				continue
			}
			f.Value, f.ResourceFieldRef = v, ref
		}
		out = append(out, f)
	}
	return out, diags
}

// projections resolves a projected volume's sources; a ConfigMap or
// Secret that does not exist is an error unless the source is optional,
// as for their volumes.
func (x *expander) projections(src source, path, ns string, srcs []api.VolumeProjection, dw *downward) ([]plan.Projection, []diag.Diagnostic) {
	var out []plan.Projection
	var diags []diag.Diagnostic
	for i, s := range srcs {
		p := fmt.Sprintf("%s.sources[%d]", path, i)
		switch {
		case s.ConfigMap != nil:
			opt := optional(s.ConfigMap.Optional)
			diags = append(diags, x.checkKeySource(src, p+".configMap", "name", "ConfigMap", ns, s.ConfigMap.Name, s.ConfigMap.Items, opt)...)
			items, _, _ := projection(s.ConfigMap.Items, nil, opt)
			out = append(out, plan.Projection{Kind: "configMap", Source: s.ConfigMap.Name, Items: items, Optional: opt})
		case s.Secret != nil:
			opt := optional(s.Secret.Optional)
			diags = append(diags, x.checkKeySource(src, p+".secret", "name", "Secret", ns, s.Secret.Name, s.Secret.Items, opt)...)
			items, _, _ := projection(s.Secret.Items, nil, opt)
			out = append(out, plan.Projection{Kind: "secret", Source: s.Secret.Name, Items: items, Optional: opt})
		case s.DownwardAPI != nil:
			files, d := x.downwardFiles(src, p+".downwardAPI", s.DownwardAPI.Items, dw)
			diags = append(diags, d...)
			out = append(out, plan.Projection{Kind: "downwardAPI", Downward: files})
		}
	}
	return out, diags
}
