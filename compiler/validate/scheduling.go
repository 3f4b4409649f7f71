package validate

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	k8svalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"berth.dev/berth/compiler/api"
)

// scheduling is the part of ValidatePodSpec about placement: affinity
// (validateAffinity), tolerations (ValidateTolerations) and topology
// spread constraints (validateTopologySpreadConstraints), with the API
// server's messages. Names, keys and label values are the schema's.
func scheduling(s *api.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if a := s.Affinity; a != nil {
		ap := path.Child("affinity")
		if na := a.NodeAffinity; na != nil {
			np := ap.Child("nodeAffinity")
			if na.Required != nil {
				errs = append(errs, nodeSelector(na.Required, np.Child("requiredDuringSchedulingIgnoredDuringExecution"))...)
			}
			for i, t := range na.Preferred {
				p := np.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
				errs = append(errs, weight(t.Weight, p.Child("weight"))...)
				errs = append(errs, nodeSelectorTerm(t.Preference, p.Child("preference"))...)
			}
		}
		errs = append(errs, podAffinity(a.PodAffinity, ap.Child("podAffinity"))...)
		errs = append(errs, podAffinity(a.PodAntiAffinity, ap.Child("podAntiAffinity"))...)
	}
	errs = append(errs, tolerations(s.Tolerations, path.Child("tolerations"))...)
	errs = append(errs, topologySpread(s.TopologySpreadConstraints, path.Child("topologySpreadConstraints"))...)
	errs = append(errs, extendedResources(s.InitContainers, path.Child("initContainers"))...)
	return append(errs, extendedResources(s.Containers, path.Child("containers"))...)
}

// nodeSelector is ValidateNodeSelector.
func nodeSelector(ns *api.NodeSelector, path *field.Path) field.ErrorList {
	tp := path.Child("nodeSelectorTerms")
	if len(ns.NodeSelectorTerms) == 0 {
		return field.ErrorList{field.Required(tp, "must have at least one node selector term")}
	}
	var errs field.ErrorList
	for i, t := range ns.NodeSelectorTerms {
		errs = append(errs, nodeSelectorTerm(t, tp.Index(i))...)
	}
	return errs
}

