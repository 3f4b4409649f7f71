package api

import (
	"math"
	"testing"
)

func TestParseQuantity(t *testing.T) {
	tests := []struct {
		in          string
		value, mill int64
	}{
		{"1", 1, 1000},
		{"100m", 1, 100},
		{"0.5", 1, 500},
		{"1.5", 2, 1500},
		{"128Mi", 128 << 20, 128 << 20 * 1000},
		{"1Gi", 1 << 30, 1 << 30 * 1000},
		{"1G", 1e9, 1e12},
		{"2k", 2000, 2e6},
		{"1e3", 1000, 1e6},
		{"250u", 1, 0 + 1}, // 0.00025 rounds up
		// The API server caps a quantity at MaxInt64: 1e31 is valid, and
		// its milli value saturates instead of wrapping.
		{"1e31", math.MaxInt64, math.MaxInt64},
		{"1E", 1e18, math.MaxInt64},
		// apimachinery reads a bare suffix as zero; so does the API server.
		{"Mi", 0, 0},
	}
	for _, tt := range tests {
		q, err := ParseQuantity(tt.in)
		if err != nil {
			t.Fatalf("ParseQuantity(%q): %v", tt.in, err)
		}
		if q.Value() != tt.value || q.MilliValue() != tt.mill {
			t.Errorf("ParseQuantity(%q) = value %d milli %d, want %d %d", tt.in, q.Value(), q.MilliValue(), tt.value, tt.mill)
		}
	}
	for _, bad := range []string{"", "abc", "1..2", "1Zi", "1.2.3m", "1 cores"} {
		if _, err := ParseQuantity(bad); err == nil {
			t.Errorf("ParseQuantity(%q) = nil error, want one", bad)
		}
	}
}

func TestScaledValue(t *testing.T) {
	pct := IntOrString{IsString: true, StrVal: "25%"}
	if v, _ := pct.ScaledValue(5, true); v != 2 {
		t.Errorf("25%% of 5 rounded up = %d, want 2", v)
	}
	if v, _ := pct.ScaledValue(5, false); v != 1 {
		t.Errorf("25%% of 5 rounded down = %d, want 1", v)
	}
}
