package schema

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Disjunctions: which alternative a value takes, and how to explain a value
// that fits none.

// try validates n against nd without effects and counts the errors.
func (w *walker) try(n *yaml.Node, nd *node) (hard, inc int) {
	trial, abort, h, i, nv := w.trial, w.abort, w.hard, w.inc, len(w.viols)
	w.trial, w.abort, w.hard, w.inc = true, false, 0, 0
	w.validate(n, nd)
	hard, inc = w.hard, w.inc
	w.trial, w.abort, w.hard, w.inc = trial, abort, h, i
	w.viols = w.viols[:nv]
	return hard, inc
}

// or picks the alternative of a disjunction that n fits, as CUE does: the
// only one without errors, else the default among those.
func (w *walker) or(n *yaml.Node, nd *node) {
	if n.Kind == yaml.ScalarNode {
		w.orScalar(n, nd)
		return
	}
	mask := nd.structAlts
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content) && mask != 0; i += 2 {
			if n.Content[i].Tag == "!!merge" {
				mask = nd.structAlts
				break
			}
			mask &= nd.keyAlts[n.Content[i].Value] | nd.openAlts
		}
	} else {
		mask = ^nd.structAlts & (1<<len(nd.alts) - 1)
	}
	if mask != 0 && mask&(mask-1) == 0 {
		// The keys leave one alternative: no need to try it first,
		// unless a discriminator (type: Recreate) says otherwise.
		if a := nd.alts[bits.TrailingZeros64(mask)]; !litMismatch(n, a) {
			w.validate(n, a)
			return
		}
		mask = 0
	}
	var cands [64]int
	nc := 0
	first := -1
	for i, a := range nd.alts {
		if mask&(1<<i) == 0 {
			continue
		}
		hard, _ := w.try(n, a)
		if hard == 0 {
			if nc < len(cands) {
				cands[nc] = i
			}
			nc++
			if first < 0 {
				first = i
			}
		}
	}
	switch {
	case nc == 1:
		w.validate(n, nd.alts[first])
		return
	case nc > 1:
		for _, c := range cands[:min(nc, len(cands))] {
			if c == nd.dflt {
				w.validate(n, nd.alts[c])
				return
			}
		}
		w.ambiguous(n, nd, cands[:min(nc, len(cands))])
		return
	}
	if w.trial {
		w.hard++
		w.abort = true
		return
	}
	if w.badDiscriminator(n, nd) {
		return
	}
	// No alternative fits: explain with the one the data is closest to.
	alt, disc := w.closest(n, nd)
	if alt == nil {
		w.typeErr(n, altKinds(nd))
		return
	}
	h := &altHint{or: nd, alt: alt, disc: disc, data: n}
	if disc == "" {
		h.oneOf = exclusiveRequired(nd)
		for _, name := range h.oneOf {
			if mapValue(n, name) != nil {
				h.oneOf = nil // the data chose an alternative
				break
			}
		}
	}
	w.hint = h
	w.validate(n, alt)
	w.hint = nil
	if len(h.oneOf) > 0 {
		w.viols = append(w.viols, Violation{Node: n, Path: w.pathString(), Message: oneOfMessage(h.oneOf), Rule: "schema"})
	}
}

// litMismatch reports whether the data gives one of alt's literal fields
// another value.
func litMismatch(n *yaml.Node, alt *node) bool {
	for _, f := range alt.fields {
		if f.n.lit == nil {
			continue
		}
		if v := mapValue(n, f.name); v != nil && v.Kind == yaml.ScalarNode && v.Value != f.n.lit.s {
			return true
		}
	}
	return false
}

// badDiscriminator reports a discriminator value that no alternative has:
// `Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"`.
func (w *walker) badDiscriminator(n *yaml.Node, nd *node) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, v := n.Content[i].Value, resolve(n.Content[i+1])
		var lits []string
		matched := false
		for _, a := range nd.alts {
			if a.typ != nStruct {
				continue
			}
			if fi := a.field(key); fi >= 0 && a.fields[fi].n.lit != nil {
				l := a.fields[fi].n.lit
				lits = append(lits, l.String())
				matched = matched || v.Kind == yaml.ScalarNode && v.Value == l.s
			}
		}
		if len(lits) > 1 && !matched {
			w.path = append(w.path, seg{name: key, idx: -1})
			w.fail(v, fmt.Sprintf("Unsupported value: %s: supported values: %s", w.show(v), strings.Join(lits, ", ")))
			w.path = w.path[:len(w.path)-1]
			return true
		}
	}
	return false
}

