package admit

import "math"

// satAdd and satMul add and multiply non-negative amounts, stopping at
// the largest int64 instead of wrapping around: "1e31" parses to that
// largest value, and a quota's sum of a few of them must stay over any
// hard limit, as the API server's arbitrary-precision sum does.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, n int64) int64 {
	if n != 0 && a > math.MaxInt64/n {
		return math.MaxInt64
	}
	return a * n
}
