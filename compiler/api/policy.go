package api

// PodDisruptionBudget is a policy/v1 PodDisruptionBudget.
type PodDisruptionBudget struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta              `json:"metadata" yaml:"metadata"`
	Spec     PodDisruptionBudgetSpec `json:"spec" yaml:"spec"`
}

// PodDisruptionBudgetSpec is the budget: at most one of MinAvailable and
// MaxUnavailable, over the pods Selector selects (nil: none).
type PodDisruptionBudgetSpec struct {
	MinAvailable               *IntOrString   `json:"minAvailable,omitempty" yaml:"minAvailable,omitempty"`
	MaxUnavailable             *IntOrString   `json:"maxUnavailable,omitempty" yaml:"maxUnavailable,omitempty"`
	Selector                   *LabelSelector `json:"selector,omitempty" yaml:"selector,omitempty"`
	UnhealthyPodEvictionPolicy string         `json:"unhealthyPodEvictionPolicy,omitempty" yaml:"unhealthyPodEvictionPolicy,omitempty"` // IfHealthyBudget (""), AlwaysAllow
}
