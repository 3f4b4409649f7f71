package check

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/selector"
)

// checkClaims warns about PersistentVolumeClaims that no
// PersistentVolume of the repository can satisfy. berth has no dynamic
// provisioner, so a claim binds only to a declared volume of its storage
// class (none when storageClassName is unset), with its access modes and
// at least its requested size. Binding is simulated as the plan binds:
// claims naming a volumeName first, then each claim in order takes the
// smallest free volume that fits, so two claims cannot share one volume.
func checkClaims(set *object.Set, opts Options) []diag.Diagnostic {
	pvs := object.Typed[api.PersistentVolume](set, "PersistentVolume")
	claims := object.Typed[api.PersistentVolumeClaim](set, "PersistentVolumeClaim")
	if len(claims) == 0 || opts.Rejected.hasKind("PersistentVolume") {
		// With a rejected PersistentVolume, which claim it would bind is
		// unknown: its own error comes first.
		return nil
	}
	// Quantities are parsed once: claims x volumes comparisons follow.
	caps := make(map[string]api.Quantity, len(pvs))
	for _, pv := range pvs {
		caps[pv.Name] = capacity(pv.V)
	}
	boundTo := map[string]string{} // volume name -> namespace/claim
	var ds []diag.Diagnostic
	for _, named := range []bool{true, false} {
		for _, c := range claims {
			if (c.V.Spec.VolumeName != "") != named {
				continue
			}
			claim := c.Namespace + "/" + c.Name
			want, wantErr := api.ParseQuantity(c.V.Spec.Resources.Requests["storage"])
			if wantErr != nil {
				want = api.Quantity{} // no or bad size: the schema's finding
			}
			if named {
				pv := findPV(pvs, c.V.Spec.VolumeName)
				switch {
				case pv == nil:
					ds = append(ds, c.Diag(diag.Warning, RuleUnboundClaim, "spec.volumeName",
						"PersistentVolume %q does not exist, so this claim stays pending: add it to the repository or remove volumeName", c.V.Spec.VolumeName))
				case misfit(pv.V, caps[pv.Name], c.V, want) != "":
					ds = append(ds, c.Diag(diag.Warning, RuleUnboundClaim, "spec.volumeName",
						"PersistentVolume %q cannot satisfy this claim (%s), so it stays pending: fix the claim or the volume", pv.Name, misfit(pv.V, caps[pv.Name], c.V, want)))
				case boundTo[pv.Name] != "":
					ds = append(ds, c.Diag(diag.Warning, RuleUnboundClaim, "spec.volumeName",
						"PersistentVolume %q is already bound to claim %s, so this claim stays pending: give it its own volume", pv.Name, boundTo[pv.Name]))
				default:
					boundTo[pv.Name] = claim
				}
				continue
			}
			var fits, reasons []string
			var best *object.Of[api.PersistentVolume]
			for i := range pvs {
				pv := &pvs[i]
				if why := misfit(pv.V, caps[pv.Name], c.V, want); why != "" {
					reasons = append(reasons, pv.Name+": "+why)
					continue
				}
				if boundTo[pv.Name] != "" {
					fits = append(fits, pv.Name+" to "+boundTo[pv.Name])
					continue
				}
				if best == nil || caps[pv.Name].Cmp(caps[best.Name]) < 0 {
					best = pv
				}
			}
			// Point at what the claim asks for: its class when it names one,
			// else its size.
			at := "spec.resources.requests.storage"
			if c.V.Spec.StorageClassName != nil {
				at = "spec.storageClassName"
			}
			switch {
			case best != nil:
				boundTo[best.Name] = claim
			case len(fits) > 0:
				ds = append(ds, c.Diag(diag.Warning, RuleUnboundClaim, at,
					"every PersistentVolume that fits this claim is already bound (%s), so it stays pending: add a PersistentVolume for it", strings.Join(fits, ", ")))
			default:
				detail := ""
				if len(reasons) > 0 {
					if len(reasons) > 3 {
						reasons = append(reasons[:3], fmt.Sprintf("and %d more", len(reasons)-3))
					}
					detail = "; " + strings.Join(reasons, "; ")
				}
				ds = append(ds, c.Diag(diag.Warning, RuleUnboundClaim, at,
					"no PersistentVolume can satisfy this claim (%s%s), so it stays pending: berth provisions no volumes, so add a PersistentVolume with that class, size and access mode",
					claimWants(c.V), detail))
			}
		}
	}
	return ds
}

func findPV(pvs []object.Of[api.PersistentVolume], name string) *object.Of[api.PersistentVolume] {
	i := slices.IndexFunc(pvs, func(p object.Of[api.PersistentVolume]) bool { return p.Name == name })
	if i < 0 {
		return nil
	}
	return &pvs[i]
}

func claimClass(c *api.PersistentVolumeClaim) string {
	if c.Spec.StorageClassName == nil {
		return ""
	}
	return *c.Spec.StorageClassName
}

func capacity(pv *api.PersistentVolume) api.Quantity {
	q, _ := api.ParseQuantity(pv.Spec.Capacity["storage"])
	return q
}

// misfit says why pv cannot satisfy the claim, or "" when it can.
func misfit(pv *api.PersistentVolume, capacity api.Quantity, c *api.PersistentVolumeClaim, want api.Quantity) string {
	if want := claimClass(c); pv.Spec.StorageClassName != want {
		return fmt.Sprintf("storageClassName %q, not %q", pv.Spec.StorageClassName, want)
	}
	for _, m := range c.Spec.AccessModes {
		if !slices.Contains(pv.Spec.AccessModes, m) {
			return "no access mode " + m
		}
	}
	if capacity.Cmp(want) < 0 {
		return fmt.Sprintf("capacity %s is less than %s", cmp.Or(pv.Spec.Capacity["storage"], "0"), c.Spec.Resources.Requests["storage"])
	}
	if c.Spec.Selector != nil {
		sel, err := selector.FromLabelSelector(c.Spec.Selector)
		if err == nil && !sel.Matches(pv.Metadata.Labels) {
			return "labels do not match the selector " + sel.String()
		}
	}
	return ""
}

func claimWants(c *api.PersistentVolumeClaim) string {
	parts := []string{fmt.Sprintf("storageClassName %q", claimClass(c))}
	if s := c.Spec.Resources.Requests["storage"]; s != "" {
		parts = append(parts, s)
	}
	parts = append(parts, c.Spec.AccessModes...)
	return strings.Join(parts, ", ")
}
