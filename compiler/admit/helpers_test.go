package admit

import (
	"errors"
	"io"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/object"
)

// decodeSet decodes a multi-document YAML snippet into a Set; positions
// are reported in file "test.yaml".
func decodeSet(t testing.TB, src string) *object.Set {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(src))
	var objs []*object.Object
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("yaml: %v", err)
		}
		if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			continue // an empty document, e.g. after a trailing "---"
		}
		o, err := object.Decode(&load.Document{File: "test.yaml", Index: i, Node: n.Content[0]})
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		objs = append(objs, o)
	}
	return object.NewSet(objs)
}

func strs(ds []diag.Diagnostic) []string {
	diag.Sort(ds)
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}
