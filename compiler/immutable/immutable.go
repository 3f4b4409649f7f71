// Package immutable holds ConfigMaps and Secrets marked immutable to what
// the API server holds them to: once a revision applied one, a later
// revision may not change its data or type, or drop the mark
// (ValidateConfigMapUpdate, ValidateSecretUpdate).
//
// The plan's ConfigMap and Secret tables say which are immutable and hold
// their content (a Secret's as keyed digests, plan.SecretKey); a compile
// given the plan applied before (compiler.CompileOptions.Previous) checks
// the new revision against it. That is the one check, run where a
// previous revision is known: by the daemon against the plan its node
// applied last, by `berth plan --base` against the base. `berth lint`
// takes files alone and does not run it.
package immutable

import (
	"slices"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
)

// Rule is the rule id of a change to an immutable object.
const Rule = "immutable"

// keyID is hashed under the Secret key: digests made under another key
// are recognised as such, not taken for changes.
const keyID = "berth.dev/immutable key id"

// KeyID names key in a plan (plan.Plan.SecretKeyID) without revealing
// it: an HMAC of a constant.
func KeyID(key plan.SecretKey) string {
	if len(key) == 0 {
		key = plan.DefaultSecretKey
	}
	return key.Sensitive(keyID).Redacted()
}

// HasImmutableSecret reports whether p lists an immutable Secret, whose
// digests need the key's id beside them.
func HasImmutableSecret(p *plan.Plan) bool {
	return slices.ContainsFunc(p.Secrets, func(c plan.ConfigData) bool { return c.Immutable })
}

// Check refuses the changes set makes to the immutable ConfigMaps and
// Secrets of prev, with the API server's messages, at the changed field
// of the new object: data (stringData) or binaryData changed, immutable
// dropped, a Secret's type changed. An object deleted from the
// repository is not a change: Kubernetes lets one delete an immutable
// object and create it again.
func Check(prev *plan.Plan, set *object.Set, key plan.SecretKey) []diag.Diagnostic {
	var ds []diag.Diagnostic
	for i := range prev.ConfigMaps {
		old := &prev.ConfigMaps[i]
		o := set.Get("ConfigMap", old.Namespace, old.Name)
		if !old.Immutable || o == nil {
			continue
		}
		cm := o.Value.(*api.ConfigMap)
		ds = append(ds, dropped(o, cm.Immutable, old)...)
		data, bin := changed(old, cm.DecodedData(), func(v []byte) string { return string(v) }, func(k string) bool { _, ok := cm.BinaryData[k]; return ok })
		if data {
			ds = append(ds, forbidden(o, "data", old))
		}
		if bin {
			ds = append(ds, forbidden(o, "binaryData", old))
		}
	}
	if len(key) == 0 {
		key = plan.DefaultSecretKey
	}
	for i := range prev.Secrets {
		old := &prev.Secrets[i]
		o := set.Get("Secret", old.Namespace, old.Name)
		if !old.Immutable || o == nil {
			continue
		}
		s := o.Value.(*api.Secret)
		ds = append(ds, dropped(o, s.Immutable, old)...)
		if typ := s.SecretType(); typ != old.Type {
			ds = append(ds, o.Diag(diag.Error, Rule, "type", "Invalid value: %q: field is immutable%s", typ, advice(o)))
		}
		// Digests made under another key (a new --secret-key-file) cannot
		// be compared: that is not a change of content.
		if prev.SecretKeyID != KeyID(key) {
			continue
		}
		data, _ := changed(old, s.DecodedData(), func(v []byte) string { return key.Sensitive(string(v)).Redacted() }, func(string) bool { return false })
		if data {
			path := "data"
			if len(s.Data) == 0 && len(s.StringData) > 0 {
				path = "stringData"
			}
			ds = append(ds, forbidden(o, path, old))
		}
	}
	return ds
}

// changed compares the content recorded in the plan with the new one
// (shown as the plan shows it), and says whether a key of data or one
// of binaryData (isBinary, by where the new object holds the key)
// changed, appeared or went.
func changed(old *plan.ConfigData, cur map[string][]byte, show func([]byte) string, isBinary func(string) bool) (data, binary bool) {
	mark := func(k string) {
		if isBinary(k) {
			binary = true
		} else {
			data = true
		}
	}
	for k, v := range cur {
		if ov, ok := old.Data[k]; !ok || ov.Redacted() != show(v) {
			mark(k)
		}
	}
	for k := range old.Data {
		if _, ok := cur[k]; !ok {
			data = true // gone: where it was written is not known any more
		}
	}
	return data, binary
}

func dropped(o *object.Object, immutable *bool, old *plan.ConfigData) []diag.Diagnostic {
	if immutable != nil && *immutable {
		return nil
	}
	return []diag.Diagnostic{forbidden(o, "immutable", old)}
}

func forbidden(o *object.Object, path string, _ *plan.ConfigData) diag.Diagnostic {
	return o.Diag(diag.Error, Rule, path, "Forbidden: field is immutable when `immutable` is set%s", advice(o))
}

// advice says what to do instead, as a GitOps user can.
func advice(o *object.Object) string {
	return ": the revision applied before made " + o.ID() +
		" immutable, and the API server refuses to change it; give the changed one a new name (and point its users at it), or delete it in one commit and add it again in the next"
}
