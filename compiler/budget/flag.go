package budget

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Value is a flag.Value that sets one limit of l: a count ("100000"), a
// size ("16Mi", "16MiB", "1048576") or a duration ("30s").
func Value(l *Limits, k Limit) *FlagValue { return &FlagValue{l: l, k: k} }

// FlagValue is the flag.Value of one limit.
type FlagValue struct {
	l *Limits
	k Limit
}

// String is the current value, the default when unset.
func (v *FlagValue) String() string {
	if v == nil || v.l == nil {
		return ""
	}
	return v.k.Format(v.l.Get(v.k))
}

// Set parses s into the limit.
func (v *FlagValue) Set(s string) error {
	n, err := Parse(v.k, s)
	if err != nil {
		return err
	}
	*v.l.field(v.k) = n
	return nil
}

// Parse reads a value of limit k.
func Parse(k Limit, s string) (int64, error) {
	s = strings.TrimSpace(s)
	var n int64
	var err error
	switch specs[k].unit {
	case duration:
		var d time.Duration
		d, err = time.ParseDuration(s)
		n = int64(d)
	case bytes:
		n, err = parseBytes(s)
	default:
		n, err = strconv.ParseInt(s, 10, 64)
	}
	if err != nil {
		return 0, fmt.Errorf("%q is not a valid %s: %w", s, k, err)
	}
	if n <= 0 {
		return 0, fmt.Errorf("%q: the %s limit must be positive", s, k)
	}
	return n, nil
}

func parseBytes(s string) (int64, error) {
	mult := int64(1)
	num := strings.TrimSuffix(strings.TrimSuffix(s, "B"), "i")
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"K", kib}, {"M", mib}, {"G", 1 << 30}} {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSuffix(num, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want bytes, or a number with Ki, Mi or Gi")
	}
	return n * mult, nil
}
