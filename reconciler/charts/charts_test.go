package charts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/render"
	"berth.dev/berth/reconciler/charts"
)

// archive packages the scaffold chart of compiler/render's testdata.
func archive(t *testing.T) []byte {
	t.Helper()
	c, err := loader.LoadDir("../../compiler/render/testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	file, err := chartutil.Save(c, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// helmRepo serves an index.yaml and the archive, as a static Helm
// repository does.
func helmRepo(t *testing.T, data []byte, indexDigest string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/charts/index.yaml":
			fmt.Fprintf(w, "apiVersion: v1\nentries:\n  hello:\n    - version: 0.1.0\n      digest: %s\n      urls: [hello-0.1.0.tgz]\n    - version: 0.0.9\n      urls: [old.tgz]\n", indexDigest)
		case "/charts/hello-0.1.0.tgz":
			w.Write(data)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// ociRegistry answers the two reads a chart pull makes, behind an
// anonymous bearer challenge, as public registries do.
func ociRegistry(t *testing.T, data []byte) *httptest.Server {
	digest := render.Digest(data)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			if r.URL.Query().Get("scope") != "repository:charts/hello:pull" {
				http.Error(w, "bad scope", http.StatusBadRequest)
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"token": "anon"})
			return
		case r.Header.Get("Authorization") != "Bearer anon":
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="test",scope="repository:charts/hello:pull"`, srv.URL))
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/v2/charts/hello/manifests/0.1.0":
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			fmt.Fprintf(w, `{"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:00","size":2},"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":%q,"size":%d}]}`, digest, len(data))
		case r.URL.Path == "/v2/charts/hello/blobs/"+digest:
			w.Write(data)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetch(t *testing.T) {
	data := archive(t)
	digest := render.Digest(data)
	hex := strings.TrimPrefix(digest, "sha256:")
	repo := helmRepo(t, data, hex)
	reg := ociRegistry(t, data)
	regHost := strings.TrimPrefix(reg.URL, "http://")

	cases := []struct {
		name string
		ref  render.ChartRef
		f    charts.Fetcher
		err  string
	}{
		{"helm repository", render.ChartRef{Repository: repo.URL + "/charts", Name: "hello", Version: "0.1.0", Digest: digest}, charts.Fetcher{}, ""},
		{"oci registry", render.ChartRef{Repository: "oci://" + regHost + "/charts", Name: "hello", Version: "0.1.0", Digest: digest}, charts.Fetcher{PlainHTTP: []string{regHost}}, ""},
		{"no such version", render.ChartRef{Repository: repo.URL + "/charts", Name: "hello", Version: "9.9.9", Digest: digest}, charts.Fetcher{}, "has no chart hello version 9.9.9"},
		{"index pins another digest", render.ChartRef{Repository: repo.URL + "/charts", Name: "hello", Version: "0.1.0", Digest: "sha256:" + strings.Repeat("0", 64)}, charts.Fetcher{}, "but the HelmRelease pins"},
		{"registry has another digest", render.ChartRef{Repository: "oci://" + regHost + "/charts", Name: "hello", Version: "0.1.0", Digest: "sha256:" + strings.Repeat("1", 64)}, charts.Fetcher{PlainHTTP: []string{regHost}}, "but the HelmRelease pins"},
		{"archive too large", render.ChartRef{Repository: repo.URL + "/charts", Name: "hello", Version: "0.1.0", Digest: digest}, charts.Fetcher{MaxBytes: 100}, "larger than 100 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.f.Fetch(context.Background(), c.ref)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if render.Digest(got) != digest {
				t.Fatalf("fetched %d bytes with another digest", len(got))
			}
		})
	}
}

// TestReleaseFetchedOnceThenOffline: a HelmRelease naming a chart in a
// repository renders after one fetch into the cache, then offline; a
// cache entry altered on disk is refused.
func TestReleaseFetchedOnceThenOffline(t *testing.T) {
	data := archive(t)
	digest := render.Digest(data)
	repo := helmRepo(t, data, strings.TrimPrefix(digest, "sha256:"))
	dir := t.TempDir()
	file := filepath.Join(dir, "release.yaml")
	rel := fmt.Sprintf("apiVersion: berth.dev/v1\nkind: HelmRelease\nmetadata: {name: web, namespace: shop}\nspec:\n  chart:\n    repository: %s/charts\n    name: hello\n    version: 0.1.0\n    digest: %s\n  values:\n    serviceAccount: {create: false}\n", repo.URL, digest)
	if err := os.WriteFile(file, []byte(rel), 0o644); err != nil {
		t.Fatal(err)
	}
	docs, _ := load.ParseYAML(file, []byte(rel), budget.Limits{})
	cache := filepath.Join(dir, "cache")

	out := render.New(render.Options{Root: dir, ChartCache: cache, Fetcher: &charts.Fetcher{}}).RenderSources(nil, docs)
	if len(out.Diags) > 0 || len(out.Docs) != 2 {
		t.Fatalf("fetching render: %d docs, %v", len(out.Docs), out.Diags)
	}
	for _, d := range out.Docs {
		if d.File != file {
			t.Errorf("a cached chart's object shows under %s, want the HelmRelease's file", d.File)
		}
	}
	repo.Close()
	offline := render.New(render.Options{Root: dir, ChartCache: cache}).RenderSources(nil, docs)
	if len(offline.Diags) > 0 || len(offline.Docs) != 2 {
		t.Fatalf("offline render: %d docs, %v", len(offline.Docs), offline.Diags)
	}

	cached := (render.Cache{Dir: cache}).File(render.ChartRef{Digest: digest})
	if err := os.WriteFile(cached, append(data, 0), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := render.New(render.Options{Root: dir, ChartCache: cache}).RenderSources(nil, docs)
	if len(bad.Diags) != 1 || !strings.Contains(bad.Diags[0].Message, "remove it and fetch it again") {
		t.Fatalf("altered cache: %v", bad.Diags)
	}
}
