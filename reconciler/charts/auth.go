package charts

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"berth.dev/berth/compiler/dockercfg"
)

// session is one fetch's conversation with one registry or repository:
// the credentials for its host and the Authorization it earned. The
// credentials go to that origin (scheme, host and port) only, never to a
// host a redirect or an index points at, as Helm's getter does without
// --pass-credentials and ORAS does for a challenge from another origin.
type session struct {
	f      *Fetcher
	client *http.Client
	origin *url.URL
	what   string // "registry" or "repository", for messages
	cred   dockercfg.DockerAuth
	has    bool   // the file has credentials for the host
	authz  string // the Authorization header for the origin
}

func (f *Fetcher) session(origin *url.URL, what string) (*session, error) {
	s := &session{f: f, origin: origin, what: what}
	s.cred, s.has = f.Credentials.lookup(origin.Host)
	s.has = s.has && hasAny(s.cred)
	if s.has && origin.Scheme != "https" && !slices.Contains(f.PlainHTTP, origin.Host) {
		return nil, fmt.Errorf("%s has credentials for %s, which berth sends over HTTPS only: use an https:// URL, or list %s in --insecure-registries", displayFile(f.Credentials), origin.Host, origin.Host)
	}
	base := f.Client
	if base == nil {
		base = &http.Client{}
	}
	c := *base
	next := base.CheckRedirect
	// The client's own rule forwards Authorization to subdomains and
	// over a downgrade to http; berth forwards it to the same origin
	// only (a registry's blob redirect to a CDN gets no credentials).
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(req.URL, via[0].URL) {
			req.Header.Del("Authorization")
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	s.client = &c
	// A Helm repository gets basic credentials up front, as Helm's HTTP
	// getter sends them; a registry waits for its challenge.
	if what == "repository" && s.has && s.cred.Username != "" {
		s.authz = basic(s.cred.Username, s.cred.Password)
	}
	return s, nil
}

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// sameOrigin compares scheme, host and port, the default port filled in.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && canonicalHost(a) == canonicalHost(b)
}

