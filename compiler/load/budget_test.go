package load

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
)

// aliasBomb is the attack of issue 19: a list of aliases to one container
// whose command is itself a long list, in valid positions, so that a
// schema walker that follows aliases does containers x command work.
func aliasBomb(containers, command int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: bomb\nspec:\n  containers:\n  - &c\n    name: c\n    image: busybox\n    command: [")
	for i := range command {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("a")
	}
	b.WriteString("]\n")
	for range containers {
		b.WriteString("  - *c\n")
	}
	return b.String()
}

// budgetRule returns the budget diagnostics of ds as "file limit".
func budgetRule(t *testing.T, dir string, ds []diag.Diagnostic) []string {
	t.Helper()
	var out []string
	for _, d := range ds {
		if d.Rule != budget.Rule {
			continue
		}
		rel, _ := filepath.Rel(dir, d.File)
		what, _, _ := strings.Cut(strings.TrimPrefix(d.Message, budget.Prefix+" ("), ")")
		out = append(out, rel+" "+what)
	}
	return out
}

func TestLoadBudgets(t *testing.T) {
	big := fmt.Sprintf(cm, "big") + "data:\n  x: " + strings.Repeat("a", 1536<<10) + "\n"
	tests := []struct {
		name  string
		files map[string]string
		lim   budget.Limits
		want  []string // budget refusals as "file limit"
		docs  int
	}{{
		name:  "alias bomb",
		files: map[string]string{"bomb.yaml": aliasBomb(20000, 20000), "ok.yaml": fmt.Sprintf(cm, "ok")},
		want:  []string{"bomb.yaml YAML alias expansion"},
		docs:  1,
	}, {
		name: "anchors used a few times pass",
		files: map[string]string{"ok.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" +
			"  - &c {name: a, image: i, env: &e [{name: A, value: '1'}, {name: B, value: '2'}]}\n  - {name: b, image: i, env: *e}\n  - {name: c, image: i, env: *e}\n"},
		docs: 1,
	}, {
		name:  "an object over 1 MiB encoded, as the API server counts",
		files: map[string]string{"big.yaml": big, "ok.yaml": fmt.Sprintf(cm, "ok")},
		want:  []string{"big.yaml object size"},
		docs:  1,
	}, {
		name:  "a file over the size budget is not read",
		files: map[string]string{"a.yaml": fmt.Sprintf(cm, "a") + "data: {x: '" + strings.Repeat("b", 2000) + "'}\n", "b.yaml": fmt.Sprintf(cm, "b")},
		lim:   budget.Limits{FileBytes: 1024},
		want:  []string{"a.yaml file size"},
		docs:  1,
	}, {
		name:  "past the file count, nothing more is read",
		files: map[string]string{"a.yaml": fmt.Sprintf(cm, "a"), "b.yaml": fmt.Sprintf(cm, "b"), "c.yaml": fmt.Sprintf(cm, "c")},
		lim:   budget.Limits{Files: 2},
		want:  []string{"c.yaml files"},
		docs:  2,
	}, {
		name:  "total size",
		files: map[string]string{"a.yaml": fmt.Sprintf(cm, "a"), "b.yaml": fmt.Sprintf(cm, "b"), "c.yaml": fmt.Sprintf(cm, "c")},
		lim:   budget.Limits{TotalBytes: 100},
		want:  []string{"b.yaml total size"},
		docs:  1,
	}, {
		name:  "objects per repository",
		files: map[string]string{"a.yaml": fmt.Sprintf(cm, "a") + "---\n" + fmt.Sprintf(cm, "b"), "c.yaml": fmt.Sprintf(cm, "c") + "---\n" + fmt.Sprintf(cm, "d")},
		lim:   budget.Limits{Objects: 3},
		want:  []string{"c.yaml objects"},
		docs:  3,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			docs, ds := Load([]string{dir}, Options{Workers: 2, Limits: tt.lim})
			if got := budgetRule(t, dir, ds); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("budget refusals %v, want %v (all: %v)", got, tt.want, ds)
			}
			if len(docs) != tt.docs {
				t.Fatalf("%d documents, want %d", len(docs), tt.docs)
			}
			for _, d := range ds {
				if d.Rule == budget.Rule && !strings.Contains(d.Message, "(raise it with --max-") {
					t.Fatalf("refusal %q does not say which flag raises the budget", d.Message)
				}
			}
		})
	}
}

