package nodepolicy_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"berth.dev/berth/compiler"
	"berth.dev/berth/compiler/nodepolicy"
	"berth.dev/berth/compiler/podsecurity"
)

func TestParseFile(t *testing.T) {
	p, err := nodepolicy.Parse([]byte(`apiVersion: berth.dev/v1
kind: NodePolicy
allowPrivileged: true
allowedHostPaths:
  - pathPrefix: /var/log
  - pathPrefix: /srv/data/
    readOnly: false
externalIPs:
  allowedCIDRs: [192.0.2.0/24, 198.51.100.7]
podSecurityDefaults:
  enforce: baseline
  warn: restricted
  warn-version: v1.30
`))
	if err != nil {
		t.Fatal(err)
	}
	want := nodepolicy.Policy{
		AllowPrivileged:    true,
		AllowedHostPaths:   []nodepolicy.HostPath{{"/var/log", true}, {"/srv/data", false}},
		AllowedExternalIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.7/32")},
		PodSecurity: podsecurity.Policy{
			Enforce: podsecurity.LevelVersion{Level: podsecurity.Baseline, Version: podsecurity.Latest},
			Audit:   podsecurity.DefaultPolicy.Audit,
			Warn:    podsecurity.LevelVersion{Level: podsecurity.Restricted, Version: podsecurity.V1(30)},
		},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
}

func TestParseFileErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"apiVersion: berth.dev/v1\nkind: NodePolicy\nallowPrivilegd: true\n", "field allowPrivilegd not found"},
		{"apiVersion: v1\nkind: Pod\n", "want berth.dev/v1 NodePolicy"},
		{"apiVersion: berth.dev/v1\nkind: NodePolicy\nallowedHostPaths: [{pathPrefix: var/log}]\n", "must be an absolute path"},
		{"apiVersion: berth.dev/v1\nkind: NodePolicy\nexternalIPs: {allowedCIDRs: [10.0.0.0/33]}\n", "neither an address nor a CIDR"},
		{"apiVersion: berth.dev/v1\nkind: NodePolicy\npodSecurityDefaults: {enforce: strict}\n", "must be one of privileged, baseline, restricted"},
		{"apiVersion: berth.dev/v1\nkind: NodePolicy\npodSecurityDefaults: {enforced: baseline}\n", "unknown key"},
	} {
		if _, err := nodepolicy.Parse([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", tt.in, err, tt.want)
		}
	}
}

func TestHostPaths(t *testing.T) {
	hs, err := nodepolicy.ParseHostPaths("/var/log, /data:rw,/opt/x:ro")
	if err != nil {
		t.Fatal(err)
	}
	if want := []nodepolicy.HostPath{{"/var/log", true}, {"/data", false}, {"/opt/x", true}}; !reflect.DeepEqual(hs, want) {
		t.Errorf("ParseHostPaths = %+v, want %+v", hs, want)
	}
	if hs, err := nodepolicy.ParseHostPaths(""); err != nil || hs == nil || len(hs) != 0 {
		t.Errorf("empty flag = %#v, %v; want an empty list (nothing allowed)", hs, err)
	}
	if _, err := nodepolicy.ParseHostPaths("data"); err == nil {
		t.Error("relative prefix accepted")
	}
	for path, want := range map[string]bool{"/data": true, "/data/": true, "/data/x/y": true, "/database": false, "/": false, "/data/../etc": false} {
		if got := (nodepolicy.HostPath{Prefix: "/data"}).Covers(path); got != want {
			t.Errorf("/data covers %s = %v, want %v", path, got, want)
		}
	}
}

const repo = `apiVersion: apps/v1
kind: Deployment
metadata: {name: agent}
spec:
  replicas: 3
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      initContainers:
        - name: setup
          image: busybox:1.36
          securityContext: {privileged: true}
      containers:
        - name: agent
          image: busybox:1.36
          volumeMounts:
            - {name: logs, mountPath: /log}
            - {name: data, mountPath: /data, readOnly: true}
            - {name: state, mountPath: /state}
      volumes:
        - name: logs
          hostPath: {path: /var/log}
        - name: data
          hostPath: {path: /srv/data/app}
        - name: state
          persistentVolumeClaim: {claimName: state}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: state}
spec:
  accessModes: [ReadWriteOnce]
  volumeName: state
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: state}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /etc}
---
apiVersion: v1
kind: Service
metadata: {name: agent}
spec:
  type: LoadBalancer
  selector: {app: agent}
  externalIPs: [192.0.2.10, 203.0.113.5]
  loadBalancerIP: 192.0.2.20
  ports: [{port: 80}]
`

func compile(t *testing.T, pol *nodepolicy.Policy, node string) []string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(repo), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	p, ds, err := compiler.CompilePaths([]string{"app.yaml"}, compiler.CompileOptions{
		LocalNode: compiler.LocalNode{Name: "edge-1"}, NodePolicy: pol, PolicyNode: node})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, d.Rule+" "+d.String())
	}
	if len(out) == 0 && p == nil {
		t.Fatal("no plan and no diagnostics")
	}
	return out
}

func TestCheck(t *testing.T) {
	if got := compile(t, nil, ""); len(got) != 0 {
		t.Fatalf("without a node policy: %v", got)
	}
	pol := nodepolicy.Default()
	pol.AllowedHostPaths = []nodepolicy.HostPath{{"/var/log", true}, {"/srv/data", false}, {"/srv/data/app", true}}
	pol.AllowedExternalIPs = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	want := []string{
		`node-policy app.yaml:13:41: error: spec.template.spec.initContainers[0].securityContext.privileged: container "setup" is privileged, and node "edge-1" does not allow privileged containers: drop privileged, or start the node with --allow-privileged (allowPrivileged: true in its node policy file)`,
		`node-policy app.yaml:18:15: error: spec.template.spec.containers[0].volumeMounts[0].readOnly: hostPath /var/log is allowed read-only on node "edge-1": set readOnly: true on this mount of volume "logs", or allow the path with :rw in --allowed-host-paths`,
		`node-policy app.yaml:27:46: error: spec.template.spec.volumes[2].persistentVolumeClaim.claimName: claim "state", bound to /etc, is outside the host paths node "edge-1" allows (/var/log, /srv/data:rw, /srv/data/app): use a path under one of them, or add it to the node's --allowed-host-paths`,
		`node-policy app.yaml:51:29: error: spec.externalIPs[1]: externalIP 203.0.113.5 is outside the addresses node "edge-1" allows (192.0.2.0/24; --allowed-external-ips): a Service could capture traffic to any address (CVE-2020-8554)`,
	}
	if got := compile(t, &pol, "edge-1"); !reflect.DeepEqual(got, want) {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	pol = nodepolicy.Default()
	pol.AllowPrivileged, pol.DenyExternalIPs = true, true
	got := compile(t, &pol, "")
	if len(got) != 3 || !strings.Contains(got[0], "spec.externalIPs[0]: externalIP 192.0.2.10: the node policy refuses") ||
		!strings.Contains(got[2], "spec.loadBalancerIP: loadBalancerIP 192.0.2.20") {
		t.Errorf("--deny-external-ips:\n  %s", strings.Join(got, "\n  "))
	}

	pol = nodepolicy.Default()
	pol.AllowPrivileged = true
	pol.PodSecurity, _ = nodepolicy.PodSecurityDefault("baseline")
	got = compile(t, &pol, "")
	if len(got) != 2 || !strings.Contains(got[1], `violates PodSecurity "baseline:latest": hostPath volumes (volumes "logs", "data")`) {
		t.Errorf("--pod-security-default baseline:\n  %s", strings.Join(got, "\n  "))
	}
}
