package plan

import (
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"berth.dev/berth/compiler/fieldpath"
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
	if path, key, sub := fieldpath.SplitSubscript(fieldPath); sub {
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

// Projection is one source of a projected volume (a downwardAPI volume
// is one downwardAPI source): a ConfigMap's or Secret's keys (Kind
// configMap or secret, named by Source), or fields of the pod (Kind
// downwardAPI).
type Projection struct {
	Kind     string         `json:"kind"`
	Source   string         `json:"source,omitempty"`
	Items    []KeyToPath    `json:"items,omitempty"`
	Optional bool           `json:"optional,omitempty"`
	Downward []DownwardFile `json:"downward,omitempty"`
	// Files are a configMap or secret source's files: filled by Resolve
	// on the node from the plan's tables, never in the plan.
	Files []File `json:"files,omitempty"`
}

// DownwardFile is one file of the downward API: Value when the
// template fixes it (a request or limit the pod sets), else a FieldRef
// (the internal path) or a ResourceFieldRef (an unset limit) the node
// fills.
type DownwardFile struct {
	Path             string       `json:"path"`
	Mode             *int32       `json:"mode,omitempty"`
	FieldRef         string       `json:"fieldRef,omitempty"`
	ResourceFieldRef *ResourceRef `json:"resourceFieldRef,omitempty"`
	Value            string       `json:"value,omitempty"`
}

// resolveSources reads the configMap and secret sources of a projected
// or downwardAPI volume from look, in a copy.
func resolveSources(look ConfigLookup, ns string, v *Volume) []Projection {
	if len(v.Sources) == 0 {
		return v.Sources
	}
	out := slices.Clone(v.Sources)
	for i := range out {
		s := &out[i]
		if s.Kind == "configMap" || s.Kind == "secret" {
			s.Files = ResolveFiles(look, ns, &Volume{Kind: s.Kind, Source: s.Source, Items: s.Items, DefaultMode: v.DefaultMode})
		}
	}
	return out
}

// SourceFiles are the files of a projected volume's configMap and
// secret sources (resolved), for the hash of a pod's file content.
func (v *Volume) SourceFiles() []File {
	var out []File
	for _, s := range v.Sources {
		out = append(out, s.Files...)
	}
	return out
}

// Project is the volume's files as the kubelet writes a projected or
// downwardAPI volume: every source's files, downward ones valued by
// value, each with its mode or the volume's defaultMode, sorted by path.
func (v *Volume) Project(value func(*DownwardFile) string) []File {
	mode := int32(DefaultFileMode)
	if v.DefaultMode != nil {
		mode = *v.DefaultMode
	}
	var files []File
	for i := range v.Sources {
		s := &v.Sources[i]
		files = append(files, s.Files...)
		for j := range s.Downward {
			f := &s.Downward[j]
			m := mode
			if f.Mode != nil {
				m = *f.Mode
			}
			files = append(files, File{Path: f.Path, Mode: m, Data: Plain(value(f))})
		}
	}
	slices.SortStableFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files
}
