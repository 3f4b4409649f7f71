package object

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestFind(t *testing.T) {
	src := `metadata:
  labels: {app.kubernetes.io/name: web, "bad key!": x}
data:
  app.properties: a
spec:
  ports:
  - port: 80
  - port: 81
  limits:
  - default: {cpu: "2"}
`
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"spec.ports[1].port":                      "8:11",
		"metadata.labels[app.kubernetes.io/name]": "2:36", // the API server's form
		`metadata.labels["bad key!"]`:             "2:53", // berth's form
		"data[app.properties]":                    "4:19",
		"spec.limits[0].default[cpu]":             "10:20",
		"spec.ports[7].port":                      "7:3", // the nearest ancestor
		"":                                        "1:1",
	} {
		n := Find(&doc, path)
		if got := itoa(n.Line) + ":" + itoa(n.Column); got != want {
			t.Errorf("Find(%q) at %s, want %s", path, got, want)
		}
	}
	if k := FindKey(&doc, "data[app.properties]"); k.Value != "app.properties" || k.Line != 4 || k.Column != 3 {
		t.Errorf("FindKey = %q at %d:%d", k.Value, k.Line, k.Column)
	}
}

func itoa(i int) string {
	s := ""
	if i == 0 {
		return "0"
	}
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}
