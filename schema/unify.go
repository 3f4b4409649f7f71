package schema

import "fmt"

// clone copies a node, so that unifying never changes a shared definition.
func clone(n *node) *node {
	m := *n
	return &m
}

// conj is the unification a & b of two compiled nodes.
func conj(a, b *node) (*node, error) {
	switch {
	case a.typ == nAny && a.sibling == "":
		return b, nil
	case b.typ == nAny && b.sibling == "":
		return a, nil
	case a.typ == nOr || b.typ == nOr:
		if a.typ != nOr {
			a, b = b, a
		}
		or := &node{typ: nOr, dflt: a.dflt}
		for _, alt := range a.alts {
			m, err := conj(alt, b)
			if err != nil {
				return nil, err
			}
			or.alts = append(or.alts, m)
		}
		return or, nil
	case a.typ == nScalar && b.typ == nScalar:
		return conjScalar(a, b)
	case a.typ == nStruct && b.typ == nStruct:
		m := &node{typ: nStruct}
		m.fields = append(append([]*field(nil), a.fields...), b.fields...)
		seen := map[string]bool{}
		for _, f := range m.fields {
			if seen[f.name] {
				return nil, fmt.Errorf("field %s is declared in both structs; berth's schema compiler does not unify fields", f.name)
			}
			seen[f.name] = true
		}
		m.patterns = append(append([]patternField(nil), a.patterns...), b.patterns...)
		m.declChk = append(append([]*goCheck(nil), a.declChk...), b.declChk...)
		finishStruct(m)
		return m, nil
	}
	return nil, fmt.Errorf("cannot unify a %d node with a %d node", a.typ, b.typ)
}

func conjScalar(a, b *node) (*node, error) {
	m := clone(a)
	m.kinds = a.kinds & b.kinds
	if m.kinds == 0 {
		return nil, fmt.Errorf("conflicting types %s and %s", a.kinds.describe(), b.kinds.describe())
	}
	if b.lit != nil {
		if a.lit != nil && *a.lit != *b.lit {
			return nil, fmt.Errorf("conflicting values %s and %s", a.lit, b.lit)
		}
		m.lit = b.lit
	}
	if b.min != nil && (m.min == nil || b.min.v > m.min.v) {
		m.min = b.min
	}
	if b.max != nil && (m.max == nil || b.max.v < m.max.v) {
		m.max = b.max
	}
	if b.typeBit != 0 && (m.typeBit == 0 || b.typeBit < m.typeBit) {
		m.typeMin, m.typeMax, m.typeBit = b.typeMin, b.typeMax, b.typeBit
	}
	m.notEq = append(append([]literal(nil), a.notEq...), b.notEq...)
	m.regexes = append(append([]*pattern(nil), a.regexes...), b.regexes...)
	if b.maxLen >= 0 && (m.maxLen < 0 || b.maxLen < m.maxLen) {
		m.maxLen = b.maxLen
	}
	m.checks = append(append([]*goCheck(nil), a.checks...), b.checks...)
	if m.def == "" {
		m.def = b.def
	}
	return m, nil
}

// fits reports whether an int64 fits the node's integer type.
func (n *node) fits(i int64) bool {
	return n.typeBit == 0 || (i >= n.typeMin && i <= n.typeMax)
}
