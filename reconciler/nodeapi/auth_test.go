package nodeapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// apiUnderTest is the API with a webhook and a UI page, so that every
// class of path is present.
func apiUnderTest() http.Handler {
	return Handler(Options{Node: "n1", Loop: fakeLoop{}, Workloads: &fakeWorkloads{}, Pods: fakePods{},
		Webhook: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hook") }),
		UI:      http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "page", r.URL.Path) })})
}

func TestAuthWrap(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := &Auth{Token: "s3cret-token-0123456789", Now: func() time.Time { return now }}
	h := a.Wrap(apiUnderTest())
	valid := a.session(now.Add(time.Hour))
	for _, tt := range []struct {
		name, method, path, auth, cookie string
		code                             int
		location                         string
	}{
		{name: "status without token", method: "GET", path: "/v1/status", code: 401},
		{name: "status wrong token", method: "GET", path: "/v1/status", auth: "Bearer nope", code: 401},
		{name: "status with token", method: "GET", path: "/v1/status", auth: "Bearer s3cret-token-0123456789", code: 200},
		{name: "logs without token", method: "GET", path: "/v1/logs/default/web-1", code: 401},
		{name: "promote without token", method: "POST", path: "/v1/rollouts/web/promote", code: 401},
		{name: "metrics without token", method: "GET", path: "/metrics", code: 401},
		{name: "healthz is public", method: "GET", path: "/healthz", code: 200},
		{name: "readyz is public", method: "GET", path: "/readyz", code: 200},
		{name: "webhook is public", method: "POST", path: "/hooks/git", code: 200},
		{name: "login form is public", method: "GET", path: "/ui/login", code: 200},
		{name: "assets are public", method: "GET", path: "/ui/assets/berth.css", code: 200},
		{name: "a page sends a browser to the login", method: "GET", path: "/ui/workloads?ns=a", code: 303,
			location: "/ui/login?next=%2Fui%2Fworkloads%3Fns%3Da"},
		{name: "a page with a session", method: "GET", path: "/ui/fleet", cookie: valid, code: 200},
		{name: "a page with the token", method: "GET", path: "/ui/fleet", auth: "Bearer s3cret-token-0123456789", code: 200},
		{name: "an expired session", method: "GET", path: "/ui/fleet", cookie: a.session(now.Add(-time.Second)), code: 303},
		{name: "a forged session", method: "GET", path: "/ui/fleet", cookie: strings.Replace(valid, ".", ".0", 1), code: 303},
		{name: "a session of another token", method: "GET", path: "/ui/fleet",
			cookie: (&Auth{Token: "other"}).session(now.Add(time.Hour)), code: 303},
		{name: "a session opens no API", method: "GET", path: "/v1/status", cookie: valid, code: 401},
		{name: "a session opens no POST", method: "POST", path: "/v1/rollouts/web/promote", cookie: valid, code: 401},
		{name: "a page of the UI without Accept", method: "GET", path: "/ui/events", code: 303},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: SessionCookie, Value: tt.cookie})
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Errorf("%s %s: code %d, want %d\n%s", tt.method, tt.path, rec.Code, tt.code, rec.Body)
			}
			if tt.location != "" && rec.Header().Get("Location") != tt.location {
				t.Errorf("Location = %q, want %q", rec.Header().Get("Location"), tt.location)
			}
			if strings.Contains(rec.Body.String(), a.Token) {
				t.Errorf("the answer shows the token: %s", rec.Body)
			}
		})
	}
}

func TestEventStreamNeedsToken(t *testing.T) {
	h := (&Auth{Token: "tok"}).Wrap(apiUnderTest())
	req := httptest.NewRequest("GET", "/ui/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Fatalf("an EventSource without a session: code %d, want 401 (a redirect would loop)", rec.Code)
	}
}

