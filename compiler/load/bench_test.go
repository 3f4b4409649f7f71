package load

import (
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/bench/corpus"
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
