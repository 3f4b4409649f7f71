// Package redact keeps credentials out of what berth shows: logs, status,
// metrics and errors. A repository URL is shown without its user info,
// and the values of the secrets berth was given (tokens, passwords,
// webhook and API secrets) are replaced wherever they appear, so that an
// error of a library that quotes a URL or a header cannot carry them.
package redact

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
)

// Mask replaces a secret.
const Mask = "[redacted]"

// URL returns a repository URL fit to show: an http(s) URL loses its user
// info (a token is often the user name), any other URL its password. An
// scp-style address (git@host:path) has no password and is kept.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil || u.Scheme == "" {
		return raw
	}
	switch {
	case u.Scheme == "http" || u.Scheme == "https":
		u.User = nil
	default:
		if _, has := u.User.Password(); !has {
			return raw
		}
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// HasCredentials reports whether a repository URL carries a credential:
// a password, or any user info on http(s).
func HasCredentials(raw string) bool { return URL(raw) != raw }

// Secrets is a set of values never to show; the zero value is empty, and
// a nil *Secrets redacts URLs only.
type Secrets struct {
	mu     sync.RWMutex // secrets are added at start, while goroutines log
	values []string
}

// Add registers secret values (blank and very short ones are ignored: a
// one-letter secret would mask every word).
func (s *Secrets) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if v = strings.TrimSpace(v); len(v) >= 4 {
			s.values = append(s.values, v)
		}
	}
}

// AddBasicAuth registers an HTTP password and the Authorization header it
// makes (base64 of user:password), which a server may echo in an error
// that a library then quotes.
func (s *Secrets) AddBasicAuth(user, password string) {
	s.Add(password)
	if password != "" {
		s.Add(base64.StdEncoding.EncodeToString([]byte(user + ":" + password)))
	}
}

// String masks every secret in text, and the user info of every URL in
// it.
func (s *Secrets) String(text string) string {
	if s != nil {
		s.mu.RLock()
		for _, v := range s.values {
			text = strings.ReplaceAll(text, v, Mask)
		}
		s.mu.RUnlock()
	}
	return urls(text)
}

// urls redacts the URLs found in free text (an error that quotes one).
func urls(text string) string {
	if !strings.Contains(text, "://") {
		return text
	}
	fields := strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == '"' || r == '\'' || r == '\n' || r == '\t' })
	for _, f := range fields {
		if strings.Contains(f, "://") && strings.Contains(f, "@") {
			start := strings.Index(f, "://")
			// Find the scheme's start: letters before "://".
			i := start
			for i > 0 && isSchemeChar(f[i-1]) {
				i--
			}
			candidate := strings.TrimRight(f[i:], ".,;:)")
			if r := URL(candidate); r != candidate {
				text = strings.ReplaceAll(text, candidate, r)
			}
		}
	}
	return text
}

func isSchemeChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// Error returns err with its message redacted; errors.Is and As still see
// the original.
func (s *Secrets) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := s.String(msg); red != msg {
		return &redacted{msg: red, err: err}
	}
	return err
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// Handler wraps h so that every message and attribute value is redacted
// before it is written.
func (s *Secrets) Handler(h slog.Handler) slog.Handler { return &handler{h: h, s: s} }

type handler struct {
	h slog.Handler
	s *Secrets
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.s.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.h.Handle(ctx, out)
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.s.String(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		out := make([]any, len(attrs))
		for i, g := range attrs {
			out[i] = h.attr(g)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.s.String(err.Error()))
		}
		return slog.String(a.Key, h.s.String(v.String()))
	}
	return a
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = h.attr(a)
	}
	return &handler{h: h.h.WithAttrs(out), s: h.s}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{h: h.h.WithGroup(name), s: h.s}
}

// ErrCredentialsInURL refuses a repository URL with credentials in it: a
// URL is shown in logs and status, and sits in the process list.
var ErrCredentialsInURL = errors.New("the repository URL carries credentials, which would show in the process list, logs and status: " +
	"remove them from the URL and pass --token-file, or --username-file and --password-file")
