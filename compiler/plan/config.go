package plan

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// ConfigData is the content of one ConfigMap or Secret, held once in the
// plan: pods refer to it by name (env, envFrom, volumes, image pull
// secrets) and the node reads it when it starts or updates a pod.
type ConfigData struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Type is a Secret's type (Opaque, kubernetes.io/dockerconfigjson,
	// kubernetes.io/tls); empty for a ConfigMap.
	Type string `json:"type,omitempty"`
	// Immutable: a later revision may not change Data or Type
	// (compiler/immutable). Nodes do not read it.
	Immutable bool `json:"immutable,omitempty"`
	// Hash is the digest of Data (of a Secret's redacted values, so it
	// is never computed from the secret alone).
	Hash string `json:"hash"`
	// Data holds each key's value: ConfigMap data and decoded binaryData;
	// Secret data and stringData, sensitive (redacted in JSON).
	Data map[string]Secret `json:"data,omitempty"`
}

// Key is namespace/name.
func (c *ConfigData) Key() string { return c.Namespace + "/" + c.Name }

// NewConfigData makes a table entry with its hash.
func NewConfigData(namespace, name, typ string, data map[string]Secret) ConfigData {
	h := sha256.New()
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(data[k].Redacted()))
		h.Write([]byte{0})
	}
	return ConfigData{Namespace: namespace, Name: name, Type: typ, Hash: hex.EncodeToString(h.Sum(nil))[:16], Data: data}
}

// ConfigLookup finds the ConfigMaps and Secrets pods refer to; nil means
// there is none of that name.
type ConfigLookup interface {
	ConfigMap(namespace, name string) *ConfigData
	Secret(namespace, name string) *ConfigData
}

// ConfigMap finds a ConfigMap of p by binary search.
func (p *Plan) ConfigMap(namespace, name string) *ConfigData {
	return findConfig(p.ConfigMaps, namespace, name)
}

// Secret finds a Secret of p by binary search.
func (p *Plan) Secret(namespace, name string) *ConfigData {
	return findConfig(p.Secrets, namespace, name)
}

func findConfig(list []ConfigData, namespace, name string) *ConfigData {
	i, ok := slices.BinarySearchFunc(list, [2]string{namespace, name}, func(c ConfigData, k [2]string) int {
		return cmp.Or(strings.Compare(c.Namespace, k[0]), strings.Compare(c.Name, k[1]))
	})
	if !ok {
		return nil
	}
	return &list[i]
}

// ServicesIn is the Service table of one namespace: a sub-slice of
// p.Services (sorted by namespace), shared, not copied.
func (p *Plan) ServicesIn(namespace string) []Service {
	lo, _ := slices.BinarySearchFunc(p.Services, namespace, func(s Service, ns string) int { return strings.Compare(s.Namespace, ns) })
	hi := lo
	for hi < len(p.Services) && p.Services[hi].Namespace == namespace {
		hi++
	}
	return p.Services[lo:hi:hi]
}

// SortConfig puts a table in the order the lookups expect.
func SortConfig(list []ConfigData) {
	slices.SortFunc(list, func(a, b ConfigData) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
}
