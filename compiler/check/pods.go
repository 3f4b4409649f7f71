package check

import (
	"fmt"
	"strings"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
)

// checkPodSpec runs the checks of one pod template: names, env, ports,
// images, probes, volumes and the objects it refers to.
//
// Severities follow the Kubernetes API server: what it refuses
// (duplicate container, volume or port names, a mount of no volume) is an
// error; what it accepts with a warning (a duplicate env name or
// containerPort) is a warning.
func checkPodSpec(set *object.Set, p pod, opts Options) []diag.Diagnostic {
	var ds []diag.Diagnostic
	o := p.obj
	names := map[string]string{}
	for _, c := range p.containers() {
		if first, dup := names[c.c.Name]; dup && c.c.Name != "" {
			ds = append(ds, o.Diag(diag.Error, RuleDuplicateName, c.path+".name",
				"container name %q is already used by %s: give each container of a pod its own name", c.c.Name, first))
		} else {
			names[c.c.Name] = c.path
		}
		ds = append(ds, checkContainer(o, c)...)
		ds = append(ds, checkContainerRefs(set, opts, o, c)...)
	}
	ds = append(ds, checkVolumes(set, p, opts)...)
	ds = append(ds, checkPullSecrets(set, p, opts)...)
	return ds
}

// checkPullSecrets checks the Secrets a pod pulls its images with: they
// exist, and are of the type berth reads (the plan refuses any other).
func checkPullSecrets(set *object.Set, p pod, opts Options) []diag.Diagnostic {
	return checkPullSecretList(set, p.obj, p.spec.ImagePullSecrets, p.path+".imagePullSecrets", opts)
}

// checkPullSecretList checks the pull secrets o names at path (a pod's,
// or a ServiceAccount's that its pods take).
func checkPullSecretList(set *object.Set, o *object.Object, refs []api.LocalObjectReference, path string, opts Options) []diag.Diagnostic {
	var ds []diag.Diagnostic
	for i, s := range refs {
		if s.Name == "" {
			continue
		}
		path := fmt.Sprintf("%s[%d].name", path, i)
		ref := set.Get("Secret", o.Namespace, s.Name)
		if ref == nil {
			if d, ok := missing(o, opts, "Secret", s.Name, path,
				"Secret %q does not exist in namespace %s: add the kubernetes.io/dockerconfigjson Secret to the repository or fix the name", s.Name, o.Namespace); ok {
				ds = append(ds, d)
			}
			continue
		}
		switch typ := ref.Value.(*api.Secret).SecretType(); typ {
		case api.SecretTypeDockerConfigJSON:
		case api.SecretTypeDockercfg:
			ds = append(ds, o.Diag(diag.Error, RulePullSecret, path,
				"Secret %q is of type %s, valid Kubernetes but not supported by berth as an image pull secret (supported: %s): convert it to %s", s.Name, typ, api.SecretTypeDockerConfigJSON, api.SecretTypeDockerConfigJSON))
		default:
			ds = append(ds, o.Diag(diag.Error, RulePullSecret, path,
				"Secret %q is of type %s, not an image pull secret: use a Secret of type %s with a %s key", s.Name, typ, api.SecretTypeDockerConfigJSON, api.DockerConfigJSONKey))
		}
	}
	return ds
}

// checkContainer checks one container on its own.
func checkContainer(o *object.Object, c containerRef) []diag.Diagnostic {
	var ds []diag.Diagnostic
	envs := map[string]int{}
	for j, e := range c.c.Env {
		if first, dup := envs[e.Name]; dup {
			ds = append(ds, o.Diag(diag.Warning, RuleDuplicateEnv, fmt.Sprintf("%s.env[%d].name", c.path, j),
				"env %q is already set at env[%d] and this value replaces it: remove one of them", e.Name, first))
			continue
		}
		envs[e.Name] = j
	}
	type portKey struct {
		port     int32
		protocol string
	}
	ports, portNames := map[portKey]int{}, map[string]int{}
	for j, cp := range c.c.Ports {
		key := portKey{cp.ContainerPort, protocol(cp.Protocol)}
		if first, dup := ports[key]; dup {
			ds = append(ds, o.Diag(diag.Warning, RuleDuplicatePort, fmt.Sprintf("%s.ports[%d].containerPort", c.path, j),
				"containerPort %d/%s is already declared at ports[%d]: remove the duplicate", key.port, key.protocol, first))
		} else {
			ports[key] = j
		}
		if cp.Name == "" {
			continue
		}
		if first, dup := portNames[cp.Name]; dup {
			ds = append(ds, o.Diag(diag.Error, RuleDuplicatePort, fmt.Sprintf("%s.ports[%d].name", c.path, j),
				"port name %q is already used at ports[%d]: give each port of a container its own name", cp.Name, first))
		} else {
			portNames[cp.Name] = j
		}
	}
	if d, ok := checkImage(o, c); ok {
		ds = append(ds, d)
	}
	for _, pr := range []struct {
		name  string
		probe *api.Probe
	}{{"livenessProbe", c.c.LivenessProbe}, {"readinessProbe", c.c.ReadinessProbe}, {"startupProbe", c.c.StartupProbe}} {
		if pr.probe == nil {
			continue
		}
		if h := pr.probe.HTTPGet; h != nil {
			ds = append(ds, checkProbePort(o, c, pr.name, pr.name+".httpGet.port", h.Port)...)
		}
		if t := pr.probe.TCPSocket; t != nil {
			ds = append(ds, checkProbePort(o, c, pr.name, pr.name+".tcpSocket.port", t.Port)...)
		}
	}
	return ds
}

