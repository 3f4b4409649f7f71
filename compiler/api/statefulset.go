package api

import "strconv"

// StatefulSet is an apps/v1 StatefulSet: replicas with a stable identity
// (name, hostname, DNS name, volume claims) per ordinal.
type StatefulSet struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta      `json:"metadata" yaml:"metadata"`
	Spec     StatefulSetSpec `json:"spec" yaml:"spec"`
}

// StatefulSetSpec is the ordinals' template, their claims and how they
// are created, scaled and updated.
type StatefulSetSpec struct {
	Replicas             *int32                      `json:"replicas,omitempty" yaml:"replicas,omitempty"`
	Selector             *LabelSelector              `json:"selector" yaml:"selector"`
	Template             PodTemplateSpec             `json:"template" yaml:"template"`
	VolumeClaimTemplates []PersistentVolumeClaim     `json:"volumeClaimTemplates,omitempty" yaml:"volumeClaimTemplates,omitempty"`
	ServiceName          string                      `json:"serviceName,omitempty" yaml:"serviceName,omitempty"`
	PodManagementPolicy  string                      `json:"podManagementPolicy,omitempty" yaml:"podManagementPolicy,omitempty"` // OrderedReady, Parallel
	UpdateStrategy       StatefulSetUpdateStrategy   `json:"updateStrategy,omitempty" yaml:"updateStrategy,omitempty"`
	MinReadySeconds      int32                       `json:"minReadySeconds,omitempty" yaml:"minReadySeconds,omitempty"`
	RevisionHistoryLimit *int32                      `json:"revisionHistoryLimit,omitempty" yaml:"revisionHistoryLimit,omitempty"`
	RetentionPolicy      *StatefulSetRetentionPolicy `json:"persistentVolumeClaimRetentionPolicy,omitempty" yaml:"persistentVolumeClaimRetentionPolicy,omitempty"`
	Ordinals             *StatefulSetOrdinals        `json:"ordinals,omitempty" yaml:"ordinals,omitempty"`
}

// StatefulSetUpdateStrategy is RollingUpdate (the default) or OnDelete.
type StatefulSetUpdateStrategy struct {
	Type          string                    `json:"type,omitempty" yaml:"type,omitempty"`
	RollingUpdate *RollingUpdateStatefulSet `json:"rollingUpdate,omitempty" yaml:"rollingUpdate,omitempty"`
}

// RollingUpdateStatefulSet keeps the ordinals below Partition at their
// revision and updates at most MaxUnavailable ordinals at once.
type RollingUpdateStatefulSet struct {
	Partition      *int32       `json:"partition,omitempty" yaml:"partition,omitempty"`
	MaxUnavailable *IntOrString `json:"maxUnavailable,omitempty" yaml:"maxUnavailable,omitempty"`
}

// StatefulSetRetentionPolicy says what happens to the ordinals' claims
// when the set is deleted or scaled down: Retain or Delete.
type StatefulSetRetentionPolicy struct {
	WhenDeleted string `json:"whenDeleted,omitempty" yaml:"whenDeleted,omitempty"`
	WhenScaled  string `json:"whenScaled,omitempty" yaml:"whenScaled,omitempty"`
}

// StatefulSetOrdinals numbers the replicas from Start.
type StatefulSetOrdinals struct {
	Start int32 `json:"start,omitempty" yaml:"start,omitempty"`
}

// Span is the set's first ordinal and its replica count (1 when
// unset, as the API server defaults it).
func (s *StatefulSetSpec) Span() (start, n int32) {
	n = 1
	if s.Replicas != nil {
		n = *s.Replicas
	}
	if s.Ordinals != nil {
		start = s.Ordinals.Start
	}
	return start, n
}

// ClaimName is the claim of template tmpl for ordinal i of set:
// TEMPLATE-SET-ORDINAL, as the StatefulSet controller names it.
func ClaimName(tmpl, set string, i int32) string {
	return tmpl + "-" + set + "-" + strconv.Itoa(int(i))
}
