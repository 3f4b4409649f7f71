package webui

import (
	"net/url"
	"strconv"
)

// Page sizes: a page never renders more rows than maxPageSize, whatever
// the query asks, so a page costs the same at 10 or 10,000 workloads.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// pager is one page of a long list, with links to its neighbours that
// keep the filter.
type pager struct {
	Page, Pages, Size, Total int
	// From and To are 1-based row numbers shown ("rows 51–100 of 1000").
	From, To   int
	Prev, Next string
}

// paginate reads ?page= and ?size= and returns the pager and the slice
// bounds of the rows to show.
func paginate(path string, q url.Values, total int) (p pager, lo, hi int) {
	size := atoi(q.Get("size"), defaultPageSize)
	size = min(max(size, 1), maxPageSize)
	pages := max((total+size-1)/size, 1)
	n := min(max(atoi(q.Get("page"), 1), 1), pages)
	lo, hi = (n-1)*size, min(n*size, total)
	p = pager{Page: n, Pages: pages, Size: size, Total: total, From: lo + 1, To: hi}
	if total == 0 {
		p.From = 0
	}
	link := func(page int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(page))
		return path + "?" + v.Encode()
	}
	if n > 1 {
		p.Prev = link(n - 1)
	}
	if n < pages {
		p.Next = link(n + 1)
	}
	return p, lo, hi
}

func atoi(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}
