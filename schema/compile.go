package schema

import (
	"fmt"
	"strconv"
	"strings"

	"cuelang.org/go/cue/ast"
	cuelit "cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"
)

// compiler turns the definitions of the schema files into validator nodes.
// It reads the CUE syntax, restricted to the subset documented in doc.go,
// and resolves references itself; CUE's own evaluation of the same files is
// the reference the differential test compares against.
type compiler struct {
	decls map[string]*ast.Field // top-level definitions by name
	memo  map[string]*node
	busy  map[string]bool
	refs  map[string]map[string]bool // definition -> definitions it names
	cur   []string                   // definitions being compiled, innermost last
}

func newCompiler(files []*ast.File) (*compiler, error) {
	c := &compiler{
		decls: map[string]*ast.Field{},
		memo:  map[string]*node{},
		busy:  map[string]bool{},
		refs:  map[string]map[string]bool{},
	}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.Field)
			if !ok {
				continue
			}
			name, ok := labelName(fd.Label)
			if !ok || !strings.HasPrefix(name, "#") {
				return nil, fmt.Errorf("%s: only definitions (#Name) are allowed at the top level, found %q", fd.Pos(), name)
			}
			if _, dup := c.decls[name]; dup {
				return nil, fmt.Errorf("%s: definition %s is declared twice", fd.Pos(), name)
			}
			c.decls[name] = fd
		}
	}
	return c, nil
}