// TestAliasBombCostIsLinear: the bomb expands to 4x10^8 nodes, and its
// refusal measures each node as written once or twice.
func TestAliasBombCostIsLinear(t *testing.T) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(aliasBomb(20000, 20000)), &root); err != nil {
		t.Fatal(err)
	}
	m := &measurer{memo: map[*yaml.Node]cost{}}
	err := measureDocument(root.Content[0], budget.Limits{}, m)
	if err == nil || err.Limit != budget.AliasExpansion {
		t.Fatalf("err = %v, want the alias expansion budget", err)
	}
	written := countWritten(root.Content[0])
	if int64(m.visits) > 2*written {
		t.Fatalf("measured %d nodes for a document of %d: not linear", m.visits, written)
	}
	// A cycle expands without end.
	var cyc yaml.Node
	if err := yaml.Unmarshal([]byte("a: &x [1, 2]\n"), &cyc); err != nil {
		t.Fatal(err)
	}
	seq := cyc.Content[0].Content[1]
	seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.AliasNode, Alias: seq})
	if err := measureDocument(cyc.Content[0], budget.Limits{}, &measurer{memo: map[*yaml.Node]cost{}}); err == nil {
		t.Fatal("a cyclic alias passed")
	}
}

// TestHugeFileNotRead: a 300 MB file (sparse: it costs no disk) is
// refused from its size, and the process never holds it.
func TestHugeFileNotRead(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "zero.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(300 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, ds := Load([]string{dir}, Options{})
	if got := budgetRule(t, dir, ds); fmt.Sprint(got) != "[zero.yaml file size]" {
		t.Fatalf("refusals %v (all %v)", got, ds)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	if ru.Maxrss*1024 > 256<<20 {
		t.Fatalf("peak RSS %d MiB", ru.Maxrss>>10)
	}
}

func TestParseYAMLBudgets(t *testing.T) {
	_, ds := ParseYAML("rendered/x.yaml", []byte(aliasBomb(2000, 2000)), budget.Limits{})
	if len(ds) != 1 || ds[0].Rule != budget.Rule || ds[0].File != "rendered/x.yaml" {
		t.Fatalf("diags = %v", ds)
	}
	_, ds = ParseYAML("rendered/y.yaml", []byte(fmt.Sprintf(cm, "a")), budget.Limits{FileBytes: 10})
	if len(ds) != 1 || !strings.Contains(ds[0].Message, "file size") {
		t.Fatalf("diags = %v", ds)
	}
}

// TestSymlinkOutsideRoot: a link leading out of the tree is not followed
// and is named in a warning that never quotes what it points to.
func TestSymlinkOutsideRoot(t *testing.T) {
	outside := writeTree(t, map[string]string{"secret.yaml": "token: SECRET-TOKEN-VALUE\n: bad yaml [\n"})
	dir := writeTree(t, map[string]string{"ok.yaml": fmt.Sprintf(cm, "ok"), "sub/in.yaml": fmt.Sprintf(cm, "in")})
	for name, target := range map[string]string{
		"leak.yaml":     filepath.Join(outside, "secret.yaml"),
		"rel.yaml":      "../../" + filepath.Base(outside) + "/secret.yaml",
		"inside.yaml":   filepath.Join(dir, "sub", "in.yaml"),
		"cfg/.cue.yaml": filepath.Join(outside, "secret.yaml"), // hidden: skipped silently
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	docs, ds := Load([]string{dir}, Options{})
	got := summary(dir, docs, ds)
	want := []string{
		"inside.yaml#0@1:1 ConfigMap", "ok.yaml#0@1:1 ConfigMap", "sub/in.yaml#0@1:1 ConfigMap",
		"symlink leak.yaml: warning: symbolic link leads outside " + dir + "; not followed (berth reads only files inside the tree it checks)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, d := range ds {
		if strings.Contains(d.Message, "SECRET") {
			t.Fatalf("a diagnostic quotes the link's target: %v", d)
		}
	}
}

// TestLoadStringBomb: 162 bytes of CUE asking for a gigabyte string are
// refused, and neither this process nor the evaluator gets near it. It
// runs before the other evaluations of this file: RUSAGE_CHILDREN is the
// peak of every child so far.
func TestLoadStringBomb(t *testing.T) {
	dir := writeTree(t, map[string]string{"bomb/x.cue": "package x\nimport \"strings\"\nobjects: [{apiVersion: \"v1\", kind: \"ConfigMap\", metadata: name: \"c\", data: x: strings.Repeat(strings.Repeat(\"A\", 32768), 32768)}]\n"})
	_, ds := Load([]string{dir}, Options{})
	if got := budgetRule(t, dir, ds); fmt.Sprint(got) != "[bomb/x.cue evaluation memory]" {
		t.Fatalf("refusals %v (all %v)", got, ds)
	}
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err != nil {
			t.Fatal(err)
		}
		if ru.Maxrss*1024 > 256<<20 {
			t.Fatalf("peak RSS (%d) %d MiB, want under 256 MiB", who, ru.Maxrss>>10)
		}
		t.Logf("peak RSS (self 0, children -1) %d: %d MiB", who, ru.Maxrss>>10)
	}
}

func TestLoadRangeBombTimesOut(t *testing.T) {
	dir := writeTree(t, map[string]string{"bomb/x.cue": "package x\nimport \"list\"\nobjects: [for i in list.Range(0, 200000, 1) {apiVersion: \"v1\", kind: \"ConfigMap\", metadata: name: \"c\\(i)\", data: x: \"\\([for j in list.Range(0, i, 1) {j}])\"}]\n"})
	start := time.Now()
	_, ds := Load([]string{dir}, Options{Limits: budget.Limits{EvalTime: 2 * time.Second}})
	if got := budgetRule(t, dir, ds); fmt.Sprint(got) != "[bomb/x.cue evaluation time]" {
		t.Fatalf("refusals %v (all %v)", got, ds)
	}
	t.Logf("refused after %v", time.Since(start))
}

// TestCUENeverDialsARegistry: a registry that fails the test if anyone
// connects; module dependencies and imports are errors that name the
// module and say to vendor it.
func TestCUENeverDialsARegistry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dialed := make(chan string, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			dialed <- c.RemoteAddr().String()
			c.Close()
		}
	}()
	t.Setenv("CUE_REGISTRY", l.Addr().String()+"+insecure")
	mod := "module: \"example.com/app@v0\"\nlanguage: version: \"v0.9.0\"\n"
	dir := writeTree(t, map[string]string{
		"deps/cue.mod/module.cue":                  mod + "deps: \"example.com/dep@v0\": v: \"v0.1.0\"\n",
		"deps/x.cue":                               "package x\nobjects: []\n",
		"imp/cue.mod/module.cue":                   mod,
		"imp/x.cue":                                "package x\nimport \"example.com/other@v0:other\"\nobjects: [{apiVersion: \"v1\", kind: \"ConfigMap\", metadata: name: other.n}]\n",
		"vend/cue.mod/module.cue":                  mod,
		"vend/cue.mod/pkg/example.com/lib/lib.cue": "package lib\nn: \"from-lib\"\n",
		"vend/x.cue":                               "package x\nimport \"example.com/lib\"\nobjects: [{apiVersion: \"v1\", kind: \"ConfigMap\", metadata: name: lib.n}]\n",
	})
	docs, ds := Load([]string{dir}, Options{})
	got := summary(dir, docs, ds)
	want := []string{
		"vend/x.cue#0@3:11 ConfigMap",
		"cue deps/cue.mod/module.cue:3:7: error: CUE module example.com/dep@v0 is not in the repository, and berth never downloads modules: vendor its packages into cue.mod/pkg/ and remove it from deps in cue.mod/module.cue",
		`cue imp/x.cue:2:8: error: import failed: cannot find package "example.com/other@v0": cannot find module providing package example.com/other@v0 (berth never downloads CUE modules: vendor the package into cue.mod/pkg/ under its import path)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	select {
	case from := <-dialed:
		t.Fatalf("the registry got a connection from %s", from)
	default:
	}
}

// TestCUELinkOutside: a CUE file reached through a link out of the tree
// is not read, and its content never appears.
func TestCUELinkOutside(t *testing.T) {
	outside := writeTree(t, map[string]string{"lib/lib.cue": "package lib\nn: \"SECRET-FROM-OUTSIDE\"\n"})
	mod := "module: \"example.com/app@v0\"\nlanguage: version: \"v0.9.0\"\n"
	dir := writeTree(t, map[string]string{
		"app/cue.mod/module.cue": mod,
		"app/x.cue":              "package x\nimport \"example.com/lib\"\nobjects: [{apiVersion: \"v1\", kind: \"ConfigMap\", metadata: name: \"c\", data: x: lib.n}]\n",
	})
	os.MkdirAll(filepath.Join(dir, "app/cue.mod/pkg/example.com"), 0o755)
	if err := os.Symlink(filepath.Join(outside, "lib"), filepath.Join(dir, "app/cue.mod/pkg/example.com/lib")); err != nil {
		t.Fatal(err)
	}
	docs, ds := Load([]string{dir}, Options{})
	if len(docs) != 0 || len(ds) == 0 {
		t.Fatalf("docs %d, diags %v: want the package refused", len(docs), ds)
	}
	for _, d := range ds {
		if strings.Contains(d.Message, "SECRET") {
			t.Fatalf("the content behind the link leaked: %v", d)
		}
	}
	if !strings.Contains(ds[0].Message, "symbolic link that leads outside is not followed") &&
		!strings.Contains(ds[0].Message, "cannot confine CUE evaluation") {
		t.Fatalf("the refusal does not say why: %v", ds[0])
	}
}
