package expand

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
)

// Default values Kubernetes applies when a field is omitted.
const (
	defaultGrace    = 30
	defaultFileMode = 0o644
)

// source is the object a pod template belongs to, for diagnostics.
type source struct {
	obj  *object.Object
	path string // path of the PodSpec within obj, e.g. "spec.template.spec"
}

func (s source) errorf(rule, path, format string, args ...any) diag.Diagnostic {
	return s.obj.Diag(diag.Error, rule, joinPath(s.path, path), format, args...)
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + "." + b
}

// tables holds the content of every ConfigMap and Secret once, for the
// plan and for the lookups of expansion (plan.ConfigLookup).
type tables struct {
	configMaps map[[2]string]*plan.ConfigData
	secrets    map[[2]string]*plan.ConfigData
	cmList     []plan.ConfigData
	secList    []plan.ConfigData
}

func newTables(set *object.Set, key plan.SecretKey) *tables {
	t := &tables{configMaps: map[[2]string]*plan.ConfigData{}, secrets: map[[2]string]*plan.ConfigData{}}
	for _, c := range object.Typed[api.ConfigMap](set, "ConfigMap") {
		if set.Get("ConfigMap", c.Namespace, c.Name) != c.Object {
			continue // a duplicate; the checks report it
		}
		raw := c.V.DecodedData()
		d := make(map[string]plan.Secret, len(raw))
		for k, v := range raw {
			d[k] = plan.Plain(string(v))
		}
		t.cmList = append(t.cmList, plan.NewConfigData(c.Namespace, c.Name, "", d))
		t.cmList[len(t.cmList)-1].Immutable = c.V.Immutable != nil && *c.V.Immutable
	}
	for _, s := range object.Typed[api.Secret](set, "Secret") {
		if set.Get("Secret", s.Namespace, s.Name) != s.Object {
			continue
		}
		raw := s.V.DecodedData()
		d := make(map[string]plan.Secret, len(raw))
		for k, v := range raw {
			d[k] = key.Sensitive(string(v))
		}
		t.secList = append(t.secList, plan.NewConfigData(s.Namespace, s.Name, s.V.SecretType(), d))
		t.secList[len(t.secList)-1].Immutable = s.V.Immutable != nil && *s.V.Immutable
	}
	// The lists are in set order (namespace, name): what the plan wants.
	for i := range t.cmList {
		t.configMaps[[2]string{t.cmList[i].Namespace, t.cmList[i].Name}] = &t.cmList[i]
	}
	for i := range t.secList {
		t.secrets[[2]string{t.secList[i].Namespace, t.secList[i].Name}] = &t.secList[i]
	}
	return t
}

// ConfigMap implements plan.ConfigLookup.
func (t *tables) ConfigMap(ns, name string) *plan.ConfigData {
	return t.configMaps[[2]string{ns, name}]
}

// Secret implements plan.ConfigLookup.
func (t *tables) Secret(ns, name string) *plan.ConfigData { return t.secrets[[2]string{ns, name}] }

func optional(b *bool) bool { return b != nil && *b }

