package reconciler

import (
	"errors"
	"strconv"
	"strings"

	"berth.dev/berth/compiler/plan"
)

// bucketClaims holds the claims of this node's StatefulSet ordinals whose
// retention policy deletes them (ClaimHold, by namespace/claim).
const bucketClaims = "claims"

// Retention policy values (persistentVolumeClaimRetentionPolicy).
const (
	retentionDelete = "Delete"
	retentionRetain = "Retain"
)

// ClaimHold is what the node remembers of one claim an ordinal of a
// StatefulSet used here, while the set's retention policy deletes
// claims: the StatefulSet controller's owner references on the claim,
// which outlive the set in the plan. Without a hold, berth never deletes
// a claim's data.
type ClaimHold struct {
	// Workload is the set (StatefulSet/namespace/name); Pod the ordinal's
	// pod (namespace/name), which must be gone before its claim goes.
	Workload string `json:"workload"`
	Pod      string `json:"pod"`
	Ordinal  int    `json:"ordinal"`
	// WhenDeleted and WhenScaled are the set's policy as last seen.
	WhenDeleted string `json:"whenDeleted"`
	WhenScaled  string `json:"whenScaled"`
}

// claims keeps a hold on every claim of this node's ordinals whose set's
// policy deletes claims, and deletes a held claim as the StatefulSet
// controller and the garbage collector do, once its pod is gone from
// this node: WhenScaled Delete when the set was scaled below its ordinal
// (an ordinal moved to another node is not scaled away: its claim
// stays), WhenDeleted Delete when the set left the plan. A hold whose
// policy now retains the claim is dropped, the data kept.
func (v *view) claims(progress State) {
	workloads := make(map[string]*plan.Workload, len(v.d.Workloads))
	for i := range v.d.Workloads {
		if w := &v.d.Workloads[i]; w.Kind == "StatefulSet" {
			workloads[w.Key()] = w
		}
	}
	// The ordinals planned here and those running here (one the same
	// commit scaled away included, as the controller sets the owner of a
	// condemned ordinal's claims before it deletes the pod).
	want := map[string]ClaimHold{}
	hold := func(w *plan.Workload, pod string, ord int) {
		if w == nil || w.ClaimRetention == nil || ord < 0 {
			return
		}
		for _, t := range w.ClaimRetention.Templates {
			if k := claimKey(w, t, ord); want[k].Pod == "" { // the first holder keeps it
				want[k] = ClaimHold{Workload: w.Key(), Pod: pod, Ordinal: ord,
					WhenDeleted: w.ClaimRetention.WhenDeleted, WhenScaled: w.ClaimRetention.WhenScaled}
			}
		}
	}
	// A claim a pod planned here mounts is in use, whoever holds it (two
	// sets can name one claim: template x of set a-b and template x-a of
	// set b), as the pvc-protection finalizer keeps a mounted claim.
	inUse := map[string]bool{}
	for i := range v.d.Pods {
		p := &v.d.Pods[i]
		for _, vol := range p.Spec.Volumes {
			if vol.LocalClaim != "" {
				inUse[p.Namespace+"/"+vol.LocalClaim] = true
			}
		}
		if p.Owner.Kind == "StatefulSet" {
			hold(workloads[ownerKey(p.Owner.Kind, p.Namespace, p.Owner.Name)], p.Key(), ordinalOf(p.Labels))
		}
	}
	for _, k := range mapKeys(workloads) {
		for _, o := range v.byOwner[k] {
			hold(workloads[k], o.Key(), ordinalOf(o.Labels))
		}
	}
	for _, k := range mapKeys(want) {
		if h, ok := progress.Claims[k]; !ok || h != want[k] {
			v.record(bucketClaims, k, want[k], "claim held by the set's retention policy")
		}
	}
	for _, k := range mapKeys(progress.Claims) {
		h := progress.Claims[k]
		if _, ok := want[k]; ok || v.obs[h.Pod] != nil || inUse[k] {
			continue // in use here: a claim outlives its pod, never the reverse
		}
		w := workloads[h.Workload]
		switch {
		case w == nil && h.WhenDeleted == retentionDelete:
			v.deleteClaim(k, h, "set deleted (persistentVolumeClaimRetentionPolicy.whenDeleted: Delete)")
			continue
		case w == nil || w.ClaimRetention == nil:
			v.forgetClaim(k, h)
			continue
		}
		pol := w.ClaimRetention
		away := scaledAway(w, h.Ordinal)
		switch {
		case away && pol.WhenScaled == retentionDelete:
			v.deleteClaim(k, h, "ordinal scaled away (persistentVolumeClaimRetentionPolicy.whenScaled: Delete)")
			continue
		case away && pol.WhenDeleted != retentionDelete:
			v.forgetClaim(k, h) // nothing will delete it now
			continue
		}
		// The ordinal runs on another node, or was scaled away and waits
		// for the set's deletion: the hold stays, with the set's policy.
		n := h
		n.WhenDeleted, n.WhenScaled = pol.WhenDeleted, pol.WhenScaled
		if n != h {
			v.record(bucketClaims, k, n, "claim held by the set's retention policy")
		}
	}
}

func (v *view) deleteClaim(k string, h ClaimHold, reason string) {
	v.add(Action{Kind: ActDeleteClaim, Key: k, Object: h.Workload, Holder: h.Pod, Reason: reason})
}

// forgetClaim drops a hold: the claim and its data stay.
func (v *view) forgetClaim(k string, h ClaimHold) {
	v.add(Action{Kind: ActRecord, Key: bucketClaims + "/" + k, Object: h.Workload, Reason: "claim retained: its data stays",
		Record: &Record{Bucket: bucketClaims, Key: k}})
}

// scaledAway says whether the set's replicas no longer include ordinal.
func scaledAway(w *plan.Workload, ordinal int) bool {
	start := int(w.Strategy.OrdinalsStart)
	return ordinal < start || ordinal >= start+int(w.Replicas)
}

// claimKey is namespace/claim of template t for an ordinal of w:
// <template>-<set>-<ordinal> (api.ClaimName).
func claimKey(w *plan.Workload, t string, ordinal int) string {
	return w.Namespace + "/" + t + "-" + w.Name + "-" + strconv.Itoa(ordinal)
}

// deleteClaim deletes a held claim's data, then its hold.
func (r *Reconciler) deleteClaim(a *Action) error {
	if r.opts.Claims == nil {
		return errors.New("this node has no claim driver (reconciler.Options.Claims): the claim is kept")
	}
	ns, name, _ := strings.Cut(a.Key, "/")
	if err := r.opts.Claims.DeleteClaim(ns, name); err != nil {
		return err
	}
	return r.save([]*Record{{Bucket: bucketClaims, Key: a.Key}})
}
