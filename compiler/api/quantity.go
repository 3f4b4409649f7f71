package api

import (
	"fmt"
	"math"
	"math/big"
	"strings"
)

// Quantity is a parsed Kubernetes resource quantity ("100m", "1.5Gi", "2e3").
type Quantity struct {
	r *big.Rat
}

var quantitySuffixes = []struct {
	suffix string
	mul    *big.Rat
}{
	{"Ki", pow(2, 10)}, {"Mi", pow(2, 20)}, {"Gi", pow(2, 30)}, {"Ti", pow(2, 40)}, {"Pi", pow(2, 50)}, {"Ei", pow(2, 60)},
	{"n", new(big.Rat).SetFrac64(1, 1e9)}, {"u", new(big.Rat).SetFrac64(1, 1e6)}, {"m", new(big.Rat).SetFrac64(1, 1e3)},
	{"k", pow(10, 3)}, {"M", pow(10, 6)}, {"G", pow(10, 9)}, {"T", pow(10, 12)}, {"P", pow(10, 15)}, {"E", pow(10, 18)},
}

func pow(base, exp int64) *big.Rat {
	return new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(base), big.NewInt(exp), nil))
}

// ParseQuantity parses the Kubernetes quantity syntax: a signed decimal
// number with an optional binary (Ki..Ei), decimal (n, u, m, k..E) or
// exponent (e3, E-2) suffix.
func ParseQuantity(s string) (Quantity, error) {
	num, mul := s, big.NewRat(1, 1)
	for _, sf := range quantitySuffixes {
		if n, ok := strings.CutSuffix(s, sf.suffix); ok && n != "" && isNumber(n) {
			num, mul = n, sf.mul
			break
		}
	}
	if num == s {
		if i := strings.IndexAny(s, "eE"); i > 0 {
			if exp, err := parseInt(s[i+1:]); err == nil && isNumber(s[:i]) && exp >= -30 && exp <= 30 {
				num = s[:i]
				if exp >= 0 {
					mul = pow(10, exp)
				} else {
					mul = new(big.Rat).Inv(pow(10, -exp))
				}
			}
		}
	}
	if !isNumber(num) {
		return Quantity{}, fmt.Errorf("%q is not a quantity (examples: 100m, 0.5, 128Mi, 1G)", s)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return Quantity{}, fmt.Errorf("%q is not a quantity (examples: 100m, 0.5, 128Mi, 1G)", s)
	}
	return Quantity{r: r.Mul(r, mul)}, nil
}

func isNumber(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" || strings.Count(s, ".") > 1 || s == "." {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

func parseInt(s string) (int64, error) {
	var n int64
	_, err := fmt.Sscan(s, &n)
	return n, err
}

// MustQuantity parses s and panics on error; for tests and constants.
func MustQuantity(s string) Quantity {
	q, err := ParseQuantity(s)
	if err != nil {
		panic(err)
	}
	return q
}

// Value is the quantity rounded up to an integer, saturating at MaxInt64.
func (q Quantity) Value() int64 { return ceil(q.rat()) }

// MilliValue is the quantity in thousandths, rounded up, saturating.
func (q Quantity) MilliValue() int64 { return ceil(new(big.Rat).Mul(q.rat(), big.NewRat(1000, 1))) }

// Cmp compares two quantities.
func (q Quantity) Cmp(o Quantity) int { return q.rat().Cmp(o.rat()) }

// Ratio returns q/o as a float, for maxLimitRequestRatio checks.
func (q Quantity) Ratio(o Quantity) float64 {
	if o.rat().Sign() == 0 {
		return math.Inf(1)
	}
	f, _ := new(big.Rat).Quo(q.rat(), o.rat()).Float64()
	return f
}

// Sign is -1, 0 or 1.
func (q Quantity) Sign() int { return q.rat().Sign() }

func (q Quantity) rat() *big.Rat {
	if q.r == nil {
		return new(big.Rat)
	}
	return q.r
}

func ceil(r *big.Rat) int64 {
	n, d := r.Num(), r.Denom()
	quo, rem := new(big.Int).QuoRem(n, d, new(big.Int))
	if rem.Sign() > 0 {
		quo.Add(quo, big.NewInt(1))
	}
	if !quo.IsInt64() {
		if quo.Sign() > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return quo.Int64()
}
