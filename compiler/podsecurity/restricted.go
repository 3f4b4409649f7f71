package podsecurity

import (
	"fmt"
	"strconv"
	"strings"
)

// The restricted checks, on top of the baseline ones they do not
// override; each is PSA's check of the same id, word for word.

// allowPrivilegeEscalation (1.8+): every container must set
// securityContext.allowPrivilegeEscalation=false.
func allowPrivilegeEscalation(p *Pod) *finding {
	var containers []string
	field := ""
	for _, c := range p.Containers {
		if a := c.SecurityContext.AllowPrivilegeEscalation; a == nil || *a {
			containers = append(containers, c.Name)
			field = firstOf(field, c.Path+".securityContext.allowPrivilegeEscalation")
		}
	}
	if len(containers) == 0 {
		return nil
	}
	return &finding{"allowPrivilegeEscalation != false", fmt.Sprintf("%s %s must set securityContext.allowPrivilegeEscalation=false",
		pluralize("container", "containers", len(containers)), joinQuote(containers)), field}
}

// capabilitiesRestricted (1.22+, replaces capabilities_baseline): drop
// must include ALL, add at most NET_BIND_SERVICE.
func capabilitiesRestricted(p *Pod) *finding {
	var missingDrop, adding []string
	bad := set{}
	field := ""
	for _, c := range p.Containers {
		caps := c.SecurityContext.Capabilities
		if caps == nil {
			missingDrop = append(missingDrop, c.Name)
			field = firstOf(field, c.Path+".securityContext.capabilities.drop")
			continue
		}
		dropsAll := false
		for _, d := range caps.Drop {
			if d == "ALL" {
				dropsAll = true
				break
			}
		}
		if !dropsAll {
			missingDrop = append(missingDrop, c.Name)
			field = firstOf(field, c.Path+".securityContext.capabilities.drop")
		}
		added := false
		for _, a := range caps.Add {
			if a != "NET_BIND_SERVICE" {
				added = true
				bad[a] = true
			}
		}
		if added {
			adding = append(adding, c.Name)
			field = firstOf(field, c.Path+".securityContext.capabilities.add")
		}
	}
	var details []string
	if len(missingDrop) > 0 {
		details = append(details, fmt.Sprintf(`%s %s must set securityContext.capabilities.drop=["ALL"]`,
			pluralize("container", "containers", len(missingDrop)), joinQuote(missingDrop)))
	}
	if len(adding) > 0 {
		details = append(details, fmt.Sprintf(`%s %s must not include %s in securityContext.capabilities.add`,
			pluralize("container", "containers", len(adding)), joinQuote(adding), joinQuote(bad.list())))
	}
	if len(details) == 0 {
		return nil
	}
	return &finding{"unrestricted capabilities", strings.Join(details, "; "), field}
}

// allowedVolumeTypes are the volume sources the restricted standard
// allows (of them, berth accepts configMap, emptyDir, PVC and secret).
var allowedVolumeTypes = set{"configMap": true, "csi": true, "downwardAPI": true, "emptyDir": true, "ephemeral": true,
	"image": true, "persistentVolumeClaim": true, "projected": true, "secret": true}

// restrictedVolumes (replaces hostPathVolumes): only the allowed types.
func restrictedVolumes(p *Pod) *finding {
	var names []string
	types := set{}
	field := ""
	for i, v := range p.Volumes {
		if allowedVolumeTypes[v.Type] {
			continue
		}
		names = append(names, v.Name)
		types[v.Type] = true
		field = firstOf(field, p.Path+".volumes["+strconv.Itoa(i)+"]."+v.Type)
	}
	if len(names) == 0 {
		return nil
	}
	return &finding{"restricted volume types", fmt.Sprintf("%s %s %s %s %s",
		pluralize("volume", "volumes", len(names)), joinQuote(names), pluralize("uses", "use", len(names)),
		pluralize("restricted volume type", "restricted volume types", len(types)), joinQuote(types.list())), field}
}

// runAsNonRoot: the pod, or every container, must set
// securityContext.runAsNonRoot=true, and none may set it false.
func runAsNonRoot(p *Pod) *finding {
	var setters, explicit, implicit []string
	field := ""
	podTrue := false
	if v := p.SecurityContext.RunAsNonRoot; v != nil {
		if !*v {
			setters = append(setters, "pod")
			field = p.Path + ".securityContext.runAsNonRoot"
		} else {
			podTrue = true
		}
	}
	implicitField := ""
	for _, c := range p.Containers {
		v := c.SecurityContext.RunAsNonRoot
		switch {
		case v != nil && !*v:
			explicit = append(explicit, c.Name)
			field = firstOf(field, c.Path+".securityContext.runAsNonRoot")
		case v == nil && !podTrue:
			implicit = append(implicit, c.Name)
			implicitField = firstOf(implicitField, c.Path+".securityContext.runAsNonRoot")
		}
	}
	if len(explicit) > 0 {
		setters = append(setters, pluralize("container", "containers", len(explicit))+" "+joinQuote(explicit))
	}
	if len(setters) > 0 {
		return &finding{"runAsNonRoot != true", strings.Join(setters, " and ") + " must not set securityContext.runAsNonRoot=false", field}
	}
	if len(implicit) > 0 {
		return &finding{"runAsNonRoot != true", fmt.Sprintf("pod or %s %s must set securityContext.runAsNonRoot=true",
			pluralize("container", "containers", len(implicit)), joinQuote(implicit)), implicitField}
	}
	return nil
}

// runAsUser (1.23+): neither the pod nor a container may set runAsUser=0.
func runAsUser(p *Pod) *finding {
	var setters, containers []string
	field := ""
	if u := p.SecurityContext.RunAsUser; u != nil && *u == 0 {
		setters = append(setters, "pod")
		field = p.Path + ".securityContext.runAsUser"
	}
	for _, c := range p.Containers {
		if u := c.SecurityContext.RunAsUser; u != nil && *u == 0 {
			containers = append(containers, c.Name)
			field = firstOf(field, c.Path+".securityContext.runAsUser")
		}
	}
	if len(containers) > 0 {
		setters = append(setters, pluralize("container", "containers", len(containers))+" "+joinQuote(containers))
	}
	if len(setters) == 0 {
		return nil
	}
	return &finding{"runAsUser=0", strings.Join(setters, " and ") + " must not set runAsUser=0", field}
}

// seccompRestricted (1.19+, replaces seccompProfile_baseline): the pod or
// every container must set seccompProfile.type RuntimeDefault or
// Localhost.
func seccompRestricted(p *Pod) *finding {
	setters, values, field, unset := seccompSetters(p)
	if len(setters) > 0 {
		return &finding{"seccompProfile", fmt.Sprintf("%s must not set securityContext.seccompProfile.type to %s",
			strings.Join(setters, " and "), joinQuote(values)), field}
	}
	if len(unset) == 0 {
		return nil
	}
	names := make([]string, len(unset))
	for i, c := range unset {
		names[i] = c.Name
	}
	return &finding{"seccompProfile", fmt.Sprintf(`pod or %s %s must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
		pluralize("container", "containers", len(names)), joinQuote(names)), unset[0].Path + ".securityContext.seccompProfile.type"}
}
