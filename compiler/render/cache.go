package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
)

// Cache is the directory of charts fetched from outside the repository,
// one archive per digest: <Dir>/sha256-<hex>.tgz. What a file holds is
// checked against its name every time it is read, so a damaged or
// altered cache is an error, never a different plan.
type Cache struct {
	Dir string
}

// File is where the archive of ref lives in the cache.
func (c Cache) File(ref ChartRef) string {
	return filepath.Join(c.Dir, strings.Replace(ref.Digest, ":", "-", 1)+".tgz")
}

// Path returns the archive of ref when the cache holds it.
func (c Cache) Path(ref ChartRef) (string, bool) {
	if c.Dir == "" || !digestRE.MatchString(ref.Digest) {
		return "", false
	}
	f := c.File(ref)
	info, err := os.Stat(f)
	return f, err == nil && info.Mode().IsRegular()
}

// Load reads a cached archive, checks its digest, and that it is the
// chart and version ref names.
func (c Cache) Load(file string, ref ChartRef) (*chart.Chart, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if got := Digest(data); got != ref.Digest {
		return nil, fmt.Errorf("the cached archive %s has digest %s, not %s: remove it and fetch it again", file, got, ref.Digest)
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("read the chart archive: %w", err)
	}
	if ch.Name() != ref.Name || ch.Metadata.Version != ref.Version {
		return nil, fmt.Errorf("the archive with digest %s holds chart %s %s, not %s %s", ref.Digest, ch.Name(), ch.Metadata.Version, ref.Name, ref.Version)
	}
	return ch, nil
}

// Digest is the "sha256:<hex>" of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Fetcher downloads a chart archive; the daemon and `berth chart pull`
// provide one (reconciler/charts). Lint and plan have none: they render
// offline.
type Fetcher interface {
	Fetch(ctx context.Context, ref ChartRef) ([]byte, error)
}

// Put checks data against ref's digest and stores it in the cache.
func (c Cache) Put(ref ChartRef, data []byte) error {
	if got := Digest(data); got != ref.Digest {
		return fmt.Errorf("chart %s: the archive fetched has digest %s, but the HelmRelease pins %s; refusing it", ref, got, ref.Digest)
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.Dir, ".fetch-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, bytes.NewReader(data)); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), c.File(ref))
}
