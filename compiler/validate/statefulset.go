package validate

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"berth.dev/berth/compiler/api"
)

// statefulSet is ValidateStatefulSet (apps validation) for the fields
// berth supports; the schema already checked each value's syntax and
// defaulted podManagementPolicy and updateStrategy.
func statefulSet(s *api.StatefulSet) field.ErrorList {
	errs := objectMeta(&s.Metadata, metaPath)
	spec := &s.Spec
	switch p := spec.PodManagementPolicy; p {
	case "", "OrderedReady", "Parallel":
	default:
		errs = append(errs, field.Invalid(specPath.Child("podManagementPolicy"), p, "must be 'OrderedReady' or 'Parallel'"))
	}
	us := specPath.Child("updateStrategy")
	switch spec.UpdateStrategy.Type {
	case "OnDelete":
		if spec.UpdateStrategy.RollingUpdate != nil {
			errs = append(errs, field.Invalid(us.Child("rollingUpdate"), spec.UpdateStrategy.RollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"))
		}
	case "", "RollingUpdate":
		if ru := spec.UpdateStrategy.RollingUpdate; ru != nil {
			errs = append(errs, rollingUpdateStatefulSet(ru, us.Child("rollingUpdate"))...)
		}
	}
	if sel := spec.Selector; sel != nil {
		errs = append(errs, labelSelector(sel, specPath.Child("selector"))...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(specPath.Child("selector"), selectorValue(sel), "empty selector is invalid for statefulset"))
		}
	}
	tmpl := specPath.Child("template")
	errs = append(errs, podTemplate(&spec.Template, tmpl)...)
	errs = append(errs, alwaysRestart(&spec.Template.Spec, tmpl.Child("spec"))...)
	for i := range spec.VolumeClaimTemplates {
		c := &spec.VolumeClaimTemplates[i]
		p := specPath.Child("volumeClaimTemplates").Index(i)
		errs = append(errs, claimSpec(&c.Spec, p.Child("spec"))...)
	}
	return errs
}

// rollingUpdateStatefulSet is validateRollingUpdateStatefulSet: a
// maxUnavailable of 0 could never update anything.
func rollingUpdateStatefulSet(ru *api.RollingUpdateStatefulSet, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ru.MaxUnavailable != nil {
		if intOrPercentValue(ru.MaxUnavailable) == 0 {
			errs = append(errs, field.Invalid(path.Child("maxUnavailable"), intOrStringValue(*ru.MaxUnavailable), "cannot be 0"))
		}
		errs = append(errs, notMoreThan100Percent(ru.MaxUnavailable, path.Child("maxUnavailable"))...)
	}
	return errs
}

// claimSpec is the part of ValidatePersistentVolumeClaimSpec berth
// checks beyond the schema, for a claim or a claim template.
func claimSpec(s *api.PVCSpec, path *field.Path) field.ErrorList {
	errs := labelSelector(s.Selector, path.Child("selector"))
	errs = append(errs, accessModes(s.AccessModes, path.Child("accessModes"))...)
	if v, ok := s.Resources.Requests["storage"]; ok {
		if q, err := api.ParseQuantity(v); err == nil && q.Sign() <= 0 {
			errs = append(errs, field.Invalid(path.Child("resources").Key("storage"), q.String(), "must be greater than zero"))
		}
	}
	return errs
}
