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
func (x *expander) volumes(src source, ns string, vols []api.Volume) ([]plan.Volume, [][]selector.Selector, []string, []diag.Diagnostic) {
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
			data, ok := x.configData(ns, v.ConfigMap.Name)
			if !ok && !optional(v.ConfigMap.Optional) {
				diags = append(diags, src.errorf("reference", p+".configMap.name", "ConfigMap %s/%s does not exist (create it, or set optional: true)", ns, v.ConfigMap.Name))
			}
			files, d := projectFiles(src, p+".configMap", data, v.ConfigMap.Items, v.ConfigMap.DefaultMode, optional(v.ConfigMap.Optional), plan.Plain)
			pv.Files, diags = files, append(diags, d...)
		case v.Secret != nil:
			pv.Kind = "secret"
			pv.Source = v.Secret.SecretName
			data, _, ok := x.secretData(ns, v.Secret.SecretName)
			if !ok && !optional(v.Secret.Optional) {
				diags = append(diags, src.errorf("reference", p+".secret.secretName", "Secret %s/%s does not exist (create it, or set optional: true)", ns, v.Secret.SecretName))
			}
			files, d := projectFiles(src, p+".secret", data, v.Secret.Items, v.Secret.DefaultMode, optional(v.Secret.Optional), x.in.SecretKey.Sensitive)
			pv.Files, diags = files, append(diags, d...)
		case v.PersistentVolumeClaim != nil:
			pv.Kind = "persistentVolumeClaim"
			claim := v.PersistentVolumeClaim.ClaimName
			b, ok := x.in.Claims[ns+"/"+claim]
			if !ok {
				diags = append(diags, src.errorf("unbound-claim", p+".persistentVolumeClaim.claimName", "PersistentVolumeClaim %s/%s is not bound to any PersistentVolume (add a PersistentVolume that matches its storage class, size and access modes)", ns, claim))
				continue
			}
			pv.Source = claim + " -> " + b.Volume
			pv.Path = b.Path
			pv.LocalPV = b.Local && !v.PersistentVolumeClaim.ReadOnly
			if len(b.Affinity) > 0 {
				affinity = append(affinity, b.Affinity)
				affinityText = append(affinityText, "PersistentVolume "+b.Volume+" requires "+b.AffinityText)
			}
		default:
			diags = append(diags, src.errorf("unsupported", p, "volume %q has no supported source (emptyDir, hostPath, configMap, secret, persistentVolumeClaim)", v.Name))
			continue
		}
		out = append(out, pv)
	}
	return out, affinity, affinityText, diags
}

// projectFiles turns keys into files: the listed items, or every key.
func projectFiles(src source, path string, data map[string]string, items []api.KeyToPath, defaultMode *int32, opt bool, wrap func(string) plan.Secret) ([]plan.File, []diag.Diagnostic) {
	mode := int32(defaultFileMode)
	if defaultMode != nil {
		mode = *defaultMode
	}
	var files []plan.File
	var diags []diag.Diagnostic
	if len(items) == 0 {
		for _, k := range sortedKeys(data) {
			files = append(files, plan.File{Path: k, Mode: mode, Data: wrap(data[k])})
		}
		return files, nil
	}
	for i, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if data != nil && !opt {
				diags = append(diags, src.errorf("reference", fmt.Sprintf("%s.items[%d].key", path, i), "key %q does not exist (add it, or set optional: true)", it.Key))
			}
			continue
		}
		m := mode
		if it.Mode != nil {
			m = *it.Mode
		}
		files = append(files, plan.File{Path: it.Path, Mode: m, Data: wrap(v)})
	}
	sortFiles(files)
	return files, diags
}
