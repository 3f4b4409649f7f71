package testimage

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"berth.dev/berth/internal/testneed"
)

func TestBuildDeterministic(t *testing.T) {
	needBusybox(t)
	a, err := Build(BusyboxPath, "example/busybox:test")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(BusyboxPath, "example/busybox:test")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Data, b.Data) || a.Manifest != b.Manifest {
		t.Fatal("two builds differ")
	}
	names := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(a.Data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
	}
	for _, want := range []string{"oci-layout", "index.json", "blobs/sha256/" + a.Manifest[7:]} {
		if !names[want] {
			t.Errorf("archive lacks %s", want)
		}
	}
}

func TestPublish(t *testing.T) {
	ref, missing, err := FromEnv(context.Background())
	testneed.Env(t, "integration", missing)
	if err != nil {
		t.Fatal(err)
	}
	if ref != Ref(os.Getenv("BERTH_TEST_REGISTRY")) {
		t.Fatalf("ref %q", ref)
	}
}

func BenchmarkBuild(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(BusyboxPath, "example/busybox:test"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBuildConfigRecordsCommand(t *testing.T) {
	needBusybox(t)
	a, err := BuildConfig(BusyboxPath, "example/hello:v1", ImageConfig{Cmd: []string{"sh", "-c", "httpd"}, Env: []string{"V=1"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build(BusyboxPath, "example/hello:v1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Manifest == d.Manifest {
		t.Error("configured image has the default image's manifest")
	}
	for _, want := range []string{`"Cmd":["sh","-c","httpd"]`, `"V=1"`} {
		if !bytes.Contains(a.Data, []byte(want)) {
			t.Errorf("image config lacks %s", want)
		}
	}
}

// needBusybox skips loudly without busybox-static, and fails under CI=true
// (scripts/testenv.sh installs it).
func needBusybox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(BusyboxPath); err != nil {
		testneed.Env(t, "integration", BusyboxPath+" (install busybox-static)")
	}
}
