package nodeapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Public paths answer without a token on every listener: the webhook
// authenticates itself by its signature, the probes say nothing, and the
// login form and the UI's stylesheet and script hold no data.
func public(r *http.Request) bool {
	switch r.URL.Path {
	case "/hooks/git", "/healthz", "/readyz":
		return true
	case LoginPath:
		return r.Method == http.MethodGet || r.Method == http.MethodHead
	}
	return strings.HasPrefix(r.URL.Path, AssetsPath)
}

// The UI's login and asset paths, known to the authentication so that a
// browser without a session can reach the form.
const (
	LoginPath  = "/ui/login"
	LogoutPath = "/ui/logout"
	AssetsPath = "/ui/assets/"
)

// SessionCookie is the cookie a login sets: an expiry and an HMAC keyed by
// the API token, so a session ends when it expires or the token changes,
// and the cookie never holds the token itself.
const SessionCookie = "berth_session"

// sessionTTL is how long a login lasts.
const sessionTTL = 12 * time.Hour

// Auth checks the TCP API's bearer token, and the UI's session cookie.
type Auth struct {
	Token string
	// Secure marks the cookie Secure (the listener serves TLS).
	Secure bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (a *Auth) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Auth) mac(expiry string) string {
	m := hmac.New(sha256.New, []byte(a.Token))
	m.Write([]byte("berth ui session v1|" + expiry))
	return hex.EncodeToString(m.Sum(nil))
}

// session is a cookie value valid until t.
func (a *Auth) session(t time.Time) string {
	exp := strconv.FormatInt(t.Unix(), 10)
	return exp + "." + a.mac(exp)
}

// validSession reports whether v is a session of this token, unexpired.
func (a *Auth) validSession(v string) bool {
	exp, mac, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || a.now().Unix() >= sec {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(a.mac(exp)))
}

func (a *Auth) bearer(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) == 1
}

// Authorized reports whether r carries the token, or, for a read of a UI
// page, a valid session cookie. The cookie opens nothing that changes
// state (promote, abort), so a forged cross-site request gains nothing.
func (a *Auth) Authorized(r *http.Request) bool {
	if a.bearer(r) {
		return true
	}
	if !strings.HasPrefix(r.URL.Path, "/ui/") || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	c, err := r.Cookie(SessionCookie)
	return err == nil && a.validSession(c.Value)
}

// Wrap makes every request to h carry the token (or a session cookie on
// the UI), except the public paths. It also answers the login form's POST
// and the logout.
func (a *Auth) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == LoginPath && r.Method == http.MethodPost:
			a.login(w, r)
		case r.URL.Path == LogoutPath && r.Method == http.MethodPost:
			a.setCookie(w, "", -1)
			http.Redirect(w, r, LoginPath, http.StatusSeeOther)
		case public(r) || a.Authorized(r):
			h.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/ui/") && r.Method == http.MethodGet && r.Header.Get("Accept") != "text/event-stream":
			// A browser is sent to the form, and back here after it.
			http.Redirect(w, r, LoginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="berth"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <token> (the daemon's --api-token-file), or log in at "+LoginPath, http.StatusUnauthorized)
		}
	})
}

// maxLoginForm caps the login form's body.
const maxLoginForm = 4 << 10

func (a *Auth) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "login: "+err.Error(), http.StatusBadRequest)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(r.PostForm.Get("token"))), []byte(a.Token)) != 1 {
		http.Redirect(w, r, LoginPath+"?failed=1&next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	a.setCookie(w, a.session(a.now().Add(sessionTTL)), int(sessionTTL/time.Second))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (a *Auth) setCookie(w http.ResponseWriter, v string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: v, Path: "/ui/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.Secure, SameSite: http.SameSiteStrictMode})
}

// safeNext keeps a redirect after login on this site's UI: an absolute or
// scheme-relative URL would make the form an open redirect.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/"
	}
	return next
}

// PublicOnly serves only the public paths of h: the API on a non-loopback
// address without a token keeps its webhook and probes, and refuses the
// rest.
func PublicOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hooks/git" || r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			h.ServeHTTP(w, r)
			return
		}
		http.Error(w, "forbidden: this address is not loopback and the daemon has no --api-token-file; "+
			"only /hooks/git, /healthz and /readyz are served here (use the unix socket, or give the daemon a token)", http.StatusForbidden)
	})
}

// RequireToken wraps h so every request needs the bearer token, except
// the public paths.
func RequireToken(h http.Handler, token string) http.Handler {
	return (&Auth{Token: token}).Wrap(h)
}
