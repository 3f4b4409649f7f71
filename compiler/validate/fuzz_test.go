package validate

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

// FuzzObject feeds every object that decodes, schema-valid or not, to the
// object validation: it must never panic (nil pointers, odd strings,
// empty lists), and every finding has a rule, a message and a position.
// Seeds: the examples, broken ones included.
func FuzzObject(f *testing.F) {
	seeds, _ := filepath.Glob("../../examples/*/*.yaml")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: '{\"auths\": {\"r\": {\"auth\": \"!\"}}}'}\n"))
	f.Add([]byte("apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec: {updateStrategy: {rollingUpdate: {maxSurge: '%', maxUnavailable: '999999999999%'}}}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		dec := yaml.NewDecoder(bytes.NewReader(src))
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
			for _, d := range Object(o) {
				if d.Rule != Rule || d.Message == "" || d.Line == 0 {
					t.Fatalf("incomplete finding %+v", d)
				}
			}
		}
	})
}
