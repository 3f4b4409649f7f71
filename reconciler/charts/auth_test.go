package charts_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"berth.dev/berth/compiler/render"
	"berth.dev/berth/reconciler/charts"
)

// The credentials of the tests; none may show in an error or a log line.
const (
	user          = "robot"
	password      = "s3cret-pass-word"
	identityToken = "refresh-token-7f3a"
	registryToken = "registry-token-91c2"
	issuedToken   = "issued-token-5d8e"
)

var secretTexts = []string{password, identityToken, registryToken, issuedToken,
	base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}

// privateRegistry serves the chart behind a Bearer challenge whose token
// service checks the credentials and the scope, as a distribution
// registry with token auth does; or, with basicOnly, behind a Basic
// challenge, as one with htpasswd auth does.
func privateRegistry(t *testing.T, data []byte, basicOnly bool) *httptest.Server {
	digest := render.Digest(data)
	const scope = "repository:charts/hello:pull"
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			if r.URL.Query().Get("service") != "test" {
				http.Error(w, "bad service", http.StatusBadRequest)
				return
			}
			switch r.Method {
			case http.MethodPost: // OAuth2: a refresh token
				r.ParseForm()
				if r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != identityToken || r.PostForm.Get("scope") != scope {
					http.Error(w, "bad refresh token", http.StatusUnauthorized)
					return
				}
				json.NewEncoder(w).Encode(map[string]string{"access_token": issuedToken})
			default:
				u, p, ok := r.BasicAuth()
				if !ok || u != user || p != password {
					http.Error(w, "bad credentials", http.StatusUnauthorized)
					return
				}
				if r.URL.Query().Get("scope") != scope {
					http.Error(w, "bad scope", http.StatusForbidden)
					return
				}
				json.NewEncoder(w).Encode(map[string]string{"token": issuedToken})
			}
			return
		}
		authz := r.Header.Get("Authorization")
		switch {
		case basicOnly && authz != "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+password)):
			w.Header().Set("WWW-Authenticate", `Basic realm="Registry Realm"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		case !basicOnly && authz != "Bearer "+issuedToken && authz != "Bearer "+registryToken:
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token?service=test",scope=%q`, srv.URL, scope))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/v2/charts/hello/manifests/0.1.0":
			fmt.Fprintf(w, `{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":%q}]}`, digest)
		case "/v2/charts/hello/blobs/" + digest:
			w.Write(data)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// config writes a registry config file for host with entry as its auths
// entry.
func config(t *testing.T, host string, entry map[string]string) *charts.Credentials {
	t.Helper()
	data, _ := json.Marshal(map[string]any{"auths": map[string]any{host: entry}})
	file := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, warnings, err := charts.LoadCredentials(file)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("load: %v %v", err, warnings)
	}
	return c
}

