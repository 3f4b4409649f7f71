package api

import (
	"fmt"

	"berth.dev/berth/compiler/fieldpath"
)

// ConvertFieldLabel is ConvertDownwardAPIFieldLabel: the internal form
// of a pod field path (spec.host is the old name of spec.nodeName).
func ConvertFieldLabel(apiVersion, label string) (string, error) {
	if apiVersion != "v1" {
		return "", fmt.Errorf("unsupported pod version: %s", apiVersion)
	}
	if p, _, ok := fieldpath.SplitSubscript(label); ok {
		switch p {
		case "metadata.annotations", "metadata.labels":
			return label, nil
		}
		return "", fmt.Errorf("field label does not support subscript: %s", label)
	}
	switch label {
	case "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
		"spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName",
		"status.phase", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs":
		return label, nil
	case "spec.host":
		return "spec.nodeName", nil
	}
	return "", fmt.Errorf("field label not supported: %s", label)
}

// DownwardAPIVolumeSource writes fields of the pod as files.
type DownwardAPIVolumeSource struct {
	Items       []DownwardAPIVolumeFile `json:"items,omitempty" yaml:"items,omitempty"`
	DefaultMode *int32                  `json:"defaultMode,omitempty" yaml:"defaultMode,omitempty"`
}

// DownwardAPIVolumeFile is one file of the downward API.
type DownwardAPIVolumeFile struct {
	Path             string                 `json:"path" yaml:"path"`
	FieldRef         *ObjectFieldSelector   `json:"fieldRef,omitempty" yaml:"fieldRef,omitempty"`
	ResourceFieldRef *ResourceFieldSelector `json:"resourceFieldRef,omitempty" yaml:"resourceFieldRef,omitempty"`
	Mode             *int32                 `json:"mode,omitempty" yaml:"mode,omitempty"`
}

// ProjectedVolumeSource merges several sources into one directory.
type ProjectedVolumeSource struct {
	Sources     []VolumeProjection `json:"sources,omitempty" yaml:"sources,omitempty"`
	DefaultMode *int32             `json:"defaultMode,omitempty" yaml:"defaultMode,omitempty"`
}

// VolumeProjection is one source of a projected volume.
type VolumeProjection struct {
	ConfigMap   *KeyProjection         `json:"configMap,omitempty" yaml:"configMap,omitempty"`
	Secret      *KeyProjection         `json:"secret,omitempty" yaml:"secret,omitempty"`
	DownwardAPI *DownwardAPIProjection `json:"downwardAPI,omitempty" yaml:"downwardAPI,omitempty"`
}

// KeyProjection projects the keys of a ConfigMap or Secret.
type KeyProjection struct {
	Name     string      `json:"name" yaml:"name"`
	Items    []KeyToPath `json:"items,omitempty" yaml:"items,omitempty"`
	Optional *bool       `json:"optional,omitempty" yaml:"optional,omitempty"`
}

// DownwardAPIProjection projects fields of the pod.
type DownwardAPIProjection struct {
	Items []DownwardAPIVolumeFile `json:"items,omitempty" yaml:"items,omitempty"`
}
