package plan

import (
	"strings"
	"testing"
)

func TestHostname(t *testing.T) {
	long := strings.Repeat("a", 61) + "-.b" + strings.Repeat("c", 20)
	cases := []struct {
		name, hostname, want string
	}{
		{"web-0", "", "web-0"},
		{"web-0", "db-1", "db-1"},
		{strings.Repeat("x", 70), "", strings.Repeat("x", 63)},
		// Cut at 63, then without the trailing '-' and '.' (the kubelet's
		// truncatePodHostnameIfNeeded).
		{long, "", strings.Repeat("a", 61)},
	}
	for _, c := range cases {
		p := &Pod{Name: c.name, Spec: PodSpec{Hostname: c.hostname}}
		if got := p.Hostname(); got != c.want {
			t.Errorf("Hostname of %q (hostname %q) = %q, want %q", c.name, c.hostname, got, c.want)
		}
	}
}
