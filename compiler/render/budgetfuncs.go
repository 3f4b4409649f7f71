package render

import (
	"context"
	"fmt"
	"reflect"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// maxListItems bounds a list a template makes with until, untilStep or seq.
const maxListItems = 1 << 20

// templateBudget makes the functions templates call stop a render that is
// past its time or output budget. Go templates cannot loop without
// calling a function or ranging over values, and every function returns
// an error once the context is done, so a runaway template ends at its
// next call; the functions that make big lists or strings check their
// size first.
type templateBudget struct {
	ctx      context.Context
	bytes    int64 // left of the output budget
	exceeded error
}

func (b *templateBudget) check() {
	if b.exceeded != nil {
		panic(b.exceeded)
	}
	if err := b.ctx.Err(); err != nil {
		b.exceeded = &budgetError{"the template ran past its time budget and was stopped"}
		panic(b.exceeded)
	}
}

func (b *templateBudget) spend(n int64) {
	b.bytes -= n
	if b.bytes < 0 {
		b.exceeded = &budgetError{"the template makes more output than its budget allows and was stopped"}
		panic(b.exceeded)
	}
}

// helmOwn are the Sprig names Helm removes (env, expandenv: templates do
// not read the environment) or defines itself (getHostByName answers ""
// without DNS); they keep Helm's meaning.
var helmOwn = map[string]bool{
	"env": true, "expandenv": true, "getHostByName": true, "fail": true, "required": true,
	"include": true, "tpl": true, "lookup": true,
	"toToml": true, "mustToToml": true, "fromToml": true, "toYaml": true, "mustToYaml": true,
	"toYamlPretty": true, "fromYaml": true, "fromYamlArray": true, "toJson": true,
	"mustToJson": true, "fromJson": true, "fromJsonArray": true,
}

// funcs wraps Sprig's functions (most of Helm's) with the budget check,
// and replaces those that make lists and strings of any size. text/template
// turns a panic in a function into the template's error.
func (b *templateBudget) funcs() template.FuncMap {
	fm := template.FuncMap{}
	for name, fn := range sprig.TxtFuncMap() {
		if helmOwn[name] {
			continue
		}
		fm[name] = b.wrap(fn)
	}
	fm["until"] = func(n int) []int { return b.list(0, n, 1) }
	fm["untilStep"] = func(start, stop, step int) []int { return b.list(start, stop, step) }
	fm["repeat"] = func(n int, s string) string {
		b.check()
		if n > 0 {
			b.spend(int64(n) * int64(len(s)))
		}
		return sprig.TxtFuncMap()["repeat"].(func(int, string) string)(n, s)
	}
	return fm
}

func (b *templateBudget) list(start, stop, step int) []int {
	b.check()
	if step == 0 || (step > 0 && start >= stop) || (step < 0 && start <= stop) {
		return []int{}
	}
	n := (stop - start) / step
	if n < 0 {
		n = -n
	}
	if n > maxListItems {
		b.exceeded = &budgetError{fmt.Sprintf("the template asks for a list of %d items, more than the %d allowed", n, maxListItems)}
		panic(b.exceeded)
	}
	b.spend(int64(n) * 8)
	out := make([]int, 0, n+1)
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		out = append(out, i)
	}
	return out
}

// wrap returns fn with a budget check before each call.
func (b *templateBudget) wrap(fn any) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func {
		return fn
	}
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		b.check()
		if t.IsVariadic() {
			return v.CallSlice(args)
		}
		return v.Call(args)
	}).Interface()
}
