package containerd

import (
	"berth.dev/berth/compiler/plan"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHTTPProbeHeaders: a probe's httpHeaders reach the server as the
// kubelet sends them: added under canonical names (repeats kept), the
// default User-Agent and Accept replaced when the probe sets them, an
// empty Accept sending none, and Host overriding the request's host.
func TestHTTPProbeHeaders(t *testing.T) {
	type seen struct {
		host   string
		header http.Header
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Host, r.Header.Clone()}
	}))
	defer srv.Close()
	cases := []struct {
		name    string
		headers []plan.HTTPHeader
		host    string // "" is the URL's
		want    map[string][]string
	}{{
		name: "defaults",
		want: map[string][]string{"User-Agent": {"berth-probe/1"}, "Accept": {"*/*"}, "X-Probe": nil},
	}, {
		name:    "custom headers, repeated, canonical",
		headers: []plan.HTTPHeader{{Name: "x-probe", Value: "a"}, {Name: "X-Probe", Value: "b"}, {Name: "User-Agent", Value: "mine"}, {Name: "Accept", Value: "application/json"}},
		want:    map[string][]string{"X-Probe": {"a", "b"}, "User-Agent": {"mine"}, "Accept": {"application/json"}},
	}, {
		name:    "empty Accept sends none; Host overrides the host",
		headers: []plan.HTTPHeader{{Name: "Accept"}, {Name: "Host", Value: "health.example"}},
		host:    "health.example",
		want:    map[string][]string{"Accept": nil, "User-Agent": {"berth-probe/1"}},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := httpProbe(context.Background(), srv.URL+"/healthz", c.headers); err != nil {
				t.Fatal(err)
			}
			s := <-got
			wantHost := c.host
			if wantHost == "" {
				wantHost = srv.Listener.Addr().String()
			}
			if s.host != wantHost {
				t.Errorf("host %q, want %q", s.host, wantHost)
			}
			for k, v := range c.want {
				if g := s.header.Values(k); len(g) != len(v) || (len(v) > 0 && g[len(g)-1] != v[len(v)-1]) || (len(v) > 0 && g[0] != v[0]) {
					t.Errorf("header %s = %q, want %q", k, g, v)
				}
			}
		})
	}
}