// capture is a debug logger whose lines the test reads.
func capture() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	var mu sync.Mutex
	return slog.New(slog.NewTextHandler(lockedWriter{&buf, &mu}, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func noSecrets(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range secretTexts {
		if strings.Contains(text, s) {
			t.Errorf("%s shows a credential: %s", where, text)
		}
	}
}

func TestFetchPrivateRegistry(t *testing.T) {
	data := archive(t)
	digest := render.Digest(data)
	bearer := privateRegistry(t, data, false)
	basicReg := privateRegistry(t, data, true)
	host := strings.TrimPrefix(bearer.URL, "http://")
	basicHost := strings.TrimPrefix(basicReg.URL, "http://")
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	wrong := base64.StdEncoding.EncodeToString([]byte(user + ":nope-" + password))

	cases := []struct {
		name  string
		host  string
		creds *charts.Credentials
		err   []string
	}{
		{"auth field, bearer", host, config(t, host, map[string]string{"auth": auth}), nil},
		{"username and password, bearer", host, config(t, host, map[string]string{"username": user, "password": password}), nil},
		{"key as a URL", host, config(t, "http://"+host+"/v1/", map[string]string{"auth": auth}), nil},
		{"identitytoken", host, config(t, host, map[string]string{"identitytoken": identityToken}), nil},
		{"registrytoken", host, config(t, host, map[string]string{"registrytoken": registryToken}), nil},
		{"basic challenge", basicHost, config(t, basicHost, map[string]string{"auth": auth}), nil},
		{"wrong password", host, config(t, host, map[string]string{"auth": wrong}),
			[]string{"registry " + host + " refused the credentials --registry-config ", "helm registry login " + host + " --registry-config "}},
		{"wrong password, basic", basicHost, config(t, basicHost, map[string]string{"auth": wrong}),
			[]string{"registry " + basicHost + " refused the credentials", "helm registry login"}},
		{"no config", host, nil, []string{"registry " + host + " asks for credentials, and berth has none: give it a Docker config.json with --registry-config FILE"}},
		{"another registry's credentials", host, config(t, "other.example.com", map[string]string{"auth": auth}),
			[]string{"registry " + host + " asks for credentials, and --registry-config ", "has none for it"}},
		{"no config, basic", basicHost, nil, []string{"registry " + basicHost + " asks for credentials", "--registry-config FILE"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log, buf := capture()
			f := charts.Fetcher{PlainHTTP: []string{c.host}, Credentials: c.creds, Log: log}
			got, err := f.Fetch(context.Background(), render.ChartRef{Repository: "oci://" + c.host + "/charts", Name: "hello", Version: "0.1.0", Digest: digest})
			if err != nil {
				noSecrets(t, "the error", err.Error())
			}
			noSecrets(t, "the log", buf.String())
			if !strings.Contains(buf.String(), "chart fetch") {
				t.Errorf("no debug line for the requests: %q", buf.String())
			}
			if c.err != nil {
				if err == nil {
					t.Fatal("fetched without the right credentials")
				}
				for _, want := range c.err {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("err %q\nwant it to say %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if render.Digest(got) != digest {
				t.Fatal("fetched another archive")
			}
		})
	}
}

// TestFetchPrivateRepository: a Helm repository over HTTPS gets basic
// credentials for its index and archive; an archive on another host, or a
// redirect to one, gets none; and plain HTTP gets none unless the host is
// listed as insecure.
func TestFetchPrivateRepository(t *testing.T) {
	data := archive(t)
	digest := render.Digest(data)
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))

	var leaked []string
	var mu sync.Mutex
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			mu.Lock()
			leaked = append(leaked, r.URL.Path+" got "+a)
			mu.Unlock()
		}
		w.Write(data)
	}))
	t.Cleanup(other.Close)

	repo := func(tls bool, archiveURL string) *httptest.Server {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != want {
				w.Header().Set("WWW-Authenticate", `Basic realm="charts"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			switch r.URL.Path {
			case "/charts/index.yaml":
				fmt.Fprintf(w, "apiVersion: v1\nentries:\n  hello:\n    - version: 0.1.0\n      urls: [%s]\n", archiveURL)
			case "/charts/hello-0.1.0.tgz":
				w.Write(data)
			case "/charts/moved.tgz":
				http.Redirect(w, r, other.URL+"/moved.tgz", http.StatusFound)
			default:
				http.NotFound(w, r)
			}
		})
		var srv *httptest.Server
		if tls {
			srv = httptest.NewTLSServer(h)
		} else {
			srv = httptest.NewServer(h)
		}
		t.Cleanup(srv.Close)
		return srv
	}
	same := repo(true, "hello-0.1.0.tgz")
	abroad := repo(true, other.URL+"/abroad.tgz")
	redirect := repo(true, "moved.tgz")
	plain := repo(false, "hello-0.1.0.tgz")
	hostOf := func(s *httptest.Server) string {
		return strings.TrimPrefix(strings.TrimPrefix(s.URL, "https://"), "http://")
	}

	cases := []struct {
		name     string
		srv      *httptest.Server
		insecure bool
		err      string
	}{
		{"https", same, false, ""},
		{"archive on another host", abroad, false, ""},
		{"redirect to another host", redirect, false, ""},
		{"plain http, not listed", plain, false, "which berth sends over HTTPS only: use an https:// URL, or list " + hostOf(plain) + " in --insecure-registries"},
		{"plain http, listed as insecure", plain, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log, buf := capture()
			f := charts.Fetcher{Client: c.srv.Client(), Credentials: config(t, hostOf(c.srv), map[string]string{"username": user, "password": password}), Log: log}
			if c.insecure {
				f.PlainHTTP = []string{hostOf(c.srv)}
			}
			got, err := f.Fetch(context.Background(), render.ChartRef{Repository: c.srv.URL + "/charts", Name: "hello", Version: "0.1.0", Digest: digest})
			noSecrets(t, "the log", buf.String())
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				noSecrets(t, "the error", err.Error())
				return
			}
			if err != nil {
				noSecrets(t, "the error", err.Error())
				t.Fatal(err)
			}
			if render.Digest(got) != digest {
				t.Fatal("fetched another archive")
			}
		})
	}
	if len(leaked) > 0 {
		t.Errorf("another host received the credentials: %v", leaked)
	}

	// Without credentials, the refusal says what to do.
	_, err := (&charts.Fetcher{Client: same.Client()}).Fetch(context.Background(), render.ChartRef{Repository: same.URL + "/charts", Name: "hello", Version: "0.1.0", Digest: digest})
	if err == nil || !strings.Contains(err.Error(), "repository "+hostOf(same)+" asks for credentials, and berth has none: give it a Docker config.json with --registry-config FILE") {
		t.Fatalf("err %v", err)
	}
}

// TestRealmRefused: a challenge cannot aim the credentials at a private
// address other than the registry's (a cloud metadata service).
func TestRealmRefused(t *testing.T) {
	data := archive(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://169.254.169.254/token",service="x"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	f := charts.Fetcher{PlainHTTP: []string{host}, Credentials: config(t, host, map[string]string{"username": user, "password": password})}
	_, err := f.Fetch(context.Background(), render.ChartRef{Repository: "oci://" + host + "/charts", Name: "hello", Version: "0.1.0", Digest: render.Digest(data)})
	if err == nil || !strings.Contains(err.Error(), "its token service 169.254.169.254 is a loopback, link-local or private address") {
		t.Fatalf("err %v", err)
	}
}

// TestRedirectToSubdomain: Go's client would forward the Authorization
// header to a subdomain (charts.test → cdn.charts.test); berth sends it to
// the origin the credentials name only.
func TestRedirectToSubdomain(t *testing.T) {
	data := archive(t)
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	var leaked string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Host, "cdn.") {
			leaked = r.Header.Get("Authorization")
			w.Write(data)
			return
		}
		if r.Header.Get("Authorization") != want {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/index.yaml":
			fmt.Fprintf(w, "entries:\n  hello:\n    - version: 0.1.0\n      urls: [hello.tgz]\n")
		default:
			_, port, _ := strings.Cut(r.Host, ":")
			http.Redirect(w, r, "http://cdn.charts.test:"+port+"/hello.tgz", http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)
	// Every name reaches the test server.
	addr := strings.TrimPrefix(srv.URL, "http://")
	_, port, _ := strings.Cut(addr, ":")
	dial := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dial.DialContext(ctx, network, addr)
	}}}
	host := "charts.test:" + port
	f := charts.Fetcher{Client: client, PlainHTTP: []string{host}, Credentials: config(t, host, map[string]string{"username": user, "password": password})}
	got, err := f.Fetch(context.Background(), render.ChartRef{Repository: "http://" + host, Name: "hello", Version: "0.1.0", Digest: render.Digest(data)})
	if err != nil {
		t.Fatal(err)
	}
	if render.Digest(got) != render.Digest(data) {
		t.Fatal("fetched another archive")
	}
	if leaked != "" {
		t.Fatalf("the subdomain received the credentials: %s", leaked)
	}
}
