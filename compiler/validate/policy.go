package validate

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"berth.dev/berth/compiler/api"
)

// podDisruptionBudget is ValidatePodDisruptionBudget
// (pkg/apis/policy/validation) for what the schema cannot check: not
// both minAvailable and maxUnavailable, a percentage of at most 100%,
// and the selector's requirements. Non-negative counts, the percentage
// format and the eviction policy's values are the schema's.
func podDisruptionBudget(pdb *api.PodDisruptionBudget) field.ErrorList {
	errs := objectMeta(&pdb.Metadata, metaPath)
	spec := &pdb.Spec
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(specPath, spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	errs = append(errs, notMoreThan100Percent(spec.MinAvailable, specPath.Child("minAvailable"))...)
	errs = append(errs, notMoreThan100Percent(spec.MaxUnavailable, specPath.Child("maxUnavailable"))...)
	return append(errs, labelSelector(spec.Selector, specPath.Child("selector"))...)
}
