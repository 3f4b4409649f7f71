package e2e_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// statefulApp is a headless Service and a StatefulSet of two ordinals
// whose container counts its boots in its claim (/data/boots), prints
// the count, its host name and its fully qualified name from /etc/hosts,
// and resolves both ordinals' DNS names.
const statefulApp = `apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: tcp, port: 8000}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: REPLICAS
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: RESOLVE
        env: [{name: GEN, value: "GENERATION"}]
        command: [sh, -c, 'echo x >> /data/boots; echo "boots $(wc -l < /data/boots) host $(hostname) $(grep -o "$(hostname)[.][a-z0-9.-]*" /etc/hosts)"; exec resolve -every 100ms db-0.db db-1.db.default.svc.cluster.local']
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`

// TestStatefulSet: ordinals db-0 and db-1 start in order with their host
// names, resolve each other as <pod>.db through the cluster DNS, and
// keep their claim's data when a new template replaces them (in reverse
// order) and when the set is scaled down and up again.
func TestStatefulSet(t *testing.T) {
	t.Parallel()
	n := newNode(t, 10)
	up := externalResolver(t)
	r := newRepo(t, n.dir)
	app := func(replicas, gen string) string {
		return strings.NewReplacer("RESOLVE", resolveImage, "REPLICAS", replicas, "GENERATION", gen).Replace(statefulApp)
	}
	r.write("app.yaml", app("2", "1"))
	rev := r.commit("statefulset")
	r.push()
	n.start("--repo", r.bare, "--dns-upstream", up)
	n.waitApplied(rev, 60*time.Second)
	podNet := netip.MustParsePrefix(n.podCIDR())

	first := func(pod string) string {
		out, _ := podLog(n, pod)
		line, _, _ := strings.Cut(out, "\n")
		return line
	}
	// answers is a pod's latest answer for each name.
	answers := func(pod string) map[string]string {
		out, _ := podLog(n, pod)
		got := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 3 {
				got[f[1]] = f[2]
			}
		}
		return got
	}
	waitBoots := func(want map[string]string) {
		n.waitFor(90*time.Second, "the ordinals' boot counts", func() (bool, string) {
			for pod, w := range want {
				if got := first(pod); got != w {
					return false, pod + " printed " + got + ", want " + w
				}
			}
			return true, ""
		})
	}
	waitBoots(map[string]string{"db-0": "boots 1 host db-0 db-0.db.default.svc.cluster.local", "db-1": "boots 1 host db-1 db-1.db.default.svc.cluster.local"})
	n.waitFor(60*time.Second, "each ordinal's DNS name to resolve", func() (bool, string) {
		got := answers("db-0")
		a, b := got["db-0.db"], got["db-1.db.default.svc.cluster.local"]
		pa, errA := netip.ParseAddr(a)
		pb, errB := netip.ParseAddr(b)
		if errA != nil || errB != nil || !podNet.Contains(pa) || !podNet.Contains(pb) || a == b {
			return false, "db-0 resolves db-0.db to " + a + " and db-1.db.default.svc.cluster.local to " + b
		}
		return true, ""
	})
	started := map[string]time.Time{}
	for _, p := range n.mustStatus().podsWith("db-") {
		started[p.Name] = p.StartedAt
	}
	if !started["db-0"].Before(started["db-1"]) {
		t.Errorf("db-1 started at %v, not after db-0 (%v)", started["db-1"], started["db-0"])
	}

	// A new template replaces both ordinals; their data stays.
	r.write("app.yaml", app("2", "2"))
	rev = r.commit("new template")
	r.push()
	n.waitApplied(rev, 60*time.Second)
	waitBoots(map[string]string{"db-0": "boots 2 host db-0 db-0.db.default.svc.cluster.local", "db-1": "boots 2 host db-1 db-1.db.default.svc.cluster.local"})

	// Scale down to one and up again: db-1 comes back to its data.
	r.write("app.yaml", app("1", "2"))
	rev = r.commit("scale down")
	r.push()
	n.waitApplied(rev, 60*time.Second)
	n.waitFor(60*time.Second, "db-1 to go", func() (bool, string) {
		ps := n.mustStatus().podsWith("db-")
		return len(ps) == 1 && ps[0].Name == "db-0", "pods"
	})
	r.write("app.yaml", app("2", "2"))
	rev = r.commit("scale up")
	r.push()
	n.waitApplied(rev, 60*time.Second)
	waitBoots(map[string]string{"db-0": "boots 2 host db-0 db-0.db.default.svc.cluster.local", "db-1": "boots 3 host db-1 db-1.db.default.svc.cluster.local"})
}
