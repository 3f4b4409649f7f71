package nodepolicy_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"berth.dev/berth/compiler"
	"berth.dev/berth/compiler/nodepolicy"
)

const sysctlPod = `apiVersion: v1
kind: Pod
metadata: {name: tuned}
spec:
  securityContext:
    sysctls:
      - {name: net.ipv4.ip_local_port_range, value: "1024 65000"}
      - {name: net/ipv4/tcp_keepalive_time, value: "600"}
      - {name: kernel.msgmax, value: "65536"}
      - {name: net.core.somaxconn, value: "1024"}
  containers: [{name: app, image: busybox:1.36}]
`

func TestSysctls(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pod.yaml"), []byte(sysctlPod), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	run := func(pol nodepolicy.Policy) []string {
		_, ds, err := compiler.CompilePaths([]string{"pod.yaml"}, compiler.CompileOptions{
			LocalNode: compiler.LocalNode{Name: "edge-1"}, NodePolicy: &pol, PolicyNode: "edge-1"})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.String())
		}
		return out
	}
	want := []string{
		`pod.yaml:9:16: error: spec.securityContext.sysctls[2].name: forbidden sysctl: "kernel.msgmax" not allowlisted: it is not one of the kubelet's safe sysctls; node "edge-1" allows it with --allowed-unsafe-sysctls (allowedUnsafeSysctls in its node policy file)`,
		`pod.yaml:10:16: error: spec.securityContext.sysctls[3].name: forbidden sysctl: "net.core.somaxconn" not allowlisted: it is not one of the kubelet's safe sysctls; node "edge-1" allows it with --allowed-unsafe-sysctls (allowedUnsafeSysctls in its node policy file)`,
	}
	if got := run(nodepolicy.Default()); !reflect.DeepEqual(got, want) {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	pol := nodepolicy.Default()
	var err error
	if pol.AllowedUnsafeSysctls, err = nodepolicy.ParseSysctls("kernel.msg*, net/core/somaxconn"); err != nil {
		t.Fatal(err)
	}
	if got := run(pol); len(got) != 0 {
		t.Errorf("with the unsafe sysctls allowed: %v", got)
	}
}

func TestParseSysctls(t *testing.T) {
	got, err := nodepolicy.ParseSysctls("kernel.msg*,net.core.somaxconn, fs.mqueue.*, kernel.sem")
	if want := []string{"kernel.msg*", "net.core.somaxconn", "fs.mqueue.*", "kernel.sem"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseSysctls = %v, %v; want %v", got, err, want)
	}
	for in, msg := range map[string]string{
		"kernel.panic":  "not known to be namespaced",
		"vm.*":          "not known to be namespaced",
		"Net.core":      "must have at most 253 characters",
		"net.*.foo":     "must have at most 253 characters",
		"kernel.sysrq*": "not known to be namespaced",
	} {
		if _, err := nodepolicy.ParseSysctls(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseSysctls(%q) = %v, want an error with %q", in, err, msg)
		}
	}
	p, err := nodepolicy.Parse([]byte("apiVersion: berth.dev/v1\nkind: NodePolicy\nallowedUnsafeSysctls: [kernel.shm*]\n"))
	if err != nil || !reflect.DeepEqual(p.AllowedUnsafeSysctls, []string{"kernel.shm*"}) {
		t.Errorf("file: %v, %v", p.AllowedUnsafeSysctls, err)
	}
	if _, err := nodepolicy.Parse([]byte("apiVersion: berth.dev/v1\nkind: NodePolicy\nallowedUnsafeSysctls: [kernel.panic]\n")); err == nil {
		t.Error("a node-wide sysctl in the file was accepted")
	}
}
