package expand

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"berth.dev/berth/compiler/address"
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/selector"
)

// Labels the StatefulSet controller gives each ordinal's pod.
const (
	LabelStatefulSetPodName = "statefulset.kubernetes.io/pod-name"
	LabelPodIndex           = "apps.kubernetes.io/pod-index"
)

// statefulSet expands a StatefulSet into its ordinals NAME-START ..
// NAME-(START+n-1): each pod has its name as host name, the governing
// Service as subdomain, and a claim per volumeClaimTemplate
// (TEMPLATE-NAME-ORDINAL, bound by address.Bind). All ordinals share one
// group index, so the schedule keeps them on one node while it has room:
// a node orders and updates its ordinals alone, without asking others.
func (x *expander) statefulSet(o *object.Object, s *api.StatefulSet) {
	src := source{obj: o, path: "spec.template.spec"}
	tmpl := &s.Spec.Template
	t, ok := x.resolve(src, o.Namespace, &tmpl.Metadata, &tmpl.Spec)
	if !ok {
		return
	}
	start, n := s.Spec.Span()
	st, d := statefulSetStrategy(o, s, n)
	st.OrdinalsStart = start
	x.res.Diags = append(x.res.Diags, d...)
	// The revision covers the claim templates too: they shape the pods.
	rev := TemplateHash(tmpl.Metadata.Labels, t.specHash, s.Spec.VolumeClaimTemplates)
	labels := withLabel(tmpl.Metadata.Labels, LabelControllerRevision, o.Name+"-"+rev)
	owner := plan.Owner{Kind: "StatefulSet", Name: o.Name}
	x.res.Workloads = append(x.res.Workloads, plan.Workload{Kind: "StatefulSet", Namespace: o.Namespace, Name: o.Name, Revision: rev, Replicas: n, Strategy: st,
		ClaimRetention: claimRetention(s)})
	// Template volumes named like a claim template give way to the claim,
	// as the controller's updateStorage does.
	own := slices.DeleteFunc(slices.Clone(t.spec.Volumes), func(v plan.Volume) bool {
		return slices.ContainsFunc(s.Spec.VolumeClaimTemplates, func(c api.PersistentVolumeClaim) bool { return c.Metadata.Name == v.Name })
	})
	for i := start; i < start+n; i++ {
		name := o.Name + "-" + strconv.Itoa(int(i))
		vols := own
		aff, affText := t.affinity, t.affText
		failed := false
		for ti := range s.Spec.VolumeClaimTemplates {
			c := &s.Spec.VolumeClaimTemplates[ti]
			claim := api.ClaimName(c.Metadata.Name, o.Name, i)
			v, a, at, ok := x.claim(src.obj, fmt.Sprintf("spec.volumeClaimTemplates[%d]", ti), o.Namespace, c.Metadata.Name, claim, false)
			if !ok {
				failed = true
				continue
			}
			if len(vols) == len(own) {
				vols = slices.Clone(own)
			}
			vols = append(vols, v)
			if a != nil {
				aff, affText = append(slices.Clone(aff), a), append(slices.Clone(affText), at)
			}
		}
		if failed {
			continue
		}
		pl := maps.Clone(labels)
		pl[LabelStatefulSetPodName] = name
		pl[LabelPodIndex] = strconv.Itoa(int(i))
		spec := t.spec
		spec.Volumes = vols
		spec.Subdomain = s.Spec.ServiceName
		pod := &plan.Pod{Namespace: o.Namespace, Name: name, Labels: pl, Owner: owner, Revision: rev,
			Hash: contentHash(t.specHash, o.Namespace, name, pl, vols, spec.Subdomain), ConfigHash: t.config, Spec: spec}
		// One index for every ordinal: they share the group's first node.
		// The ordinal's own claims add their volumes' node affinity.
		ot := *t
		ot.affinity, ot.affText = aff, affText
		x.add(&ot, pod, o, 0, "", -1, t.requests)
	}
}