func canonicalHost(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[strings.ToLower(u.Scheme)]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// get reads a URL, answering the origin's Basic or Bearer challenge once.
func (s *session) get(ctx context.Context, u string, headers map[string]string) ([]byte, error) {
	limit := s.f.MaxBytes
	if limit == 0 {
		limit = 64 << 20
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		if s.authz != "" && sameOrigin(req.URL, s.origin) {
			req.Header.Set("Authorization", s.authz)
		}
		resp, err := s.client.Do(req)
		if err != nil {
			return nil, err
		}
		s.f.log().Debug("chart fetch", "url", u, "status", resp.Status)
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 && sameOrigin(resp.Request.URL, s.origin) {
			challenge := resp.Header.Get("WWW-Authenticate")
			resp.Body.Close()
			if err := s.answer(ctx, challenge); err != nil {
				return nil, fmt.Errorf("GET %s: %s: %w", u, resp.Status, err)
			}
			continue
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return nil, fmt.Errorf("GET %s: %s: %w", u, resp.Status, s.refused(resp.Request.URL))
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", u, err)
		}
		if int64(len(data)) > limit {
			return nil, fmt.Errorf("GET %s: larger than %d bytes", u, limit)
		}
		return data, nil
	}
}

// refused says who refused and what to do. at is where the refusal came
// from: another origin (a redirect) never gets the credentials.
func (s *session) refused(at *url.URL) error {
	host := s.origin.Host
	switch {
	case !sameOrigin(at, s.origin):
		return fmt.Errorf("%s, where %s %s redirected, asks for credentials; berth sends %s's credentials to %s only", at.Host, s.what, host, host, host)
	case s.has:
		return fmt.Errorf("%s %s refused the credentials %s gives for it: check them (%s)", s.what, host, displayFile(s.f.Credentials), s.loginHint())
	case s.f.Credentials == nil:
		return fmt.Errorf("%s %s asks for credentials, and berth has none: give it a Docker config.json with --registry-config FILE (%s)", s.what, host, s.loginHint())
	default:
		return fmt.Errorf("%s %s asks for credentials, and %s has none for it (%s)", s.what, host, displayFile(s.f.Credentials), s.loginHint())
	}
}

func (s *session) loginHint() string {
	file := "FILE"
	if s.f.Credentials != nil && s.f.Credentials.file != "" {
		file = s.f.Credentials.file
	}
	if s.what == "registry" {
		return fmt.Sprintf("helm registry login %s --registry-config %s", s.origin.Host, file)
	}
	return fmt.Sprintf(`%s needs {"auths": {%q: {"username": ..., "password": ...}}}`, file, s.origin.Host)
}

// answer sets the Authorization a challenge asks for, or says why it
// cannot.
func (s *session) answer(ctx context.Context, challenge string) error {
	scheme, params := parseChallenge(challenge)
	switch scheme {
	case "basic":
		if !s.has || s.cred.Username == "" && s.cred.Password == "" {
			return s.refused(s.origin)
		}
		s.authz = basic(s.cred.Username, s.cred.Password)
		return nil
	case "bearer":
		token, err := s.token(ctx, params)
		if err != nil {
			return err
		}
		s.authz = "Bearer " + token
		return nil
	case "":
		return s.refused(s.origin)
	}
	return fmt.Errorf("%s %s asks for %s authentication, which berth does not speak (Basic and Bearer only)", s.what, s.origin.Host, scheme)
}

// token gets a bearer token from the challenge's realm, as the
// distribution token spec says: a registrytoken is the token itself; an
// identitytoken is an OAuth2 refresh token (POST, grant_type
// refresh_token); a user name and password are basic credentials to the
// realm (GET); without credentials the token is anonymous.
func (s *session) token(ctx context.Context, params map[string]string) (string, error) {
	if s.has && s.cred.RegistryToken != "" {
		return s.cred.RegistryToken, nil
	}
	realm, err := s.realm(params["realm"])
	if err != nil {
		return "", err
	}
	scopes := strings.Fields(params["scope"])
	var req *http.Request
	if s.has && s.cred.IdentityToken != "" {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.cred.IdentityToken}, "client_id": {"berth"}}
		if params["service"] != "" {
			form.Set("service", params["service"])
		}
		if len(scopes) > 0 {
			form.Set("scope", strings.Join(scopes, " "))
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, realm.String(), strings.NewReader(form.Encode()))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		q := realm.Query()
		if params["service"] != "" {
			q.Set("service", params["service"])
		}
		for _, sc := range scopes {
			q.Add("scope", sc)
		}
		realm.RawQuery = q.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
		if err != nil {
			return "", err
		}
		if s.has && (s.cred.Username != "" || s.cred.Password != "") {
			req.Header.Set("Authorization", basic(s.cred.Username, s.cred.Password))
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("token service %s: %w", realm.Host, err)
	}
	defer resp.Body.Close()
	s.f.log().Debug("chart registry token", "realm", realm.Scheme+"://"+realm.Host+realm.Path, "status", resp.Status)
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return "", fmt.Errorf("token service %s: %s: %w", realm.Host, resp.Status, s.refused(s.origin))
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token service %s: %s", realm.Host, resp.Status)
	}
	var t struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&t); err != nil {
		return "", fmt.Errorf("token service %s: the answer is not a token (JSON)", realm.Host)
	}
	if t.AccessToken != "" {
		return t.AccessToken, nil
	}
	if t.Token == "" {
		return "", fmt.Errorf("token service %s: the answer holds no token", realm.Host)
	}
	return t.Token, nil
}

// realm checks where a challenge sends the credentials, as ORAS does:
// https, or http only when the registry itself is spoken to over http;
// and not a loopback, link-local or private address unless that is the
// registry's own host (a challenge must not aim the credentials at a
// metadata service).
func (s *session) realm(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s %s: its Bearer challenge names no realm (token service URL)", s.what, s.origin.Host)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && s.origin.Scheme == "http":
	default:
		return nil, fmt.Errorf("%s %s: its token service must be https://, not %s://", s.what, s.origin.Host, u.Scheme)
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && u.Hostname() != s.origin.Hostname() &&
		(ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsPrivate() || ip.IsUnspecified()) {
		return nil, fmt.Errorf("%s %s: its token service %s is a loopback, link-local or private address other than the registry's", s.what, s.origin.Host, u.Hostname())
	}
	u.User = nil
	return u, nil
}

// parseChallenge reads the first challenge of a WWW-Authenticate header
// (RFC 7235: a scheme, then name=value or name="quoted, value" pairs):
// the scheme in lower case and its parameters. A scope often holds
// commas ("repository:a:pull,push"), so values are read as quoted
// strings, never split on commas.
func parseChallenge(h string) (string, map[string]string) {
	h = strings.TrimSpace(h)
	scheme, rest, _ := strings.Cut(h, " ")
	params := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			break
		}
		name := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " ")
		var value strings.Builder
		if strings.HasPrefix(rest, `"`) {
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				value.WriteByte(rest[i])
			}
			rest = rest[min(i+1, len(rest)):]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			value.WriteString(strings.TrimSpace(rest[:end]))
			rest = rest[end:]
		}
		params[name] = value.String()
		rest = strings.TrimLeft(rest, " ,")
	}
	return strings.ToLower(scheme), params
}
