package expand

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
)

// podNamePlaceholder stands for the pod's name in a resolved template;
// each replica replaces it with its own name (fieldRef metadata.name).
const podNamePlaceholder = "\x00pod-name\x00"

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

// configData returns a ConfigMap's keys (data and decoded binaryData).
func (x *expander) configData(ns, name string) (map[string]string, bool) {
	k := "ConfigMap/" + ns + "/" + name
	if d, ok := x.decoded[k]; ok {
		return d, d != nil
	}
	o := x.in.Set.Get("ConfigMap", ns, name)
	if o == nil {
		x.decoded[k] = nil
		return nil, false
	}
	cm := o.Value.(*api.ConfigMap)
	d := make(map[string]string, len(cm.Data)+len(cm.BinaryData))
	for key, v := range cm.Data {
		d[key] = v
	}
	for key, v := range cm.BinaryData {
		if b, err := base64.StdEncoding.DecodeString(v); err == nil {
			d[key] = string(b)
		}
	}
	x.decoded[k] = d
	return d, true
}

// secretData returns a Secret's decoded keys (data, then stringData, which
// wins as in Kubernetes).
func (x *expander) secretData(ns, name string) (map[string]string, string, bool) {
	k := "Secret/" + ns + "/" + name
	o := x.in.Set.Get("Secret", ns, name)
	if o == nil {
		return nil, "", false
	}
	s := o.Value.(*api.Secret)
	if d, ok := x.decoded[k]; ok {
		return d, s.Type, true
	}
	d := make(map[string]string, len(s.Data)+len(s.StringData))
	for key, v := range s.Data {
		if b, err := base64.StdEncoding.DecodeString(v); err == nil {
			d[key] = string(b)
		}
	}
	for key, v := range s.StringData {
		d[key] = v
	}
	x.decoded[k] = d
	return d, s.Type, true
}

func optional(b *bool) bool { return b != nil && *b }

// env resolves a container's envFrom and env. Later entries override
// earlier ones with the same name, in place, as the kubelet does (env
// wins over envFrom). Service variables are added later, by the caller.
func (x *expander) env(src source, path, ns string, c *api.Container) ([]plan.EnvVar, []diag.Diagnostic) {
	var out []plan.EnvVar
	var diags []diag.Diagnostic
	index := map[string]int{}
	set := func(v plan.EnvVar) {
		if i, ok := index[v.Name]; ok {
			out[i] = v
			return
		}
		index[v.Name] = len(out)
		out = append(out, v)
	}
	for i, ef := range c.EnvFrom {
		p := fmt.Sprintf("%s.envFrom[%d]", path, i)
		switch {
		case ef.ConfigMapRef != nil:
			data, ok := x.configData(ns, ef.ConfigMapRef.Name)
			if !ok {
				if !optional(ef.ConfigMapRef.Optional) {
					diags = append(diags, src.errorf("reference", p+".configMapRef.name", "ConfigMap %s/%s does not exist (create it, or set optional: true)", ns, ef.ConfigMapRef.Name))
				}
				continue
			}
			for _, k := range sortedKeys(data) {
				if validEnvName(ef.Prefix + k) {
					set(plan.EnvVar{Name: ef.Prefix + k, Value: plan.Plain(data[k])})
				}
			}
		case ef.SecretRef != nil:
			data, _, ok := x.secretData(ns, ef.SecretRef.Name)
			if !ok {
				if !optional(ef.SecretRef.Optional) {
					diags = append(diags, src.errorf("reference", p+".secretRef.name", "Secret %s/%s does not exist (create it, or set optional: true)", ns, ef.SecretRef.Name))
				}
				continue
			}
			for _, k := range sortedKeys(data) {
				if validEnvName(ef.Prefix + k) {
					set(plan.EnvVar{Name: ef.Prefix + k, Value: x.in.SecretKey.Sensitive(data[k])})
				}
			}
		}
	}
	for i, e := range c.Env {
		p := fmt.Sprintf("%s.env[%d]", path, i)
		if e.ValueFrom == nil {
			set(plan.EnvVar{Name: e.Name, Value: plan.Plain(e.Value)})
			continue
		}
		vf := e.ValueFrom
		switch {
		case vf.ConfigMapKeyRef != nil:
			r := vf.ConfigMapKeyRef
			data, ok := x.configData(ns, r.Name)
			v, has := data[r.Key]
			if !ok || !has {
				if !optional(r.Optional) {
					diags = append(diags, src.errorf("reference", p+".valueFrom.configMapKeyRef", "ConfigMap %s/%s has no key %q (add it, or set optional: true)", ns, r.Name, r.Key))
				}
				continue
			}
			set(plan.EnvVar{Name: e.Name, Value: plan.Plain(v)})
		case vf.SecretKeyRef != nil:
			r := vf.SecretKeyRef
			data, _, ok := x.secretData(ns, r.Name)
			v, has := data[r.Key]
			if !ok || !has {
				if !optional(r.Optional) {
					diags = append(diags, src.errorf("reference", p+".valueFrom.secretKeyRef", "Secret %s/%s has no key %q (add it, or set optional: true)", ns, r.Name, r.Key))
				}
				continue
			}
			set(plan.EnvVar{Name: e.Name, Value: x.in.SecretKey.Sensitive(v)})
		case vf.FieldRef != nil:
			switch vf.FieldRef.FieldPath {
			case "metadata.name":
				// The value is the pod's name; the fieldRef lets a node set
				// the name of each pod it makes from a Job's template.
				set(plan.EnvVar{Name: e.Name, Value: plan.Plain(podNamePlaceholder), FieldRef: "metadata.name"})
			case "metadata.namespace":
				set(plan.EnvVar{Name: e.Name, Value: plan.Plain(ns)})
			case "status.podIP":
				set(plan.EnvVar{Name: e.Name, FieldRef: "status.podIP"})
			default:
				diags = append(diags, src.errorf("unsupported", p+".valueFrom.fieldRef.fieldPath", "fieldRef %q is not supported (berth resolves metadata.name, metadata.namespace and status.podIP)", vf.FieldRef.FieldPath))
			}
		}
	}
	return out, diags
}