// claim is the plan volume of a bound claim (a pod's, or an ordinal's
// from a template); ok is false, with the error reported, when the claim
// is not bound.
func (x *expander) claim(o *object.Object, path, ns, volume, claim string, readOnly bool) (plan.Volume, []selector.Selector, string, bool) {
	b, ok := x.in.Claims[ns+"/"+claim]
	if !ok {
		x.res.Diags = append(x.res.Diags, o.Diag(diag.Error, "unbound-claim", path,
			"PersistentVolumeClaim %s/%s is not bound to any PersistentVolume (add a PersistentVolume that matches its storage class, size and access modes, or use storageClassName berth-local)", ns, claim))
		return plan.Volume{}, nil, "", false
	}
	pv := claimVolume(volume, claim, b, readOnly)
	if len(b.Affinity) == 0 {
		return pv, nil, "", true
	}
	return pv, b.Affinity, "PersistentVolume " + b.Volume + " requires " + b.AffinityText, true
}

// statefulSetStrategy is the plan's form of the update strategy:
// maxUnavailable scaled against the replicas, rounded up, at least 1
// (the controller's getStatefulSetMaxUnavailable).
func statefulSetStrategy(o *object.Object, s *api.StatefulSet, replicas int32) (plan.Strategy, []diag.Diagnostic) {
	st := plan.Strategy{Type: s.Spec.UpdateStrategy.Type, MinReadySeconds: s.Spec.MinReadySeconds,
		RevisionHistoryLimit: historyLimit(s.Spec.RevisionHistoryLimit), PodManagementPolicy: s.Spec.PodManagementPolicy}
	if st.Type == "" {
		st.Type = "RollingUpdate"
	}
	if st.PodManagementPolicy == "" {
		st.PodManagementPolicy = "OrderedReady"
	}
	if st.Type != "RollingUpdate" {
		return st, nil
	}
	st.MaxUnavailable = 1
	ru := s.Spec.UpdateStrategy.RollingUpdate
	if ru == nil {
		return st, nil
	}
	if ru.Partition != nil {
		st.Partition = *ru.Partition
	}
	if ru.MaxUnavailable != nil {
		v, err := ru.MaxUnavailable.ScaledValue(int(replicas), true)
		if err != nil {
			return st, []diag.Diagnostic{o.Diag(diag.Error, "schema", "spec.updateStrategy.rollingUpdate.maxUnavailable", "%v", err)}
		}
		st.MaxUnavailable = int32(max(v, 1))
	}
	return st, nil
}

// claimVolume is the plan volume of claim, bound by b.
func claimVolume(name, claim string, b address.Binding, readOnly bool) plan.Volume {
	pv := plan.Volume{Name: name, Kind: "persistentVolumeClaim", Source: claim + " -> " + b.Volume, Path: b.Path, LocalPV: b.Local && !readOnly}
	if b.Provisioned {
		pv.LocalClaim = claim
	}
	return pv
}

// claimRetention is the plan's form of the set's
// persistentVolumeClaimRetentionPolicy, nil when it deletes nothing
// (Retain, the API server's default for both cases, or no templates).
func claimRetention(s *api.StatefulSet) *plan.ClaimRetention {
	rp := s.Spec.RetentionPolicy
	if rp == nil || len(s.Spec.VolumeClaimTemplates) == 0 || (rp.WhenDeleted != "Delete" && rp.WhenScaled != "Delete") {
		return nil
	}
	cr := &plan.ClaimRetention{WhenDeleted: cmp.Or(rp.WhenDeleted, "Retain"), WhenScaled: cmp.Or(rp.WhenScaled, "Retain")}
	for i := range s.Spec.VolumeClaimTemplates {
		cr.Templates = append(cr.Templates, s.Spec.VolumeClaimTemplates[i].Metadata.Name)
	}
	return cr
}
