package validate

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"berth.dev/berth/compiler/api"
)

// deployment is ValidateDeployment for the fields berth supports.
func deployment(d *api.Deployment) field.ErrorList {
	errs := objectMeta(&d.Metadata, metaPath)
	spec := specPath
	errs = append(errs, labelSelector(d.Spec.Selector, spec.Child("selector"))...)
	errs = append(errs, podTemplate(&d.Spec.Template, spec.Child("template"))...)
	errs = append(errs, alwaysRestart(&d.Spec.Template.Spec, spec.Child("template", "spec"))...)
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil && d.Spec.Strategy.Type != "Recreate" {
		errs = append(errs, rollingUpdateDeployment(ru, spec.Child("strategy", "rollingUpdate"))...)
	}
	if pd := d.Spec.ProgressDeadlineSeconds; pd != nil && *pd <= d.Spec.MinReadySeconds {
		errs = append(errs, field.Invalid(spec.Child("progressDeadlineSeconds"), int64(*pd), "must be greater than minReadySeconds"))
	}
	return errs
}

// rollingUpdateDeployment is ValidateRollingUpdateDeployment: a rolling
// update must be able to make progress, and cannot take down more than
// every pod. (The schema checks each value's syntax.)
func rollingUpdateDeployment(ru *api.RollingUpdateStrategy, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if intOrPercentValue(ru.MaxUnavailable) == 0 && intOrPercentValue(ru.MaxSurge) == 0 {
		errs = append(errs, field.Invalid(path.Child("maxUnavailable"), intOrStringValue(deref(ru.MaxUnavailable)), "may not be 0 when `maxSurge` is 0"))
	}
	return append(errs, notMoreThan100Percent(ru.MaxUnavailable, path.Child("maxUnavailable"))...)
}

// replicaSet is ValidateReplicaSet for the fields berth supports.
func replicaSet(r *api.ReplicaSet) field.ErrorList {
	errs := objectMeta(&r.Metadata, metaPath)
	errs = append(errs, labelSelector(r.Spec.Selector, specPath.Child("selector"))...)
	errs = append(errs, podTemplate(&r.Spec.Template, specPath.Child("template"))...)
	return append(errs, alwaysRestart(&r.Spec.Template.Spec, specPath.Child("template", "spec"))...)
}

// daemonSet is ValidateDaemonSet for the fields berth supports.
func daemonSet(d *api.DaemonSet) field.ErrorList {
	errs := objectMeta(&d.Metadata, metaPath)
	errs = append(errs, labelSelector(d.Spec.Selector, specPath.Child("selector"))...)
	errs = append(errs, podTemplate(&d.Spec.Template, specPath.Child("template"))...)
	errs = append(errs, alwaysRestart(&d.Spec.Template.Spec, specPath.Child("template", "spec"))...)
	if ru := d.Spec.UpdateStrategy.RollingUpdate; ru != nil && d.Spec.UpdateStrategy.Type != "OnDelete" {
		errs = append(errs, rollingUpdateDaemonSet(ru, specPath.Child("updateStrategy", "rollingUpdate"))...)
	}
	return errs
}