// exclusiveRequired are the required fields that tell a disjunction's
// struct alternatives apart (emptyDir, hostPath, ...).
func exclusiveRequired(nd *node) []string {
	var names []string
	for _, a := range nd.alts {
		if a.typ != nStruct {
			continue
		}
		for _, f := range a.fields {
			if f.required && nd.keyAlts[f.name] != nd.structAlts && !slices.Contains(names, f.name) {
				names = append(names, f.name)
			}
		}
	}
	return names
}

func oneOfMessage(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return "one of the fields " + strings.Join(q, ", ") + " is required"
}

// ambiguous reports data that fits several alternatives only partly:
// typically none of "one of these fields" is given.
func (w *walker) ambiguous(n *yaml.Node, nd *node, cands []int) {
	if w.trial {
		w.inc++
		return
	}
	var names []string
	for _, c := range cands {
		a := nd.alts[c]
		for _, f := range a.fields {
			if f.required && !inAll(nd, cands, f.name) && mapValue(n, f.name) == nil {
				names = append(names, f.name)
			}
		}
	}
	msg := "the value fits more than one alternative of the schema"
	if len(names) > 0 {
		msg = oneOfMessage(names)
	}
	w.viols = append(w.viols, Violation{Node: n, Path: w.pathString(), Message: msg, Rule: "schema"})
}

func inAll(nd *node, cands []int, name string) bool {
	for _, c := range cands {
		if nd.alts[c].typ != nStruct || nd.alts[c].field(name) < 0 {
			return false
		}
	}
	return true
}

// closest is the alternative to explain a failure with: one whose literal
// field (type: Recreate) the data has, else the one that knows most keys.
func (w *walker) closest(n *yaml.Node, nd *node) (*node, string) {
	if n.Kind != yaml.MappingNode {
		for _, a := range nd.alts {
			if a.typ == nList && n.Kind == yaml.SequenceNode {
				return a, ""
			}
		}
		return nil, ""
	}
	var best *node
	bestKnown := -1
	for _, a := range nd.alts {
		if a.typ != nStruct {
			continue
		}
		known := 0
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			fi := a.field(key)
			if fi < 0 {
				continue
			}
			if l := a.fields[fi].n.lit; l != nil {
				if v := resolve(n.Content[i+1]); v.Kind == yaml.ScalarNode && v.Value == l.s {
					return a, fmt.Sprintf("%s is %s", key, l)
				}
				continue
			}
			known++
		}
		if known > bestKnown {
			best, bestKnown = a, known
		}
	}
	return best, ""
}

func altKinds(nd *node) kindMask {
	var m kindMask
	for _, a := range nd.alts {
		switch a.typ {
		case nScalar:
			m |= a.kinds
		case nStruct:
			m |= kStruct
		case nList:
			m |= kList
		case nAny:
			m |= kAll
		}
	}
	return m
}

func (w *walker) orScalar(n *yaml.Node, nd *node) {
	k := dataKind(n)
	for _, a := range nd.alts {
		if a.typ == nAny || a.typ == nScalar && w.scalar(n, a, false) == "" {
			return
		}
	}
	if w.trial {
		w.hard++
		w.abort = true
		return
	}
	// Explain with the first constrained alternative of the right kind,
	// or list the allowed values when they are all literals.
	var lits []string
	var constrained *node
	for _, a := range nd.alts {
		if a.typ != nScalar {
			continue
		}
		if a.lit != nil {
			lits = append(lits, a.lit.String())
			continue
		}
		if constrained == nil && a.kinds&k != 0 {
			constrained = a
		}
	}
	switch {
	case constrained != nil:
		w.fail(n, w.scalar(n, constrained, true))
	case len(lits) == len(nd.alts):
		w.fail(n, w.enumMessage(n, nd, lits))
	default:
		w.typeErr(n, altKinds(nd))
	}
}
