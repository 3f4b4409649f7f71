package schema

import (
	"math"
	"strconv"
	"strings"
)

// kindMask is the set of value kinds a node accepts.
type kindMask uint8

const (
	kString kindMask = 1 << iota
	kInt
	kFloat
	kBool
	kNull
	kStruct
	kList

	kNumber = kInt | kFloat
	kAll    = kString | kInt | kFloat | kBool | kNull | kStruct | kList
)

// describe names the kinds for a message: "an integer or a string".
func (m kindMask) describe() string {
	var parts []string
	add := func(k kindMask, s string) {
		if m&k != 0 {
			parts = append(parts, s)
		}
	}
	if m&kNumber == kNumber {
		parts = append(parts, "a number")
	} else {
		add(kInt, "an integer")
		add(kFloat, "a number")
	}
	add(kString, "a string")
	add(kBool, "a boolean")
	add(kNull, "null")
	add(kStruct, "a mapping")
	add(kList, "a list")
	return strings.Join(parts, " or ")
}

// nodeType is the shape of a validator node.
type nodeType uint8

const (
	nAny nodeType = iota
	nScalar
	nStruct
	nList
	nOr
)

// node is one compiled constraint: the native form of a CUE expression.
type node struct {
	typ nodeType
	// def is the name of the definition this node was compiled from
	// ("#Quantity"), for documentation; "" for anonymous values.
	def string

	// nScalar
	kinds   kindMask
	lit     *literal // the value must equal this literal
	min     *bound
	max     *bound
	typeMin int64 // bounds of a sized integer type (int32); both 0 when none
	typeMax int64
	typeBit int // 32, 64, or 0
	notEq   []literal
	regexes []*pattern
	maxLen  int // in runes; -1 when none
	checks  []*goCheck

	// nStruct
	fields   []*field
	index    map[string]int
	patterns []patternField
	reqMask  uint64
	declChk  []*goCheck // @berth attributes on the struct itself

	// nList
	elem     *node
	minItems int

	// nOr
	alts []*node
	dflt int // index of the default alternative, -1 when none
	// keyAlts maps a field name to the struct alternatives that declare
	// it (bit i for alts[i]); structAlts and openAlts (alternatives with
	// pattern constraints) complete it. A mapping's keys thus rule most
	// alternatives out without trying them.
	keyAlts    map[string]uint64
	structAlts uint64
	openAlts   uint64

	// sibling is set on an alternative that refers to a sibling field
	// (targetPort: *port | ...): its default is a copy of that field.
	sibling string

	// unsupported lists values that Kubernetes accepts here and berth
	// does not implement (@berth(unsupported="Indexed")); a value ending
	// in "*" is a prefix. They are refused with a message that says so.
	unsupported []string
}

// field is one declared field of a struct.
type field struct {
	name      string
	n         *node
	required  bool // name!:
	optional  bool // name?:
	sensitive bool // values below are never echoed in messages
	pullPol   bool // @berth(pullPolicy): default computed from image
	// omitEmpty (@berth(omitempty)) marks a field whose Go type in
	// Kubernetes is not a pointer: its zero value (0, "") means unset and
	// gets the default, as the API server's defaulting does.
	omitEmpty bool
	// dfltText (@berth(default="...")) describes, for the field table,
	// the default of an optional field that Go fills in because it
	// depends on other fields (a Job's backoffLimit).
	dfltText string
	// nodeText (@berth(node="...")) says, for the field table, what the
	// field does on a berth node where that is not what its name says.
	nodeText string
	doc      string
}

// patternField is a pattern constraint [key]: value.
type patternField struct {
	key       *node
	val       *node
	sensitive bool // @berth(sensitive): values are never echoed
}

// literal is a concrete scalar value of a schema.
type literal struct {
	kind kindMask
	s    string // string value, or the canonical text of a number or bool
	i    int64
	f    float64
}

// String renders the literal as CUE would: strings quoted.
func (l literal) String() string {
	if l.kind == kString {
		return strconv.Quote(l.s)
	}
	return l.s
}

// yamlTag is the YAML tag of a default value built from the literal.
func (l literal) yamlTag() string {
	switch l.kind {
	case kString:
		return "!!str"
	case kInt:
		return "!!int"
	case kFloat:
		return "!!float"
	case kBool:
		return "!!bool"
	}
	return "!!null"
}

// bound is a numeric bound: >=v, >v, <=v or <v.
type bound struct {
	v         float64
	exclusive bool
}

// field returns the index of name in a struct node, or -1.
func (n *node) field(name string) int {
	if len(n.fields) <= 8 {
		for i, f := range n.fields {
			if f.name == name {
				return i
			}
		}
		return -1
	}
	if i, ok := n.index[name]; ok {
		return i
	}
	return -1
}

// defaultAlt is the alternative a disjunction takes when nothing is given.
func (n *node) defaultAlt() *node {
	if n.typ == nOr && n.dflt >= 0 {
		return n.alts[n.dflt]
	}
	return nil
}

// defaultLit is the literal default of a node, if it has one.
func (n *node) defaultLit() *literal {
	switch n.typ {
	case nScalar:
		return n.lit
	case nOr:
		if d := n.defaultAlt(); d != nil && d.typ == nScalar {
			return d.lit
		}
	}
	return nil
}

// hasStructDefault reports whether a missing value of this node is filled
// in as a mapping (a regular field of struct type, or a struct default).
func (n *node) hasStructDefault() bool {
	switch n.typ {
	case nStruct:
		return true
	case nOr:
		d := n.defaultAlt()
		return d != nil && d.typ == nStruct
	}
	return false
}

func intTypeBounds(name string) (lo, hi int64, bits int, ok bool) {
	switch name {
	case "int8":
		return math.MinInt8, math.MaxInt8, 8, true
	case "int16":
		return math.MinInt16, math.MaxInt16, 16, true
	case "int32":
		return math.MinInt32, math.MaxInt32, 32, true
	case "int64":
		return math.MinInt64, math.MaxInt64, 64, true
	case "uint8":
		return 0, math.MaxUint8, 8, true
	case "uint16":
		return 0, math.MaxUint16, 16, true
	case "uint32":
		return 0, math.MaxUint32, 32, true
	case "uint", "uint64":
		return 0, math.MaxInt64, 64, true
	}
	return 0, 0, 0, false
}
