// Package testimage builds a small OCI image from the node's busybox-static
// binary, for tests and demos that need a real image without internet
// access. The image holds /bin/busybox and symlinks for the applets the
// tests use (sh, httpd, sleep, cat, wget, nc, ...).
package testimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"time"
)

// BusyboxPath is where Debian's busybox-static installs its binary.
const BusyboxPath = "/bin/busybox"

// Applets are the busybox applets linked into the image's /bin.
var applets = []string{
	"sh", "ash", "httpd", "sleep", "cat", "wget", "nc", "echo", "ls", "env",
	"hostname", "id", "ip", "ifconfig", "mkdir", "rm", "touch", "true", "false",
	"test", "[", "head", "tail", "grep", "sed", "dd", "kill", "ps", "mount",
	"date", "printf", "yes", "seq", "sort", "wc", "tee", "timeout", "nslookup",
}

// epoch keeps the image byte-identical between builds (digests are stable).
var epoch = time.Unix(0, 0).UTC()

// Archive is a built image in the OCI image-layout tar format.
type Archive struct {
	// Ref is the name recorded in the index (org.opencontainers.image.ref.name).
	Ref string
	// Data is the tar stream, for containerd's or podman's import.
	Data []byte
	// Manifest is the digest of the image manifest.
	Manifest string
}

type blob struct {
	mediaType string
	data      []byte
}

func (b blob) digest() string {
	sum := sha256.Sum256(b.data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (b blob) descriptor() map[string]any {
	return map[string]any{"mediaType": b.mediaType, "digest": b.digest(), "size": len(b.data)}
}

// ImageConfig is what an image runs by default; empty fields take the
// defaults (Cmd sh, WorkingDir /). Env comes after PATH.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	// Files are added to the image, executable, by path (e.g.
	// "bin/resolve": a static test tool).
	Files map[string][]byte
}

// Build makes the image from the busybox binary at busyboxPath and names
// it ref (e.g. "127.0.0.1:5000/berth/busybox:test").
func Build(busyboxPath, ref string) (*Archive, error) {
	return BuildConfig(busyboxPath, ref, ImageConfig{})
}

// BuildConfig is Build with a default command and environment: an app
// image such as the demo's hello server.
func BuildConfig(busyboxPath, ref string, ic ImageConfig) (*Archive, error) {
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, fmt.Errorf("read busybox (install busybox-static): %w", err)
	}
	layerTar, err := rootfs(bin, ic.Files)
	if err != nil {
		return nil, err
	}
	diffSum := sha256.Sum256(layerTar)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.ModTime = epoch
	if _, err := zw.Write(layerTar); err != nil {
		return nil, fmt.Errorf("compress layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress layer: %w", err)
	}
	layer := blob{"application/vnd.oci.image.layer.v1.tar+gzip", gz.Bytes()}

	cfg := map[string]any{
		"Env":        append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, ic.Env...),
		"Cmd":        []string{"sh"},
		"WorkingDir": "/",
	}
	if len(ic.Cmd) > 0 {
		cfg["Cmd"] = ic.Cmd
	}
	if len(ic.Entrypoint) > 0 {
		cfg["Entrypoint"] = ic.Entrypoint
	}
	if ic.WorkingDir != "" {
		cfg["WorkingDir"] = ic.WorkingDir
	}
	cfgJSON, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      epoch.Format(time.RFC3339),
		"config":       cfg,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(diffSum[:])}},
	})
	if err != nil {
		return nil, err
	}
	config := blob{"application/vnd.oci.image.config.v1+json", cfgJSON}

	manJSON, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        config.descriptor(),
		"layers":        []any{layer.descriptor()},
	})
	if err != nil {
		return nil, err
	}
	manifest := blob{"application/vnd.oci.image.manifest.v1+json", manJSON}
	mdesc := manifest.descriptor()
	mdesc["annotations"] = map[string]string{
		"org.opencontainers.image.ref.name": ref,
		"io.containerd.image.name":          ref,
	}
	mdesc["platform"] = map[string]string{"architecture": runtime.GOARCH, "os": "linux"}
	indexJSON, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests":     []any{mdesc},
	})
	if err != nil {
		return nil, err
	}

	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	files := []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", indexJSON},
	}
	for _, b := range []blob{layer, config, manifest} {
		files = append(files, struct {
			name string
			data []byte
		}{"blobs/sha256/" + b.digest()[len("sha256:"):], b.data})
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &Archive{Ref: ref, Data: out.Bytes(), Manifest: manifest.digest()}, nil
}

// rootfs is the uncompressed layer: directories, busybox, applet links,
// and the minimal /etc files a container expects.
func rootfs(bin []byte, extra map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: mode, ModTime: epoch})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range []string{"bin", "dev", "etc", "proc", "sys", "root", "usr", "usr/bin", "var", "www"} {
		if err := dir(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := dir("tmp", 0o1777); err != nil {
		return nil, err
	}
	if err := file("bin/busybox", 0o755, bin); err != nil {
		return nil, err
	}
	for _, a := range applets {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777, ModTime: epoch}); err != nil {
			return nil, err
		}
	}
	etc := map[string]string{
		"etc/passwd":     "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":      "root:x:0:\nnobody:x:65534:\n",
		"www/index.html": "berth test image\n",
	}
	for _, name := range []string{"etc/group", "etc/passwd", "www/index.html"} {
		if err := file(name, 0o644, []byte(etc[name])); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(extra))
	for name := range extra {
		names = append(names, name)
	}
	slices.Sort(names) // byte-identical images
	for _, name := range names {
		if err := file(name, 0o755, extra[name]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteTo writes the archive to w (an io.WriterTo for `podman load`).
func (a *Archive) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(a.Data)
	return int64(n), err
}
