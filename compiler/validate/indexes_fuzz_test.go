package validate

import "testing"

// FuzzIndexes: a successPolicy's succeededIndexes is user input. It never
// panics, and a list it accepts names increasing, disjoint intervals
// below completions, which IndexesCount counts.
func FuzzIndexes(f *testing.F) {
	for _, s := range []string{"", "0", "0-2,5", "1-1", "3,2", "0-", "-1", "9999999999999999999", "0-2-4", ",", "0,,1"} {
		f.Add(s, int32(6))
	}
	f.Fuzz(func(t *testing.T, s string, completions int32) {
		last := int32(-1)
		var total int32
		err := EachIndexInterval(s, completions, func(x, y int32) error {
			if x > y || x < 0 || y >= completions {
				t.Fatalf("%q: interval [%d, %d] with %d completions", s, x, y, completions)
			}
			if x <= last {
				return nil // IndexesCount refuses it
			}
			last = y
			total += y - x + 1
			return nil
		})
		n, cerr := IndexesCount(s, completions)
		if cerr == nil && (err != nil || n != total) {
			t.Fatalf("%q: counted %d (%v), intervals give %d (%v)", s, n, cerr, total, err)
		}
	})
}