// nodeSelectorTerm is ValidateNodeSelectorTerm: the requirements by
// operator (ValidateNodeSelectorRequirement) and the field requirements
// (ValidateNodeFieldSelectorRequirement: metadata.name only).
func nodeSelectorTerm(t api.NodeSelectorTerm, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for j, r := range t.MatchExpressions {
		p := path.Child("matchExpressions").Index(j)
		switch r.Operator {
		case "In", "NotIn":
			if len(r.Values) == 0 {
				errs = append(errs, field.Required(p.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
			}
		case "Exists", "DoesNotExist":
			if len(r.Values) > 0 {
				errs = append(errs, field.Forbidden(p.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
			}
		case "Gt", "Lt":
			if len(r.Values) != 1 {
				errs = append(errs, field.Required(p.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
			}
		default:
			errs = append(errs, field.Invalid(p.Child("operator"), r.Operator, "not a valid selector operator"))
		}
	}
	for j, r := range t.MatchFields {
		p := path.Child("matchFields").Index(j)
		switch r.Operator {
		case "In", "NotIn":
			if len(r.Values) != 1 {
				errs = append(errs, field.Required(p.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
			}
		default:
			errs = append(errs, field.Invalid(p.Child("operator"), r.Operator, "not a valid selector operator"))
		}
		if r.Key != "metadata.name" {
			errs = append(errs, field.Invalid(p.Child("key"), r.Key, "not a valid field selector key"))
			continue
		}
		for i, v := range r.Values {
			for _, msg := range k8svalidation.IsDNS1123Subdomain(v) {
				errs = append(errs, field.Invalid(p.Child("values").Index(i), v, msg))
			}
		}
	}
	return errs
}

// weight is the 1-100 range of preferred terms.
func weight(w int32, path *field.Path) field.ErrorList {
	if w <= 0 || w > 100 {
		return field.ErrorList{field.Invalid(path, w, "must be in the range 1-100")}
	}
	return nil
}

// podAffinity is validatePodAffinity and validatePodAntiAffinity.
func podAffinity(pa *api.PodAffinity, path *field.Path) field.ErrorList {
	if pa == nil {
		return nil
	}
	var errs field.ErrorList
	for i := range pa.Required {
		errs = append(errs, podAffinityTerm(&pa.Required[i], path.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i))...)
	}
	for i := range pa.Preferred {
		p := path.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
		errs = append(errs, weight(pa.Preferred[i].Weight, p.Child("weight"))...)
		errs = append(errs, podAffinityTerm(&pa.Preferred[i].PodAffinityTerm, p.Child("podAffinityTerm"))...)
	}
	return errs
}

// podAffinityTerm is validatePodAffinityTerm.
func podAffinityTerm(t *api.PodAffinityTerm, path *field.Path) field.ErrorList {
	errs := labelSelector(t.LabelSelector, path.Child("labelSelector"))
	errs = append(errs, labelSelector(t.NamespaceSelector, path.Child("namespaceSelector"))...)
	errs = append(errs, labelKeys(path.Child("matchLabelKeys"), t.MatchLabelKeys, t.LabelSelector)...)
	errs = append(errs, labelKeys(path.Child("mismatchLabelKeys"), t.MismatchLabelKeys, t.LabelSelector)...)
	if t.LabelSelector != nil {
		for i, k := range t.MatchLabelKeys {
			if selectorHasKey(t.LabelSelector, k) {
				errs = append(errs, field.Invalid(path.Child("matchLabelKeys").Index(i), k, "exists in both matchLabelKeys and labelSelector"))
			}
		}
	}
	for i, k := range t.MatchLabelKeys {
		if slices.Contains(t.MismatchLabelKeys, k) {
			errs = append(errs, field.Invalid(path.Child("matchLabelKeys").Index(i), k, "exists in both matchLabelKeys and mismatchLabelKeys"))
		}
	}
	if t.TopologyKey == "" {
		errs = append(errs, field.Required(path.Child("topologyKey"), "can not be empty"))
	}
	return append(errs, metavalidation.ValidateLabelName(t.TopologyKey, path.Child("topologyKey"))...)
}

// labelKeys is validateLabelKeys: keys need a labelSelector.
func labelKeys(path *field.Path, keys []string, sel *api.LabelSelector) field.ErrorList {
	if len(keys) > 0 && sel == nil {
		return field.ErrorList{field.Forbidden(path, "must not be specified when labelSelector is not set")}
	}
	return nil
}

func selectorHasKey(s *api.LabelSelector, key string) bool {
	if _, ok := s.MatchLabels[key]; ok {
		return true
	}
	return slices.ContainsFunc(s.MatchExpressions, func(r api.LabelSelectorRequirement) bool { return r.Key == key })
}

var taintEffects = []string{api.TaintNoSchedule, api.TaintPreferNoSchedule, api.TaintNoExecute}

// tolerations is ValidateTolerations.
func tolerations(ts []api.Toleration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range ts {
		p := path.Index(i)
		if t.Key != "" {
			errs = append(errs, metavalidation.ValidateLabelName(t.Key, p.Child("key"))...)
		}
		if t.Key == "" && t.Operator != "Exists" {
			errs = append(errs, field.Invalid(p.Child("operator"), t.Operator, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != api.TaintNoExecute {
			errs = append(errs, field.Invalid(p.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case "Equal", "":
			if msgs := k8svalidation.IsValidLabelValue(t.Value); len(msgs) != 0 {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case "Exists":
			if t.Value != "" {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Operator, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("operator"), t.Operator, []string{"Equal", "Exists"}))
		}
		if t.Effect != "" && !slices.Contains(taintEffects, t.Effect) {
			errs = append(errs, field.NotSupported(p.Child("effect"), t.Effect, taintEffects))
		}
	}
	return errs
}

// topologySpread is validateTopologySpreadConstraints.
func topologySpread(cs []api.TopologySpreadConstraint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range cs {
		c := &cs[i]
		p := path.Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, field.Invalid(p.Child("maxSkew"), c.MaxSkew, "must be greater than zero"))
		}
		if c.TopologyKey == "" {
			errs = append(errs, field.Required(p.Child("topologyKey"), "can not be empty"))
		} else {
			errs = append(errs, metavalidation.ValidateLabelName(c.TopologyKey, p.Child("topologyKey"))...)
		}
		if c.WhenUnsatisfiable != "DoNotSchedule" && c.WhenUnsatisfiable != "ScheduleAnyway" {
			errs = append(errs, field.NotSupported(p.Child("whenUnsatisfiable"), c.WhenUnsatisfiable, []string{"DoNotSchedule", "ScheduleAnyway"}))
		}
		for _, o := range cs[i+1:] {
			if o.TopologyKey == c.TopologyKey && o.WhenUnsatisfiable == c.WhenUnsatisfiable {
				errs = append(errs, field.Duplicate(p.Child("{topologyKey, whenUnsatisfiable}"), fmt.Sprintf("{%v, %v}", c.TopologyKey, c.WhenUnsatisfiable)))
				break
			}
		}
		if c.MinDomains != nil {
			if *c.MinDomains <= 0 {
				errs = append(errs, field.Invalid(p.Child("minDomains"), *c.MinDomains, "must be greater than zero"))
			}
			if c.WhenUnsatisfiable != "DoNotSchedule" {
				errs = append(errs, field.Invalid(p.Child("minDomains"), *c.MinDomains, fmt.Sprintf("can only use minDomains if whenUnsatisfiable=DoNotSchedule, not %s", c.WhenUnsatisfiable)))
			}
		}
		for _, pol := range []struct {
			name string
			v    *string
		}{{"nodeAffinityPolicy", c.NodeAffinityPolicy}, {"nodeTaintsPolicy", c.NodeTaintsPolicy}} {
			if pol.v != nil && *pol.v != "Honor" && *pol.v != "Ignore" {
				errs = append(errs, field.NotSupported(p.Child(pol.name), *pol.v, []string{"Honor", "Ignore"}))
			}
		}
		errs = append(errs, labelKeys(p.Child("matchLabelKeys"), c.MatchLabelKeys, c.LabelSelector)...)
		if c.LabelSelector != nil {
			for j, k := range c.MatchLabelKeys {
				if selectorHasKey(c.LabelSelector, k) {
					errs = append(errs, field.Invalid(p.Child("matchLabelKeys").Index(j), k, "exists in both matchLabelKeys and labelSelector"))
				}
			}
		}
		errs = append(errs, labelSelector(c.LabelSelector, p.Child("labelSelector"))...)
	}
	return errs
}

// IsExtendedResource reports whether name is an extended resource
// (helper.IsExtendedResourceName): a domain-qualified name outside
// kubernetes.io, which cannot be overcommitted and counts whole units.
func IsExtendedResource(name string) bool {
	return strings.Contains(name, "/") && !strings.Contains(name, "kubernetes.io/") && !strings.HasPrefix(name, "requests.")
}

// extendedResources is the part of ValidateResourceRequirements about
// extended resources: whole numbers, a limit always, and a request (when
// written; it defaults to the limit) equal to it.
func extendedResources(cs []api.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range cs {
		r := &cs[i].Resources
		rp := path.Index(i).Child("resources")
		for _, name := range slices.Sorted(maps.Keys(r.Limits)) {
			if q, err := api.ParseQuantity(r.Limits[name]); err == nil && IsExtendedResource(name) && q.MilliValue()%1000 != 0 {
				errs = append(errs, field.Invalid(rp.Child("limits").Key(name), q.String(), "must be an integer"))
			}
		}
		for _, name := range slices.Sorted(maps.Keys(r.Requests)) {
			if !IsExtendedResource(name) {
				continue
			}
			q, err := api.ParseQuantity(r.Requests[name])
			if err != nil {
				continue // the schema's
			}
			reqPath := rp.Child("requests").Key(name)
			if q.MilliValue()%1000 != 0 {
				errs = append(errs, field.Invalid(reqPath, q.String(), "must be an integer"))
			}
			ls, ok := r.Limits[name]
			if !ok {
				errs = append(errs, field.Required(rp.Child("limits"), "Limit must be set for non overcommitable resources"))
				continue
			}
			if l, err := api.ParseQuantity(ls); err == nil && q.Cmp(l) != 0 {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, l.String())))
			}
		}
	}
	return errs
}

// nodeTaints is validateNodeTaints: unique by key and effect (the
// schema checks each taint).
func nodeTaints(ts []api.Taint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[[2]string]bool{}
	for i, t := range ts {
		k := [2]string{t.Key, t.Effect}
		if seen[k] {
			e := field.Duplicate(path.Index(i), taintString(t))
			e.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, e)
			continue
		}
		seen[k] = true
	}
	return errs
}

// taintString prints a taint as v1.Taint's String does.
type taintString api.Taint

func (t taintString) String() string {
	if t.Value == "" {
		return t.Key + ":" + t.Effect
	}
	return t.Key + "=" + t.Value + ":" + t.Effect
}

// node is the validation of an inventory Node: its metadata and taints.
func node(n *api.Node) field.ErrorList {
	errs := objectMeta(&n.Metadata, metaPath)
	return append(errs, nodeTaints(n.Spec.Taints, specPath.Child("taints"))...)
}
