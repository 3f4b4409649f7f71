package render

import (
	"text/template"

	"github.com/Masterminds/sprig/v3"

	"berth.dev/berth/compiler/budget"
)

// templateBudget replaces the template functions that make lists and
// strings of any size with ones that check the size first against the
// output budget, so that `until 1000000000` is refused at once rather
// than at the memory cap. Time needs no check here: the worker that runs
// the templates is killed at its deadline (worker.go).
type templateBudget struct {
	bytes    int64 // left of the output budget
	max      int64
	exceeded *budget.Exceeded
}

func newTemplateBudget(max int64) *templateBudget { return &templateBudget{bytes: max, max: max} }

// spend takes n bytes from the budget; past it, the template stops (a
// panic in a function is the template's error, and exceeded says why).
func (b *templateBudget) spend(n int64) {
	b.bytes -= n
	if b.bytes < 0 {
		b.exceeded = &budget.Exceeded{Limit: budget.RenderBytes, Got: b.max - b.bytes, Max: b.max}
		panic(b.exceeded)
	}
}

// funcs are the functions that replace Sprig's (most of Helm's).
func (b *templateBudget) funcs() template.FuncMap {
	repeat := sprig.TxtFuncMap()["repeat"].(func(int, string) string)
	return template.FuncMap{
		"until":     func(n int) []int { return b.list(0, n, 1) },
		"untilStep": func(start, stop, step int) []int { return b.list(start, stop, step) },
		"repeat": func(n int, s string) string {
			if n > 0 {
				b.spend(int64(n) * int64(len(s)))
			}
			return repeat(n, s)
		},
	}
}

func (b *templateBudget) list(start, stop, step int) []int {
	if step == 0 || (step > 0 && start >= stop) || (step < 0 && start <= stop) {
		return []int{}
	}
	n := (stop - start) / step
	if n < 0 {
		n = -n
	}
	b.spend(int64(n) * 8)
	out := make([]int, 0, n+1)
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		out = append(out, i)
	}
	return out
}
