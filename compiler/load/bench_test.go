package load

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/bench/corpus"
	"berth.dev/berth/compiler/budget"
)

// benchFiles writes the lint benchmark's corpus (n objects) and returns
// its files' contents.
func benchFiles(b *testing.B, n int) (string, [][]byte, int64) {
	b.Helper()
	dir := b.TempDir()
	if err := corpus.Write(dir, n, 40); err != nil {
		b.Fatal(err)
	}
	var files [][]byte
	var size int64
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		files = append(files, data)
		size += int64(len(data))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return dir, files, size
}

// BenchmarkLoad10k is Load on the 10,000-object corpus with two workers,
// reading the files included.
func BenchmarkLoad10k(b *testing.B) {
	dir, _, size := benchFiles(b, 10000)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		docs, ds := Load([]string{dir}, Options{Workers: 2})
		if len(docs) != 10000 || len(ds) != 0 {
			b.Fatalf("%d documents, %v", len(docs), ds)
		}
	}
}

// BenchmarkParseFast and BenchmarkParseYAMLv3 parse the same documents on
// one goroutine, with the fast path and with yaml.v3 alone.
func BenchmarkParseFast(b *testing.B) {
	_, files, size := benchFiles(b, 2000)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		a := &arena{}
		for _, f := range files {
			parseYAML("f.yaml", f, a)
		}
	}
}

func BenchmarkParseYAMLv3(b *testing.B) {
	_, files, size := benchFiles(b, 2000)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range files {
			for _, c := range splitDocuments(string(f)) {
				var n yaml.Node
				if err := yaml.Unmarshal([]byte(c.text), &n); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// BenchmarkAliasBomb is the refusal of issue 19's 140 KB alias bomb
// (20,000 aliases to a container with a 20,000-element command): parse,
// measure, refuse.
func BenchmarkAliasBomb(b *testing.B) {
	data := []byte(aliasBomb(20000, 20000))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		out := parseYAMLLimited("bomb.yaml", data, nil, budget.Limits{})
		if len(out.docs) != 0 || len(out.diags) != 1 {
			b.Fatalf("%d documents, %v", len(out.docs), out.diags)
		}
	}
}

// BenchmarkCUEPackages20 is the cost of 20 small CUE packages, evaluated
// by one confined worker process (two execs of this binary, then one
// request per package).
func BenchmarkCUEPackages20(b *testing.B) {
	dir := b.TempDir()
	for i := range 20 {
		src := fmt.Sprintf("package p\nobjects: [for i in [1, 2, 3] {apiVersion: \"v1\", kind: \"ConfigMap\", metadata: name: \"c%d-\\(i)\"}]\n", i)
		p := filepath.Join(dir, fmt.Sprint("p", i), "p.cue")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		docs, ds := Load([]string{dir}, Options{Workers: 1})
		if len(docs) != 60 || len(ds) != 0 {
			b.Fatalf("%d documents, %v", len(docs), ds)
		}
	}
}
