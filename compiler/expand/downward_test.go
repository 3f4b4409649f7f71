package expand

import (
	"encoding/json"
	"strings"
	"testing"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/internal/objtest"
	"berth.dev/berth/compiler/object"
)

func TestDownwardEnv(t *testing.T) {
	app := api.Container{Name: "app", Resources: api.ResourceRequirements{
		Limits:   map[string]string{"cpu": "250m", "memory": "64Mi"},
		Requests: map[string]string{"memory": "32Mi"},
	}}
	side := api.Container{Name: "side"}
	spec := &api.PodSpec{ServiceAccountName: "robot", Containers: []api.Container{app, side}}
	src := source{obj: &object.Object{Kind: "Pod", Name: "p"}, path: "spec"}
	for _, tt := range []struct {
		name string
		env  api.EnvVarSource
		self *api.Container
		want string
	}{
		{"namespace is a value", api.EnvVarSource{FieldRef: &api.ObjectFieldSelector{FieldPath: "metadata.namespace"}}, &app, `{"name":"V","value":"ns"}`},
		{"service account is a value", api.EnvVarSource{FieldRef: &api.ObjectFieldSelector{FieldPath: "spec.serviceAccountName"}}, &app, `{"name":"V","value":"robot"}`},
		{"spec.host is spec.nodeName", api.EnvVarSource{FieldRef: &api.ObjectFieldSelector{FieldPath: "spec.host"}}, &app, `{"name":"V","fieldRef":"spec.nodeName"}`},
		{"a label is the node's to fill", api.EnvVarSource{FieldRef: &api.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}, &app, `{"name":"V","fieldRef":"metadata.labels['app']"}`},
		{"cpu limit rounds up to cores", api.EnvVarSource{ResourceFieldRef: &api.ResourceFieldSelector{Resource: "limits.cpu"}}, &app, `{"name":"V","value":"1"}`},
		{"cpu limit in millicores", api.EnvVarSource{ResourceFieldRef: &api.ResourceFieldSelector{Resource: "limits.cpu", Divisor: "1m"}}, &app, `{"name":"V","value":"250"}`},
		{"cpu request defaults to the limit", api.EnvVarSource{ResourceFieldRef: &api.ResourceFieldSelector{Resource: "requests.cpu", Divisor: "1m"}}, &app, `{"name":"V","value":"250"}`},
		{"memory request in Mi", api.EnvVarSource{ResourceFieldRef: &api.ResourceFieldSelector{Resource: "requests.memory", Divisor: "1Mi"}}, &app, `{"name":"V","value":"32"}`},
		{"another container's limit", api.EnvVarSource{ResourceFieldRef: &api.ResourceFieldSelector{ContainerName: "app", Resource: "limits.memory", Divisor: "1Ki"}}, &side, `{"name":"V","value":"65536"}`},
		{"unset request is 0", api.EnvVarSource{ResourceFieldRef: &api.ResourceFieldSelector{Resource: "requests.memory"}}, &side, `{"name":"V","value":"0"}`},
		{"unset limit is the node's", api.EnvVarSource{ResourceFieldRef: &api.ResourceFieldSelector{Resource: "limits.memory", Divisor: "1Mi"}}, &side, `{"name":"V","resourceFieldRef":{"resource":"limits.memory","divisor":1048576}}`},
		{"unset cpu limit in cores", api.EnvVarSource{ResourceFieldRef: &api.ResourceFieldSelector{Resource: "limits.cpu"}}, &side, `{"name":"V","resourceFieldRef":{"resource":"limits.cpu","divisor":1000}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			x := &expander{tables: &tables{}}
			c := *tt.self
			c.Env = []api.EnvVar{{Name: "V", ValueFrom: &tt.env}}
			_, env, diags := x.env(src, "containers[0]", "ns", &c, newDownward(spec))
			if len(diags) > 0 {
				t.Fatal(diags)
			}
			b, _ := json.Marshal(env[0])
			if string(b) != tt.want {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}

// TestDownwardThroughExpand: a container the pod does not have is an
// error at its position; a pod that reads an annotation carries them.
func TestDownwardThroughExpand(t *testing.T) {
	res := expandSrc(t, `apiVersion: v1
kind: Pod
metadata: {name: p, annotations: {a: "1"}}
spec:
  containers:
  - name: c
    image: c:1
    env:
    - {name: A, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['a']"}}}
    - {name: B, valueFrom: {resourceFieldRef: {containerName: nope, resource: limits.cpu}}}
`)
	if got := objtest.Strings(res.Diags); len(got) != 1 || !strings.Contains(got[0], `10:63: error: spec.containers[0].env[1].valueFrom.resourceFieldRef.containerName: the pod has no container "nope"`) {
		t.Errorf("got %q", got)
	}
	res = expandSrc(t, `apiVersion: v1
kind: Pod
metadata: {name: p, annotations: {a: "1"}}
spec:
  containers:
  - name: c
    image: c:1
    env:
    - {name: A, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['a']"}}}
`)
	if len(res.Pods) != 1 || res.Pods[0].Pod.Annotations["a"] != "1" {
		t.Errorf("the pod does not carry its annotations: %+v", res.Pods)
	}
}

// TestProjectedVolume: a projected volume's sources are in the plan as
// references; its ConfigMap's content is in the pod's ConfigHash (a
// change is written in place), a missing ConfigMap is an error.
func TestProjectedVolume(t *testing.T) {
	doc := func(v string) string {
		return `apiVersion: v1
kind: ConfigMap
metadata: {name: app}
data: {k: ` + v + `}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: c:1, resources: {limits: {memory: 64Mi}}}]
  volumes:
  - name: v
    projected:
      defaultMode: 0400
      sources:
      - configMap: {name: app, items: [{key: k, path: conf}]}
      - downwardAPI: {items: [{path: mem, resourceFieldRef: {containerName: c, resource: limits.memory, divisor: 1Mi}}, {path: labels, fieldRef: {fieldPath: metadata.labels}}]}
`
	}
	a, b := expandSrc(t, doc("one")), expandSrc(t, doc("two"))
	if len(a.Diags) > 0 || len(a.Pods) != 1 {
		t.Fatal(objtest.Strings(a.Diags))
	}
	js, _ := json.Marshal(a.Pods[0].Pod.Spec.Volumes)
	want := `[{"name":"v","kind":"projected","defaultMode":256,"sources":[{"kind":"configMap","source":"app","items":[{"key":"k","path":"conf"}]},{"kind":"downwardAPI","downward":[{"path":"mem","value":"64"},{"path":"labels","fieldRef":"metadata.labels"}]}]}]`
	if string(js) != want {
		t.Errorf("got  %s\nwant %s", js, want)
	}
	pa, pb := a.Pods[0].Pod, b.Pods[0].Pod
	if pa.Hash != pb.Hash || pa.ConfigHash == pb.ConfigHash {
		t.Errorf("a ConfigMap change must change only the ConfigHash: %s/%s vs %s/%s", pa.Hash, pa.ConfigHash, pb.Hash, pb.ConfigHash)
	}
	bad := expandSrc(t, `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: c:1}]
  volumes: [{name: v, projected: {sources: [{secret: {name: nope}}]}}]
`)
	if got := objtest.Strings(bad.Diags); len(got) != 1 || !strings.Contains(got[0], "Secret default/nope does not exist") {
		t.Errorf("got %q", got)
	}
}
