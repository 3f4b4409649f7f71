package api

import (
	"strings"
	"testing"
)

func TestCheckSecretContent(t *testing.T) {
	tests := []struct {
		typ  string
		data map[string]string
		want string // "" passes
	}{
		{"Opaque", nil, ""},
		{SecretTypeDockerConfigJSON, map[string]string{".dockerconfigjson": `{"auths":{"r.example":{"auth":"dTpw"}}}`}, ""},
		{SecretTypeDockerConfigJSON, map[string]string{".dockerconfigjson": `{}`}, ""},
		{SecretTypeDockerConfigJSON, nil, `needs the key ".dockerconfigjson"`},
		{SecretTypeDockerConfigJSON, map[string]string{".dockerconfigjson": `{"auths": hunter2`}, "not valid JSON"},
		{SecretTypeDockerConfigJSON, map[string]string{".dockerconfigjson": `{"auths":{"r":{"auth":"!!hunter2"}}}`}, `auths["r"].auth is not base64`},
		{SecretTypeDockerConfig, map[string]string{".dockercfg": `{"r":{}}`}, ""},
		{SecretTypeDockerConfig, map[string]string{".dockercfg": `hunter2`}, "not valid JSON"},
		{SecretTypeBasicAuth, map[string]string{"password": ""}, ""},
		{SecretTypeBasicAuth, map[string]string{"user": "x"}, `needs the key "username" or "password"`},
		{SecretTypeSSHAuth, map[string]string{"ssh-privatekey": ""}, `needs the key "ssh-privatekey"`},
		{SecretTypeTLS, map[string]string{"tls.crt": "x"}, `needs the key "tls.key"`},
	}
	for _, tt := range tests {
		got := CheckSecretContent(tt.typ, tt.data)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("%s %v: %q, want %q", tt.typ, tt.data, got, tt.want)
		}
		if strings.Contains(got, "hunter2") {
			t.Errorf("%q quotes the secret", got)
		}
	}
}