// def compiles the named definition once.
func (c *compiler) def(name string) (*node, error) {
	if n, ok := c.memo[name]; ok {
		return n, nil
	}
	fd, ok := c.decls[name]
	if !ok {
		return nil, fmt.Errorf("undefined definition %s", name)
	}
	if c.busy[name] {
		return nil, fmt.Errorf("%s: recursive definition %s is not supported", fd.Pos(), name)
	}
	c.busy[name] = true
	defer delete(c.busy, name)
	c.cur = append(c.cur, name)
	defer func() { c.cur = c.cur[:len(c.cur)-1] }()
	if c.refs[name] == nil {
		c.refs[name] = map[string]bool{}
	}
	n, err := c.expr(fd.Value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	n = clone(n)
	n.def = name
	for _, a := range fd.Attrs {
		if key, body := a.Split(); key == "berth" && strings.HasPrefix(body, "unsupported=") {
			// A definition of values, such as an IP family, used in a list.
			vals, err := cuelit.Unquote(strings.TrimPrefix(body, "unsupported="))
			if err != nil {
				return nil, fmt.Errorf("%s: @berth(unsupported=...) takes a quoted, comma-separated list: %w", a.Pos(), err)
			}
			n.unsupported = strings.Split(vals, ",")
			continue
		}
		if err := c.attr(n, a); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	c.memo[name] = n
	return n, nil
}

// attr applies a @berth(name) attribute on a definition or field value.
func (c *compiler) attr(n *node, a *ast.Attribute) error {
	key, body := a.Split()
	if key != "berth" {
		return nil
	}
	chk, ok := goChecks[body]
	if !ok {
		return fmt.Errorf("%s: unknown attribute @berth(%s)", a.Pos(), body)
	}
	switch n.typ {
	case nStruct:
		n.declChk = append(n.declChk, chk)
		return nil
	case nScalar:
		n.checks = append(n.checks, chk)
		return nil
	case nOr:
		// string | number @berth(quantity): every alternative is checked.
		for i, alt := range n.alts {
			if alt.typ != nScalar {
				return fmt.Errorf("%s: @berth(%s) applies to a disjunction of scalars only", a.Pos(), body)
			}
			alt = clone(alt)
			alt.checks = append(append([]*goCheck(nil), alt.checks...), chk)
			n.alts[i] = alt
		}
		return nil
	}
	return fmt.Errorf("%s: @berth(%s) applies to a scalar or a struct", a.Pos(), body)
}

func (c *compiler) expr(e ast.Expr) (*node, error) {
	switch x := e.(type) {
	case *ast.ParenExpr:
		return c.expr(x.X)
	case *ast.Ident:
		return c.ident(x)
	case *ast.BasicLit:
		l, err := parseLit(x)
		if err != nil {
			return nil, err
		}
		return &node{typ: nScalar, kinds: l.kind, lit: &l, maxLen: -1}, nil
	case *ast.UnaryExpr:
		return c.unary(x)
	case *ast.BinaryExpr:
		switch x.Op {
		case token.AND:
			a, err := c.expr(x.X)
			if err != nil {
				return nil, err
			}
			b, err := c.expr(x.Y)
			if err != nil {
				return nil, err
			}
			return conj(a, b)
		case token.OR:
			return c.disjunction(x)
		}
	case *ast.StructLit:
		return c.structLit(x)
	case *ast.ListLit:
		return c.list(x)
	case *ast.CallExpr:
		return c.call(x)
	}
	return nil, fmt.Errorf("%s: unsupported expression %T", e.Pos(), e)
}

func (c *compiler) ident(x *ast.Ident) (*node, error) {
	name := x.Name
	if strings.HasPrefix(name, "#") {
		for _, cur := range c.cur {
			c.refs[cur][name] = true
		}
		return c.def(name)
	}
	scalar := func(k kindMask) *node { return &node{typ: nScalar, kinds: k, maxLen: -1} }
	switch name {
	case "_":
		return &node{typ: nAny}, nil
	case "string":
		return scalar(kString), nil
	case "int":
		return scalar(kInt), nil
	case "float":
		return scalar(kFloat), nil
	case "number":
		return scalar(kNumber), nil
	case "bool":
		return scalar(kBool), nil
	case "null":
		return &node{typ: nScalar, kinds: kNull, lit: &literal{kind: kNull, s: "null"}, maxLen: -1}, nil
	}
	if lo, hi, bits, ok := intTypeBounds(name); ok {
		n := scalar(kInt)
		n.typeMin, n.typeMax, n.typeBit = lo, hi, bits
		return n, nil
	}
	// Any other identifier refers to a sibling field; only a default may
	// do so (targetPort: *port | ...), which disjunction() checks.
	return &node{typ: nAny, sibling: name}, nil
}

func (c *compiler) unary(x *ast.UnaryExpr) (*node, error) {
	if x.Op == token.SUB {
		l, err := c.numLit(x)
		if err != nil {
			return nil, err
		}
		return &node{typ: nScalar, kinds: l.kind, lit: &l, maxLen: -1}, nil
	}
	if x.Op == token.MUL {
		return nil, fmt.Errorf("%s: a default (*) must be an alternative of a disjunction", x.Pos())
	}
	n := &node{typ: nScalar, maxLen: -1}
	switch x.Op {
	case token.GEQ, token.GTR, token.LEQ, token.LSS:
		l, err := c.numLit(x.X)
		if err != nil {
			return nil, err
		}
		n.kinds = kNumber
		b := &bound{v: l.f, exclusive: x.Op == token.GTR || x.Op == token.LSS}
		if x.Op == token.GEQ || x.Op == token.GTR {
			n.min = b
		} else {
			n.max = b
		}
	case token.NEQ:
		l, err := c.litOf(x.X)
		if err != nil {
			return nil, err
		}
		n.kinds = l.kind
		if l.kind&kNumber != 0 {
			n.kinds = kNumber
		}
		n.notEq = []literal{l}
	case token.MAT, token.NMAT:
		l, err := c.litOf(x.X)
		if err != nil || l.kind != kString {
			return nil, fmt.Errorf("%s: =~ and !~ take a string literal", x.Pos())
		}
		p, err := newPattern(l.s, x.Op == token.NMAT)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", x.Pos(), err)
		}
		n.kinds = kString
		n.regexes = []*pattern{p}
	default:
		return nil, fmt.Errorf("%s: unsupported operator %s", x.Pos(), x.Op)
	}
	return n, nil
}

func (c *compiler) litOf(e ast.Expr) (literal, error) {
	switch x := e.(type) {
	case *ast.BasicLit:
		return parseLit(x)
	case *ast.UnaryExpr:
		return c.numLit(x)
	}
	return literal{}, fmt.Errorf("%s: expected a literal", e.Pos())
}

func (c *compiler) numLit(e ast.Expr) (literal, error) {
	neg := false
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.SUB {
		neg, e = true, u.X
	}
	b, ok := e.(*ast.BasicLit)
	if !ok || (b.Kind != token.INT && b.Kind != token.FLOAT) {
		return literal{}, fmt.Errorf("%s: expected a number", e.Pos())
	}
	l, err := parseLit(b)
	if err != nil {
		return literal{}, err
	}
	if neg {
		l.i, l.f = -l.i, -l.f
		l.s = "-" + l.s
	}
	return l, nil
}

func parseLit(b *ast.BasicLit) (literal, error) {
	switch b.Kind {
	case token.STRING:
		s, err := cuelit.Unquote(b.Value)
		if err != nil {
			return literal{}, fmt.Errorf("%s: %w", b.Pos(), err)
		}
		return literal{kind: kString, s: s}, nil
	case token.INT:
		i, err := strconv.ParseInt(strings.ReplaceAll(b.Value, "_", ""), 0, 64)
		if err != nil {
			return literal{}, fmt.Errorf("%s: %w", b.Pos(), err)
		}
		return literal{kind: kInt, s: strconv.FormatInt(i, 10), i: i, f: float64(i)}, nil
	case token.FLOAT:
		f, err := strconv.ParseFloat(b.Value, 64)
		if err != nil {
			return literal{}, fmt.Errorf("%s: %w", b.Pos(), err)
		}
		return literal{kind: kFloat, s: b.Value, f: f}, nil
	case token.TRUE:
		return literal{kind: kBool, s: "true", i: 1}, nil
	case token.FALSE:
		return literal{kind: kBool, s: "false"}, nil
	case token.NULL:
		return literal{kind: kNull, s: "null"}, nil
	}
	return literal{}, fmt.Errorf("%s: unsupported literal %s", b.Pos(), b.Value)
}

// disjunction flattens a | b | c, keeping the default mark.
func (c *compiler) disjunction(x *ast.BinaryExpr) (*node, error) {
	var terms []ast.Expr
	var flatten func(e ast.Expr)
	flatten = func(e ast.Expr) {
		if b, ok := e.(*ast.BinaryExpr); ok && b.Op == token.OR {
			flatten(b.X)
			flatten(b.Y)
			return
		}
		terms = append(terms, e)
	}
	flatten(x)
	or := &node{typ: nOr, dflt: -1}
	for _, t := range terms {
		isDefault := false
		if u, ok := t.(*ast.UnaryExpr); ok && u.Op == token.MUL {
			isDefault, t = true, u.X
		}
		n, err := c.expr(t)
		if err != nil {
			return nil, err
		}
		if n.sibling != "" && !isDefault {
			return nil, fmt.Errorf("%s: a reference to field %q is only supported as a default", t.Pos(), n.sibling)
		}
		// A nested disjunction's alternatives join this one; its default
		// is dropped, as CUE does when the outer disjunction has one.
		if n.typ == nOr && !isDefault {
			or.alts = append(or.alts, n.alts...)
			continue
		}
		if isDefault {
			if or.dflt >= 0 {
				return nil, fmt.Errorf("%s: more than one default", t.Pos())
			}
			if n.typ == nOr {
				n = n.defaultAlt()
				if n == nil {
					return nil, fmt.Errorf("%s: a default must be a single value", t.Pos())
				}
			}
			or.dflt = len(or.alts)
		}
		or.alts = append(or.alts, n)
	}
	return or, nil
}

func (c *compiler) call(x *ast.CallExpr) (*node, error) {
	sel, ok := x.Fun.(*ast.SelectorExpr)
	if !ok || len(x.Args) != 1 {
		return nil, fmt.Errorf("%s: unsupported call", x.Pos())
	}
	pkg, _ := sel.X.(*ast.Ident)
	fn, _ := labelName(sel.Sel)
	if pkg == nil || pkg.Name != "strings" || fn != "MaxRunes" {
		return nil, fmt.Errorf("%s: only strings.MaxRunes is supported", x.Pos())
	}
	l, err := c.numLit(x.Args[0])
	if err != nil || l.kind != kInt {
		return nil, fmt.Errorf("%s: strings.MaxRunes takes an integer", x.Pos())
	}
	return &node{typ: nScalar, kinds: kString, maxLen: int(l.i)}, nil
}

func (c *compiler) list(x *ast.ListLit) (*node, error) {
	n := &node{typ: nList}
	var first ast.Expr
	for _, e := range x.Elts {
		if el, ok := e.(*ast.Ellipsis); ok {
			if el.Type == nil {
				n.elem = &node{typ: nAny}
			} else {
				elem, err := c.expr(el.Type)
				if err != nil {
					return nil, err
				}
				n.elem = elem
			}
			if first != nil && exprString(first) != exprString(el.Type) {
				return nil, fmt.Errorf("%s: leading list elements must have the ellipsis' type", x.Pos())
			}
			return n, nil
		}
		if first == nil {
			first = e
		}
		n.minItems++
	}
	return nil, fmt.Errorf("%s: only open lists [...T] and [T, ...T] are supported", x.Pos())
}

func exprString(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	if b, ok := e.(*ast.BasicLit); ok {
		return b.Value
	}
	return fmt.Sprintf("%T@%v", e, e.Pos())
}

func (c *compiler) structLit(x *ast.StructLit) (*node, error) {
	n := &node{typ: nStruct}
	for _, d := range x.Elts {
		switch d := d.(type) {
		case *ast.Field:
			if err := c.field(n, d); err != nil {
				return nil, err
			}
		case *ast.EmbedDecl:
			e, err := c.expr(d.Expr)
			if err != nil {
				return nil, err
			}
			if e.typ != nStruct {
				return nil, fmt.Errorf("%s: only structs may be embedded", d.Pos())
			}
			m, err := conj(n, e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.Pos(), err)
			}
			*n = *m
		case *ast.Attribute:
			if err := c.attr(n, d); err != nil {
				return nil, err
			}
		case *ast.CommentGroup:
		default:
			return nil, fmt.Errorf("%s: unsupported declaration %T", d.Pos(), d)
		}
	}
	// Resolve sibling references (targetPort: *port | ...).
	for _, f := range n.fields {
		if f.n.typ != nOr {
			continue
		}
		for i, a := range f.n.alts {
			if a.sibling == "" {
				continue
			}
			j := n.field(a.sibling)
			if j < 0 {
				return nil, fmt.Errorf("field %s refers to an undefined field %q", f.name, a.sibling)
			}
			s := clone(n.fields[j].n)
			s.sibling = a.sibling
			f.n = clone(f.n)
			f.n.alts = append([]*node(nil), f.n.alts...)
			f.n.alts[i] = s
		}
	}
	finishStruct(n)
	return n, nil
}