// env checks a container's envFrom and env against the tables and
// returns them as references: the values stay in the plan's ConfigMap
// and Secret tables, and the node reads them when the container starts
// (plan.ResolveEnv). Service variables are the node's too.
func (x *expander) env(src source, path, ns string, c *api.Container, dw *downward) ([]plan.EnvFrom, []plan.EnvVar, []diag.Diagnostic) {
	var from []plan.EnvFrom
	var out []plan.EnvVar
	var diags []diag.Diagnostic
	for i, ef := range c.EnvFrom {
		p := fmt.Sprintf("%s.envFrom[%d]", path, i)
		switch {
		case ef.ConfigMapRef != nil:
			if x.tables.ConfigMap(ns, ef.ConfigMapRef.Name) == nil && !optional(ef.ConfigMapRef.Optional) {
				diags = append(diags, src.errorf("reference", p+".configMapRef.name", "ConfigMap %s/%s does not exist (create it, or set optional: true)", ns, ef.ConfigMapRef.Name))
				continue
			}
			from = append(from, plan.EnvFrom{Prefix: ef.Prefix, ConfigMap: ef.ConfigMapRef.Name, Optional: optional(ef.ConfigMapRef.Optional)})
		case ef.SecretRef != nil:
			if x.tables.Secret(ns, ef.SecretRef.Name) == nil && !optional(ef.SecretRef.Optional) {
				diags = append(diags, src.errorf("reference", p+".secretRef.name", "Secret %s/%s does not exist (create it, or set optional: true)", ns, ef.SecretRef.Name))
				continue
			}
			from = append(from, plan.EnvFrom{Prefix: ef.Prefix, Secret: ef.SecretRef.Name, Optional: optional(ef.SecretRef.Optional)})
		}
	}
	has := func(d *plan.ConfigData, key string) bool {
		if d == nil {
			return false
		}
		_, ok := d.Data[key]
		return ok
	}
	for i, e := range c.Env {
		p := fmt.Sprintf("%s.env[%d]", path, i)
		if e.ValueFrom == nil {
			out = append(out, plan.EnvVar{Name: e.Name, Value: plan.Plain(e.Value)})
			continue
		}
		vf := e.ValueFrom
		switch {
		case vf.ConfigMapKeyRef != nil:
			r := vf.ConfigMapKeyRef
			if !has(x.tables.ConfigMap(ns, r.Name), r.Key) && !optional(r.Optional) {
				diags = append(diags, src.errorf("reference", p+".valueFrom.configMapKeyRef", "ConfigMap %s/%s has no key %q (add it, or set optional: true)", ns, r.Name, r.Key))
				continue
			}
			out = append(out, plan.EnvVar{Name: e.Name, ConfigMapKeyRef: &plan.KeyRef{Name: r.Name, Key: r.Key, Optional: optional(r.Optional)}})
		case vf.SecretKeyRef != nil:
			r := vf.SecretKeyRef
			if !has(x.tables.Secret(ns, r.Name), r.Key) && !optional(r.Optional) {
				diags = append(diags, src.errorf("reference", p+".valueFrom.secretKeyRef", "Secret %s/%s has no key %q (add it, or set optional: true)", ns, r.Name, r.Key))
				continue
			}
			out = append(out, plan.EnvVar{Name: e.Name, SecretKeyRef: &plan.KeyRef{Name: r.Name, Key: r.Key, Optional: optional(r.Optional)}})
		case vf.FieldRef != nil:
			v, d := dw.fieldEnv(src, p+".valueFrom.fieldRef", ns, e.Name, vf.FieldRef)
			if d != nil {
				diags = append(diags, *d)
				continue
			}
			out = append(out, v)
		case vf.ResourceFieldRef != nil:
			v, ref, d := dw.resource(src, p+".valueFrom.resourceFieldRef", c, vf.ResourceFieldRef)
			if len(d) > 0 {
				diags = append(diags, d...)
				continue
			}
			out = append(out, plan.EnvVar{Name: e.Name, Value: plan.Plain(v), ResourceFieldRef: ref})
		}
	}
	return from, out, diags
}

// resources converts requests and limits; a limit without a request sets
// the request, as Kubernetes' defaulting does.
func resources(src source, path string, r api.ResourceRequirements) (req, lim plan.Resources, diags []diag.Diagnostic) {
	conv := func(m map[string]string, field string) plan.Resources {
		var out plan.Resources
		for _, k := range slices.Sorted(maps.Keys(m)) {
			q, err := api.ParseQuantity(m[k])
			if err != nil {
				diags = append(diags, src.errorf("schema", path+"."+field+"."+k, "%v", err))
				continue
			}
			switch k {
			case "cpu":
				out.MilliCPU = q.MilliValue()
			case "memory":
				out.Memory = q.Value()
			}
		}
		return out
	}
	req = conv(r.Requests, "resources.requests")
	lim = conv(r.Limits, "resources.limits")
	if _, ok := r.Requests["cpu"]; !ok {
		req.MilliCPU = lim.MilliCPU
	}
	if _, ok := r.Requests["memory"]; !ok {
		req.Memory = lim.Memory
	}
	return req, lim, diags
}

