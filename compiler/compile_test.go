package compiler

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/admit"
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/synth"
	"berth.dev/berth/schema"
)

// testOptions pin everything a plan could take from the machine.
func testOptions() CompileOptions {
	return CompileOptions{
		Revision:  "test",
		LocalNode: LocalNode{Name: "node-1", Capacity: plan.Resources{MilliCPU: 4000, Memory: 8 << 30, Pods: 110}},
	}
}

// goldenRepos lists the repositories with a golden plan: the examples
// users copy, and this package's own testdata.
func goldenRepos(t *testing.T) map[string]string {
	t.Helper()
	repos := map[string]string{}
	for _, pattern := range []string{"testdata/repos/*", "../examples/*"} {
		dirs, _ := filepath.Glob(pattern)
		for _, d := range dirs {
			if info, err := os.Stat(d); err != nil || !info.IsDir() || filepath.Base(d) == "broken" {
				continue
			}
			name := filepath.Base(d)
			if strings.HasPrefix(pattern, "../examples") {
				name = "examples-" + name
			}
			repos[name] = d
		}
	}
	return repos
}

func loadDir(t testing.TB, dir string) []load.Document {
	t.Helper()
	docs, ds := load.Load([]string{dir}, load.Options{})
	if errs, _ := diag.Count(ds); errs > 0 {
		t.Fatalf("load %s: %v", dir, diag.List(ds))
	}
	return docs
}

func marshal(t testing.TB, p *plan.Plan) []byte {
	t.Helper()
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func compileDir(t testing.TB, dir string) []byte {
	t.Helper()
	p, ds := Compile(loadDir(t, dir), testOptions())
	if p == nil {
		t.Fatalf("compile %s: %v", dir, diag.List(ds))
	}
	b := marshal(t, p)
	// What `berth plan -o json` streams is the same document.
	var streamed bytes.Buffer
	if err := plan.WriteJSON(&streamed, p, 3); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(streamed.Bytes(), b) {
		t.Fatalf("plan.WriteJSON of %s differs from encoding/json:\n%s", dir, firstDiff(b, streamed.Bytes()))
	}
	return b
}

// TestGoldenPlans pins the plan of every repository; UPDATE_GOLDEN=1
// rewrites testdata/golden.
func TestGoldenPlans(t *testing.T) {
	for name, dir := range goldenRepos(t) {
		t.Run(name, func(t *testing.T) {
			got := compileDir(t, dir)
			file := filepath.Join("testdata", "golden", name+".json")
			if os.Getenv("UPDATE_GOLDEN") == "1" {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("no golden plan for %s (run UPDATE_GOLDEN=1 go test ./compiler -run TestGoldenPlans): %v", dir, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("plan of %s differs from %s (UPDATE_GOLDEN=1 rewrites it):\n%s", dir, file, firstDiff(want, got))
			}
		})
	}
}

func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y)
		}
	}
	return ""
}

// TestDeterministic compiles every repository twice, then in shuffled
// document and file order, and wants the same bytes (DESIGN.md,
// invariant 1).
func TestDeterministic(t *testing.T) {
	for name, dir := range goldenRepos(t) {
		t.Run(name, func(t *testing.T) {
			docs := loadDir(t, dir)
			first := compileDir(t, dir)
			if again := compileDir(t, dir); !bytes.Equal(first, again) {
				t.Fatalf("two compilations differ:\n%s", firstDiff(first, again))
			}
			for seed := range uint64(5) {
				shuffled := make([]load.Document, len(docs))
				copy(shuffled, docs)
				r := rand.New(rand.NewPCG(seed, seed))
				r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				p, ds := Compile(shuffled, testOptions())
				if p == nil {
					t.Fatalf("compile shuffled: %v", diag.List(ds))
				}
				if got := marshal(t, p); !bytes.Equal(first, got) {
					t.Fatalf("shuffled order (seed %d) changes the plan:\n%s", seed, firstDiff(first, got))
				}
			}
		})
	}
}

