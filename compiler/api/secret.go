package api

import (
	"encoding/base64"

	"berth.dev/berth/compiler/dockercfg"
)

// The keys and types of the Secrets Kubernetes gives a meaning to
// (k8s.io/api/core/v1).
const (
	SecretTypeOpaque              = "Opaque"
	SecretTypeServiceAccountToken = "kubernetes.io/service-account-token"
	SecretTypeDockercfg           = "kubernetes.io/dockercfg"
	SecretTypeDockerConfigJSON    = "kubernetes.io/dockerconfigjson"
	SecretTypeBasicAuth           = "kubernetes.io/basic-auth"
	SecretTypeSSHAuth             = "kubernetes.io/ssh-auth"
	SecretTypeTLS                 = "kubernetes.io/tls"
	SecretTypeBootstrapToken      = "bootstrap.kubernetes.io/token"

	DockerConfigKey      = dockercfg.ConfigKey
	DockerConfigJSONKey  = dockercfg.ConfigJSONKey
	BasicAuthUsernameKey = "username"
	BasicAuthPasswordKey = "password"
	SSHAuthPrivateKey    = "ssh-privatekey"
	TLSCertKey           = "tls.crt"
	TLSPrivateKeyKey     = "tls.key"
	// ServiceAccountNameKey is the annotation a service-account-token
	// Secret must carry.
	ServiceAccountNameKey = "kubernetes.io/service-account.name"
)

// SecretType is the Secret's type, Opaque when unset.
func (s *Secret) SecretType() string {
	if s.Type == "" {
		return SecretTypeOpaque
	}
	return s.Type
}

// DecodedData is the Secret's data as the API server stores it: data
// decoded from base64, with stringData on top (it wins, as in
// Kubernetes). A value that is not base64 is left out: the schema refuses
// it before anything reads the Secret.
func (s *Secret) DecodedData() map[string][]byte {
	out := make(map[string][]byte, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		if b, err := base64.StdEncoding.DecodeString(v); err == nil {
			out[k] = b
		}
	}
	for k, v := range s.StringData {
		out[k] = []byte(v)
	}
	return out
}