func TestLogin(t *testing.T) {
	a := &Auth{Token: "s3cret-token-0123456789", Secure: true}
	h := a.Wrap(apiUnderTest())
	post := func(form url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", LoginPath, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	bad := post(url.Values{"token": {"guess"}, "next": {"/ui/pods"}})
	if bad.Code != 303 || bad.Header().Get("Location") != "/ui/login?failed=1&next=%2Fui%2Fpods" || len(bad.Result().Cookies()) != 0 {
		t.Fatalf("a wrong token: %d %q cookies %v", bad.Code, bad.Header().Get("Location"), bad.Result().Cookies())
	}
	good := post(url.Values{"token": {a.Token + "\n"}, "next": {"/ui/pods?ns=web"}})
	if good.Code != 303 || good.Header().Get("Location") != "/ui/pods?ns=web" {
		t.Fatalf("the right token: %d %q", good.Code, good.Header().Get("Location"))
	}
	cookies := good.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != SessionCookie || !cookies[0].HttpOnly || !cookies[0].Secure ||
		cookies[0].SameSite != http.SameSiteStrictMode || strings.Contains(cookies[0].Value, a.Token) {
		t.Fatalf("session cookie: %+v", cookies)
	}
	req := httptest.NewRequest("GET", "/ui/pods", nil)
	req.AddCookie(cookies[0])
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("a page after login: %d", rec.Code)
	}
	// The form never redirects off the site.
	for _, next := range []string{"https://evil.example/", "//evil.example/ui/", "/v1/status", "/ui/\\evil"} {
		if loc := post(url.Values{"token": {a.Token}, "next": {next}}).Header().Get("Location"); loc != "/ui/" {
			t.Errorf("next=%q redirected to %q, want /ui/", next, loc)
		}
	}
	out := httptest.NewRecorder()
	h.ServeHTTP(out, httptest.NewRequest("POST", LogoutPath, nil))
	if c := out.Result().Cookies(); out.Code != 303 || len(c) != 1 || c[0].MaxAge >= 0 {
		t.Fatalf("logout: %d %+v", out.Code, c)
	}
}

func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte(" \n"), 0o600)
	if _, err := ReadToken(empty); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("an empty token file: err = %v, want an error", err)
	}
	if _, err := ReadToken(filepath.Join(dir, "absent")); err == nil {
		t.Error("a missing token file: no error")
	}
	full := filepath.Join(dir, "tok")
	os.WriteFile(full, []byte("abc\n"), 0o600)
	if tok, err := ReadToken(full); tok != "abc" || err != nil {
		t.Errorf("ReadToken = %q, %v", tok, err)
	}
}

