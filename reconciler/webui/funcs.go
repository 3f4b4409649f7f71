package webui

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"berth.dev/berth/compiler/plandiff"
)

// funcs are the templates' helpers: formatting only, no data access.
var funcs = template.FuncMap{
	"short": short,
	// object shows a workload key (Kind/namespace/name) as kubectl
	// names it in events: "Deployment default/web".
	"object": func(key string) string {
		kind, rest, ok := strings.Cut(key, "/")
		if !ok {
			return key
		}
		return kind + " " + rest
	},
	"when": when,
	"ago":  ago,
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join": strings.Join,
	"pct":  func(part, whole uint32) string { return percent(part, whole) },
	"symbol": func(action string) string {
		switch action {
		case plandiff.Create:
			return "+"
		case plandiff.Delete:
			return "-"
		}
		return "~"
	},
	"details": plandiff.Details,
	"esc":     url.PathEscape,
	"query":   func(v url.Values) string { return v.Encode() },
	"add":     func(a, b int) int { return a + b },
}

// short is a revision as people quote it: 12 characters of a commit.
func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// when is a time for a table: UTC, to the second; "" for the zero time.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// ago is how long before now t was, in the largest unit that fits.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func percent(part, whole uint32) string {
	if whole == 0 {
		return "0%"
	}
	p := float64(part) * 100 / float64(whole)
	if p == float64(int(p)) {
		return fmt.Sprintf("%d%%", int(p))
	}
	return fmt.Sprintf("%.1f%%", p)
}
