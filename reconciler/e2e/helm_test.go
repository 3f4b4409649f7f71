package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"

	"berth.dev/berth/compiler"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/render"
	"berth.dev/berth/nodes"
	"berth.dev/berth/nodes/testimage"
	"berth.dev/berth/reconciler/charts"
)

// TestHelmScaffoldOnContainerd: the chart `helm create` scaffolds,
// pushed to the test registry as an OCI chart, named by a HelmRelease
// with its digest, is fetched into the chart cache, rendered, planned and
// started on containerd; its pods pass the chart's own readiness probe
// and serve.
func TestHelmScaffoldOnContainerd(t *testing.T) {
	n := newNode(t)
	registry := os.Getenv("BERTH_TEST_REGISTRY")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The app: a busybox httpd on port 8000, as the demo's hello image.
	ref := registry + "/berth/hello-helm:v1"
	a, err := testimage.BuildConfig(testimage.BusyboxPath, ref, testimage.ImageConfig{Cmd: []string{"sh", "-c",
		`mkdir -p /tmp/www && echo "hello from $HOSTNAME" > /tmp/www/index.html && httpd -f -p 8000 -h /tmp/www & pid=$!; trap 'kill $pid; exit 0' TERM INT; wait $pid`}})
	if err != nil {
		t.Fatal(err)
	}
	if err := testimage.PublishArchive(ctx, os.Getenv("BERTH_TEST_CONTAINERD"), registry, a); err != nil {
		t.Fatal(err)
	}

	// The chart, as `helm package` makes it, pushed as an OCI artifact.
	c, err := loader.LoadDir("../../compiler/render/testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	tgz, err := chartutil.Save(c, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	archive, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	digest := pushChart(t, ctx, registry, "berth-charts/hello", "0.1.0", archive)

	repo := t.TempDir()
	release := fmt.Sprintf(`apiVersion: berth.dev/v1
kind: HelmRelease
metadata:
  name: hello
spec:
  chart:
    repository: oci://%s/berth-charts
    name: hello
    version: 0.1.0
    digest: %s
  values:
    replicaCount: 2
    image: {repository: %s/berth/hello-helm, tag: v1}
    service: {port: 8000}
`, registry, digest, registry)
	if err := os.WriteFile(filepath.Join(repo, "hello.yaml"), []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := compiler.CompileOptions{
		Options: compiler.Options{
			// Everything the scaffold renders is accepted as written: its
			// ServiceAccount and the pods' serviceAccountName included.
			Render: render.Options{ChartCache: filepath.Join(n.dir, "charts"),
				Fetcher: &charts.Fetcher{PlainHTTP: []string{registry}}},
		},
		Revision:    "helm-1",
		LocalNode:   compiler.LocalNode{Name: "n1", Capacity: plan.Resources{MilliCPU: 4000, Memory: 8 << 30, Pods: 110}},
		PodCIDR:     "10.99.0.0/16",
		ServiceCIDR: "10.98.0.0/16",
	}
	p, diags, err := compiler.CompilePaths([]string{repo}, opts)
	if err != nil || p == nil {
		t.Fatalf("compile: %v %v", err, diags)
	}
	if len(p.Workloads) != 1 || p.Workloads[0].Name != "hello" || len(p.Services) != 1 {
		t.Fatalf("plan: workloads %+v services %+v", p.Workloads, p.Services)
	}
	for _, d := range diags {
		if d.Severity != diag.Note {
			t.Errorf("the scaffold chart gives %s", d)
		}
	}

	n.converge(p, 2*time.Minute, nil)
	st, err := n.rt.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ready := 0
	for _, pod := range st.Pods {
		if !pod.Ready {
			continue
		}
		ready++
		body := httpGet(t, "http://"+pod.IP+":8000/")
		if !strings.Contains(body, "hello from "+pod.Name) {
			t.Errorf("%s answers %q", pod.Name, body)
		}
	}
	if ready != 2 {
		t.Fatalf("%d ready pods, want 2: %+v", ready, podNames(st))
	}

	// The cache now holds the chart: the same commit compiles offline to
	// the same plan.
	opts.Render.Fetcher = nil
	again, diags, err := compiler.CompilePaths([]string{repo}, opts)
	if err != nil || again == nil {
		t.Fatalf("offline compile: %v %v", err, diags)
	}
	a1, _ := json.Marshal(p)
	a2, _ := json.Marshal(again)
	if !bytes.Equal(a1, a2) {
		t.Fatalf("the offline plan differs from the first")
	}
}

func podNames(st nodes.NodeState) []string {
	var out []string
	for _, p := range st.Pods {
		out = append(out, fmt.Sprintf("%s ready=%v", p.Name, p.Ready))
	}
	return out
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// pushChart uploads a chart archive to a plain-HTTP registry as Helm
// does (`helm push`): the archive as a layer of a chart media type, under
// an OCI manifest tagged with the version. It returns the layer digest.
func pushChart(t *testing.T, ctx context.Context, registry, repo, version string, archive []byte) string {
	t.Helper()
	base := "http://" + registry + "/v2/" + repo
	upload := func(data []byte) string {
		d := render.Digest(data)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/blobs/uploads/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusAccepted || loc == "" {
			t.Fatalf("start upload: %s", resp.Status)
		}
		if !strings.HasPrefix(loc, "http") {
			loc = "http://" + registry + loc
		}
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		req, _ = http.NewRequestWithContext(ctx, http.MethodPut, loc+sep+"digest="+d, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("upload blob: %s", resp.Status)
		}
		return d
	}
	config := []byte(`{"name":"hello","version":"` + version + `"}`)
	cd, ld := upload(config), upload(archive)
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": cd, "size": len(config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": ld, "size": len(archive)}},
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, base+"/manifests/"+version, bytes.NewReader(manifest))
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push manifest: %s %s", resp.Status, body)
	}
	return ld
}