// TestFileLayoutIrrelevant: the same objects split into other files,
// under other names, in another order, give the same plan.
func TestFileLayoutIrrelevant(t *testing.T) {
	for name, dir := range goldenRepos(t) {
		t.Run(name, func(t *testing.T) {
			docs := loadDir(t, dir)
			want := compileDir(t, dir)
			r := rand.New(rand.NewPCG(3, 4))
			out := t.TempDir()
			for i, j := range r.Perm(len(docs)) {
				b, err := yaml.Marshal(docs[j].Node)
				if err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(out, fmt.Sprintf("d%d/%03d-%d.yaml", i%3, r.IntN(1000), i))
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := compileDir(t, out); !bytes.Equal(want, got) {
				t.Fatalf("another file layout changes the plan:\n%s", firstDiff(want, got))
			}
		})
	}
}

// TestCompileRefusesErrors: a plan never comes with an error.
func TestCompileRefusesErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"schema", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n", "image"},
		{"unschedulable", `apiVersion: v1
kind: Pod
metadata: {name: big}
spec:
  containers: [{name: c, image: busybox:1.36, resources: {requests: {cpu: "64"}}}]
`, "fits no node: node node-1 insufficient cpu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			p, ds := Compile(loadDir(t, dir), testOptions())
			if p != nil {
				t.Fatalf("got a plan despite errors")
			}
			if !strings.Contains(diag.List(ds).Error(), tt.want) {
				t.Fatalf("diagnostics %v do not mention %q", diag.List(ds), tt.want)
			}
		})
	}
}

// TestSecretsRedacted: no secret value appears in a plan's JSON.
func TestSecretsRedacted(t *testing.T) {
	got := compileDir(t, "testdata/repos/web")
	for _, secret := range []string{"s3cr3t", "hunter2", `"bob"`} {
		if bytes.Contains(got, []byte(secret)) {
			t.Errorf("the plan contains the secret %s", secret)
		}
	}
	if !bytes.Contains(got, []byte("(sensitive hmac:")) {
		t.Errorf("the plan shows no redacted value; is the secret resolved at all?")
	}
}

// TestSecretDigestsAreKeyed: what stands for a Secret value in a plan (its
// redacted digest, and the pod hashes that cover it) comes from the
// repository's key: without the key, a printed plan cannot confirm a
// guessed value offline (issue 20, finding 7). Pods without secrets do
// not depend on the key.
func TestSecretDigestsAreKeyed(t *testing.T) {
	docs, diags := load.Load([]string{"testdata/repos/web"}, load.Options{})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	compileWith := func(key plan.SecretKey) *plan.Plan {
		p, ds := Compile(docs, CompileOptions{LocalNode: LocalNode{Name: "n1"}, SecretKey: key})
		if p == nil {
			t.Fatal(ds)
		}
		return p
	}
	a, b := compileWith(plan.SecretKey("key one")), compileWith(plan.SecretKey("key two"))
	ja, _ := json.Marshal(a)
	for _, secret := range []string{"s3cr3t", "hunter2"} {
		sum := sha256.Sum256([]byte(secret))
		if guess := hex.EncodeToString(sum[:6]); bytes.Contains(ja, []byte(guess)) {
			t.Errorf("the plan shows the unkeyed sha256 of %s (%s): a guess can be checked offline", secret, guess)
		}
	}
	withSecrets := 0
	for i, n := range a.Nodes {
		for j, pa := range n.Pods {
			pb := b.Nodes[i].Pods[j]
			uses := usesSecret(&pa)
			if uses {
				withSecrets++
			}
			if (pa.Hash != pb.Hash) != uses {
				t.Errorf("pod %s (secrets: %v): hash %s with one key, %s with another", pa.Key(), uses, pa.Hash, pb.Hash)
			}
		}
	}
	if withSecrets == 0 {
		t.Fatal("no pod of testdata/repos/web uses a secret")
	}
}

