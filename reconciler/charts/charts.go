// Package charts fetches Helm chart archives from outside the repository
// for the chart cache: from a Helm repository (its index.yaml) or an OCI
// registry. It is the only part of rendering that uses the network, and
// only the daemon and `berth chart pull` use it; the compiler checks
// every archive against the digest the HelmRelease pins
// (compiler/render.Cache).
package charts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
}

// Fetch downloads the archive ref names. The caller checks its digest.
func (f *Fetcher) Fetch(ctx context.Context, ref render.ChartRef) ([]byte, error) {
	timeout := f.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
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
	data, err := f.get(ctx, base.JoinPath("index.yaml").String(), nil)
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
		return f.get(ctx, u.String(), nil)
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
	data, err := f.get(ctx, base+"/manifests/"+url.PathEscape(ref.Version), map[string]string{"Accept": ociManifest})
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
		return f.get(ctx, base+"/blobs/"+l.Digest, nil)
	}
	return nil, fmt.Errorf("%s:%s is not a Helm chart (no %s layer)", hostPath+"/"+ref.Name, ref.Version, chartLayer)
}

// get reads a URL, answering a registry's anonymous bearer challenge once.
func (f *Fetcher) get(ctx context.Context, u string, headers map[string]string) ([]byte, error) {
	client := f.Client
	if client == nil {
		client = &http.Client{}
	}
	limit := f.MaxBytes
	if limit == 0 {
		limit = 64 << 20
	}
	token := ""
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			challenge := resp.Header.Get("WWW-Authenticate")
			resp.Body.Close()
			if token, err = f.anonymousToken(ctx, client, challenge); err != nil {
				return nil, fmt.Errorf("GET %s: 401, and no anonymous token: %w (berth fetches public charts only)", u, err)
			}
			continue
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", u, err)
		}
		if int64(len(data)) > limit {
			return nil, fmt.Errorf("GET %s: larger than %d bytes", u, limit)
		}
		return data, nil
	}
}

// anonymousToken answers a `Bearer realm=...,service=...,scope=...`
// challenge without credentials, as registries allow for public images.
func (f *Fetcher) anonymousToken(ctx context.Context, client *http.Client, challenge string) (string, error) {
	scheme, params, ok := strings.Cut(challenge, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errors.New("the registry asks for credentials")
	}
	p := map[string]string{}
	for _, kv := range strings.Split(params, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		p[k] = strings.Trim(v, `"`)
	}
	realm, err := url.Parse(p["realm"])
	if err != nil || p["realm"] == "" {
		return "", errors.New("the registry's challenge has no realm")
	}
	q := realm.Query()
	for _, k := range []string{"service", "scope"} {
		if p[k] != "" {
			q.Set(k, p[k])
		}
	}
	realm.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token: %s", resp.Status)
	}
	var t struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&t); err != nil {
		return "", err
	}
	if t.Token != "" {
		return t.Token, nil
	}
	return t.AccessToken, nil
}
