package plandiff

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// fields returns the changed leaves between a and b, by path. Arrays of
// objects with a unique "name" (or "pod", "ip") are keyed by it, so
// inserting an env var shows one change, not a shifted list; an element
// added or removed as a whole is one field holding the element.
func fields(a, b any) []Field {
	fa, ea := flatten(a)
	fb, eb := flatten(b)
	var out []Field
	var whole []string
	for k, v := range ea {
		if _, ok := eb[k]; !ok {
			out = append(out, Field{Path: k, Old: v})
			whole = append(whole, k)
		}
	}
	for k, v := range eb {
		if _, ok := ea[k]; !ok {
			out = append(out, Field{Path: k, New: v})
			whole = append(whole, k)
		}
	}
	inWhole := func(path string) bool {
		for _, w := range whole {
			if strings.HasPrefix(path, w) && (len(path) == len(w) || path[len(w)] == '.' || path[len(w)] == '[') {
				return true
			}
		}
		return false
	}
	for k, va := range fa {
		if vb, ok := fb[k]; (!ok || va != vb) && !inWhole(k) {
			out = append(out, Field{Path: k, Old: va, New: fb[k]})
		}
	}
	for k, vb := range fb {
		if _, ok := fa[k]; !ok && !inWhole(k) {
			out = append(out, Field{Path: k, New: vb})
		}
	}
	slices.SortFunc(out, func(x, y Field) int { return strings.Compare(x.Path, y.Path) })
	return out
}

// flatten returns the leaves of v's JSON form by path, and the JSON of
// every element of a keyed array by its path.
func flatten(v any) (leaves, elems map[string]string) {
	leaves, elems = map[string]string{}, map[string]string{}
	b, err := json.Marshal(v)
	if err != nil {
		leaves[""] = err.Error()
		return leaves, elems
	}
	var tree any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		leaves[""] = err.Error()
		return leaves, elems
	}
	walk(tree, "", leaves, elems)
	return leaves, elems
}

func walk(v any, path string, out, elems map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			walk(c, join(path, k), out, elems)
		}
	case []any:
		key := arrayKey(t)
		for i, c := range t {
			if key == "" {
				walk(c, fmt.Sprintf("%s[%d]", path, i), out, elems)
				continue
			}
			p := fmt.Sprintf("%s[%s]", path, c.(map[string]any)[key])
			b, _ := json.Marshal(c)
			elems[p] = string(b)
			walk(c, p, out, elems)
		}
	default:
		b, _ := json.Marshal(t)
		out[path] = string(b)
	}
}

// arrayKey is the field that identifies the elements of t, or "".
func arrayKey(t []any) string {
	for _, key := range []string{"name", "pod", "ip"} {
		seen := map[string]bool{}
		ok := len(t) > 0
		for _, e := range t {
			m, isMap := e.(map[string]any)
			s, isStr := m[key].(string)
			if !isMap || !isStr || s == "" || seen[s] {
				ok = false
				break
			}
			seen[s] = true
		}
		if ok {
			return key
		}
	}
	return ""
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
