package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/resmap"
)

// markers.go finds the file each object of a kustomize build came from
// without kustomize's origin annotations. Those are exact, but turning
// them on makes every transformer record itself on every object (a YAML
// list in an annotation, parsed and written again per object per
// transformer): at 1,000 objects it more than doubles the build and
// quadruples what it allocates.
//
// Instead, berth marks what it hands kustomize: each document of a
// resource file gets an annotation naming the file, and each generator
// of a kustomization gets one (through its options.annotations) naming
// the kustomization. Annotations travel with an object through every
// transformer; each marker has a key of its own, so a generator that
// merges into an object adds its marker beside the first one. The
// markers are removed from the output (as kustomize removes its own
// origin annotation, so the output is the same), and the object's
// source is chosen as kustomize's origin would be: a generator that
// replaces an object is its origin, one that merges into it is not (the
// object keeps the origin it had), else the one resource file or
// generator that made it.
//
// A build whose markers do not explain every object (a marker missing,
// two resource files on one object, two replacing generators, a marker
// copied into a field) is
// built again with kustomize's origin annotations: the answer is the
// same either way, only its cost differs.

// markerPrefix starts the key of every marker annotation.
const markerPrefix = "berth.dev/kustomize-source-"

// marker is what one marker annotation stands for.
type marker struct {
	file string // absolute: the resource file, or the generator's kustomization
	// written is set for a resource file: the object was written there,
	// so its positions can be copied from it.
	written bool
	// behavior is a generator's: "create" (or ""), "merge" or "replace".
	behavior string
}

// newMarker records a marker and returns its annotation key.
func (s *sandboxFS) newMarker(m marker) string {
	s.markers = append(s.markers, m)
	return markerPrefix + strconv.Itoa(len(s.markers)-1)
}

// markResources returns the documents of a resource file with a marker
// annotation each; the data as it was when it is not plain YAML objects
// (kustomize reports what it makes of it, and the build is then
// explained by kustomize's own origins).
func (s *sandboxFS) markResources(file string, data []byte) []byte {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || len(doc.Content) != 1 {
			return data
		}
		docs = append(docs, &doc)
	}
	key := s.newMarker(marker{file: file, written: true})
	for _, doc := range docs {
		if !annotate(doc.Content[0], key) {
			return data
		}
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	for _, doc := range docs {
		if err := enc.Encode(doc); err != nil {
			return data
		}
	}
	if enc.Close() != nil {
		return data
	}
	return out.Bytes()
}

// annotate adds the marker key to an object's annotations (to each item
// of a List).
func annotate(obj *yaml.Node, key string) bool {
	if obj.Kind != yaml.MappingNode {
		return false
	}
	if k := mapValue(obj, "kind"); k != nil && strings.HasSuffix(k.Value, "List") {
		if items := mapValue(obj, "items"); items != nil && items.Kind == yaml.SequenceNode {
			for _, it := range items.Content {
				if !annotate(it, key) {
					return false
				}
			}
			return true
		}
	}
	md := mapValue(obj, "metadata")
	if md == nil || md.Kind != yaml.MappingNode {
		return false
	}
	ann := mapValue(md, "annotations")
	if ann == nil {
		ann = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		md.Content = append(md.Content, scalar("annotations"), ann)
	}
	if ann.Kind != yaml.MappingNode {
		return false
	}
	ann.Content = append(ann.Content, scalar(key), scalar(""))
	return true
}

func scalar(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle}
}

// markGenerators gives each configMapGenerator and secretGenerator of a
// kustomization a marker in its options.annotations.
func (s *sandboxFS) markGenerators(k *yaml.Node, file string) bool {
	changed := false
	for _, key := range []string{"configMapGenerator", "secretGenerator"} {
		l := mapValue(k, key)
		if l == nil || l.Kind != yaml.SequenceNode {
			continue
		}
		for _, g := range l.Content {
			if g.Kind != yaml.MappingNode {
				continue // kustomize reports it
			}
			behavior := ""
			if b := mapValue(g, "behavior"); b != nil {
				behavior = b.Value
			}
			opts := mapValue(g, "options")
			if opts == nil {
				opts = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				g.Content = append(g.Content, scalar("options"), opts)
			}
			if opts.Kind != yaml.MappingNode {
				continue // no marker: kustomize's origins explain the build
			}
			ann := mapValue(opts, "annotations")
			if ann == nil {
				ann = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				opts.Content = append(opts.Content, scalar("annotations"), ann)
			}
			if ann.Kind != yaml.MappingNode {
				continue
			}
			key := s.newMarker(marker{file: file, behavior: behavior})
			ann.Content = append(ann.Content, scalar(key), scalar(""))
			changed = true
		}
	}
	return changed
}

// source is where one built object came from.
type source struct {
	file    string // absolute; "" when unknown
	written bool   // file is the resource file it was written in
}

// takeMarkers removes the markers from the built objects and returns
// each one's source, in m's order; ok is false when the markers do not
// explain every object.
func (s *sandboxFS) takeMarkers(m resmap.ResMap) ([]source, bool) {
	out := make([]source, 0, m.Size())
	for _, rs := range m.Resources() {
		ann := rs.GetAnnotations()
		var made, replaced *marker
		for k := range ann {
			id, ok := strings.CutPrefix(k, markerPrefix)
			if !ok {
				continue
			}
			delete(ann, k)
			n, err := strconv.Atoi(id)
			if err != nil || n < 0 || n >= len(s.markers) {
				return nil, false
			}
			mk := &s.markers[n]
			switch {
			case mk.behavior == "merge":
				// The object keeps the origin of what it merged into.
			case mk.behavior == "replace":
				if replaced != nil {
					return nil, false // which replaced last is not known here
				}
				replaced = mk
			case made != nil && (made.file != mk.file || !made.written || !mk.written):
				return nil, false // two sources: a patch or a replacement carried a marker
			default:
				made = mk
			}
		}
		if replaced != nil {
			made = replaced
		}
		if made == nil {
			return nil, false
		}
		if err := rs.SetAnnotations(ann); err != nil {
			return nil, false
		}
		out = append(out, source{file: made.file, written: made.written})
	}
	return out, true
}

// leaked reports whether a marker shows in built YAML: one that a
// transformer copied into a field, or a resource file that a generator
// also read.
func leaked(data []byte) bool { return bytes.Contains(data, []byte(markerPrefix)) }

// originSources reads kustomize's origin annotations (the exact, slow
// way), removing them unless the user asked for them.
func originSources(m resmap.ResMap, top string, keep bool) ([]source, error) {
	out := make([]source, 0, m.Size())
	for _, rs := range m.Resources() {
		origin, err := rs.GetOrigin()
		if err != nil {
			return nil, fmt.Errorf("origin annotation: %w", err)
		}
		var src source
		if origin != nil {
			switch {
			case origin.Path != "":
				src = source{file: filepath.Join(top, filepath.FromSlash(origin.Path)), written: true}
			case origin.ConfiguredIn != "":
				src = source{file: filepath.Join(top, filepath.FromSlash(origin.ConfiguredIn))}
			}
		}
		if !keep {
			if err := rs.SetOrigin(nil); err != nil {
				return nil, err
			}
		}
		out = append(out, src)
	}
	return out, nil
}
