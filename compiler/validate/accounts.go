package validate

import (
	"fmt"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"berth.dev/berth/compiler/api"
)

// The objects that grant access and set priorities: checked as the API
// server checks them, ported from pkg/apis/rbac/validation and
// pkg/apis/scheduling/validation. Their names' formats are the schema's
// (#RBACName is ValidateRBACName); the rules here relate fields.

// serviceAccount is ValidateServiceAccount: its metadata (the name is
// the schema's DNS-1123 subdomain).
func serviceAccount(s *api.ServiceAccount) field.ErrorList {
	return objectMeta(&s.Metadata, metaPath)
}

// role is ValidateRole: every rule, namespaced.
func role(r *api.Role) field.ErrorList {
	errs := objectMeta(&r.Metadata, metaPath)
	for i := range r.Rules {
		errs = append(errs, policyRule(&r.Rules[i], true, field.NewPath("rules").Index(i))...)
	}
	return errs
}

// clusterRole is ValidateClusterRole: every rule, and an aggregation
// rule with at least one selector.
func clusterRole(r *api.ClusterRole) field.ErrorList {
	errs := objectMeta(&r.Metadata, metaPath)
	for i := range r.Rules {
		errs = append(errs, policyRule(&r.Rules[i], false, field.NewPath("rules").Index(i))...)
	}
	if ar := r.AggregationRule; ar != nil {
		p := field.NewPath("aggregationRule", "clusterRoleSelectors")
		if len(ar.ClusterRoleSelectors) == 0 {
			errs = append(errs, field.Required(p, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
		}
		for i := range ar.ClusterRoleSelectors {
			errs = append(errs, labelSelector(&ar.ClusterRoleSelectors[i], p.Index(i))...)
		}
	}
	return errs
}

// policyRule is ValidatePolicyRule: verbs, and either non-resource URLs
// (cluster-wide only) or API groups and resources.
func policyRule(r *api.PolicyRule, namespaced bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(r.Verbs) == 0 {
		errs = append(errs, field.Required(path.Child("verbs"), "verbs must contain at least one value"))
	}
	if len(r.NonResourceURLs) > 0 {
		if namespaced {
			errs = append(errs, field.Invalid(path.Child("nonResourceURLs"), r.NonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
		}
		if len(r.APIGroups) > 0 || len(r.Resources) > 0 || len(r.ResourceNames) > 0 {
			errs = append(errs, field.Invalid(path.Child("nonResourceURLs"), r.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
		}
		return errs
	}
	if len(r.APIGroups) == 0 {
		errs = append(errs, field.Required(path.Child("apiGroups"), "resource rules must supply at least one api group"))
	}
	if len(r.Resources) == 0 {
		errs = append(errs, field.Required(path.Child("resources"), "resource rules must supply at least one resource"))
	}
	return errs
}

// roleBinding is ValidateRoleBinding: the roleRef's kind and group are
// the schema's; each subject here.
func roleBinding(b *api.RoleBinding) field.ErrorList {
	errs := objectMeta(&b.Metadata, metaPath)
	for i := range b.Subjects {
		errs = append(errs, subject(&b.Subjects[i], true, field.NewPath("subjects").Index(i))...)
	}
	return errs
}

// clusterRoleBinding is ValidateClusterRoleBinding.
func clusterRoleBinding(b *api.ClusterRoleBinding) field.ErrorList {
	errs := objectMeta(&b.Metadata, metaPath)
	for i := range b.Subjects {
		errs = append(errs, subject(&b.Subjects[i], false, field.NewPath("subjects").Index(i))...)
	}
	return errs
}

// subject is ValidateRoleBindingSubject, with the v1 default of the API
// group (SetDefaults_Subject: the RBAC group for a User or a Group).
func subject(s *api.Subject, namespaced bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	}
	switch s.Kind {
	case "ServiceAccount":
		if s.Name != "" {
			for _, msg := range apivalidation.NameIsDNSSubdomain(s.Name, false) {
				errs = append(errs, field.Invalid(path.Child("name"), s.Name, msg))
			}
		}
		if s.APIGroup != "" {
			errs = append(errs, field.NotSupported(path.Child("apiGroup"), s.APIGroup, []string{""}))
		}
		if !namespaced && s.Namespace == "" {
			errs = append(errs, field.Required(path.Child("namespace"), ""))
		}
	case "User", "Group":
		if s.APIGroup != "" && s.APIGroup != api.RBACGroup {
			errs = append(errs, field.NotSupported(path.Child("apiGroup"), s.APIGroup, []string{api.RBACGroup}))
		}
	}
	return errs
}

// priorityClass is ValidatePriorityClass: the system- prefix is reserved
// for the built-in classes with their values, and other classes stay at
// or below HighestUserDefinablePriority.
func priorityClass(pc *api.PriorityClass) field.ErrorList {
	errs := objectMeta(&pc.Metadata, metaPath)
	if strings.HasPrefix(pc.Metadata.Name, api.SystemPriorityClassPrefix) {
		if err := knownSystemPriorityClass(pc); err != "" {
			errs = append(errs, field.Forbidden(metaPath.Child("name"),
				"priority class names with '"+api.SystemPriorityClassPrefix+"' prefix are reserved for system use only. error: "+err))
		}
	} else if pc.Value > api.HighestUserDefinablePriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"), fmt.Sprintf("maximum allowed value of a user defined priority is %v", api.HighestUserDefinablePriority)))
	}
	return errs
}

// knownSystemPriorityClass is scheduling's IsKnownSystemPriorityClass:
// "" when pc is one of the built-in classes as Kubernetes defines it.
func knownSystemPriorityClass(pc *api.PriorityClass) string {
	v, ok := api.SystemPriorityClasses[pc.Metadata.Name]
	switch {
	case !ok:
		return fmt.Sprintf("%v is not a known system priority class", pc.Metadata.Name)
	case v != pc.Value:
		return fmt.Sprintf("value of %v PriorityClass must be %v", pc.Metadata.Name, v)
	case pc.GlobalDefault:
		return fmt.Sprintf("globalDefault of %v PriorityClass must be %v", pc.Metadata.Name, false)
	}
	return ""
}

// podAccounts checks what the schema cannot of the pod's ServiceAccount
// fields: the deprecated serviceAccount is the name the pod runs as when
// serviceAccountName is empty (the v1 conversion), so it is a DNS-1123
// subdomain then; when both are set and differ, the API server keeps
// serviceAccountName and drops the other without a word: berth warns.
func podAccounts(s *api.PodSpec, path *field.Path) field.ErrorList {
	dep := s.DeprecatedServiceAccount
	if dep == "" {
		return nil
	}
	p := path.Child("serviceAccount")
	if s.ServiceAccountName == "" {
		var errs field.ErrorList
		for _, msg := range apivalidation.NameIsDNSSubdomain(dep, false) {
			errs = append(errs, field.Invalid(p, dep, msg))
		}
		return errs
	}
	if dep != s.ServiceAccountName {
		w := field.Invalid(p, dep, fmt.Sprintf("deprecated name of serviceAccountName, which is %q: the API server keeps serviceAccountName and drops this value; remove serviceAccount", s.ServiceAccountName))
		return field.ErrorList{w.WithOrigin(originWarning)}
	}
	return nil
}