// validEnvName is Kubernetes' C identifier-ish rule for envFrom keys:
// keys that are not valid names are skipped, as the kubelet does.
func validEnvName(s string) bool {
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

// resources converts requests and limits; a limit without a request sets
// the request, as Kubernetes' defaulting does.
func resources(src source, path string, r api.ResourceRequirements) (req, lim plan.Resources, diags []diag.Diagnostic) {
	conv := func(m map[string]string, field string) plan.Resources {
		var out plan.Resources
		for _, k := range sortedKeys(m) {
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
func (x *expander) container(src source, path, ns string, c *api.Container, podSC *api.PodSecurityContext) (plan.Container, []diag.Diagnostic) {
	env, diags := x.env(src, path, ns, c)
	req, lim, d := resources(src, path, c.Resources)
	diags = append(diags, d...)
	out := plan.Container{
		Name:            c.Name,
		Image:           c.Image,
		ImagePullPolicy: pullPolicy(c.Image, c.ImagePullPolicy),
		Command:         c.Command,
		Args:            c.Args,
		WorkingDir:      c.WorkingDir,
		Env:             env,
		Requests:        req,
		Limits:          lim,
		VolumeMounts:    c.VolumeMounts,
		LivenessProbe:   c.LivenessProbe,
		ReadinessProbe:  c.ReadinessProbe,
		StartupProbe:    c.StartupProbe,
		SecurityContext: securityContext(podSC, c.SecurityContext),
		Stdin:           c.Stdin || c.StdinOnce,
		TTY:             c.TTY,
	}
	out.TerminationMessagePath, out.TerminationMessagePolicy = terminationMessage(c)
	for _, p := range c.Ports {
		if p.Protocol == "" {
			p.Protocol = "TCP"
		}
		out.Ports = append(out.Ports, p)
	}
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Exec != nil {
		out.PreStop = c.Lifecycle.PreStop.Exec.Command
	}
	return out, diags
}

// pullSecrets resolves imagePullSecrets into per-registry credentials.
func (x *expander) pullSecrets(src source, ns string, refs []api.LocalObjectReference) ([]plan.RegistryAuth, []diag.Diagnostic) {
	var out []plan.RegistryAuth
	var diags []diag.Diagnostic
	for i, r := range refs {
		p := fmt.Sprintf("imagePullSecrets[%d].name", i)
		data, typ, ok := x.secretData(ns, r.Name)
		if !ok {
			diags = append(diags, src.errorf("reference", p, "Secret %s/%s does not exist (create it as type kubernetes.io/dockerconfigjson)", ns, r.Name))
			continue
		}
		raw, has := data[".dockerconfigjson"]
		if typ != "kubernetes.io/dockerconfigjson" || !has {
			diags = append(diags, src.errorf("pull-secret", p, "Secret %s/%s is not of type kubernetes.io/dockerconfigjson with a .dockerconfigjson key", ns, r.Name))
			continue
		}
		auths, err := parseDockerConfig(raw, x.in.SecretKey)
		if err != nil {
			// The error never quotes the content: it is a secret.
			diags = append(diags, src.errorf("pull-secret", p, "Secret %s/%s: %v", ns, r.Name, err))
			continue
		}
		out = append(out, auths...)
	}
	slices.SortStableFunc(out, func(a, b plan.RegistryAuth) int { return strings.Compare(a.Registry, b.Registry) })
	return out, diags
}

// parseDockerConfig reads {"auths": {host: {username, password | auth}}}
// with the one reader lint uses too (api.ParseDockerConfigJSON).
func parseDockerConfig(raw string, key plan.SecretKey) ([]plan.RegistryAuth, error) {
	auths, err := api.ParseDockerConfigJSON([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", api.DockerConfigJSONKey, err)
	}
	out := make([]plan.RegistryAuth, 0, len(auths))
	for _, a := range auths {
		out = append(out, plan.RegistryAuth{Registry: a.Registry, Username: key.Sensitive(a.Username), Password: key.Sensitive(a.Password)})
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
