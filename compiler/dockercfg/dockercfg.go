// Package dockercfg reads the registry credentials of image pull
// Secrets (.dockerconfigjson and the legacy .dockercfg), as the kubelet
// does: the one reader of that payload, for lint (compiler/validate) and
// for the plan's pull credentials (compiler/plan), so that lint refuses
// what the plan cannot use.
package dockercfg

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// The Secret keys that hold the payloads.
const (
	ConfigKey     = ".dockercfg"
	ConfigJSONKey = ".dockerconfigjson"
)

// DockerAuth is one registry's credentials from an image pull Secret.
type DockerAuth struct {
	Registry, Username, Password string
}

// ParseDockerConfigJSON reads the .dockerconfigjson of a
// kubernetes.io/dockerconfigjson Secret, {"auths": {host: {username,
// password | auth}}}, as the kubelet does, sorted by registry. It is the
// one reader of that payload: lint refuses what the plan cannot use. The
// error never quotes the content: it is a secret.
func ParseDockerConfigJSON(raw []byte) ([]DockerAuth, error) {
	var cfg struct {
		Auths map[string]dockerConfigEntry `json:"auths"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, jsonError(err)
	}
	return entries(cfg.Auths)
}

// ParseDockercfg reads the .dockercfg of a kubernetes.io/dockercfg
// Secret, the legacy {host: {username, password | auth}}.
func ParseDockercfg(raw []byte) ([]DockerAuth, error) {
	var auths map[string]dockerConfigEntry
	if err := json.Unmarshal(raw, &auths); err != nil {
		return nil, jsonError(err)
	}
	return entries(auths)
}

type dockerConfigEntry struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Auth     string `json:"auth"`
}

func entries(auths map[string]dockerConfigEntry) ([]DockerAuth, error) {
	hosts := make([]string, 0, len(auths))
	for h := range auths {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	out := make([]DockerAuth, 0, len(hosts))
	for _, host := range hosts {
		a := auths[host]
		user, pass := a.Username, a.Password
		if user == "" && a.Auth != "" {
			b, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("auths[%q].auth is not base64", host)
			}
			u, p, ok := strings.Cut(string(b), ":")
			if !ok {
				return nil, fmt.Errorf("auths[%q].auth is not base64 of user:password", host)
			}
			user, pass = u, p
		}
		out = append(out, DockerAuth{Registry: host, Username: user, Password: pass})
	}
	return out, nil
}

// jsonError describes a JSON error by its offset only: encoding/json
// quotes the offending character, and the content is a secret.
func jsonError(err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("must be valid JSON (syntax error at byte %d)", syn.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Errorf("must be valid JSON of the expected shape (%s at byte %d is a JSON %s)", typ.Field, typ.Offset, typ.Value)
	}
	return errors.New("must be valid JSON")
}
