// Copyright 2026 The berth Authors.
// SPDX-License-Identifier: Apache-2.0

// BERTH PATCH: this file is not part of kustomize/api v0.21.2; see
// BERTH_PATCH.md at the root of this module.

package resmap

import (
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/resid"
)

// IdKey is a map key for a ResId: two ids have the same key exactly when
// ResId.Equals says they are equal (same group, version, kind and name,
// same effective namespace). It lets a pass over a ResMap find
// duplicate ids with a map instead of a scan per resource.
type IdKey struct {
	Group, Version, Kind, Name, Namespace string
}

// KeyOf is id's key.
func KeyOf(id resid.ResId) IdKey {
	return IdKey{
		Group:     id.Group,
		Version:   id.Version,
		Kind:      id.Kind,
		Name:      id.Name,
		Namespace: id.EffectiveNamespace(),
	}
}

// ReferenceScope answers SubsetThatCouldBeReferencedByResource for every
// referrer of one pass of the name-reference fixer from the current ids
// of the map's resources computed once, instead of once per referrer.
// The pass may change only the referrer's own fields; Refresh takes the
// referrer's id again after its filters ran, so the ids stay current.
type ReferenceScope struct {
	m     *resWrangler
	ids   []resid.ResId
	index map[*resource.Resource]int
}

// NewReferenceScope takes the current ids of m's resources.
func NewReferenceScope(m ResMap) *ReferenceScope {
	w, ok := m.(*resWrangler)
	if !ok {
		return &ReferenceScope{}
	}
	s := &ReferenceScope{
		m:     w,
		ids:   make([]resid.ResId, len(w.rList)),
		index: make(map[*resource.Resource]int, len(w.rList)),
	}
	for i, r := range w.rList {
		s.ids[i] = r.CurId()
		s.index[r] = i
	}
	return s
}

// Refresh takes r's current id again.
func (s *ReferenceScope) Refresh(r *resource.Resource) {
	if i, ok := s.index[r]; ok {
		s.ids[i] = r.CurId()
	}
}

// SubsetThatCouldBeReferencedByResource is the method of the same name
// of resWrangler (same result, same order) with the ids taken once.
func (s *ReferenceScope) SubsetThatCouldBeReferencedByResource(
	m ResMap, referrer *resource.Resource) (ResMap, error) {
	i, ok := s.index[referrer]
	if s.m == nil || m != ResMap(s.m) || !ok || len(s.m.rList) != len(s.ids) {
		return m.SubsetThatCouldBeReferencedByResource(referrer)
	}
	referrerId := s.ids[i]
	if referrerId.IsClusterScoped() {
		// A cluster scoped resource can refer to anything.
		return s.m, nil
	}
	result := newOne()
	roleBindingNamespaces, err := getNamespacesForRoleBinding(referrer)
	if err != nil {
		return nil, err
	}
	for j, possibleTarget := range s.m.rList {
		id := s.ids[j]
		if id.IsClusterScoped() {
			// A cluster-scoped resource can be referred to by anything.
			result.append(possibleTarget)
			continue
		}
		if id.IsNsEquals(referrerId) {
			// The two objects are in the same namespace.
			result.append(possibleTarget)
			continue
		}
		// The two objects are namespaced (not cluster-scoped), AND
		// are in different namespaces.
		// There's still a chance they can refer to each other.
		if roleBindingNamespaces[possibleTarget.GetNamespace()] {
			result.append(possibleTarget)
		}
	}
	return result, nil
}

// AppendResources appends list to m as Append does one by one, checking
// the ids in one pass when m is a resWrangler.
func AppendResources(m ResMap, list []*resource.Resource) error {
	if w, ok := m.(*resWrangler); ok {
		return w.appendAll(list)
	}
	for _, r := range list {
		if err := m.Append(r); err != nil {
			return err
		}
	}
	return nil
}