func (c *compiler) field(n *node, d *ast.Field) error {
	if l, ok := d.Label.(*ast.ListLit); ok {
		if len(l.Elts) != 1 {
			return fmt.Errorf("%s: a pattern constraint has one label expression", d.Pos())
		}
		k, err := c.expr(l.Elts[0])
		if err != nil {
			return err
		}
		v, err := c.expr(d.Value)
		if err != nil {
			return err
		}
		v = clone(v)
		pf := patternField{key: k, val: v}
		for _, a := range d.Attrs {
			if key, body := a.Split(); key == "berth" && body == "sensitive" {
				pf.sensitive = true
				continue
			}
			if err := c.attr(v, a); err != nil {
				return err
			}
		}
		n.patterns = append(n.patterns, pf)
		return nil
	}
	name, ok := labelName(d.Label)
	if !ok {
		return fmt.Errorf("%s: unsupported field label", d.Pos())
	}
	v, err := c.expr(d.Value)
	if err != nil {
		return fmt.Errorf("field %s: %w", name, err)
	}
	f := &field{name: name, n: v, required: d.Constraint == token.NOT, optional: d.Constraint == token.OPTION}
	for _, a := range d.Attrs {
		key, body := a.Split()
		switch {
		case key != "berth":
		case body == "sensitive":
			f.sensitive = true
		case body == "pullPolicy":
			f.pullPol = true
		case body == "omitempty":
			f.omitEmpty = true
		case strings.HasPrefix(body, "node="):
			text, err := cuelit.Unquote(strings.TrimPrefix(body, "node="))
			if err != nil {
				return fmt.Errorf("%s: @berth(node=...) takes a quoted description: %w", a.Pos(), err)
			}
			f.nodeText = text
		case strings.HasPrefix(body, "default="):
			text, err := cuelit.Unquote(strings.TrimPrefix(body, "default="))
			if err != nil {
				return fmt.Errorf("%s: @berth(default=...) takes a quoted description: %w", a.Pos(), err)
			}
			f.dfltText = text
		case strings.HasPrefix(body, "unsupported="):
			vals, err := cuelit.Unquote(strings.TrimPrefix(body, "unsupported="))
			if err != nil {
				return fmt.Errorf("%s: @berth(unsupported=...) takes a quoted, comma-separated list: %w", a.Pos(), err)
			}
			f.n = clone(f.n)
			f.n.unsupported = strings.Split(vals, ",")
		default:
			f.n = clone(f.n)
			if err := c.attr(f.n, a); err != nil {
				return err
			}
		}
	}
	for _, cg := range ast.Comments(d) {
		if cg.Doc {
			f.doc = strings.TrimSpace(cg.Text())
		}
	}
	siblingDefault := f.n.typ == nOr && f.n.dflt >= 0 && f.n.alts[f.n.dflt].sibling != ""
	if !f.required && !f.optional && f.n.defaultLit() == nil && !f.n.hasStructDefault() && !f.pullPol && !siblingDefault {
		return fmt.Errorf("%s: regular field %s needs a default, a struct value, or a ! or ? marker", d.Pos(), name)
	}
	if i := n.field(name); i >= 0 {
		return fmt.Errorf("%s: field %s is declared twice", d.Pos(), name)
	}
	n.fields = append(n.fields, f)
	return nil
}

// finishStruct builds a struct node's lookup index and required mask.
func finishStruct(n *node) {
	n.index = make(map[string]int, len(n.fields))
	n.reqMask = 0
	for i, f := range n.fields {
		n.index[f.name] = i
		if f.required && i < 64 {
			n.reqMask |= 1 << i
		}
	}
}

func labelName(l ast.Label) (string, bool) {
	switch x := l.(type) {
	case *ast.Ident:
		return x.Name, true
	case *ast.BasicLit:
		if x.Kind == token.STRING {
			s, err := cuelit.Unquote(x.Value)
			return s, err == nil
		}
	}
	return "", false
}
