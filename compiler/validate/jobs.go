package validate

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"berth.dev/berth/compiler/api"
)

// The Job fields that decide how pods' outcomes make the Job's: Indexed
// completion, per-index back-off, the pod failure and success policies,
// ported from pkg/apis/batch/validation (validateJobSpec and its
// helpers) with their messages.

// Bounds of batch validation.
const (
	maxParallelismForIndexedJob             = 100000
	maxFailedIndexesForIndexedJob           = 100000
	completionsSoftLimit                    = 100000
	parallelismLimitForHighCompletions      = 10000
	maxFailedIndexesLimitForHighCompletions = 10000
	maxPodFailurePolicyRules                = 20
	maxPodFailurePolicyOnExitCodesValues    = 255
	maxPodFailurePolicyOnPodConditions      = 20
	maxSuccessPolicySucceededIndexes        = 64 * 1024
	maxSuccessPolicyRules                   = 20
)

// jobName is what ValidateJob adds to the object metadata: a name or a
// generateName (object.Decode derives the name from the latter), and,
// for an Indexed Job, a last pod hostname <name>-<completions-1> that is
// a DNS-1123 label.
func jobName(j *api.Job) field.ErrorList {
	name := j.Metadata.Name
	if name == "" {
		return field.ErrorList{field.Required(metaPath.Child("name"), "name or generateName is required")}
	}
	s := &j.Spec
	if s.CompletionMode == api.IndexedCompletion && s.Completions != nil && *s.Completions > 0 {
		host := fmt.Sprintf("%s-%d", name, *s.Completions-1)
		if errs := validation.IsDNS1123Label(host); len(errs) > 0 {
			return field.ErrorList{field.Invalid(metaPath.Child("name"), name, "will not able to create pod with invalid DNS label: "+host)}
		}
	}
	return nil
}

