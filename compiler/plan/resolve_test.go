package plan

import (
	"encoding/json"
	"strings"
	"testing"

	"berth.dev/berth/compiler/api"
)

func TestServiceEnv(t *testing.T) {
	svcs := []Service{
		{Namespace: "default", Name: "my-db", ClusterIP: "10.96.0.50", Ports: []ServicePort{{Name: "sql", Protocol: "TCP", Port: 5432}}},
		{Namespace: "default", Name: "dns", ClusterIP: "10.96.0.10", Ports: []ServicePort{{Name: "dns", Protocol: "UDP", Port: 53}, {Name: "dns-tcp", Protocol: "TCP", Port: 53}}},
		{Namespace: "default", Name: "headless", ClusterIP: "None", Ports: []ServicePort{{Port: 80, Protocol: "TCP"}}},
		{Namespace: "default", Name: "noports", ClusterIP: "10.96.0.60"},
	}
	got := map[string]string{}
	var names []string
	for _, e := range ServiceEnv(svcs) {
		got[e.Name] = e.Value.Data
		names = append(names, e.Name)
	}
	want := map[string]string{
		"MY_DB_SERVICE_HOST":        "10.96.0.50",
		"MY_DB_SERVICE_PORT":        "5432",
		"MY_DB_SERVICE_PORT_SQL":    "5432",
		"MY_DB_PORT":                "tcp://10.96.0.50:5432",
		"MY_DB_PORT_5432_TCP":       "tcp://10.96.0.50:5432",
		"MY_DB_PORT_5432_TCP_PROTO": "tcp",
		"MY_DB_PORT_5432_TCP_PORT":  "5432",
		"MY_DB_PORT_5432_TCP_ADDR":  "10.96.0.50",
		"DNS_SERVICE_HOST":          "10.96.0.10",
		"DNS_SERVICE_PORT":          "53",
		"DNS_SERVICE_PORT_DNS":      "53",
		"DNS_SERVICE_PORT_DNS_TCP":  "53",
		"DNS_PORT":                  "udp://10.96.0.10:53",
		"DNS_PORT_53_UDP":           "udp://10.96.0.10:53",
		"DNS_PORT_53_UDP_PROTO":     "udp",
		"DNS_PORT_53_UDP_PORT":      "53",
		"DNS_PORT_53_UDP_ADDR":      "10.96.0.10",
		"DNS_PORT_53_TCP":           "tcp://10.96.0.10:53",
		"DNS_PORT_53_TCP_PROTO":     "tcp",
		"DNS_PORT_53_TCP_PORT":      "53",
		"DNS_PORT_53_TCP_ADDR":      "10.96.0.10",
	}
	if len(got) != len(want) || len(names) != len(want) {
		t.Errorf("variables %v, want %d", names, len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] > names[i] {
			t.Errorf("not sorted: %s before %s", names[i-1], names[i])
		}
	}
}

func TestServicesIn(t *testing.T) {
	p := &Plan{Services: []Service{{Namespace: "a", Name: "x"}, {Namespace: "b", Name: "x"}, {Namespace: "b", Name: "y"}, {Namespace: "c", Name: "z"}}}
	for ns, want := range map[string]string{"a": "a/x", "b": "b/x b/y", "c": "c/z", "d": "", "": ""} {
		var keys []string
		for _, s := range p.ServicesIn(ns) {
			keys = append(keys, s.Key())
		}
		if got := strings.Join(keys, " "); got != want {
			t.Errorf("ServicesIn(%q) = %q, want %q", ns, got, want)
		}
	}
}

func TestResolve(t *testing.T) {
	mode := int32(0o400)
	p := &Plan{
		ConfigMaps: []ConfigData{NewConfigData("default", "cfg", "", map[string]Secret{"A": Plain("a"), "B": Plain("b"), "bad key": Plain("x"), "app.conf": Plain("listen 80")})},
		Secrets: []ConfigData{
			NewConfigData("default", "reg", "kubernetes.io/dockerconfigjson", map[string]Secret{api.DockerConfigJSONKey: Sensitive(`{"auths":{"r.example":{"username":"u","password":"p"}}}`)}),
			NewConfigData("default", "sec", "Opaque", map[string]Secret{"PASS": Sensitive("pass")}),
		},
	}
	pod := &Pod{Namespace: "default", Name: "p", Spec: PodSpec{
		Containers: []Container{{
			Name:    "c",
			EnvFrom: []EnvFrom{{Prefix: "CM_", ConfigMap: "cfg"}, {Secret: "sec"}, {ConfigMap: "missing", Optional: true}},
			Env: []EnvVar{
				{Name: "CM_A", Value: Plain("override")},
				{Name: "K", ConfigMapKeyRef: &KeyRef{Name: "cfg", Key: "B"}},
				{Name: "S", SecretKeyRef: &KeyRef{Name: "sec", Key: "PASS"}},
				{Name: "GONE", SecretKeyRef: &KeyRef{Name: "sec", Key: "nope", Optional: true}},
				{Name: "NAME", FieldRef: "metadata.name"},
			},
		}},
		Volumes: []Volume{
			{Name: "all", Kind: "configMap", Source: "cfg"},
			{Name: "one", Kind: "secret", Source: "sec", DefaultMode: &mode, Items: []KeyToPath{{Key: "PASS", Path: "dir/pass"}, {Key: "nope", Path: "x"}}},
		},
		ImagePullSecrets: []string{"reg"},
	}}
	before, _ := json.Marshal(pod)
	r := Resolve(p, pod)
	if after, _ := json.Marshal(pod); string(before) != string(after) {
		t.Errorf("Resolve changed its input")
	}
	var env []string
	for _, e := range r.Spec.Containers[0].Env {
		env = append(env, e.Name+"="+e.Value.Data+e.FieldRef)
	}
	if got, want := strings.Join(env, " "), "CM_A=override CM_B=b CM_app.conf=listen 80 PASS=pass K=b S=pass NAME=metadata.name"; got != want {
		t.Errorf("env %q\nwant %q", got, want)
	}
	if len(r.Spec.Containers[0].EnvFrom) != 0 {
		t.Errorf("envFrom left: %v", r.Spec.Containers[0].EnvFrom)
	}
	all, one := r.Spec.Volumes[0].Files, r.Spec.Volumes[1].Files
	if len(all) != 4 || all[0].Path != "A" || all[0].Mode != DefaultFileMode {
		t.Errorf("configMap files %+v", all)
	}
	if len(one) != 1 || one[0].Path != "dir/pass" || one[0].Mode != 0o400 || !one[0].Data.Sensitive {
		t.Errorf("secret files %+v", one)
	}
	if a := r.Spec.RegistryAuths; len(a) != 1 || a[0].Registry != "r.example" || a[0].Password.Data != "p" || !a[0].Password.Sensitive {
		t.Errorf("registry auths %+v", a)
	}
}

func TestConfigDataHash(t *testing.T) {
	a := NewConfigData("ns", "s", "Opaque", map[string]Secret{"k": Sensitive("one")})
	b := NewConfigData("ns", "s", "Opaque", map[string]Secret{"k": Sensitive("two")})
	c := NewConfigData("ns", "s", "Opaque", map[string]Secret{"k": Sensitive("one")})
	if a.Hash == b.Hash || a.Hash != c.Hash || len(a.Hash) != 16 {
		t.Errorf("hashes %s %s %s", a.Hash, b.Hash, c.Hash)
	}
	out, _ := json.Marshal(a)
	if strings.Contains(string(out), "one") {
		t.Errorf("secret content in JSON: %s", out)
	}
}