// serveTCP runs ListenTCP's listener and returns the URL to reach it on
// loopback.
func serveTCP(t *testing.T, o TCPOptions) string {
	t.Helper()
	l, err := ListenTCP(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Serve(ctx, apiUnderTest()); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	scheme := "http"
	if o.TLSCert != "" {
		scheme = "https"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, l.Addr().(*net.TCPAddr).Port)
}

func get(t *testing.T, c *http.Client, method, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestListenTCPExposure is issue 20's finding 5: `--api-addr 0.0.0.0:PORT`
// with only a webhook secret served status, logs, promote and abort to
// anyone.
func TestListenTCPExposure(t *testing.T) {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	const tokFile = "s3cret-token-0123456789"
	for _, tt := range []struct {
		name      string
		o         TCPOptions
		token     string
		status    int // GET /v1/status
		promote   int // POST /v1/rollouts/web/promote
		ui        int // GET /ui/
		hook, hz  int
		substring string
	}{
		{name: "all interfaces, no token", o: TCPOptions{Addr: "0.0.0.0:0"}, status: 403, promote: 403, ui: 403, hook: 200, hz: 200,
			substring: "no --api-token-file"},
		{name: "all interfaces, token, none sent", o: TCPOptions{Addr: "0.0.0.0:0", Token: tokFile}, status: 401, promote: 401, ui: 303, hook: 200, hz: 200},
		{name: "all interfaces, token sent", o: TCPOptions{Addr: "0.0.0.0:0", Token: tokFile}, token: "s3cret-token-0123456789",
			status: 200, promote: 200, ui: 200, hook: 200, hz: 200},
		{name: "loopback, no token", o: TCPOptions{Addr: "127.0.0.1:0"}, status: 200, promote: 200, ui: 200, hook: 200, hz: 200},
		{name: "loopback, token, none sent", o: TCPOptions{Addr: "127.0.0.1:0", Token: tokFile}, status: 401, promote: 401, ui: 303, hook: 200, hz: 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := serveTCP(t, tt.o)
			for _, p := range []struct {
				method, path string
				want         int
			}{
				{"GET", "/v1/status", tt.status}, {"POST", "/v1/rollouts/web/promote", tt.promote}, {"GET", "/ui/", tt.ui},
				{"POST", "/hooks/git", tt.hook}, {"GET", "/healthz", tt.hz}, {"GET", "/readyz", tt.hz},
			} {
				code, body := get(t, c, p.method, base+p.path, tt.token)
				if code != p.want {
					t.Errorf("%s %s: %d, want %d: %s", p.method, p.path, code, p.want, body)
				}
				if code == 403 && !strings.Contains(body, tt.substring) {
					t.Errorf("%s %s: %q does not say why (%q)", p.method, p.path, body, tt.substring)
				}
			}
		})
	}
}

// pki is a CA and certificates it signed, written as PEM files.
type pki struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caFile string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	p.caKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "berth test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) string {
	f := filepath.Join(p.dir, name)
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// issue makes a certificate for 127.0.0.1 (server) or a client, and
// returns its files and the tls pair.
func (p *pki) issue(t *testing.T, name string, usage x509.ExtKeyUsage) (certFile, keyFile string, pair tls.Certificate) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = p.write(t, name+".pem", "CERTIFICATE", der), p.write(t, name+"-key.pem", "EC PRIVATE KEY", kder)
	pair, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pair
}

func TestListenTCPTLS(t *testing.T) {
	p := newPKI(t)
	cert, key, _ := p.issue(t, "server", x509.ExtKeyUsageServerAuth)
	_, _, client := p.issue(t, "client", x509.ExtKeyUsageClientAuth)
	roots := x509.NewCertPool()
	roots.AddCert(p.ca)
	trusting := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
	}
	const tokFile = "s3cret-token-0123456789"

	base := serveTCP(t, TCPOptions{Addr: "0.0.0.0:0", Token: tokFile, TLSCert: cert, TLSKey: key})
	if code, body := get(t, trusting(), "GET", base+"/v1/status", "s3cret-token-0123456789"); code != 200 {
		t.Errorf("HTTPS with the token: %d %s", code, body)
	}
	if code, _ := get(t, trusting(), "GET", base+"/v1/status", ""); code != 401 {
		t.Errorf("HTTPS without the token: %d, want 401", code)
	}
	if code, _ := get(t, http.DefaultClient, "GET", strings.Replace(base, "https:", "http:", 1)+"/healthz", ""); code == 200 {
		t.Error("plain HTTP answered on the TLS port")
	}
	if code, body := get(t, &http.Client{}, "GET", base+"/healthz", ""); code != 0 || !strings.Contains(body, "certificate") {
		t.Errorf("an untrusted certificate was accepted: %d %s", code, body)
	}

	mtls := serveTCP(t, TCPOptions{Addr: "127.0.0.1:0", TLSCert: cert, TLSKey: key, TLSClientCA: p.caFile})
	if code, _ := get(t, trusting(), "GET", mtls+"/healthz", ""); code != 0 {
		t.Errorf("no client certificate: %d, want the handshake refused", code)
	}
	if code, body := get(t, trusting(client), "GET", mtls+"/v1/status", ""); code != 200 {
		t.Errorf("a client certificate: %d %s", code, body)
	}

	for _, o := range []TCPOptions{
		{Addr: "127.0.0.1:0", TLSCert: cert},
		{Addr: "127.0.0.1:0", TLSClientCA: p.caFile},
		{Addr: "127.0.0.1:0", TLSCert: cert, TLSKey: cert},
		{Addr: "127.0.0.1:0", TLSCert: cert, TLSKey: key, TLSClientCA: key},
	} {
		if _, err := ListenTCP(o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
