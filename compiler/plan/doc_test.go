package plan

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// nodeOnly are the fields Resolve fills on the node from the plan's
// tables: they are never in a printed plan, so docs/plan.md names the
// field but not the fields of its elements.
var nodeOnly = map[string]bool{"registryAuths": true, "files": true}

var marshaler = reflect.TypeFor[json.Marshaler]()

// TestPlanJSONDocumented: every JSON field of the plan document is named
// in docs/plan.md, in code (backquotes or the outline's block), so a field
// added to a type in this package without a word in the documentation
// fails here. Types that marshal themselves (Secret, IntOrString) are
// values, documented as such.
func TestPlanJSONDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/plan.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	blocks := regexp.MustCompile("(?s)```.*?```")
	code := blocks.FindAllString(string(b), -1)
	code = append(code, regexp.MustCompile("`[^`]+`").FindAllString(blocks.ReplaceAllString(string(b), ""), -1)...)
	for _, code := range code {
		for _, w := range regexp.MustCompile(`[A-Za-z][A-Za-z0-9]*`).FindAllString(code, -1) {
			documented[w] = true
		}
	}
	seen := map[reflect.Type]bool{}
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ.Implements(marshaler) || reflect.PointerTo(typ).Implements(marshaler) {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if !documented[name] {
				t.Errorf("%s.%s (%s): not in docs/plan.md", path, name, typ.Name())
			}
			if !nodeOnly[name] {
				walk(path+"."+name, f.Type)
			}
		}
	}
	walk("plan", reflect.TypeFor[Plan]())
}
