package object

import (
	"cmp"
	"slices"
)

// Set is every object of one revision, sorted by kind, namespace and name,
// with an index for lookups by identity.
type Set struct {
	objects []*Object
	index   map[key]*Object
}

type key struct{ kind, namespace, name string }

// NewSet sorts objs and indexes them. When two objects share an identity,
// the first in file order wins the index; Duplicates reports the others.
func NewSet(objs []*Object) *Set {
	s := &Set{objects: slices.Clone(objs), index: make(map[key]*Object, len(objs))}
	slices.SortStableFunc(s.objects, func(a, b *Object) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Doc.File, b.Doc.File), cmp.Compare(a.Doc.Index, b.Doc.Index))
	})
	for _, o := range s.objects {
		k := key{o.Kind, o.Namespace, o.Name}
		if _, dup := s.index[k]; !dup {
			s.index[k] = o
		}
	}
	return s
}

// All returns every object in sorted order.
func (s *Set) All() []*Object { return s.objects }

// Get returns the object with that identity, or nil.
func (s *Set) Get(kind, namespace, name string) *Object {
	return s.index[key{kind, namespace, name}]
}

// ByKind returns the objects of kind in sorted order.
func (s *Set) ByKind(kind string) []*Object {
	var out []*Object
	for _, o := range s.objects {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// Duplicates returns, for each identity written more than once, the
// objects after the first.
func (s *Set) Duplicates() []*Object {
	var out []*Object
	for _, o := range s.objects {
		if s.index[key{o.Kind, o.Namespace, o.Name}] != o {
			out = append(out, o)
		}
	}
	return out
}

// Typed returns the objects of kind T in sorted order, with their values.
func Typed[T any](s *Set, kind string) []Of[T] {
	var out []Of[T]
	for _, o := range s.ByKind(kind) {
		if v, ok := o.Value.(*T); ok {
			out = append(out, Of[T]{Object: o, V: v})
		}
	}
	return out
}

// Of pairs an object with its typed value.
type Of[T any] struct {
	*Object
	V *T
}
