package address

import (
	"cmp"
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
// that offers the requested size and every requested access mode.
// Binding is computed from the repository alone, so adding a smaller
// matching volume can rebind a claim that does not name its volume:
// write spec.volumeName for data that must stay put.
func Bind(set *object.Set) (map[string]Binding, []diag.Diagnostic) {
	var diags []diag.Diagnostic
	var vols []*volume
	byName := map[string]*volume{}
	for _, pv := range object.Typed[api.PersistentVolume](set, "PersistentVolume") {
		v := &volume{obj: pv.Object, pv: pv.V}
		if s, ok := pv.V.Spec.Capacity["storage"]; ok {
			q, err := api.ParseQuantity(s)
			if err != nil {
				diags = append(diags, pv.Diag(diag.Error, "schema", "spec.capacity.storage", "%v", err))
			}
			v.capacity = q
		}
		vols = append(vols, v)
		byName[pv.Name] = v
	}
	claims := object.Typed[api.PersistentVolumeClaim](set, "PersistentVolumeClaim")
	out := map[string]Binding{}
	bind := func(c object.Of[api.PersistentVolumeClaim], v *volume) {
		key := c.Namespace + "/" + c.Name
		v.claimed = key
		b := Binding{Claim: key, Volume: v.obj.Name}
		switch {
		case v.pv.Spec.HostPath != nil:
			b.Path = v.pv.Spec.HostPath.Path
		case v.pv.Spec.Local != nil:
			b.Path = v.pv.Spec.Local.Path
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
			diags = append(diags, c.Diag(diag.Error, RuleBinding, "spec.volumeName", "PersistentVolume %q does not exist", c.V.Spec.VolumeName))
		case v.claimed != "":
			diags = append(diags, c.Diag(diag.Error, RuleBinding, "spec.volumeName", "PersistentVolume %q is already bound to claim %s", v.obj.Name, v.claimed))
		default:
			if why := mismatch(c.V, v); why != "" {
				diags = append(diags, c.Diag(diag.Error, RuleBinding, "spec.volumeName", "PersistentVolume %q does not fit this claim: %s", v.obj.Name, why))
				continue
			}
			bind(c, v)
		}
	}
	for _, c := range claims {
		if c.V.Spec.VolumeName != "" {
			continue
		}
		var best *volume
		for _, v := range vols {
			if v.claimed != "" || mismatch(c.V, v) != "" {
				continue
			}
			if best == nil || cmp.Or(v.capacity.Cmp(best.capacity), strings.Compare(v.obj.Name, best.obj.Name)) < 0 {
				best = v
			}
		}
		if best == nil {
			diags = append(diags, c.Diag(diag.Warning, RuleBinding, "spec", "no free PersistentVolume matches this claim (storage class %q, %s, access modes %v); pods that use it cannot be planned", className(c.V), requestText(c.V), c.V.Spec.AccessModes))
			continue
		}
		bind(c, best)
	}
	return out, diags
}

// mismatch says why volume v cannot hold claim c, or "".
func mismatch(c *api.PersistentVolumeClaim, v *volume) string {
	if className(c) != v.pv.Spec.StorageClassName {
		return "storage class " + quote(v.pv.Spec.StorageClassName) + ", claim wants " + quote(className(c))
	}
	for _, m := range c.Spec.AccessModes {
		if !slices.Contains(v.pv.Spec.AccessModes, m) {
			return "no access mode " + m
		}
	}
	if s, ok := c.Spec.Resources.Requests["storage"]; ok {
		q, err := api.ParseQuantity(s)
		if err == nil && v.capacity.Cmp(q) < 0 {
			return "capacity " + v.pv.Spec.Capacity["storage"] + " is less than the requested " + s
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

func requestText(c *api.PersistentVolumeClaim) string {
	if s, ok := c.Spec.Resources.Requests["storage"]; ok {
		return "storage " + s
	}
	return "any size"
}

func quote(s string) string { return `"` + s + `"` }

func sortStrings(s []string) { slices.Sort(s) }
