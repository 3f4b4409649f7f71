package check

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/object"
)

// FuzzRun feeds the checks every object that decodes, schema-valid or
// not: the checks must never panic, whatever the values (nil selectors,
// empty names, odd quantities, zero ports). Seeds: this package's test
// repository and the examples.
func FuzzRun(f *testing.F) {
	f.Add([]byte(repo))
	f.Add([]byte(corpus(8)))
	seeds, _ := filepath.Glob("../../examples/*/*.yaml")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		dec := yaml.NewDecoder(bytes.NewReader(src))
		var objs []*object.Object
		for i := 0; i < 50; i++ {
			var n yaml.Node
			if err := dec.Decode(&n); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return
			}
			if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
				continue
			}
			o, err := object.Decode(&load.Document{File: "fuzz.yaml", Index: i, Node: n.Content[0]})
			if err != nil {
				continue
			}
			objs = append(objs, o)
		}
		Run(object.NewSet(objs), Options{})
	})
}
