package charts

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/helmpath"

	"berth.dev/berth/compiler/dockercfg"
)

// MaxRegistryConfigBytes bounds a registry config file: Docker's and
// Helm's hold a few entries of a few hundred bytes.
const MaxRegistryConfigBytes = 1 << 20

// Credentials are the registry credentials of a Docker config.json (what
// `helm registry login` and `docker login` write), keyed by registry
// host. They are node configuration: nothing in the plan depends on them.
// No method returns or prints a credential.
type Credentials struct {
	file string

	mu      sync.Mutex // a followed file is re-read while fetches run
	entries []dockercfg.DockerAuth
	stamp   stamp // the file's when it was read
	follow  func(secrets, warnings []string)
}

// stamp tells a rewritten file (a rotated token) from the one read.
type stamp struct {
	mod  time.Time
	size int64
}

// DefaultRegistryConfig is where Helm keeps registry credentials:
// $HELM_REGISTRY_CONFIG, else registry/config.json under Helm's config
// directory ($HELM_CONFIG_HOME, else $XDG_CONFIG_HOME/helm, else
// ~/.config/helm), as helm.sh/helm/v4/pkg/cli computes it.
func DefaultRegistryConfig() string {
	if f := os.Getenv("HELM_REGISTRY_CONFIG"); f != "" {
		return f
	}
	return helmpath.ConfigPath("registry", "config.json")
}

// LoadCredentials reads a registry config file. Warnings say what a
// reader should fix but does not stop a fetch: a file others may read,
// credential helpers berth does not run. The errors name the file and
// the line, column or field, and never quote the content.
func LoadCredentials(file string) (*Credentials, []string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, fmt.Errorf("registry config: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("registry config: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("registry config %s is not a regular file", file)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxRegistryConfigBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("registry config: %w", err)
	}
	if len(data) > MaxRegistryConfigBytes {
		return nil, nil, fmt.Errorf("registry config %s is larger than %d bytes: it should hold a few registries' credentials", file, MaxRegistryConfigBytes)
	}
	var warnings []string
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		warnings = append(warnings, fmt.Sprintf("registry config %s has mode %04o: others on this machine can read its credentials; chmod 600 %s", file, perm, file))
	}
	c, more, err := ParseCredentials(file, data)
	if c != nil {
		c.stamp = stamp{info.ModTime(), info.Size()}
	}
	return c, append(warnings, more...), err
}

// Follow makes the credentials follow their file: before each fetch, a
// file rewritten since it was read (a rotated token: registry tokens of
// cloud registries last hours) is read again, and f is told the new
// values to mask and the warnings. A file that has become malformed fails
// the fetch with its error.
func (c *Credentials) Follow(f func(secrets, warnings []string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.follow = f
}

// refresh re-reads a followed file that changed.
func (c *Credentials) refresh() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	follow, old := c.follow, c.stamp
	c.mu.Unlock()
	if follow == nil {
		return nil
	}
	if info, err := os.Stat(c.file); err == nil && info.ModTime().Equal(old.mod) && info.Size() == old.size {
		return nil
	}
	fresh, warnings, err := LoadCredentials(c.file)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.entries, c.stamp = fresh.entries, fresh.stamp
	c.mu.Unlock()
	follow(fresh.Secrets(), warnings)
	return nil
}

// ParseCredentials reads the content of a registry config file with the
// one reader of Docker's format (dockercfg.ParseDockerConfigJSON), which image
// pull Secrets use too.
func ParseCredentials(file string, data []byte) (*Credentials, []string, error) {
	entries, err := dockercfg.ParseDockerConfigJSON(data)
	if err != nil {
		var je *dockercfg.JSONError
		if errors.As(err, &je) && je.Offset > 0 {
			line, col := position(data, je.Offset)
			return nil, nil, fmt.Errorf("%s:%d:%d: registry config %w (Docker's config.json format: {\"auths\": {\"HOST\": {\"auth\": \"base64 of user:password\"}}})", file, line, col, err)
		}
		return nil, nil, fmt.Errorf("%s: registry config: %w", file, err)
	}
	// Helpers hold credentials outside the file; berth runs no program.
	var helpers struct {
		CredsStore  string            `json:"credsStore"`
		CredHelpers map[string]string `json:"credHelpers"`
	}
	_ = json.Unmarshal(data, &helpers) // the shape was checked above
	var warnings []string
	if helpers.CredsStore != "" || len(helpers.CredHelpers) > 0 {
		warnings = append(warnings, fmt.Sprintf("registry config %s names credential helpers (credsStore, credHelpers), which berth does not run: only the credentials written in the file are used (log in with --registry-config pointing at a file of its own, or set \"credsStore\": \"\" first)", file))
	}
	return &Credentials{file: file, entries: entries}, warnings, nil
}

// position is the 1-based line and column of a byte offset; encoding/json
// reports the offset just past the offending byte.
func position(data []byte, offset int64) (int, int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:max(offset-1, 0)]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// File is the file the credentials came from, for messages.
func (c *Credentials) File() string {
	if c == nil {
		return ""
	}
	return c.file
}

// lookup finds the credentials for a registry host (host[:port]). As
// Docker and ORAS do, a key is a host, or a URL whose host is meant
// ("https://registry.example.com/v1/"), and Docker Hub's registry is
// stored under "https://index.docker.io/v1/". An exact key wins.
func (c *Credentials) lookup(host string) (dockercfg.DockerAuth, bool) {
	if c == nil {
		return dockercfg.DockerAuth{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	want := []string{host}
	if host == "registry-1.docker.io" || host == "docker.io" || host == "index.docker.io" {
		want = []string{"https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"}
	}
	for _, w := range want {
		for _, e := range c.entries {
			if e.Registry == w {
				return e, true
			}
		}
		for _, e := range c.entries {
			if keyHost(e.Registry) == w {
				return e, true
			}
		}
	}
	return dockercfg.DockerAuth{}, false
}

// keyHost is the host of an auths key: the key without scheme and path.
func keyHost(key string) string {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	key, _, _ = strings.Cut(key, "/")
	return key
}

// Secrets are the values to mask wherever berth shows text: passwords,
// tokens and the basic-auth headers they make.
func (c *Credentials) Secrets() []string {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.entries {
		out = append(out, e.Password, e.IdentityToken, e.RegistryToken)
		if e.Password != "" {
			out = append(out, base64.StdEncoding.EncodeToString([]byte(e.Username+":"+e.Password)))
		}
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// hasAny reports whether an entry holds a credential: Docker leaves an
// empty entry behind when a helper keeps the secret.
func hasAny(a dockercfg.DockerAuth) bool {
	return a.Username != "" || a.Password != "" || a.IdentityToken != "" || a.RegistryToken != ""
}

// displayFile is the file for a message, "" becoming a hint.
func displayFile(c *Credentials) string {
	if c == nil || c.file == "" {
		return "--registry-config FILE"
	}
	return "--registry-config " + filepath.Clean(c.file)
}
