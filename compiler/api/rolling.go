package api

// DefaultRollingPercent is a Deployment's maxSurge and maxUnavailable
// when its rolling update names none (SetDefaults_Deployment), and an
// Argo canary's maxSurge.
const DefaultRollingPercent = "25%"

// DefaultRolling is DefaultRollingPercent as an IntOrString.
func DefaultRolling() IntOrString { return IntOrString{IsString: true, StrVal: DefaultRollingPercent} }

// Surge is maxSurge v (def when v is nil) resolved against n replicas,
// or a DaemonSet's nodes, rounded up as the Deployment and DaemonSet
// controllers round it: how many pods a rolling update may run above n.
// Admission counts a workload's pods with it and expansion writes it
// into the plan's strategy, so the two cannot disagree.
func Surge(v *IntOrString, def IntOrString, n int) (int, error) {
	if v != nil {
		def = *v
	}
	return def.ScaledValue(n, true)
}
