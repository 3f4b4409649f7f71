package validate

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"berth.dev/berth/compiler/api"
)

// podSecurityContext is validatePodSpecSecurityContext: ids, sysctls,
// profiles, and shareProcessNamespace with hostPID. (The API server
// calls it on the internal PodSecurityContext, which always exists and
// also holds hostPID, hostIPC, hostNetwork and shareProcessNamespace:
// hence the path spec.securityContext.shareProcessNamespace, which
// kubectl prints too.)
func podSecurityContext(s *api.PodSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	path := specPath.Child("securityContext")
	if share := s.ShareProcessNamespace; share != nil && *share && s.HostPID {
		errs = append(errs, field.Invalid(path.Child("shareProcessNamespace"), *share, "ShareProcessNamespace and HostPID cannot both be enabled"))
	}
	sc := s.SecurityContext
	if sc == nil {
		return errs
	}
	errs = append(errs, groupID(sc.FSGroup, path.Child("fsGroup"))...)
	errs = append(errs, userID(sc.RunAsUser, path.Child("runAsUser"))...)
	errs = append(errs, groupID(sc.RunAsGroup, path.Child("runAsGroup"))...)
	for i := range sc.SupplementalGroups {
		errs = append(errs, groupID(&sc.SupplementalGroups[i], path.Child("supplementalGroups").Index(i))...)
	}
	errs = append(errs, sysctls(s, path.Child("sysctls"))...)
	errs = append(errs, seccompProfile(sc.SeccompProfile, path.Child("seccompProfile"))...)
	return append(errs, appArmorProfile(sc.AppArmorProfile, path.Child("appArmorProfile"))...)
}

// securityContext is ValidateSecurityContext for the fields berth
// accepts (procMount Unmasked, and with it hostUsers, is the schema's
// "not supported").
func securityContext(sc *api.SecurityContext, path *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	errs = append(errs, userID(sc.RunAsUser, path.Child("runAsUser"))...)
	errs = append(errs, groupID(sc.RunAsGroup, path.Child("runAsGroup"))...)
	errs = append(errs, seccompProfile(sc.SeccompProfile, path.Child("seccompProfile"))...)
	if a := sc.AllowPrivilegeEscalation; a != nil && !*a {
		if sc.Privileged {
			errs = append(errs, field.Invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				// Upstream compares the exact string: "SYS_ADMIN" passes.
				if c == "CAP_SYS_ADMIN" {
					errs = append(errs, field.Invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
				}
			}
		}
	}
	return append(errs, appArmorProfile(sc.AppArmorProfile, path.Child("appArmorProfile"))...)
}

func userID(id *int64, path *field.Path) field.ErrorList {
	if id == nil {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range validation.IsValidUserID(*id) {
		errs = append(errs, field.Invalid(path, *id, msg))
	}
	return errs
}

func groupID(id *int64, path *field.Path) field.ErrorList {
	if id == nil {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range validation.IsValidGroupID(*id) {
		errs = append(errs, field.Invalid(path, *id, msg))
	}
	return errs
}

// seccompProfile is validateSeccompProfileField: localhostProfile with
// Localhost only, and then a relative path without "..".
func seccompProfile(p *api.SeccompProfile, path *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	if p.Type == "Localhost" {
		if p.LocalhostProfile == nil {
			return field.ErrorList{field.Required(path.Child("localhostProfile"), "must be set when seccomp type is Localhost")}
		}
		return localDescendingPath(*p.LocalhostProfile, path.Child("localhostProfile"))
	}
	if p.LocalhostProfile != nil {
		return field.ErrorList{field.Invalid(path.Child("localhostProfile"), p, "can only be set when seccomp type is Localhost")}
	}
	return nil
}

// appArmorProfile is ValidateAppArmorProfileField for the types berth
// accepts (Unconfined; the others are the schema's "not supported").
func appArmorProfile(p *api.AppArmorProfile, path *field.Path) field.ErrorList {
	if p == nil || p.Type == "Localhost" || p.LocalhostProfile == nil {
		return nil
	}
	return field.ErrorList{field.Invalid(path.Child("localhostProfile"), *p.LocalhostProfile, "can only be set when AppArmor type is Localhost")}
}

// localDescendingPath is validateLocalDescendingPath: relative, and no
// ".." element.
func localDescendingPath(p string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(p) {
		errs = append(errs, field.Invalid(fldPath, p, "must be a relative path"))
	}
	for _, item := range strings.Split(p, "/") {
		if item == ".." {
			errs = append(errs, field.Invalid(fldPath, p, "must not contain '..'"))
			break
		}
	}
	return errs
}

// The API server's sysctl name grammar (validation.SysctlContainSlashFmt):
// segments joined by '.' or '/', at most 253 characters.
const (
	sysctlSegmentFmt = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
	sysctlMaxLength  = 253
)

var sysctlRegexp = regexp.MustCompile("^(" + sysctlSegmentFmt + "[\\./])*" + sysctlSegmentFmt + "$")

// sysctls is validateSysctls: names in the grammar, each once, and not
// in a namespace the pod shares with the host.
func sysctls(s *api.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, sc := range s.SecurityContext.Sysctls {
		p := path.Index(i).Child("name")
		switch {
		case sc.Name == "":
			errs = append(errs, field.Required(p, ""))
		case len(sc.Name) > sysctlMaxLength || !sysctlRegexp.MatchString(sc.Name):
			errs = append(errs, field.Invalid(p, sc.Name, fmt.Sprintf("must have at most %d characters and match regex %s", sysctlMaxLength, sysctlRegexp)))
		case seen[sc.Name]:
			errs = append(errs, field.Duplicate(p, sc.Name))
		}
		switch ns := api.SysctlNamespace(sc.Name); {
		case s.HostNetwork && ns == api.SysctlNetNamespace:
			errs = append(errs, field.Invalid(p, sc.Name, "may not be specified when 'hostNetwork' is true"))
		case s.HostIPC && ns == api.SysctlIPCNamespace:
			errs = append(errs, field.Invalid(p, sc.Name, "may not be specified when 'hostIPC' is true"))
		}
		seen[sc.Name] = true
	}
	return errs
}

// mountPropagation is validateMountPropagation's rule on the container:
// Bidirectional only for a privileged one. (Upstream reports it at
// volumeMounts.mountPropagation; berth names the mount.)
func mountPropagation(c *api.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	privileged := c.SecurityContext != nil && c.SecurityContext.Privileged
	for i, m := range c.VolumeMounts {
		if m.MountPropagation == "Bidirectional" && !privileged {
			errs = append(errs, field.Forbidden(path.Child("volumeMounts").Index(i).Child("mountPropagation"), "Bidirectional mount propagation is available only to privileged containers"))
		}
	}
	return errs
}
