package check

import (
	"strings"
	"testing"
)

func pv(name, class, size, extra string) string {
	s := "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: " + name + ", labels: {tier: fast}}\nspec:\n  capacity: {storage: " + size + "}\n  accessModes: [ReadWriteOnce]\n  hostPath: {path: /srv/" + name + "}\n"
	if class != "" {
		s += "  storageClassName: " + class + "\n"
	}
	return s + extra + "---\n"
}

func pvc(name, spec string) string {
	return "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: " + name + "}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n" + spec + "---\n"
}

func TestClaims(t *testing.T) {
	runCases(t, RuleBinding, []checkCase{
		{"fits", pv("a", "", "1Gi", "") + pvc("data", ""), nil},
		{"class and selector", pv("a", "local", "5Gi", "") + pvc("data", "  storageClassName: local\n  selector: {matchLabels: {tier: fast}}\n"), nil},
		{"nothing at all", pvc("data", ""),
			[]string{`test.yaml:6:35: warning: spec.resources.requests.storage: no PersistentVolume can satisfy this claim (storageClassName "", 1Gi, ReadWriteOnce), so it stays pending: add a PersistentVolume with that class, size and access mode, or use storageClassName "berth-local" (berth's local provisioner)`}},
		{"wrong class, too small, wrong mode", pv("a", "fast", "1Gi", "") + pv("b", "", "500Mi", "") + strings.Replace(pv("c", "", "1Gi", ""), "ReadWriteOnce", "ReadOnlyMany", 1) + pvc("data", ""),
			[]string{`test.yaml:31:35: warning: spec.resources.requests.storage: no PersistentVolume can satisfy this claim (storageClassName "", 1Gi, ReadWriteOnce; a: storageClassName "fast", not ""; b: capacity 500Mi is less than 1Gi; c: no access mode ReadWriteOnce), so it stays pending: add a PersistentVolume with that class, size and access mode, or use storageClassName "berth-local" (berth's local provisioner)`}},
		{"class nobody has", pv("a", "", "1Gi", "") + pvc("data", "  storageClassName: ssd\n"),
			[]string{`test.yaml:15:21: warning: spec.storageClassName: no PersistentVolume can satisfy this claim (storageClassName "ssd", 1Gi, ReadWriteOnce; a: storageClassName "", not "ssd"), so it stays pending: add a PersistentVolume with that class, size and access mode, or use storageClassName "berth-local" (berth's local provisioner)`}},
		{"two claims, one volume", pv("a", "", "1Gi", "") + pvc("data", "") + pvc("logs", ""),
			[]string{`test.yaml:21:35: warning: spec.resources.requests.storage: every PersistentVolume that fits this claim is already bound (a to default/data), so it stays pending: add a PersistentVolume for it`}},
		{"volumeName missing", pvc("data", "  volumeName: nope\n"),
			[]string{`test.yaml:7:15: warning: spec.volumeName: PersistentVolume "nope" does not exist, so this claim stays pending: add it to the repository or remove volumeName`}},
		{"volumeName too small", pv("small", "", "100Mi", "") + pvc("data", "  volumeName: small\n"),
			[]string{`test.yaml:15:15: warning: spec.volumeName: PersistentVolume "small" cannot satisfy this claim (capacity 100Mi is less than 1Gi), so it stays pending: fix the claim or the volume`}},
		{"volumeName wins over order", pv("a", "", "1Gi", "") + pvc("first", "") + pvc("second", "  volumeName: a\n"),
			[]string{`test.yaml:14:35: warning: spec.resources.requests.storage: every PersistentVolume that fits this claim is already bound (a to default/second), so it stays pending: add a PersistentVolume for it`}},
		{"smallest fitting volume", pv("big", "", "10Gi", "") + pv("small", "", "1Gi", "") + pvc("data", "") + strings.Replace(pvc("zbig", ""), "1Gi", "5Gi", 1), nil},
	})
}

// TestPodWithUnboundClaim: a pending claim is valid Kubernetes, a pod
// that mounts one is what berth cannot plan (lint says so, as the plan
// does).
func TestPodWithUnboundClaim(t *testing.T) {
	podWith := func(claim string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: \"c:1\", volumeMounts: [{name: d, mountPath: /d}]}]\n  volumes: [{name: d, persistentVolumeClaim: {claimName: " + claim + "}}]\n---\n"
	}
	runCases(t, RuleUnboundClaim, []checkCase{
		{"bound", pv("a", "", "1Gi", "") + pvc("data", "") + podWith("data"), nil},
		{"pending", pvc("data", "") + podWith("data"),
			[]string{`test.yaml:13:58: error: spec.volumes[0].persistentVolumeClaim.claimName: PersistentVolumeClaim "data" is not bound to any PersistentVolume: berth cannot plan a pod whose claim stays pending (Kubernetes would keep it Pending): bind the claim to a PersistentVolume of the repository`}},
	})
}
