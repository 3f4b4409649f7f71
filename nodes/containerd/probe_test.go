package containerd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// HTTP probes follow redirects on the probed host only, as the kubelet's:
// a pod must not make the node fetch another host's URL (issue 20,
// finding 10); the redirect itself counts as an answer.
func TestHTTPProbeRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
	}))
	defer other.Close()
	// The probed server is reached as "localhost", the other as
	// 127.0.0.1: two host names.
	probed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/metadata", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/broken", http.StatusFound)
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer probed.Close()
	base := strings.Replace(probed.URL, "127.0.0.1", "localhost", 1)

	if err := httpProbe(context.Background(), base+"/away", nil); err != nil {
		t.Errorf("redirect to another host: %v, want a pass on the 302 itself", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the probe followed a redirect to another host (%d requests there)", n)
	}
	if err := httpProbe(context.Background(), base+"/here", nil); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("redirect on the same host: %v, want it followed to the 500", err)
	}
}

// HTTPS probes do not check the server's certificate, as the kubelet's.
func TestHTTPSProbeSkipsVerification(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	if err := httpProbe(context.Background(), srv.URL+"/healthz", nil); err != nil {
		t.Errorf("HTTPS probe of a self-signed server: %v", err)
	}
}
