package address

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/selector"
)

// Binding is a PersistentVolumeClaim bound to a PersistentVolume.
type Binding struct {
	Claim  string // namespace/name
	Volume string // PersistentVolume name
	// Path is the volume's directory on its node (hostPath or local).
	Path string
	// Local is a local volume, which the pod's fsGroup owns (the
	// kubelet's local volume plugin; a hostPath volume is left as is).
	Local bool
	// Provisioned is a claim of StorageClass berth-local that no declared
	// volume holds: berth's local provisioner makes its directory on the
	// pod's node (Volume is then the class).
	Provisioned bool
	// Affinity are the volume's node affinity terms (ORed); empty means
	// any node.
	Affinity     []selector.Selector
	AffinityText string
}

type volume struct {
	obj      *object.Object
	pv       *api.PersistentVolume
	capacity api.Quantity
	claimed  string
}

// Bind binds every claim of set to a volume, deterministically: a claim
// naming spec.volumeName gets that volume; the others, in sorted order,
// get the smallest free volume (then by name) of the same storage class
// that offers the requested size, every requested access mode and the
// labels its selector asks for. Binding is computed from the repository
// alone, so adding a smaller matching volume can rebind a claim that does
// not name its volume: write spec.volumeName for data that must stay put.
// A claim of class berth-local that no volume holds is provisioned
// (LocalClass), and so are a StatefulSet's claims (bindTemplates).
//
// It is the one binder of berth: lint reports its findings, and the plan
// binds with it. A claim that stays unbound is valid Kubernetes (it is
// pending), so its findings are warnings; a pod that mounts it is the
// error (berth cannot plan it).
func Bind(set *object.Set) (map[string]Binding, []diag.Diagnostic) {
	var diags []diag.Diagnostic
	var vols []*volume
	byName := map[string]*volume{}
	for _, pv := range object.Typed[api.PersistentVolume](set, "PersistentVolume") {
		v := &volume{obj: pv.Object, pv: pv.V}
		if s, ok := pv.V.Spec.Capacity["storage"]; ok {
			// A bad quantity is the schema's finding: it never gets here.
			v.capacity, _ = api.ParseQuantity(s)
		}
		vols = append(vols, v)
		byName[pv.Name] = v
	}
	claims := object.Typed[api.PersistentVolumeClaim](set, "PersistentVolumeClaim")
	out := map[string]Binding{}
	bind := func(key string, v *volume) {
		v.claimed = key
		b := Binding{Claim: key, Volume: v.obj.Name}
		switch {
		case v.pv.Spec.HostPath != nil:
			b.Path = v.pv.Spec.HostPath.Path
		case v.pv.Spec.Local != nil:
			b.Path, b.Local = v.pv.Spec.Local.Path, true
		}
		if na := v.pv.Spec.NodeAffinity; na != nil && na.Required != nil {
			var texts []string
			for i, t := range na.Required.NodeSelectorTerms {
				s, err := selector.FromNodeSelectorTerm(t)
				if err != nil {
					diags = append(diags, v.obj.Diag(diag.Error, "selector", "spec.nodeAffinity.required.nodeSelectorTerms["+strconv.Itoa(i)+"]", "%v", err))
					continue
				}
				b.Affinity = append(b.Affinity, s)
				texts = append(texts, s.String())
			}
			b.AffinityText = strings.Join(texts, " or ")
		}
		out[key] = b
	}
	// Claims that name their volume go first, so that a named volume is
	// never taken by a claim that would have accepted any volume.
	for _, c := range claims {
		if c.V.Spec.VolumeName == "" {
			continue
		}
		v := byName[c.V.Spec.VolumeName]
		switch {
		case v == nil:
			diags = append(diags, c.Diag(diag.Warning, RuleBinding, "spec.volumeName",
				"PersistentVolume %q does not exist, so this claim stays pending: add it to the repository or remove volumeName", c.V.Spec.VolumeName))
		case mismatch(c.V, v) != "":
			diags = append(diags, c.Diag(diag.Warning, RuleBinding, "spec.volumeName",
				"PersistentVolume %q cannot satisfy this claim (%s), so it stays pending: fix the claim or the volume", v.obj.Name, mismatch(c.V, v)))
		case v.claimed != "":
			diags = append(diags, c.Diag(diag.Warning, RuleBinding, "spec.volumeName",
				"PersistentVolume %q is already bound to claim %s, so this claim stays pending: give it its own volume", v.obj.Name, v.claimed))
		default:
			bind(c.Namespace+"/"+c.Name, v)
		}
	}
	// bindAny binds a claim that names no volume; report places a finding.
	bindAny := func(key string, c *api.PersistentVolumeClaim, report func(at, format string, args ...any)) {
		var best *volume
		var taken, reasons []string
		for _, v := range vols {
			if why := mismatch(c, v); why != "" {
				reasons = append(reasons, v.obj.Name+": "+why)
				continue
			}
			if v.claimed != "" {
				taken = append(taken, v.obj.Name+" to "+v.claimed)
				continue
			}
			if best == nil || cmp.Or(v.capacity.Cmp(best.capacity), strings.Compare(v.obj.Name, best.obj.Name)) < 0 {
				best = v
			}
		}
		if best != nil {
			bind(key, best)
			return
		}
		if className(c) == LocalClass {
			out[key] = Binding{Claim: key, Volume: LocalClass, Provisioned: true, Local: true}
			return
		}
		// Point at what the claim asks for: its class when it names one,
		// else its size.
		at := "spec.resources.requests.storage"
		if c.Spec.StorageClassName != nil {
			at = "spec.storageClassName"
		}
		if len(taken) > 0 {
			report(at, "every PersistentVolume that fits this claim is already bound (%s), so it stays pending: add a PersistentVolume for it", strings.Join(taken, ", "))
			return
		}
		detail := ""
		if len(reasons) > 0 {
			if len(reasons) > 3 {
				reasons = append(reasons[:3], fmt.Sprintf("and %d more", len(reasons)-3))
			}
			detail = "; " + strings.Join(reasons, "; ")
		}
		report(at, "no PersistentVolume can satisfy this claim (%s%s), so it stays pending: add a PersistentVolume with that class, size and access mode, or use storageClassName %q (berth's local provisioner)",
			claimWants(c), detail, LocalClass)
	}
	for _, c := range claims {
		if c.V.Spec.VolumeName != "" {
			continue
		}
		bindAny(c.Namespace+"/"+c.Name, c.V, func(at, format string, args ...any) {
			diags = append(diags, c.Diag(diag.Warning, RuleBinding, at, format, args...))
		})
	}
	diags = append(diags, bindTemplates(set, bindAny)...)
	return out, diags
}

