package plandiff

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/object"
)

// decodeSet decodes a multi-document YAML snippet (file "test.yaml").
func decodeSet(t testing.TB, src string) *object.Set {
	t.Helper()
	return object.NewSet(decodeObjects(t, "test.yaml", src))
}

func decodeObjects(t testing.TB, file, src string) []*object.Object {
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
			continue
		}
		o, err := object.Decode(&load.Document{File: file, Index: i, Node: n.Content[0]})
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		objs = append(objs, o)
	}
	return objs
}

func errorsOf(ds []diag.Diagnostic) []string {
	var out []string
	for _, d := range ds {
		if d.Severity == diag.Error {
			out = append(out, d.String())
		}
	}
	return out
}

func writeFiles(dir string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
