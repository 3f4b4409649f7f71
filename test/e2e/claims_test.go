package e2e_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// claimApp is a StatefulSet whose ordinals count their boots in their
// provisioned claim (/data/boots) and print the count.
const claimApp = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: REPLICAS
  podManagementPolicy: Parallel
  POLICY
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: IMAGE
        command: [sh, -c, 'echo x >> /data/boots; echo "boots $(wc -l < /data/boots)"; exec sleep 3600']
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`

// TestStatefulSetClaimRetention: with the default policy (Retain) an
// ordinal scaled away and back finds its data; with whenScaled: Delete
// its claim's directory is deleted once its pod is gone, and it comes
// back to an empty one; with whenDeleted: Delete, deleting the set
// deletes the directories of every ordinal's claims.
func TestStatefulSetClaimRetention(t *testing.T) {
	t.Parallel()
	n := newNode(t, 19)
	r := newRepo(t, n.dir)
	app := func(replicas, policy string) string {
		return strings.NewReplacer("IMAGE", resolveImage, "REPLICAS", replicas, "POLICY", policy).Replace(claimApp)
	}
	claims := filepath.Join(n.dir, "state", "claims")
	exists := func(claim string) bool {
		_, err := os.Stat(filepath.Join(claims, "default_"+claim))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		return err == nil
	}
	apply := func(msg, content string) {
		t.Helper()
		r.write("app.yaml", content)
		rev := r.commit(msg)
		r.push()
		n.waitApplied(rev, 60*time.Second)
	}
	waitBoots := func(want map[string]string) {
		t.Helper()
		n.waitFor(90*time.Second, "the ordinals' boot counts", func() (bool, string) {
			for pod, w := range want {
				out, _ := podLog(n, pod)
				if line, _, _ := strings.Cut(out, "\n"); line != w {
					return false, pod + " printed " + line + ", want " + w
				}
			}
			return true, ""
		})
	}
	waitGone := func(pod string) {
		t.Helper()
		n.waitFor(60*time.Second, pod+" to go", func() (bool, string) {
			for _, p := range n.mustStatus().podsWith("db-") {
				if p.Name == pod {
					return false, pod + " still there"
				}
			}
			return true, ""
		})
	}

	r.write("keep.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep}\ndata: {a: b}\n")
	r.write("app.yaml", app("2", ""))
	rev := r.commit("two ordinals")
	r.push()
	n.start("--repo", r.bare)
	n.waitApplied(rev, 60*time.Second)
	waitBoots(map[string]string{"db-0": "boots 1", "db-1": "boots 1"})

	// Retain (the default): scaled away and back, db-1 finds its data.
	apply("retain: scale down", app("1", ""))
	waitGone("db-1")
	if !exists("data-db-1") {
		t.Fatal("Retain: db-1's claim was deleted by the scale down")
	}
	apply("retain: scale up", app("2", ""))
	waitBoots(map[string]string{"db-0": "boots 1", "db-1": "boots 2"})

	// whenScaled: Delete: the claim goes once db-1 is gone, and db-1
	// comes back to an empty one; db-0's stays.
	scaled := "persistentVolumeClaimRetentionPolicy: {whenScaled: Delete}"
	apply("delete when scaled: scale down", app("1", scaled))
	waitGone("db-1")
	n.waitFor(60*time.Second, "db-1's claim to be deleted", func() (bool, string) {
		return !exists("data-db-1"), "claims/default_data-db-1 still there"
	})
	if !exists("data-db-0") {
		t.Fatal("whenScaled: Delete deleted the claim of db-0, which stays")
	}
	apply("delete when scaled: scale up", app("2", scaled))
	waitBoots(map[string]string{"db-0": "boots 1", "db-1": "boots 1"})

	// whenDeleted: Delete: deleting the set deletes both claims.
	apply("delete when deleted", app("2", "persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete}"))
	r.remove("app.yaml")
	rev = r.commit("delete the set")
	r.push()
	n.waitApplied(rev, 60*time.Second)
	n.waitFor(60*time.Second, "the set's claims to be deleted", func() (bool, string) {
		return !exists("data-db-0") && !exists("data-db-1"), "claims still there"
	})
}
