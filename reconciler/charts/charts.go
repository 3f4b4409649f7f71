// Package charts fetches Helm chart archives from outside the repository
// for the chart cache: from a Helm repository (its index.yaml) or an OCI
// registry, with the node's registry credentials (a Docker config.json)
// when the server asks for them. It is the only part of rendering that uses the network, and
// only the daemon and `berth chart pull` use it; the compiler checks
// every archive against the digest the HelmRelease pins
// (compiler/render.Cache).
package charts

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/render"
)

// Fetcher downloads chart archives. The zero value is usable.
type Fetcher struct {
	// Client is the HTTP client (default: http.DefaultClient's transport
	// with Timeout).
	Client *http.Client
	// PlainHTTP are registry hosts (host:port) spoken to over plain HTTP,
	// as the daemon's --insecure-registries.
	PlainHTTP []string
	// Timeout bounds one fetch (default 2 min).
	Timeout time.Duration
	// MaxBytes bounds an archive and an index (default 64 MiB).
	MaxBytes int64
	// Credentials answer a registry's or repository's request for them
	// (LoadCredentials); nil fetches public charts only.
	Credentials *Credentials
	// Log receives a debug line per request (URL and status, never a
	// header); nil discards them.
	Log *slog.Logger
}

// Fetch downloads the archive ref names. The caller checks its digest.
func (f *Fetcher) Fetch(ctx context.Context, ref render.ChartRef) ([]byte, error) {
	timeout := f.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := f.Credentials.refresh(); err != nil {
		return nil, err
	}
	if strings.HasPrefix(ref.Repository, "oci://") {
		return f.fetchOCI(ctx, ref)
	}
	return f.fetchRepo(ctx, ref)
}

// fetchRepo reads a Helm repository's index.yaml and downloads the
// version's archive.
func (f *Fetcher) fetchRepo(ctx context.Context, ref render.ChartRef) ([]byte, error) {
	base, err := url.Parse(strings.TrimSuffix(ref.Repository, "/") + "/")
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, fmt.Errorf("repository %q is not an https://, http:// or oci:// URL", ref.Repository)
	}
	s, err := f.session(&url.URL{Scheme: base.Scheme, Host: base.Host}, "repository")
	if err != nil {
		return nil, err
	}
	data, err := s.get(ctx, base.JoinPath("index.yaml").String(), nil)
	if err != nil {
		return nil, fmt.Errorf("read the repository index: %w", err)
	}
	var index struct {
		Entries map[string][]struct {
			Version string   `yaml:"version"`
			URLs    []string `yaml:"urls"`
			Digest  string   `yaml:"digest"`
		} `yaml:"entries"`
	}
	if err := yaml.Unmarshal(data, &index); err != nil {
		return nil, fmt.Errorf("read the repository index: %w", err)
	}
	for _, e := range index.Entries[ref.Name] {
		if e.Version != ref.Version || len(e.URLs) == 0 {
			continue
		}
		if e.Digest != "" && "sha256:"+e.Digest != ref.Digest {
			return nil, fmt.Errorf("the repository's index gives chart %s %s digest sha256:%s, but the HelmRelease pins %s", ref.Name, ref.Version, e.Digest, ref.Digest)
		}
		u, err := base.Parse(e.URLs[0])
		if err != nil {
			return nil, fmt.Errorf("chart URL %q: %w", e.URLs[0], err)
		}
		return s.get(ctx, u.String(), nil)
	}
	return nil, fmt.Errorf("the repository has no chart %s version %s", ref.Name, ref.Version)
}

// Media types of a Helm chart in an OCI registry.
const (
	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	chartLayer  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// fetchOCI reads the chart's manifest at its version tag and downloads
// the chart layer, whose digest is the archive's.
func (f *Fetcher) fetchOCI(ctx context.Context, ref render.ChartRef) ([]byte, error) {
	hostPath := strings.TrimSuffix(strings.TrimPrefix(ref.Repository, "oci://"), "/")
	host, path, _ := strings.Cut(hostPath, "/")
	repo := strings.TrimPrefix(path+"/"+ref.Name, "/")
	scheme := "https"
	if slices.Contains(f.PlainHTTP, host) {
		scheme = "http"
	}
	base := scheme + "://" + host + "/v2/" + repo
	s, err := f.session(&url.URL{Scheme: scheme, Host: host}, "registry")
	if err != nil {
		return nil, err
	}
	data, err := s.get(ctx, base+"/manifests/"+url.PathEscape(ref.Version), map[string]string{"Accept": ociManifest})
	if err != nil {
		return nil, fmt.Errorf("read the chart's manifest: %w", err)
	}
	var m struct {
		Layers []struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read the chart's manifest: %w", err)
	}
	for _, l := range m.Layers {
		if l.MediaType != chartLayer {
			continue
		}
		if l.Digest != ref.Digest {
			return nil, fmt.Errorf("the registry's chart %s %s has digest %s, but the HelmRelease pins %s", ref.Name, ref.Version, l.Digest, ref.Digest)
		}
		return s.get(ctx, base+"/blobs/"+l.Digest, nil)
	}
	return nil, fmt.Errorf("%s:%s is not a Helm chart (no %s layer)", hostPath+"/"+ref.Name, ref.Version, chartLayer)
}

func (f *Fetcher) log() *slog.Logger {
	if f.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Log
}
