package plan

// Unhealthy pod eviction policies of a PodDisruptionBudget.
const (
	IfHealthyBudget = "IfHealthyBudget"
	AlwaysAllow     = "AlwaysAllow"
)

// DisruptionBudget is a PodDisruptionBudget as every node reads it when
// it is about to stop pods that moved elsewhere (a node drained or
// leaving the inventory, a new placement): the selector as written, the
// policy defaulted, and the pods the plan runs that it selects (the
// disruption controller's expectedPods) with how many of them must stay
// healthy (desiredHealthy). compiler/disruption computes them and the
// disruptions a count of healthy pods allows. Sorted by namespace, then
// name.
type DisruptionBudget struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Selector picks pods of Namespace (empty: all of them; nil: none,
	// as in policy/v1).
	Selector       *LabelSelector `json:"selector,omitempty"`
	MinAvailable   *IntOrString   `json:"minAvailable,omitempty"`
	MaxUnavailable *IntOrString   `json:"maxUnavailable,omitempty"`
	// UnhealthyPodEvictionPolicy is IfHealthyBudget or AlwaysAllow.
	UnhealthyPodEvictionPolicy string `json:"unhealthyPodEvictionPolicy"`
	ExpectedPods               int32  `json:"expectedPods"`
	DesiredHealthy             int32  `json:"desiredHealthy"`
}

// Key is namespace/name.
func (b *DisruptionBudget) Key() string { return b.Namespace + "/" + b.Name }
