package compiler

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/plandiff"
	"berth.dev/berth/compiler/synth"
)

// compileFiles compiles a repository given as files.
func compileFiles(t testing.TB, files map[string]string) *plan.Plan {
	t.Helper()
	dir := t.TempDir()
	if err := synth.WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	p, ds := Compile(loadDir(t, dir), testOptions())
	if p == nil {
		t.Fatalf("compile: %v", diag.List(ds))
	}
	return p
}

// TestOneServiceChangesOnlyItself is the property of the plan model: adding
// or removing one Service changes that Service's entry in its namespace's
// table and nothing else. No pod, workload, ConfigMap or Secret changes
// (no hash, no byte), and the diff counts exactly the one object.
func TestOneServiceChangesOnlyItself(t *testing.T) {
	team := synth.ForObjects(600)
	files := team.Files()
	base := compileFiles(t, files)
	r := rand.New(rand.NewPCG(14, 14))
	for trial := range 6 {
		head := make(map[string]string, len(files)+1)
		for k, v := range files {
			head[k] = v
		}
		var name string
		add := trial%2 == 0
		if add {
			// A new Service selecting an existing application, sometimes
			// headless, sometimes a NodePort, with a named target port.
			name = fmt.Sprintf("extra-%d", r.IntN(1_000_000))
			app := fmt.Sprintf("app-%05d", r.IntN(team.Apps))
			extra := [...]string{"", "  clusterIP: None\n", "  type: NodePort\n"}[trial/2%3]
			head["apps/"+name+".yaml"] = fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\nspec:\n  selector:\n    app: %s\n  ports:\n  - name: web\n    port: 8080\n    targetPort: http\n%s", name, app, extra)
		} else {
			// Remove the Service of a random application.
			name = fmt.Sprintf("app-%05d", r.IntN(team.Apps))
			f := "apps/" + name + ".yaml"
			head[f] = head[f][:strings.LastIndex(head[f], "---\napiVersion: v1\nkind: Service")]
		}
		got := compileFiles(t, head)

		if !reflect.DeepEqual(base.Nodes, got.Nodes) {
			t.Fatalf("trial %d (%s %s): a pod changed", trial, verb(add), name)
		}
		for _, part := range []struct {
			what string
			a, b any
		}{{"workloads", base.Workloads, got.Workloads}, {"configMaps", base.ConfigMaps, got.ConfigMaps}, {"secrets", base.Secrets, got.Secrets}} {
			if !reflect.DeepEqual(part.a, part.b) {
				t.Fatalf("trial %d (%s %s): the %s changed", trial, verb(add), name, part.what)
			}
		}
		key := "default/" + name
		others := func(p *plan.Plan) []plan.Service {
			var out []plan.Service
			for _, s := range p.Services {
				if s.Key() != key {
					out = append(out, s)
				}
			}
			return out
		}
		if !reflect.DeepEqual(others(base), others(got)) {
			t.Fatalf("trial %d (%s %s): another Service's entry changed", trial, verb(add), name)
		}
		if want := len(base.Services) + map[bool]int{true: 1, false: -1}[add]; len(got.Services) != want {
			t.Fatalf("trial %d: %d services, want %d", trial, len(got.Services), want)
		}

		d := plandiff.Compare(base, got)
		want := plandiff.Summary{Add: 1}
		if !add {
			want = plandiff.Summary{Destroy: 1}
		}
		if d.Summary != want || len(d.Changes) != 1 || d.Changes[0].Kind != "Service" || d.Changes[0].Name != name || len(d.Nodes) != 0 {
			t.Fatalf("trial %d (%s %s): diff %s with changes %+v", trial, verb(add), name, d.Summary, d.Changes)
		}
	}
}

func verb(add bool) string {
	if add {
		return "add"
	}
	return "remove"
}

// TestPlanSizeLinear: the plan of twice the objects is at most 2.2 times
// the bytes, and no pod's entry grows with the repository: the largest
// pod is the same size in both.
func TestPlanSizeLinear(t *testing.T) {
	size := func(objects int) (total, pod int) {
		p := compileFiles(t, synth.ForObjects(objects).Files())
		b, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range p.Nodes {
			for i := range n.Pods {
				pb, _ := json.Marshal(&n.Pods[i])
				pod = max(pod, len(pb))
			}
		}
		return len(b), pod
	}
	small, smallPod := size(1500)
	big, bigPod := size(3000)
	if ratio := float64(big) / float64(small); ratio > 2.2 {
		t.Errorf("plan of 3,000 objects is %d bytes, %.2f× the %d of 1,500 (at most 2.2×)", big, ratio, small)
	}
	if bigPod != smallPod {
		t.Errorf("the largest pod entry grows with the repository: %d bytes at 1,500 objects, %d at 3,000", smallPod, bigPod)
	}
}
