package validate

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"berth.dev/berth/compiler/api"
)

// pod is ValidatePodCreate for the fields berth supports.
func pod(p *api.Pod) field.ErrorList {
	errs := objectMeta(&p.Metadata, metaPath)
	return append(errs, podSpec(&p.Spec, specPath)...)
}

// podTemplate is ValidatePodTemplateSpec: the template's annotations and
// its pod spec.
func podTemplate(t *api.PodTemplateSpec, path *field.Path) field.ErrorList {
	errs := annotationsSize(t.Metadata.Annotations, path.Child("metadata", "annotations"))
	return append(errs, podSpec(&t.Spec, path.Child("spec"))...)
}

// podSpec is the part of ValidatePodSpec that relates fields: probes,
// init containers, mount paths, host ports.
func podSpec(s *api.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, podAccounts(s, path)...)
	errs = append(errs, downwardVolumes(s.Volumes, path.Child("volumes"))...)
	errs = append(errs, containers(s.Containers, path.Child("containers"))...)
	errs = append(errs, initContainers(s.InitContainers, path.Child("initContainers"))...)
	errs = append(errs, hostNetworkPorts(s, path)...)
	errs = append(errs, scheduling(s, path)...)
	errs = append(errs, podDNS(s, path)...)
	errs = append(errs, hookSleeps(s, path)...)
	return append(errs, podSecurityContext(s, path)...)
}

// containers is validateContainers: each container's common rules,
// lifecycle and probes, then host ports across all of them (they run
// together).
func containers(cs []api.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range cs {
		c := &cs[i]
		p := path.Index(i)
		errs = append(errs, containerCommon(c, p)...)
		errs = append(errs, probesAndLifecycle(c, p)...)
	}
	return append(errs, hostPortConflicts(cs, path)...)
}

// probesAndLifecycle is the part of validateContainers that regular
// containers and sidecars share: validateLifecycle and the liveness,
// readiness and startup probes' rules.
func probesAndLifecycle(c *api.Container, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil && c.Lifecycle.PostStart.HTTPGet != nil {
		errs = append(errs, httpHeaders(c.Lifecycle.PostStart.HTTPGet, p.Child("lifecycle", "postStart", "httpGet"))...)
	}
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.HTTPGet != nil {
		errs = append(errs, httpHeaders(c.Lifecycle.PreStop.HTTPGet, p.Child("lifecycle", "preStop", "httpGet"))...)
	}
	errs = append(errs, probe(c.LivenessProbe, p.Child("livenessProbe"), probeLiveness)...)
	errs = append(errs, probe(c.ReadinessProbe, p.Child("readinessProbe"), probeReadiness)...)
	return append(errs, probe(c.StartupProbe, p.Child("startupProbe"), probeStartup)...)
}

// initContainers is validateInitContainers. An init container with
// restartPolicy Always is a sidecar: it keeps running beside the
// containers, so it may have probes and lifecycle hooks, with their
// rules. The others run one at a time to completion, so those are
// refused and host ports are only checked within each.
func initContainers(cs []api.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	const why = "may not be set for init containers without restartPolicy=Always"
	for i := range cs {
		c := &cs[i]
		p := path.Index(i)
		errs = append(errs, containerCommon(c, p)...)
		errs = append(errs, hostPortConflicts(cs[i:i+1], path)...)
		if c.RestartPolicy == api.ContainerRestartAlways {
			errs = append(errs, probesAndLifecycle(c, p)...)
			continue
		}
		if c.Lifecycle != nil {
			errs = append(errs, field.Forbidden(p.Child("lifecycle"), why))
		}
		if c.LivenessProbe != nil {
			errs = append(errs, field.Forbidden(p.Child("livenessProbe"), why))
		}
		if c.ReadinessProbe != nil {
			errs = append(errs, field.Forbidden(p.Child("readinessProbe"), why))
		}
		if c.StartupProbe != nil {
			errs = append(errs, field.Forbidden(p.Child("startupProbe"), why))
		}
	}
	return errs
}

// containerCommon is the part of validateContainerCommon that relates
// fields: ValidateVolumeMounts' unique mount paths and propagation, and
// ValidateSecurityContext.
func containerCommon(c *api.Container, path *field.Path) field.ErrorList {
	errs := envDownward(c.Env, path.Child("env"))
	if len(c.VolumeMounts) > 1 {
		seen := make(map[string]bool, len(c.VolumeMounts))
		for i, m := range c.VolumeMounts {
			if seen[m.MountPath] {
				errs = append(errs, field.Invalid(path.Child("volumeMounts").Index(i).Child("mountPath"), m.MountPath, "must be unique"))
			}
			seen[m.MountPath] = true
		}
	}
	errs = append(errs, mountPropagation(c, path)...)
	return append(errs, securityContext(c.SecurityContext, path.Child("securityContext"))...)
}

// The kinds of probe, whose rules differ.
const (
	probeLiveness = iota
	probeReadiness
	probeStartup
)

