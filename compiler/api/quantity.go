package api

import (
	"math"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Quantity is a Kubernetes resource quantity ("100m", "1.5Gi", "2e3"),
// parsed by k8s.io/apimachinery's resource.ParseQuantity: the API
// server's own grammar, so that lint, plan and a cluster read a quantity
// the same way. Quantity adds value-receiver helpers that saturate
// instead of overflowing.
type Quantity struct {
	q resource.Quantity
}

// ParseQuantity parses a quantity as the API server does. The error is
// apimachinery's ("quantities must match the regular expression ...").
func ParseQuantity(s string) (Quantity, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return Quantity{}, err
	}
	return Quantity{q: q}, nil
}

// MustQuantity parses s and panics on error; for tests and constants.
func MustQuantity(s string) Quantity {
	q, err := ParseQuantity(s)
	if err != nil {
		panic(err)
	}
	return q
}

// K8s is the underlying apimachinery value.
func (q Quantity) K8s() resource.Quantity { return q.q }

// String renders the quantity in canonical form, as the API server echoes
// it in messages ("1500m" is "1500m", "1.5" is "1500m").
func (q Quantity) String() string { return q.q.String() }

// Value is the quantity rounded up to an integer, saturating at MaxInt64
// (apimachinery accepts "1e31" but its Value wraps).
func (q Quantity) Value() int64 {
	switch {
	case q.q.CmpInt64(math.MaxInt64) >= 0:
		return math.MaxInt64
	case q.q.CmpInt64(math.MinInt64) <= 0:
		return math.MinInt64
	}
	return q.q.Value()
}

// MilliValue is the quantity in thousandths, rounded up, saturating at
// MaxInt64 (a quantity of 1e18 or more has no int64 milli value).
func (q Quantity) MilliValue() int64 {
	if q.q.CmpInt64(math.MaxInt64/1000) > 0 {
		return math.MaxInt64
	}
	if q.q.CmpInt64(math.MinInt64/1000) < 0 {
		return math.MinInt64
	}
	return q.q.MilliValue()
}

// Cmp compares two quantities.
func (q Quantity) Cmp(o Quantity) int { return q.q.Cmp(o.q) }

// Ratio returns q/o as a float, for maxLimitRequestRatio checks.
func (q Quantity) Ratio(o Quantity) float64 {
	if o.q.Sign() == 0 {
		return math.Inf(1)
	}
	return q.q.AsApproximateFloat64() / o.q.AsApproximateFloat64()
}

// Sign is -1, 0 or 1.
func (q Quantity) Sign() int { return q.q.Sign() }
