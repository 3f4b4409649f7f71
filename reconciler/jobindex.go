package reconciler

import (
	"slices"
	"strconv"
	"strings"

	"berth.dev/berth/compiler/plan"
)

// indexSet is a set of an Indexed Job's indexes as sorted, disjoint,
// non-adjacent ranges: the completed indexes of a Job that runs in
// order stay one range, however many completions it has.
type indexSet []plan.IndexRange

// parseIndexes reads "0-2,5" (a JobRun's record, which berth wrote; a
// part it cannot read is left out).
func parseIndexes(s string) indexSet {
	var out indexSet
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		from, to, ranged := strings.Cut(part, "-")
		x, err := strconv.Atoi(from)
		if err != nil {
			continue
		}
		y := x
		if ranged {
			if y, err = strconv.Atoi(to); err != nil {
				continue
			}
		}
		for i := x; i <= y; i++ {
			out.add(int32(i))
		}
	}
	return out
}

// String writes the set as Kubernetes' status.completedIndexes does.
func (s indexSet) String() string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(r.From)))
		if r.To > r.From {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(r.To)))
		}
	}
	return b.String()
}

// find is the position of the range holding i, or where it would go.
func (s indexSet) find(i int32) (int, bool) {
	return slices.BinarySearchFunc(s, i, func(r plan.IndexRange, i int32) int {
		switch {
		case r.To < i:
			return -1
		case r.From > i:
			return 1
		}
		return 0
	})
}

func (s indexSet) has(i int32) bool {
	_, ok := s.find(i)
	return ok
}

// end is the last index of the range holding i (i when it holds none).
func (s indexSet) end(i int32) int32 {
	if k, ok := s.find(i); ok {
		return s[k].To
	}
	return i
}

func (s *indexSet) add(i int32) {
	k, ok := s.find(i)
	if ok {
		return
	}
	set := *s
	joinLeft := k > 0 && set[k-1].To == i-1
	joinRight := k < len(set) && set[k].From == i+1
	switch {
	case joinLeft && joinRight:
		set[k-1].To = set[k].To
		set = slices.Delete(set, k, k+1)
	case joinLeft:
		set[k-1].To = i
	case joinRight:
		set[k].From = i
	default:
		set = slices.Insert(set, k, plan.IndexRange{From: i, To: i})
	}
	*s = set
}

func (s indexSet) count() int32 {
	n := int32(0)
	for _, r := range s {
		n += r.To - r.From + 1
	}
	return n
}

// countIn is how many indexes of s lie in the ranges rs.
func (s indexSet) countIn(rs []plan.IndexRange) int32 {
	n := int32(0)
	for _, r := range rs {
		for _, m := range s {
			lo, hi := max(r.From, m.From), min(r.To, m.To)
			if lo <= hi {
				n += hi - lo + 1
			}
		}
	}
	return n
}