// pullPolicy is Kubernetes' default: Always for :latest or untagged
// images, IfNotPresent otherwise.
func pullPolicy(image, policy string) string {
	if policy != "" {
		return policy
	}
	if strings.Contains(image, "@") {
		return "IfNotPresent"
	}
	last := image[strings.LastIndex(image, "/")+1:]
	i := strings.LastIndex(last, ":")
	if i < 0 || last[i+1:] == "latest" {
		return "Always"
	}
	return "IfNotPresent"
}

// container resolves one container (without service variables).
func (x *expander) container(src source, path, ns string, c *api.Container, podSC *api.PodSecurityContext, dw *downward) (plan.Container, []diag.Diagnostic) {
	from, env, diags := x.env(src, path, ns, c, dw)
	req, lim, d := resources(src, path, c.Resources)
	diags = append(diags, d...)
	out := plan.Container{
		Name:            c.Name,
		Image:           c.Image,
		ImagePullPolicy: pullPolicy(c.Image, c.ImagePullPolicy),
		Command:         c.Command,
		Args:            c.Args,
		WorkingDir:      c.WorkingDir,
		EnvFrom:         from,
		Env:             env,
		Requests:        req,
		Limits:          lim,
		VolumeMounts:    planMounts(c.VolumeMounts),
		LivenessProbe:   planProbe(c.LivenessProbe),
		ReadinessProbe:  planProbe(c.ReadinessProbe),
		StartupProbe:    planProbe(c.StartupProbe),
		SecurityContext: securityContext(podSC, c.SecurityContext),
		Stdin:           c.Stdin || c.StdinOnce,
		TTY:             c.TTY,
	}
	out.TerminationMessagePath, out.TerminationMessagePolicy = terminationMessage(c)
	for _, p := range c.Ports {
		if p.Protocol == "" {
			p.Protocol = "TCP"
		}
		out.Ports = append(out.Ports, plan.ContainerPort(p))
	}
	if c.Lifecycle != nil {
		out.PostStart = planHook(c.Lifecycle.PostStart)
		if h := c.Lifecycle.PreStop; h != nil && h.Exec != nil {
			out.PreStop = h.Exec.Command
		} else {
			out.PreStopHook = planHook(h)
		}
	}
	out.RestartPolicy = c.RestartPolicy
	return out, diags
}

// pullSecrets checks imagePullSecrets and returns their names: the
// credentials stay in the Secrets table until the node pulls.
func (x *expander) pullSecrets(src source, ns string, refs []api.LocalObjectReference) ([]string, []diag.Diagnostic) {
	var out []string
	var diags []diag.Diagnostic
	for i, r := range refs {
		p := fmt.Sprintf("imagePullSecrets[%d].name", i)
		s := x.tables.Secret(ns, r.Name)
		if s == nil {
			diags = append(diags, src.errorf("reference", p, "Secret %s/%s does not exist (create it as type kubernetes.io/dockerconfigjson)", ns, r.Name))
			continue
		}
		raw, has := s.Data[api.DockerConfigJSONKey]
		if s.Type != api.SecretTypeDockerConfigJSON || !has {
			diags = append(diags, src.errorf("pull-secret", p, "Secret %s/%s is not of type kubernetes.io/dockerconfigjson with a .dockerconfigjson key", ns, r.Name))
			continue
		}
		if _, err := plan.ParseDockerConfig(raw.Data); err != nil {
			diags = append(diags, src.errorf("pull-secret", p, "Secret %s/%s: %v", ns, r.Name, err))
			continue
		}
		out = append(out, r.Name)
	}
	return out, diags
}
