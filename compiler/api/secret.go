package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// The Secret types whose content the API server checks.
const (
	SecretTypeDockerConfigJSON = "kubernetes.io/dockerconfigjson"
	SecretTypeDockerConfig     = "kubernetes.io/dockercfg"
	SecretTypeBasicAuth        = "kubernetes.io/basic-auth"
	SecretTypeSSHAuth          = "kubernetes.io/ssh-auth"
	SecretTypeTLS              = "kubernetes.io/tls"
)

// CheckSecretContent checks what a Secret's type requires of its content,
// as the API server's ValidateSecret does, and what berth needs to use a
// pull secret: lint and plan both call it, so a Secret that plan would
// refuse fails lint too. data holds the decoded values of data and
// stringData. It returns "" when the content is good, else a message that
// names the key and never quotes a value.
func CheckSecretContent(typ string, data map[string]string) string {
	has := func(k string) bool { _, ok := data[k]; return ok }
	switch typ {
	case SecretTypeDockerConfigJSON:
		raw, ok := data[".dockerconfigjson"]
		if !ok {
			return needKey(typ, ".dockerconfigjson")
		}
		if _, err := ParseDockerConfigJSON(raw); err != nil {
			return fmt.Sprintf("data[.dockerconfigjson]: %v", err)
		}
	case SecretTypeDockerConfig:
		raw, ok := data[".dockercfg"]
		if !ok {
			return needKey(typ, ".dockercfg")
		}
		if !json.Valid([]byte(raw)) {
			return "data[.dockercfg]: the value is not valid JSON (the value is not shown: it is a secret)"
		}
	case SecretTypeBasicAuth:
		// Either may be empty, but one must be there.
		if !has("username") && !has("password") {
			return fmt.Sprintf("a Secret of type %s needs the key \"username\" or \"password\" in data or stringData", typ)
		}
	case SecretTypeSSHAuth:
		if data["ssh-privatekey"] == "" {
			return needKey(typ, "ssh-privatekey")
		}
	case SecretTypeTLS:
		for _, k := range []string{"tls.crt", "tls.key"} {
			if !has(k) {
				return needKey(typ, k)
			}
		}
	}
	return ""
}

func needKey(typ, key string) string {
	return fmt.Sprintf("a Secret of type %s needs the key %q in data or stringData", typ, key)
}

// RegistryCredential is one registry's login in a .dockerconfigjson.
type RegistryCredential struct {
	Registry, Username, Password string
}

// dockerConfig is the payload of a kubernetes.io/dockerconfigjson Secret.
type dockerConfig struct {
	Auths map[string]struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Auth     string `json:"auth"`
	} `json:"auths"`
}

// ParseDockerConfigJSON reads {"auths": {host: {username, password | auth}}},
// sorted by registry. An error never quotes the content: it is a secret.
func ParseDockerConfigJSON(raw string) ([]RegistryCredential, error) {
	var cfg dockerConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return nil, fmt.Errorf(".dockerconfigjson is not valid JSON of the form {\"auths\": {registry: {\"username\", \"password\"}}} (the value is not shown: it is a secret)")
	}
	hosts := make([]string, 0, len(cfg.Auths))
	for h := range cfg.Auths {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	out := make([]RegistryCredential, 0, len(hosts))
	for _, host := range hosts {
		a := cfg.Auths[host]
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
		out = append(out, RegistryCredential{Registry: host, Username: user, Password: pass})
	}
	return out, nil
}