// mismatch says why volume v cannot hold claim c, or "".
func mismatch(c *api.PersistentVolumeClaim, v *volume) string {
	if want := className(c); v.pv.Spec.StorageClassName != want {
		return fmt.Sprintf("storageClassName %q, not %q", v.pv.Spec.StorageClassName, want)
	}
	for _, m := range c.Spec.AccessModes {
		if !slices.Contains(v.pv.Spec.AccessModes, m) {
			return "no access mode " + m
		}
	}
	if s, ok := c.Spec.Resources.Requests["storage"]; ok {
		q, err := api.ParseQuantity(s)
		if err == nil && v.capacity.Cmp(q) < 0 {
			return fmt.Sprintf("capacity %s is less than %s", cmp.Or(v.pv.Spec.Capacity["storage"], "0"), s)
		}
	}
	if c.Spec.Selector != nil {
		sel, err := selector.FromLabelSelector(c.Spec.Selector)
		if err == nil && !sel.Matches(v.pv.Metadata.Labels) {
			return "labels do not match the selector " + sel.String()
		}
	}
	return ""
}

func className(c *api.PersistentVolumeClaim) string {
	if c.Spec.StorageClassName == nil {
		return ""
	}
	return *c.Spec.StorageClassName
}

// claimWants describes a claim for a message: class, size, access modes.
func claimWants(c *api.PersistentVolumeClaim) string {
	parts := []string{fmt.Sprintf("storageClassName %q", className(c))}
	if s := c.Spec.Resources.Requests["storage"]; s != "" {
		parts = append(parts, s)
	}
	parts = append(parts, c.Spec.AccessModes...)
	return strings.Join(parts, ", ")
}

func sortStrings(s []string) { slices.Sort(s) }