// probe is validateLivenessProbe, validateReadinessProbe and
// validateStartupProbe: a liveness or startup probe's successThreshold
// must be 1 (a readiness probe may ask for more; the schema has
// defaulted a zero to 1), its terminationGracePeriodSeconds greater
// than 0 (validateProbe), and a readiness probe has none: it never kills.
//
// It also checks httpGet.httpHeaders' names (validateHTTPGetAction).
func probe(p *api.Probe, path *field.Path, kind int) field.ErrorList {
	if p == nil {
		return nil
	}
	var errs field.ErrorList
	if p.HTTPGet != nil {
		errs = append(errs, httpHeaders(p.HTTPGet, path.Child("httpGet"))...)
	}
	if g := p.TerminationGracePeriodSeconds; g != nil && *g <= 0 {
		errs = append(errs, field.Invalid(path.Child("terminationGracePeriodSeconds"), *g, "must be greater than 0"))
	}
	if kind == probeReadiness {
		if g := p.TerminationGracePeriodSeconds; g != nil {
			errs = append(errs, field.Invalid(path.Child("terminationGracePeriodSeconds"), *g, "must not be set for readinessProbes"))
		}
		return errs
	}
	if p.SuccessThreshold == 0 || p.SuccessThreshold == 1 {
		return errs
	}
	return append(errs, field.Invalid(path.Child("successThreshold"), int64(p.SuccessThreshold), "must be 1"))
}

// httpHeaders checks an httpGet's header names (validateHTTPGetAction:
// IsHTTPHeaderName, on the list's path as the API server reports it).
func httpHeaders(h *api.HTTPGetAction, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, header := range h.HTTPHeaders {
		for _, msg := range validation.IsHTTPHeaderName(header.Name) {
			errs = append(errs, field.Invalid(path.Child("httpHeaders"), header.Name, msg))
		}
	}
	return errs
}

// hostPortConflicts is AccumulateUniqueHostPorts: two ports of the
// containers that run together may not take one host port and protocol.
// The value is the API server's protocol/hostIP/port (berth has no
// hostIP: "TCP//8080").
func hostPortConflicts(cs []api.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	var seen map[string]bool
	for ci := range cs {
		for pi, port := range cs[ci].Ports {
			if port.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s//%d", protocol(port.Protocol), port.HostPort)
			if seen[key] {
				errs = append(errs, field.Duplicate(path.Index(ci).Child("ports").Index(pi).Child("hostPort"), key))
				continue
			}
			if seen == nil {
				seen = map[string]bool{}
			}
			seen[key] = true
		}
	}
	return errs
}

// hostNetworkPorts is validatePodHostNetworkDeps: with hostNetwork, a
// container's hostPort is its containerPort. (For a Pod the API server
// first defaults an unset hostPort to the containerPort.)
func hostNetworkPorts(s *api.PodSpec, path *field.Path) field.ErrorList {
	if !s.HostNetwork {
		return nil
	}
	var errs field.ErrorList
	for ci, c := range s.Containers {
		for pi, p := range c.Ports {
			if p.HostPort != 0 && p.HostPort != p.ContainerPort {
				errs = append(errs, field.Invalid(path.Child("containers").Index(ci).Child("ports").Index(pi).Child("hostPort"),
					int64(p.HostPort), "must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

// alwaysRestart is the controllers' rule (ValidatePodTemplateSpecFor-
// ReplicaSet, ValidateDaemonSetSpec): their pods run forever, so the
// template's restartPolicy is Always.
func alwaysRestart(s *api.PodSpec, path *field.Path) field.ErrorList {
	if s.RestartPolicy == "" || s.RestartPolicy == "Always" {
		return nil
	}
	return field.ErrorList{field.NotSupported(path.Child("restartPolicy"), s.RestartPolicy, []string{"Always"})}
}

func protocol(p string) string {
	if p == "" {
		return "TCP"
	}
	return p
}

// hookSleeps is validateSleepAction for every hook of the pod: a sleep
// of 0 up to the pod's grace period (30 s by default), the rule since
// Kubernetes 1.34 (PodLifecycleSleepActionAllowZero).
func hookSleeps(s *api.PodSpec, path *field.Path) field.ErrorList {
	grace := int64(30)
	if s.TerminationGracePeriodSeconds != nil {
		grace = *s.TerminationGracePeriodSeconds
	}
	var errs field.ErrorList
	check := func(cs []api.Container, path *field.Path) {
		for i := range cs {
			l := cs[i].Lifecycle
			if l == nil {
				continue
			}
			for j, h := range []*api.LifecycleHandler{l.PostStart, l.PreStop} {
				if h == nil || h.Sleep == nil {
					continue
				}
				name := [...]string{"postStart", "preStop"}[j]
				if sec := h.Sleep.Seconds; sec < 0 || sec > grace {
					errs = append(errs, field.Invalid(path.Index(i).Child("lifecycle", name, "sleep"), sec,
						fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", grace)))
				}
			}
		}
	}
	check(s.InitContainers, path.Child("initContainers"))
	check(s.Containers, path.Child("containers"))
	return errs
}
