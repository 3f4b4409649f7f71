// Package immutable holds ConfigMaps and Secrets marked immutable to what
// the API server holds them to: once a revision applied one, a later
// revision may not change its data or drop the mark
// (ValidateConfigMapUpdate, ValidateSecretUpdate).
//
// Each plan lists its immutable objects with digests of their content
// (plan.Plan.Immutable); a compile given the plan applied before
// (compiler.CompileOptions.Previous) checks the new revision against it.
// The one check runs where a previous revision is known: the daemon
// against the plan its node applied last, `berth plan --base` against
// the base. `berth lint` takes files alone and does not check it.
package immutable

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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

// Table lists the immutable ConfigMaps and Secrets of set, sorted, with
// the digests a later revision is compared with. A Secret's digests are
// keyed (plan.SecretKey), as every digest of a secret value in a plan.
func Table(set *object.Set, key plan.SecretKey) []plan.ImmutableObject {
	var out []plan.ImmutableObject
	for _, o := range set.All() {
		if e, ok := entry(o, key); ok && set.Get(o.Kind, o.Namespace, o.Name) == o {
			out = append(out, e)
		}
	}
	return out
}

func entry(o *object.Object, key plan.SecretKey) (plan.ImmutableObject, bool) {
	switch v := o.Value.(type) {
	case *api.ConfigMap:
		if v.Immutable == nil || !*v.Immutable {
			return plan.ImmutableObject{}, false
		}
		bin := map[string][]byte{}
		for k, s := range v.BinaryData {
			b, _ := base64.StdEncoding.DecodeString(s) // the schema checked it
			bin[k] = b
		}
		return plan.ImmutableObject{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name,
			Data: digest(bytesOf(v.Data)), BinaryData: digest(bin)}, true
	case *api.Secret:
		if v.Immutable == nil || !*v.Immutable {
			return plan.ImmutableObject{}, false
		}
		if len(key) == 0 {
			key = plan.DefaultSecretKey
		}
		sum := digest(v.DecodedData())
		return plan.ImmutableObject{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Type: v.SecretType(),
			Key: key.Sensitive(keyID).Redacted(), Data: key.Sensitive(sum).Redacted()}, true
	}
	return plan.ImmutableObject{}, false
}

func bytesOf(m map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out
}

// digest is a content digest of a key-value map.
func digest(m map[string][]byte) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write(m[k])
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Check refuses the changes set makes to the immutable objects of prev,
// with the API server's messages, at the changed object: data or
// binaryData changed, immutable dropped, a Secret's type changed. An
// object deleted from the repository is not a change (Kubernetes lets one
// delete an immutable object and create it again).
func Check(prev []plan.ImmutableObject, set *object.Set, key plan.SecretKey) []diag.Diagnostic {
	var ds []diag.Diagnostic
	for _, old := range prev {
		o := set.Get(old.Kind, old.Namespace, old.Name)
		if o == nil {
			continue
		}
		cur, still := entry(o, key)
		immutablePath := "immutable"
		if !still {
			// Compare the content anyway: both are the API server's errors.
			cur, _ = entry(withImmutable(o), key)
			ds = append(ds, o.Diag(diag.Error, Rule, immutablePath, "Forbidden: field is immutable when `immutable` is set%s", advice(old)))
		}
		if old.Kind == "Secret" && old.Type != cur.Type {
			ds = append(ds, o.Diag(diag.Error, Rule, "type", "Invalid value: %q: field is immutable%s", cur.Type, advice(old)))
		}
		// Digests made under another key (a changed --secret-key-file)
		// cannot be compared: that is not a change of content.
		if old.Kind == "Secret" && old.Key == cur.Key && old.Data != cur.Data {
			ds = append(ds, o.Diag(diag.Error, Rule, dataPath(o), "Forbidden: field is immutable when `immutable` is set%s", advice(old)))
		}
		if old.Kind == "ConfigMap" && old.Data != cur.Data {
			ds = append(ds, o.Diag(diag.Error, Rule, "data", "Forbidden: field is immutable when `immutable` is set%s", advice(old)))
		}
		if old.Kind == "ConfigMap" && old.BinaryData != cur.BinaryData {
			ds = append(ds, o.Diag(diag.Error, Rule, "binaryData", "Forbidden: field is immutable when `immutable` is set%s", advice(old)))
		}
	}
	return ds
}

// advice says what to do instead, as a GitOps user can.
func advice(old plan.ImmutableObject) string {
	return ": the revision applied before made " + old.Kind + " " + old.Namespace + "/" + old.Name +
		" immutable, and the API server refuses to change it; give the changed one a new name (and point its users at it), or delete it in one commit and add it again in the next"
}

// dataPath is where a Secret's content was written: stringData when
// that alone holds it.
func dataPath(o *object.Object) string {
	if s := o.Value.(*api.Secret); len(s.Data) == 0 && len(s.StringData) > 0 {
		return "stringData"
	}
	return "data"
}

// withImmutable is o as if it still said immutable: true, to compare its
// content.
func withImmutable(o *object.Object) *object.Object {
	c := *o
	t := true
	switch v := o.Value.(type) {
	case *api.ConfigMap:
		cm := *v
		cm.Immutable = &t
		c.Value = &cm
	case *api.Secret:
		s := *v
		s.Immutable = &t
		c.Value = &s
	}
	return &c
}