// jobCompletion is validateJobSpec's rules on completion mode, the
// per-index back-off, the pod failure policy and the success policy.
func jobCompletion(s *api.JobSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	indexed := s.CompletionMode == api.IndexedCompletion
	if s.MaxFailedIndexes != nil && s.BackoffLimitPerIndex == nil {
		errs = append(errs, field.Required(path.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
	}
	if indexed {
		if s.Completions == nil {
			errs = append(errs, field.Required(path.Child("completions"), "when completion mode is Indexed"))
		}
		if s.Parallelism != nil && *s.Parallelism > maxParallelismForIndexedJob {
			errs = append(errs, field.Invalid(path.Child("parallelism"), int64(*s.Parallelism), fmt.Sprintf("must be less than or equal to %d when completion mode is Indexed", maxParallelismForIndexedJob)))
		}
		if s.Completions != nil && s.MaxFailedIndexes != nil && *s.MaxFailedIndexes > *s.Completions {
			errs = append(errs, field.Invalid(path.Child("maxFailedIndexes"), int64(*s.MaxFailedIndexes), "must be less than or equal to completions"))
		}
		if s.MaxFailedIndexes != nil && *s.MaxFailedIndexes > maxFailedIndexesForIndexedJob {
			errs = append(errs, field.Invalid(path.Child("maxFailedIndexes"), int64(*s.MaxFailedIndexes), fmt.Sprintf("must be less than or equal to %d", maxFailedIndexesForIndexedJob)))
		}
		if s.Completions != nil && *s.Completions > completionsSoftLimit && s.BackoffLimitPerIndex != nil {
			if s.MaxFailedIndexes == nil {
				errs = append(errs, field.Required(path.Child("maxFailedIndexes"), fmt.Sprintf("must be specified when completions is above %d", completionsSoftLimit)))
			}
			if s.Parallelism != nil && *s.Parallelism > parallelismLimitForHighCompletions {
				errs = append(errs, field.Invalid(path.Child("parallelism"), int64(*s.Parallelism), fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index", parallelismLimitForHighCompletions, completionsSoftLimit)))
			}
			if s.MaxFailedIndexes != nil && *s.MaxFailedIndexes > maxFailedIndexesLimitForHighCompletions {
				errs = append(errs, field.Invalid(path.Child("maxFailedIndexes"), int64(*s.MaxFailedIndexes), fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index", maxFailedIndexesLimitForHighCompletions, completionsSoftLimit)))
			}
		}
	} else {
		if s.BackoffLimitPerIndex != nil {
			errs = append(errs, field.Invalid(path.Child("backoffLimitPerIndex"), int64(*s.BackoffLimitPerIndex), "requires indexed completion mode"))
		}
		if s.MaxFailedIndexes != nil {
			errs = append(errs, field.Invalid(path.Child("maxFailedIndexes"), int64(*s.MaxFailedIndexes), "requires indexed completion mode"))
		}
	}
	if s.PodFailurePolicy != nil {
		errs = append(errs, podFailurePolicy(s, path.Child("podFailurePolicy"))...)
		if rp := s.Template.Spec.RestartPolicy; rp == "OnFailure" {
			errs = append(errs, field.Invalid(path.Child("template", "spec", "restartPolicy"), rp, `only "Never" is supported when podFailurePolicy is specified`))
		}
	}
	if s.SuccessPolicy != nil {
		if !indexed {
			// The API server prints the Go value, with pointers: berth omits it.
			errs = append(errs, field.Invalid(path.Child("successPolicy"), field.OmitValueType{}, "requires indexed completion mode"))
		} else {
			errs = append(errs, successPolicy(s, path.Child("successPolicy"))...)
		}
	}
	return errs
}

// podFailurePolicy is validatePodFailurePolicy.
func podFailurePolicy(s *api.JobSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	rules := path.Child("rules")
	if n := len(s.PodFailurePolicy.Rules); n > maxPodFailurePolicyRules {
		errs = append(errs, field.TooMany(rules, n, maxPodFailurePolicyRules))
	}
	names := map[string]bool{}
	for _, c := range s.Template.Spec.Containers {
		names[c.Name] = true
	}
	for _, c := range s.Template.Spec.InitContainers {
		names[c.Name] = true
	}
	for i := range s.PodFailurePolicy.Rules {
		r := &s.PodFailurePolicy.Rules[i]
		p := rules.Index(i)
		if r.Action == "FailIndex" && s.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Invalid(p.Child("action"), r.Action, "requires the backoffLimitPerIndex to be set"))
		}
		if r.OnExitCodes != nil {
			errs = append(errs, onExitCodes(r.OnExitCodes, p.Child("onExitCodes"), names)...)
		}
		if n := len(r.OnPodConditions); n > maxPodFailurePolicyOnPodConditions {
			errs = append(errs, field.TooMany(p.Child("onPodConditions"), n, maxPodFailurePolicyOnPodConditions))
		}
		switch {
		case r.OnExitCodes != nil && len(r.OnPodConditions) > 0:
			errs = append(errs, field.Invalid(p, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
		case r.OnExitCodes == nil && len(r.OnPodConditions) == 0:
			errs = append(errs, field.Invalid(p, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
		}
	}
	return errs
}

// onExitCodes is validatePodFailurePolicyRuleOnExitCodes: a container of
// the template, and values that are unique, ordered and, with In, not 0.
func onExitCodes(r *api.PodFailurePolicyOnExitCodes, path *field.Path, names map[string]bool) field.ErrorList {
	var errs field.ErrorList
	if r.ContainerName != nil && !names[*r.ContainerName] {
		errs = append(errs, field.Invalid(path.Child("containerName"), *r.ContainerName, "must be one of the container or initContainer names in the pod template"))
	}
	values := path.Child("values")
	switch n := len(r.Values); {
	case n == 0:
		errs = append(errs, field.Invalid(values, r.Values, "at least one value is required"))
	case n > maxPodFailurePolicyOnExitCodesValues:
		errs = append(errs, field.TooMany(values, n, maxPodFailurePolicyOnExitCodesValues))
	}
	ordered := true
	seen := map[int32]bool{}
	for j, v := range r.Values {
		if r.Operator == "In" && v == 0 {
			errs = append(errs, field.Invalid(values.Index(j), int64(v), "must not be 0 for the In operator"))
		}
		if seen[v] {
			errs = append(errs, field.Duplicate(values.Index(j), int64(v)))
		}
		seen[v] = true
		if j > 0 && r.Values[j-1] > v {
			ordered = false
		}
	}
	if !ordered {
		errs = append(errs, field.Invalid(values, r.Values, "must be ordered"))
	}
	return errs
}

// successPolicy is validateSuccessPolicy.
func successPolicy(s *api.JobSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	rules := path.Child("rules")
	switch n := len(s.SuccessPolicy.Rules); {
	case n == 0:
		errs = append(errs, field.Required(rules, "at least one rules must be specified when the successPolicy is specified"))
	case n > maxSuccessPolicyRules:
		errs = append(errs, field.TooMany(rules, n, maxSuccessPolicyRules))
	}
	if s.Completions == nil {
		return errs // completions' own error says it is required
	}
	completions := *s.Completions
	for i := range s.SuccessPolicy.Rules {
		r := &s.SuccessPolicy.Rules[i]
		p := rules.Index(i)
		if r.SucceededCount == nil && r.SucceededIndexes == nil {
			errs = append(errs, field.Required(p, "at least one of succeededCount or succeededIndexes must be specified"))
		}
		var total int32
		if r.SucceededIndexes != nil {
			ip := p.Child("succeededIndexes")
			if len(*r.SucceededIndexes) > maxSuccessPolicySucceededIndexes {
				errs = append(errs, field.TooLong(ip, "", maxSuccessPolicySucceededIndexes))
			}
			var err error
			if total, err = IndexesCount(*r.SucceededIndexes, completions); err != nil {
				errs = append(errs, field.Invalid(ip, *r.SucceededIndexes, "error parsing succeededIndexes: "+err.Error()))
			}
		}
		if c := r.SucceededCount; c != nil {
			cp := p.Child("succeededCount")
			if *c > completions {
				errs = append(errs, field.Invalid(cp, int64(*c), fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", completions)))
			}
			if r.SucceededIndexes != nil && *c > total {
				errs = append(errs, field.Invalid(cp, int64(*c), fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", total)))
			}
		}
	}
	return errs
}

// IndexesCount reads an index list such as "0-2,5" (batch validation's
// validateIndexesFormat): increasing intervals below completions. It
// returns how many indexes it names.
func IndexesCount(s string, completions int32) (int32, error) {
	var total int32
	last := int32(-1)
	err := EachIndexInterval(s, completions, func(x, y int32) error {
		if last >= 0 && last >= x {
			return fmt.Errorf("non-increasing order, previous: %d, current: %d", last, x)
		}
		total += y - x + 1
		last = y
		return nil
	})
	return total, err
}

// EachIndexInterval calls f with each interval [x, y] of an index list
// ("0-2,5" gives [0,2] and [5,5]), checked as parseIndexInterval does.
func EachIndexInterval(s string, completions int32, f func(x, y int32) error) error {
	if s == "" {
		return nil
	}
	for _, interval := range strings.Split(s, ",") {
		limits := strings.Split(interval, "-")
		if len(limits) > 2 {
			return fmt.Errorf("the fragment %q violates the requirement that an index interval can have at most two parts separated by '-'", interval)
		}
		x, err := strconv.Atoi(limits[0])
		if err != nil {
			return fmt.Errorf("cannot convert string to integer for index: %q", limits[0])
		}
		if x >= int(completions) {
			return fmt.Errorf("too large index: %q", limits[0])
		}
		y := x
		if len(limits) > 1 {
			if y, err = strconv.Atoi(limits[1]); err != nil {
				return fmt.Errorf("cannot convert string to integer for index: %q", limits[1])
			}
			if y >= int(completions) {
				return fmt.Errorf("too large index: %q", limits[1])
			}
			if x >= y {
				return fmt.Errorf("non-increasing order, previous: %d, current: %d", x, y)
			}
		}
		if err := f(int32(x), int32(y)); err != nil {
			return err
		}
	}
	return nil
}
