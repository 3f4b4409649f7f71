package plan

import (
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"berth.dev/berth/compiler/api"
)

// ResourceRef is a container limit the pod does not set, read through
// the downward API (resourceFieldRef): the kubelet gives the node's
// allocatable amount instead, so the node fills it. Limits and requests
// the pod sets are values in the plan.
type ResourceRef struct {
	// Resource is limits.cpu, limits.memory or limits.ephemeral-storage.
	Resource string `json:"resource"`
	// Divisor is the unit, in millicores for cpu and bytes otherwise.
	Divisor int64 `json:"divisor"`
}

// Allocatable is what a node offers its pods, the amounts an unset
// limit stands for.
type Allocatable struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
}

// Value is the kubelet's rendering of the node's amount in units of
// the divisor, rounded up (convertResourceCPUToString and friends).
func (r *ResourceRef) Value(a Allocatable) string {
	var amount int64
	switch strings.TrimPrefix(r.Resource, "limits.") {
	case "cpu":
		amount = a.MilliCPU
	case "memory":
		amount = a.Memory
	case "ephemeral-storage":
		amount = a.EphemeralStorage
	}
	return DivideUp(amount, r.Divisor)
}

// DivideUp is amount/divisor rounded up, as the kubelet computes a
// downward resource value (in float64, as it does).
func DivideUp(amount, divisor int64) string {
	if divisor <= 0 {
		divisor = 1
	}
	return strconv.FormatInt(int64(math.Ceil(float64(amount)/float64(divisor))), 10)
}

// UID is the pod's uid (metadata.uid): berth has no API server to
// assign a random one, so it is derived from the pod's namespace, name
// and hash. A replaced pod gets a new one; the same pod keeps its own
// across daemon restarts, as a Kubernetes pod does.
func (p *Pod) UID() string {
	s := sha256.Sum256([]byte(p.Namespace + "/" + p.Name + "/" + p.Hash))
	s[6] = s[6]&0x0f | 0x50 // an RFC 4122 name-based UUID (version 5 layout)
	s[8] = s[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// FieldValue is the value of one of the pod's own fields through the
// downward API (fieldpath.ExtractFieldPathAsString): name, namespace,
// uid, labels and annotations, whole (FormatMap) or one key ("" when
// the key is absent). ok is false for a path of the node (spec.nodeName,
// status.*), which the node fills itself.
func (p *Pod) FieldValue(fieldPath string) (v string, ok bool) {
	if path, key, sub := api.SplitSubscript(fieldPath); sub {
		switch path {
		case "metadata.labels":
			return p.Labels[key], true
		case "metadata.annotations":
			return p.Annotations[key], true
		}
		return "", false
	}
	switch fieldPath {
	case "metadata.name":
		return p.Name, true
	case "metadata.namespace":
		return p.Namespace, true
	case "metadata.uid":
		return p.UID(), true
	case "metadata.labels":
		return FormatMap(p.Labels), true
	case "metadata.annotations":
		return FormatMap(p.Annotations), true
	}
	return "", false
}

// FormatMap is the kubelet's rendering of labels and annotations in a
// downward API file: key="quoted value" lines, sorted by key.
func FormatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b []byte
	for _, k := range keys {
		if len(b) > 0 {
			b = append(b, '\n')
		}
		b = append(b, k...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, m[k])
	}
	return string(b)
}
