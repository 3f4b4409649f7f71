package e2e_test

import (
	"strings"
	"testing"
	"time"
)

// TestNodePolicyRefusesRevision: a revision that breaks this node's
// policy is refused on the node, with each reason at its file:line:col in
// the status, and the node keeps running its last good revision: a pod
// the node's Pod Security default (baseline) refuses, then a namespace
// that labels itself privileged but asks for what the node's flags
// forbid (a privileged container, a host path outside the allowed ones, a
// read-only host path mounted read-write, an external IP outside the
// allowed range). A revision within the policy is then applied.
func TestNodePolicyRefusesRevision(t *testing.T) {
	t.Parallel()
	n := newNode(t, 0)
	r := newRepo(t, n.dir)
	a := app{Name: "hello", Image: helloImage["v1"], Replicas: 1}
	deploy(t, n, r, a, "--repo", r.bare, "--poll", "1s",
		"--pod-security-default", "baseline", "--allowed-host-paths", "/var/log", "--allowed-external-ips", "192.0.2.0/24")
	good := n.mustStatus().GitOps.Applied
	before := n.waitRolled("hello", a.Image, 1, 60*time.Second)

	type want struct {
		line     int
		rule, in string
	}
	refused := func(what string, wants []want) {
		t.Helper()
		rev := r.commit(what)
		r.push()
		var st status
		n.waitFor(30*time.Second, what+" refused", func() (bool, string) {
			var err error
			if st, err = n.apiStatus(); err != nil {
				return false, err.Error()
			}
			return st.GitOps.Rejected != nil && st.GitOps.Rejected.Revision == rev, st.GitOps.LastError
		})
		if st.GitOps.Applied != good {
			t.Errorf("%s: applied %s, want the last good %s", what, st.GitOps.Applied, good)
		}
		for _, w := range wants {
			found := false
			for _, d := range st.GitOps.Rejected.Diagnostics {
				if d.File == "extra.yaml" && d.Line == w.line && d.Rule == w.rule && d.Severity == "error" && strings.Contains(d.Message, w.in) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no %s error at extra.yaml:%d saying %q in %+v", what, w.rule, w.line, w.in, st.GitOps.Rejected.Diagnostics)
			}
		}
		if pods := st.podsWith(""); len(pods) != 1 || pods[0].Name != before[0].Name {
			t.Errorf("%s: pods %+v, want only %s", what, pods, before[0].Name)
		}
	}

	r.write("extra.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: hostport
spec:
  containers:
    - name: hello
      image: `+a.Image+`
      ports:
        - containerPort: 8000
          hostPort: 18080
`)
	refused("a hostPort in a namespace without labels", []want{
		{11, "pod-security", `violates PodSecurity "baseline:latest": hostPort (container "hello" uses hostPort 18080)`},
	})

	ops := func(privileged, etc, readOnly bool, externalIP string) string {
		y := `apiVersion: v1
kind: Namespace
metadata:
  name: ops
  labels:
    pod-security.kubernetes.io/enforce: privileged
---
apiVersion: v1
kind: Pod
metadata:
  name: agent
  namespace: ops
spec:
  containers:
    - name: agent
      image: ` + a.Image + `
      securityContext:
        privileged: ` + map[bool]string{true: "true", false: "false"}[privileged] + `
      volumeMounts:
        - {name: logs, mountPath: /host/log, readOnly: ` + map[bool]string{true: "true", false: "false"}[readOnly] + `}
  volumes:
    - name: logs
      hostPath: {path: /var/log}
`
		if etc {
			y += `    - name: etc
      hostPath: {path: /etc}
`
		}
		return y + `---
apiVersion: v1
kind: Service
metadata:
  name: capture
  namespace: ops
spec:
  selector: {app: none}
  externalIPs: [` + externalIP + `]
  ports:
    - port: 80
`
	}
	r.write("extra.yaml", ops(true, true, false, "203.0.113.9"))
	refused("what the node's flags forbid, in a privileged namespace", []want{
		{18, "node-policy", `container "agent" is privileged, and node`},
		{20, "node-policy", `hostPath /var/log is allowed read-only on node`},
		{25, "node-policy", `hostPath /etc is outside the host paths node`},
		{34, "node-policy", `externalIP 203.0.113.9 is outside the addresses`},
	})

	r.write("extra.yaml", ops(false, false, true, "192.0.2.9"))
	fix := r.commit("within the node's policy")
	r.push()
	st := n.waitApplied(fix, 30*time.Second)
	if st.GitOps.Rejected != nil {
		t.Errorf("rejection still shown after a good commit: %+v", st.GitOps.Rejected)
	}
	n.waitFor(60*time.Second, "the agent pod running", func() (bool, string) {
		st := n.mustStatus()
		for _, p := range st.podsWith("agent") {
			if p.Phase == "Running" {
				return true, ""
			}
		}
		return false, ""
	})
}