// usesSecret says whether a pod refers to a Secret (env, envFrom, a
// volume, a pull secret): its hash covers the Secret's keyed digest.
func usesSecret(p *plan.Pod) bool {
	if len(p.Spec.ImagePullSecrets) > 0 {
		return true
	}
	for _, v := range p.Spec.Volumes {
		if v.Kind == "secret" {
			return true
		}
	}
	for _, c := range append(append([]plan.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		for _, e := range c.Env {
			if e.SecretKeyRef != nil {
				return true
			}
		}
		for _, e := range c.EnvFrom {
			if e.Secret != "" {
				return true
			}
		}
	}
	return false
}

// TestAddingServiceKeepsClusterIPs is the property that a new Service
// never moves another Service's ClusterIP, checked end to end.
func TestAddingServiceKeepsClusterIPs(t *testing.T) {
	svc := func(name string) string {
		return fmt.Sprintf("---\napiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec:\n  selector: {app: %s}\n  ports: [{port: 80}]\n", name, name)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 5 {
		var src strings.Builder
		for i := range 30 {
			src.WriteString(svc(fmt.Sprintf("s%d-%d", trial, r.IntN(1_000_000)+i*1_000_000)))
		}
		before := clusterIPs(t, src.String())
		src.WriteString(svc(fmt.Sprintf("new-%d", r.IntN(1_000_000))))
		after := clusterIPs(t, src.String())
		for k, ip := range before {
			if after[k] != ip {
				t.Errorf("trial %d: adding a service moved %s from %s to %s", trial, k, ip, after[k])
			}
		}
	}
}

func clusterIPs(t *testing.T, src string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "svc.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, ds := Compile(loadDir(t, dir), testOptions())
	if p == nil {
		t.Fatalf("compile: %v", diag.List(ds))
	}
	out := map[string]string{}
	for _, s := range p.Services {
		out[s.Key()] = s.ClusterIP
	}
	return out
}

// benchCompile compiles a synthetic repository of pods pods (services:
// pods/10, nodes: pods/100), loading included, as `berth plan` does.
func benchCompile(b *testing.B, pods int) {
	benchCompileFiles(b, synth.Files(synth.For(pods)))
}

// benchCompileTeam compiles the one-namespace shape of objects objects.
func benchCompileTeam(b *testing.B, objects int) {
	benchCompileFiles(b, synth.ForObjects(objects).Files())
}

func benchCompileFiles(b *testing.B, files map[string]string) {
	dir := b.TempDir()
	if err := synth.WriteFiles(dir, files); err != nil {
		b.Fatal(err)
	}
	opts := testOptions()
	s, err := schema.Load()
	if err != nil {
		b.Fatal(err)
	}
	opts.Schemas = s
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		p, ds, err := CompilePaths([]string{dir}, opts)
		if err != nil || p == nil {
			b.Fatalf("compile: %v %v", err, diag.List(ds))
		}
	}
	// CPU time beside wall time: on a busy machine the wall time says
	// more about the neighbours than about the compiler.
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
}

// cpuTime is the process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkCompile1k(b *testing.B)  { benchCompile(b, 1_000) }
func BenchmarkCompile10k(b *testing.B) { benchCompile(b, 10_000) }
func BenchmarkCompile50k(b *testing.B) { benchCompile(b, 50_000) }

func BenchmarkCompileTeam1k(b *testing.B)   { benchCompileTeam(b, 1_000) }
func BenchmarkCompileTeam10k(b *testing.B)  { benchCompileTeam(b, 10_000) }
func BenchmarkCompileTeam100k(b *testing.B) { benchCompileTeam(b, 100_000) }

// TestAdmissionOnce: the front end admits the set it returns (the plan is
// compiled from it, nothing admits twice), and each admission finding is
// reported once, with nothing to hide repeats.
func TestAdmissionOnce(t *testing.T) {
	src := `apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: team}
spec:
  limits:
  - type: Container
    default: {cpu: 200m}
    max: {memory: 64Mi}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: team}
spec:
  containers: [{name: c, image: "registry.example.com/c:1"}]
---
apiVersion: v1
kind: Pod
metadata: {name: big, namespace: team}
spec:
  containers: [{name: c, image: "registry.example.com/c:1", resources: {limits: {memory: 1Gi}}}]
`
	docs := parseDocs(t, src)
	set, _ := Front(copyDocs(docs), Options{Workers: 1})
	pod := set.Get("Pod", "team", "p")
	if got := pod.Value.(*api.Pod).Spec.Containers[0].Resources.Limits["cpu"]; got != "200m" {
		t.Errorf("the front end's set is not admitted: limits.cpu %q, want the LimitRange's 200m", got)
	}
	_, ds := Compile(copyDocs(docs), CompileOptions{Options: Options{Workers: 1}, LocalNode: LocalNode{Name: "node-1"}})
	seen := map[diag.Diagnostic]bool{}
	n := 0
	for _, d := range ds {
		if seen[d] {
			t.Errorf("reported twice: %s", d)
		}
		seen[d] = true
		if d.Rule == admit.RuleLimitRange {
			n++
		}
	}
	if n != 2 { // the request defaulted from the limit, and the limit
		t.Errorf("%d limit-range findings, want 2:\n%v", n, diag.List(ds))
	}
}
