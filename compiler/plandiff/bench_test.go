package plandiff

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth.dev/berth/compiler/assemble"
	"berth.dev/berth/compiler/internal/objtest"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/synth"
)

// synthPlan compiles a synthetic repository (without the schema pass,
// which the diff does not need), after edit has changed its files.
func synthPlan(b testing.TB, pods int, edit func(map[string]string)) *plan.Plan {
	b.Helper()
	return filesPlan(b, synth.Files(synth.For(pods)), edit)
}

func filesPlan(b testing.TB, files map[string]string, edit func(map[string]string)) *plan.Plan {
	b.Helper()
	edit(files)
	dir := b.TempDir()
	if err := writeFiles(dir, files); err != nil {
		b.Fatal(err)
	}
	docs, ds := load.Load([]string{dir}, load.Options{})
	if errs := objtest.Errors(ds); len(errs) > 0 {
		b.Fatal(errs[0])
	}
	var objs []*object.Object
	for i := range docs {
		o, err := object.Decode(&docs[i])
		if err != nil {
			b.Fatal(err)
		}
		objs = append(objs, o)
	}
	p, ds := assemble.Plan(object.NewSet(objs), assemble.Options{})
	if errs := objtest.Errors(ds); len(errs) > 0 {
		b.Fatal(errs[0])
	}
	return p
}

// writeFiles writes files (path relative to dir: content) below dir.
func writeFiles(dir string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// benchDiff diffs two plans of a synthetic repository in which one
// Deployment has a new image and one Service is added: the typical pull
// request.
func benchDiff(b *testing.B, pods int) {
	base := synthPlan(b, pods, func(map[string]string) {})
	head := synthPlan(b, pods, func(f map[string]string) {
		f["team-000/objects.yaml"] = strings.Replace(f["team-000/objects.yaml"], "app-0000:1.0.0", "app-0000:1.0.1", 1) +
			"---\napiVersion: v1\nkind: Service\nmetadata: {name: extra, namespace: team-001}\nspec:\n  selector: {app: app-0001}\n  ports: [{port: 81, targetPort: http}]\n"
	})
	runDiff(b, base, head)
}

// benchDiffTeam is benchDiff on the one-namespace shape of objects
// objects (synth.Team), the added Service included: 100,000 is the
// default budget of objects per repository (--max-objects).
func benchDiffTeam(b *testing.B, objects int) {
	team := synth.ForObjects(objects - 1)
	base := filesPlan(b, team.Files(), func(map[string]string) {})
	head := filesPlan(b, team.Files(), func(f map[string]string) {
		f["apps/app-00000.yaml"] = strings.Replace(f["apps/app-00000.yaml"], "app-00000:1.0.0", "app-00000:1.0.1", 1)
		f["apps/extra.yaml"] = "apiVersion: v1\nkind: Service\nmetadata:\n  name: extra\nspec:\n  selector:\n    app: app-00001\n  ports:\n  - port: 81\n    targetPort: http\n"
	})
	runDiff(b, base, head)
}

func runDiff(b *testing.B, base, head *plan.Plan) {
	b.ReportAllocs()
	b.ResetTimer()
	var d *Diff
	cpu := cpuTime()
	for b.Loop() {
		d = Compare(base, head)
	}
	// CPU time beside wall time: on a busy machine the wall time says
	// more about the neighbours than about the diff.
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
	b.ReportMetric(float64(len(d.Changes)), "changes")
	b.ReportMetric(float64(d.Summary.Add), "added")
	b.ReportMetric(float64(d.Summary.Change), "changed")
}

// cpuTime is the process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkPlanDiff1k(b *testing.B)  { benchDiff(b, 1_000) }
func BenchmarkPlanDiff10k(b *testing.B) { benchDiff(b, 10_000) }
func BenchmarkPlanDiff50k(b *testing.B) { benchDiff(b, 50_000) }

func BenchmarkPlanDiffTeam1k(b *testing.B)   { benchDiffTeam(b, 1_000) }
func BenchmarkPlanDiffTeam10k(b *testing.B)  { benchDiffTeam(b, 10_000) }
func BenchmarkPlanDiffTeam100k(b *testing.B) { benchDiffTeam(b, 100_000) }
