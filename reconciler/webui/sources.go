package webui

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/load"
)

// sourceIndex finds where an object is written in the repository: it
// loads one revision's snapshot (with the loader lint and plan use, and
// its budgets) the first time a page asks, and keeps that revision's
// index only.
type sourceIndex struct {
	snapshot func(rev string) (string, bool)

	mu  sync.Mutex
	rev string
	at  map[string]string // kind/namespace/name -> file:line
}

func newSourceIndex(snapshot func(string) (string, bool)) *sourceIndex {
	return &sourceIndex{snapshot: snapshot}
}

// locate returns "file:line" of an object of revision rev, or "".
func (s *sourceIndex) locate(rev, kind, ns, name string) string {
	if s.snapshot == nil || rev == "" {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rev != rev {
		dir, ok := s.snapshot(rev)
		if !ok {
			return ""
		}
		s.rev, s.at = rev, indexSources(dir)
	}
	if at, ok := s.at[kind+"/"+ns+"/"+name]; ok {
		return at
	}
	return s.at[kind+"//"+name] // cluster-scoped, or a namespace set elsewhere
}

// clusterScoped kinds have no namespace.
var clusterScoped = map[string]bool{"Namespace": true, "Node": true, "PersistentVolume": true}

func indexSources(dir string) map[string]string {
	docs, _ := load.Load([]string{dir}, load.Options{})
	at := make(map[string]string, len(docs))
	for _, d := range docs {
		kind, ns, name := identify(d.Node)
		if kind == "" || name == "" {
			continue
		}
		file := d.File
		if rel, err := filepath.Rel(dir, file); err == nil && !strings.HasPrefix(rel, "..") {
			file = rel
		}
		pos := fmt.Sprintf("%s:%d", filepath.ToSlash(file), d.Node.Line)
		if !clusterScoped[kind] {
			if ns == "" {
				at[kind+"//"+name] = pos
				ns = "default"
			}
		}
		at[kind+"/"+ns+"/"+name] = pos
	}
	return at
}

// identify reads kind, metadata.namespace and metadata.name of a document.
func identify(n *yaml.Node) (kind, ns, name string) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		switch {
		case k == "kind" && v.Kind == yaml.ScalarNode:
			kind = v.Value
		case k == "metadata" && v.Kind == yaml.MappingNode:
			for j := 0; j+1 < len(v.Content); j += 2 {
				if v.Content[j+1].Kind != yaml.ScalarNode {
					continue
				}
				switch v.Content[j].Value {
				case "name":
					name = v.Content[j+1].Value
				case "namespace":
					ns = v.Content[j+1].Value
				}
			}
		}
	}
	return
}
