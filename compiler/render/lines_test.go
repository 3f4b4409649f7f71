package render

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// TestPlaceOnTemplate: a rendered field is placed on the template line
// that writes its key, only when exactly one line does.
func TestPlaceOnTemplate(t *testing.T) {
	tmpl := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    {{- include "x.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      containers:
        - name: web
          image: {{ .Values.image }}
          ports:
            - name: http
              containerPort: {{ .Values.port }}
          {{- with .Values.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  ports:
    - port: 80
`
	rendered := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 70000
  template:
    spec:
      containers:
        - name: web
          image: nginx
          ports:
            - name: http
              containerPort: 8080
          resources:
            limits:
              memory: 1Gi
`
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(rendered), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	forget(root)
	placeOnTemplate(root, indexTemplate(tmpl))
	cases := []struct {
		path string
		line int
	}{
		{"spec.replicas", 8},
		{"spec.template.spec.containers[0].image", 13},
		{"spec.template.spec.containers[0].ports[0].containerPort", 16},
		{"spec.template.spec.containers[0].resources", 18},              // inside a with block, still written literally
		{"spec.template.spec.containers[0].resources.limits.memory", 0}, // from toYaml
		{"metadata.labels.app", 0},                                      // from include
		{"metadata.name", 4},
	}
	for _, c := range cases {
		n := find(root, c.path)
		if n == nil {
			t.Fatalf("%s: no node", c.path)
		}
		if n.Line != c.line {
			t.Errorf("%s: line %d, want %d", c.path, n.Line, c.line)
		}
	}
	if root.Line != 0 {
		t.Errorf("the document has line %d, want none", root.Line)
	}

	keys := indexTemplate(tmpl)
	if len(keys) != 2 || keys[1].kind != "Service" || keys[1].keys["spec.ports.port"].line != 28 {
		t.Fatalf("index %+v", keys)
	}
	if p := keys[0].keys["spec.template.spec.containers.name"]; p.line != 12 {
		t.Errorf("list item key: %+v", p)
	}
	// A path written on two lines (two branches of an if) places nothing.
	dup := indexTemplate("spec:\n{{- if .x }}\n  port: 80\n{{- else }}\n  port: 8080\n{{- end }}\n")
	if p := dup[0].keys["spec.port"]; p.line != 0 {
		t.Errorf("ambiguous path placed at %+v", p)
	}
}

// find follows a path of keys and [i] indices.
func find(n *yaml.Node, path string) *yaml.Node {
	for _, step := range splitSteps(path) {
		if step[0] == '[' {
			i := int(step[1] - '0')
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
			continue
		}
		n = mapValue(n, step)
		if n == nil {
			return nil
		}
	}
	return n
}

func splitSteps(path string) []string {
	var out []string
	cur := ""
	for _, r := range path {
		switch r {
		case '.':
			if cur != "" {
				out = append(out, cur)
			}
			cur = ""
		case '[':
			if cur != "" {
				out = append(out, cur)
			}
			cur = "["
		case ']':
			out = append(out, cur+"]")
			cur = ""
		default:
			cur += string(r)
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}