// checkImage warns about an image without a tag or with :latest, which
// change under a running deployment and make plans non-reproducible.
func checkImage(o *object.Object, c containerRef) (diag.Diagnostic, bool) {
	img := c.c.Image
	if img == "" || strings.Contains(img, "@") {
		return diag.Diagnostic{}, false // empty is the schema's finding; a digest is pinned
	}
	name, tag := img, ""
	if i := strings.LastIndex(img, ":"); i > strings.LastIndex(img, "/") {
		name, tag = img[:i], img[i+1:]
	}
	switch tag {
	case "":
		return o.Diag(diag.Warning, RuleImageTag, c.path+".image",
			"image %q has no tag, which means :latest and can change under you: pin a version (for example %s:1.0) or a digest", img, name), true
	case "latest":
		return o.Diag(diag.Warning, RuleImageTag, c.path+".image",
			"image %q uses the tag latest, which can change under you: pin a version tag or a digest", img), true
	}
	return diag.Diagnostic{}, false
}

// checkProbePort reports a probe aimed at a port the container does not
// expose. A name that no port declares can never resolve (error); an
// undeclared number works only if the process happens to listen there
// (warning).
func checkProbePort(o *object.Object, c containerRef, probe, field string, port api.IntOrString) []diag.Diagnostic {
	if port.IsString {
		for _, cp := range c.c.Ports {
			if cp.Name == port.StrVal {
				return nil
			}
		}
		return []diag.Diagnostic{o.Diag(diag.Error, RuleProbePort, c.path+"."+field,
			"%s port %q is not the name of a port of container %q (%s): name one of its ports or use a number", probe, port.StrVal, c.c.Name, portList(c.c.Ports))}
	}
	if port.IntVal == 0 {
		return nil // a missing port is the schema's finding
	}
	for _, cp := range c.c.Ports {
		if cp.ContainerPort == port.IntVal {
			return nil
		}
	}
	return []diag.Diagnostic{o.Diag(diag.Warning, RuleProbePort, c.path+"."+field,
		"%s port %d is not a containerPort of container %q (%s): declare it in ports, or probe a port the container exposes", probe, port.IntVal, c.c.Name, portList(c.c.Ports))}
}

func portList(ports []api.ContainerPort) string {
	if len(ports) == 0 {
		return "it declares no ports"
	}
	parts := make([]string, len(ports))
	for i, cp := range ports {
		if cp.Name != "" {
			parts[i] = fmt.Sprintf("%s=%d", cp.Name, cp.ContainerPort)
		} else {
			parts[i] = fmt.Sprint(cp.ContainerPort)
		}
	}
	return "ports: " + strings.Join(parts, ", ")
}

// checkVolumes checks volume names, mounts, and the ConfigMaps, Secrets
// and claims the volumes refer to.
func checkVolumes(set *object.Set, p pod, opts Options) []diag.Diagnostic {
	var ds []diag.Diagnostic
	o := p.obj
	vols := map[string]int{}
	for _, name := range claimTemplates(o) {
		vols[name] = -1
	}
	for k, v := range p.spec.Volumes {
		vp := fmt.Sprintf("%s.volumes[%d]", p.path, k)
		if first, dup := vols[v.Name]; dup {
			ds = append(ds, o.Diag(diag.Error, RuleDuplicateName, vp+".name",
				"volume name %q is already used by volumes[%d]: give each volume its own name", v.Name, first))
		} else {
			vols[v.Name] = k
		}
		switch {
		case v.ConfigMap != nil:
			ds = append(ds, checkVolumeSource(set, opts, o, "ConfigMap", v.ConfigMap.Name, vp+".configMap", "name", v.ConfigMap.Items, v.ConfigMap.Optional)...)
		case v.Secret != nil:
			ds = append(ds, checkVolumeSource(set, opts, o, "Secret", v.Secret.SecretName, vp+".secret", "secretName", v.Secret.Items, v.Secret.Optional)...)
		case v.PersistentVolumeClaim != nil:
			if name := v.PersistentVolumeClaim.ClaimName; name != "" && set.Get("PersistentVolumeClaim", o.Namespace, name) == nil {
				if d, ok := missing(o, opts, "PersistentVolumeClaim", name, vp+".persistentVolumeClaim.claimName",
					"PersistentVolumeClaim %q does not exist in namespace %s: add it to the repository or fix claimName", name, o.Namespace); ok {
					ds = append(ds, d)
				}
			}
		}
	}
	for _, c := range p.containers() {
		for j, m := range c.c.VolumeMounts {
			if _, ok := vols[m.Name]; !ok && m.Name != "" {
				ds = append(ds, o.Diag(diag.Error, RuleMissingReference, fmt.Sprintf("%s.volumeMounts[%d].name", c.path, j),
					"volumeMount %q names no volume of the pod (%s): add it to %s.volumes or fix the name", m.Name, volumeList(p.spec.Volumes), p.path))
			}
			if m.SubPath != "" && m.SubPathExpr != "" {
				ds = append(ds, o.Diag(diag.Error, RuleVolumeMount, fmt.Sprintf("%s.volumeMounts[%d].subPathExpr", c.path, j),
					"subPathExpr and subPath are mutually exclusive: keep one of them"))
			}
		}
	}
	return ds
}

func volumeList(vs []api.Volume) string {
	if len(vs) == 0 {
		return "it has none"
	}
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Name
	}
	return "volumes: " + strings.Join(names, ", ")
}

// claimTemplates are the names of a StatefulSet's volumeClaimTemplates:
// its containers mount them like volumes of the pod.
func claimTemplates(o *object.Object) []string {
	s, ok := o.Value.(*api.StatefulSet)
	if !ok {
		return nil
	}
	var out []string
	for _, c := range s.Spec.VolumeClaimTemplates {
		out = append(out, c.Metadata.Name)
	}
	return out
}
