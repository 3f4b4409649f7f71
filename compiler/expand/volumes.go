package expand

import (
	"fmt"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/selector"
)

// volumes resolves a pod's volumes: configMap and secret files become
// content, a claim becomes its bound volume's node path. It also returns
// the node affinity of the bound volumes (each one a list of ORed terms,
// all of which must hold) for scheduling.
func (x *expander) volumes(src source, ns string, vols []api.Volume, dw *downward) ([]plan.Volume, [][]selector.Selector, []string, []diag.Diagnostic) {
	var out []plan.Volume
	var affinity [][]selector.Selector
	var affinityText []string
	var diags []diag.Diagnostic
	for i, v := range vols {
		p := fmt.Sprintf("volumes[%d]", i)
		pv := plan.Volume{Name: v.Name}
		switch {
		case v.EmptyDir != nil:
			pv.Kind = "emptyDir"
			pv.Medium = v.EmptyDir.Medium
			if v.EmptyDir.SizeLimit != "" {
				q, err := api.ParseQuantity(v.EmptyDir.SizeLimit)
				if err != nil {
					diags = append(diags, src.errorf("schema", p+".emptyDir.sizeLimit", "%v", err))
				}
				pv.SizeLimit = q.Value()
			}
		case v.HostPath != nil:
			pv.Kind = "hostPath"
			pv.Path = v.HostPath.Path
			pv.HostPathType = v.HostPath.Type
		case v.ConfigMap != nil:
			pv.Kind = "configMap"
			pv.Source = v.ConfigMap.Name
			pv.Items, pv.DefaultMode, pv.Optional = projection(v.ConfigMap.Items, v.ConfigMap.DefaultMode, optional(v.ConfigMap.Optional))
			diags = append(diags, x.checkKeySource(src, p+".configMap", "name", "ConfigMap", ns, v.ConfigMap.Name, v.ConfigMap.Items, pv.Optional)...)
		case v.Secret != nil:
			pv.Kind = "secret"
			pv.Source = v.Secret.SecretName
			pv.Items, pv.DefaultMode, pv.Optional = projection(v.Secret.Items, v.Secret.DefaultMode, optional(v.Secret.Optional))
			diags = append(diags, x.checkKeySource(src, p+".secret", "secretName", "Secret", ns, v.Secret.SecretName, v.Secret.Items, pv.Optional)...)
		case v.PersistentVolumeClaim != nil:
			claim := v.PersistentVolumeClaim.ClaimName
			b, ok := x.in.Claims[ns+"/"+claim]
			if !ok {
				diags = append(diags, src.errorf("unbound-claim", p+".persistentVolumeClaim.claimName", "PersistentVolumeClaim %s/%s is not bound to any PersistentVolume (add a PersistentVolume that matches its storage class, size and access modes, or use storageClassName berth-local)", ns, claim))
				continue
			}
			pv = claimVolume(v.Name, claim, b, v.PersistentVolumeClaim.ReadOnly)
			if len(b.Affinity) > 0 {
				affinity = append(affinity, b.Affinity)
				affinityText = append(affinityText, "PersistentVolume "+b.Volume+" requires "+b.AffinityText)
			}
		case v.DownwardAPI != nil:
			pv.Kind = "downwardAPI"
			pv.DefaultMode = fileMode(v.DownwardAPI.DefaultMode)
			files, d := x.downwardFiles(src, p+".downwardAPI", v.DownwardAPI.Items, dw)
			diags = append(diags, d...)
			pv.Sources = []plan.Projection{{Kind: "downwardAPI", Downward: files}}
		case v.Projected != nil:
			pv.Kind = "projected"
			pv.DefaultMode = fileMode(v.Projected.DefaultMode)
			srcs, d := x.projections(src, p+".projected", ns, v.Projected.Sources, dw)
			diags = append(diags, d...)
			pv.Sources = srcs
		default:
			diags = append(diags, src.errorf("unsupported", p, "volume %q has no supported source (emptyDir, hostPath, configMap, secret, persistentVolumeClaim, downwardAPI, projected)", v.Name))
			continue
		}
		out = append(out, pv)
	}
	return out, affinity, affinityText, diags
}

// projection is a configMap or secret volume's items and modes in the
// plan's form; the content stays in the plan's tables.
func projection(items []api.KeyToPath, defaultMode *int32, opt bool) ([]plan.KeyToPath, *int32, bool) {
	mode := int32(plan.DefaultFileMode)
	if defaultMode != nil {
		mode = *defaultMode
	}
	var out []plan.KeyToPath
	for _, it := range items {
		out = append(out, plan.KeyToPath{Key: it.Key, Path: it.Path, Mode: it.Mode})
	}
	return out, &mode, opt
}

// checkItems reports listed keys the ConfigMap or Secret does not have
// (unless the volume is optional), as the kubelet refuses to start such
// checkKeySource checks a volume's or a projection's reference (at path,
// the name in its field nameField) to a ConfigMap or Secret (kind): that
// it exists unless optional, and holds the items' keys.
func (x *expander) checkKeySource(src source, path, nameField, kind, ns, name string, items []api.KeyToPath, opt bool) []diag.Diagnostic {
	data := x.tables.ConfigMap(ns, name)
	if kind == "Secret" {
		data = x.tables.Secret(ns, name)
	}
	var diags []diag.Diagnostic
	if data == nil && !opt {
		diags = append(diags, src.errorf("reference", path+"."+nameField, "%s %s/%s does not exist (create it, or set optional: true)", kind, ns, name))
	}
	return append(diags, checkItems(src, path, data, items, opt)...)
}

// a pod.
func checkItems(src source, path string, data *plan.ConfigData, items []api.KeyToPath, opt bool) []diag.Diagnostic {
	if data == nil || opt {
		return nil
	}
	var diags []diag.Diagnostic
	for i, it := range items {
		if _, ok := data.Data[it.Key]; !ok {
			diags = append(diags, src.errorf("reference", fmt.Sprintf("%s.items[%d].key", path, i), "key %q does not exist (add it, or set optional: true)", it.Key))
		}
	}
	return diags
}