// rollingUpdateDaemonSet is ValidateRollingUpdateDaemonSet: a DaemonSet
// either replaces pods in place (maxUnavailable) or surges (maxSurge),
// exactly one of them.
func rollingUpdateDaemonSet(ru *api.RollingUpdateStrategy, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, notMoreThan100Percent(ru.MaxUnavailable, path.Child("maxUnavailable"))...)
	errs = append(errs, notMoreThan100Percent(ru.MaxSurge, path.Child("maxSurge"))...)
	hasUnavailable := intOrPercentValue(ru.MaxUnavailable) != 0
	hasSurge := intOrPercentValue(ru.MaxSurge) != 0
	switch {
	case hasUnavailable && hasSurge:
		errs = append(errs, field.Invalid(path.Child("maxSurge"), intOrStringValue(deref(ru.MaxSurge)), "may not be set when maxUnavailable is non-zero"))
	case !hasUnavailable && !hasSurge:
		errs = append(errs, field.Required(path.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
	}
	return errs
}

// rollout is Argo Rollouts' validation of the template, which applies
// Kubernetes' ReplicaSet template rules.
func rollout(r *api.Rollout) field.ErrorList {
	errs := objectMeta(&r.Metadata, metaPath)
	errs = append(errs, labelSelector(r.Spec.Selector, specPath.Child("selector"))...)
	errs = append(errs, podTemplate(&r.Spec.Template, specPath.Child("template"))...)
	return append(errs, alwaysRestart(&r.Spec.Template.Spec, specPath.Child("template", "spec"))...)
}

// maxJobNameLength: the API server labels a Job's pods with
// batch.kubernetes.io/job-name=NAME, and a label value has at most 63
// characters.
const maxJobNameLength = 63

// maxCronJobNameLength is batch validation's DNS1035LabelMaxLength-11: a
// CronJob's Jobs are named NAME-<11-character timestamp>.
const maxCronJobNameLength = 52

// job is ValidateJob for the fields berth supports, with the selector
// rules of the Job strategy: without manualSelector: true, the API
// server generates the selector and refuses one written.
func job(j *api.Job) field.ErrorList {
	errs := objectMeta(&j.Metadata, metaPath)
	errs = append(errs, jobName(j)...)
	if len(j.Metadata.Name) > maxJobNameLength {
		errs = append(errs, field.Invalid(metaPath.Child("name"), j.Metadata.Name,
			"must be no more than 63 characters (the name is the value of the label batch.kubernetes.io/job-name on the Job's pods)"))
	}
	manual := j.Spec.ManualSelector != nil && *j.Spec.ManualSelector
	switch {
	case !manual && j.Spec.Selector != nil:
		errs = append(errs, field.Invalid(specPath.Child("selector"), selectorValue(j.Spec.Selector), "`selector` not auto-generated"))
	case manual && j.Spec.Selector == nil:
		errs = append(errs, field.Required(specPath.Child("selector"), ""))
	}
	return append(errs, jobSpec(&j.Spec, specPath)...)
}

// cronJob is ValidateCronJobCreate for the fields berth supports.
func cronJob(c *api.CronJob) field.ErrorList {
	errs := objectMeta(&c.Metadata, metaPath)
	if len(c.Metadata.Name) > maxCronJobNameLength {
		errs = append(errs, field.Invalid(metaPath.Child("name"), c.Metadata.Name, "must be no more than 52 characters"))
	}
	spec := specPath.Child("jobTemplate", "spec")
	errs = append(errs, annotationsSize(c.Spec.JobTemplate.Metadata.Annotations, specPath.Child("jobTemplate", "metadata", "annotations"))...)
	// ValidateJobTemplateSpec: a CronJob's Jobs always get a generated
	// selector.
	if s := c.Spec.JobTemplate.Spec.Selector; s != nil {
		errs = append(errs, field.Invalid(spec.Child("selector"), selectorValue(s), "`selector` will be auto-generated"))
	}
	if m := c.Spec.JobTemplate.Spec.ManualSelector; m != nil && *m {
		errs = append(errs, field.NotSupported(spec.Child("manualSelector"), true, []string{"nil", "false"}))
	}
	return append(errs, jobSpec(&c.Spec.JobTemplate.Spec, spec)...)
}

// jobSpec is the part of validateJobSpec berth checks beyond the schema.
func jobSpec(s *api.JobSpec, path *field.Path) field.ErrorList {
	errs := labelSelector(s.Selector, path.Child("selector"))
	errs = append(errs, jobCompletion(s, path)...)
	return append(errs, podTemplate(&s.Template, path.Child("template"))...)
}

func deref(v *api.IntOrString) api.IntOrString {
	if v == nil {
		return api.IntOrString{}
	}
	return *v
}

// replicationController is ValidateReplicationController for the fields
// berth supports: the selector (the template's labels when empty, as the
// API server defaults it) must be non-empty and match the template
// (ValidatePodTemplateSpecForRC), whose pods restart Always.
func replicationController(rc *api.ReplicationController) field.ErrorList {
	errs := objectMeta(&rc.Metadata, metaPath)
	sel := rc.Spec.EffectiveSelector()
	if len(sel) == 0 {
		errs = append(errs, field.Required(specPath.Child("selector"), ""))
	}
	tmpl := specPath.Child("template")
	for k, v := range sel {
		if got, ok := rc.Spec.Template.Metadata.Labels[k]; !ok || got != v {
			errs = append(errs, field.Invalid(tmpl.Child("metadata", "labels"), rc.Spec.Template.Metadata.Labels, "`selector` does not match template `labels`"))
			break
		}
	}
	errs = append(errs, podTemplate(&rc.Spec.Template, tmpl)...)
	return append(errs, alwaysRestart(&rc.Spec.Template.Spec, tmpl.Child("spec"))...)
}
