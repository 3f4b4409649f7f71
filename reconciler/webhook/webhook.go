// Package webhook receives push notifications from GitHub, GitLab and
// Gitea (POST /hooks/git) so the daemon fetches at once instead of waiting
// for its poll. Every request must be authenticated against the shared
// secret; anything unsigned or wrongly signed is refused.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxBody bounds a payload; push payloads are small, and an unbounded read
// is a memory attack on the node.
const maxBody = 5 << 20

// Push is what a push notification says.
type Push struct {
	Provider string // github, gitlab, gitea
	Ref      string // refs/heads/main
	After    string // the new head commit
}

// Branch is the pushed branch name, or "" for tags and other refs.
func (p Push) Branch() string {
	b, ok := strings.CutPrefix(p.Ref, "refs/heads/")
	if !ok {
		return ""
	}
	return b
}

// Errors a request can be refused with.
var (
	ErrUnsigned     = errors.New("request is not signed (configure the webhook secret on the Git server)")
	ErrBadSignature = errors.New("signature does not match the webhook secret")
)

// Verify authenticates a request's body against secret: GitHub's
// X-Hub-Signature-256 and Gitea's X-Gitea-Signature are HMAC-SHA256 of the
// body; GitLab sends the secret itself in X-Gitlab-Token. It returns the
// provider.
func Verify(h http.Header, body, secret []byte) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("no webhook secret is configured; refusing every request")
	}
	switch {
	case h.Get("X-Hub-Signature-256") != "":
		sig, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
		if !ok {
			return "", ErrBadSignature
		}
		return "github", checkMAC(sig, body, secret)
	case h.Get("X-Gitea-Signature") != "":
		return "gitea", checkMAC(h.Get("X-Gitea-Signature"), body, secret)
	case h.Get("X-Gitlab-Token") != "":
		if subtle.ConstantTimeCompare([]byte(h.Get("X-Gitlab-Token")), secret) != 1 {
			return "", ErrBadSignature
		}
		return "gitlab", nil
	}
	return "", ErrUnsigned
}

func checkMAC(sigHex string, body, secret []byte) error {
	got, err := hex.DecodeString(sigHex)
	if err != nil {
		return ErrBadSignature
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

// Parse reads a push payload. GitHub, Gitea and GitLab all carry "ref"
// and "after"; GitLab's "checkout_sha" is preferred when present.
func Parse(provider string, body []byte) (Push, error) {
	var p struct {
		Ref         string `json:"ref"`
		After       string `json:"after"`
		CheckoutSHA string `json:"checkout_sha"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Push{}, fmt.Errorf("push payload: %w", err)
	}
	if p.Ref == "" {
		return Push{}, errors.New("push payload: no ref")
	}
	after := p.After
	if p.CheckoutSHA != "" {
		after = p.CheckoutSHA
	}
	return Push{Provider: provider, Ref: p.Ref, After: after}, nil
}

// Handler serves POST /hooks/git.
type Handler struct {
	Secret []byte
	// Branch is the followed branch; pushes to others are acknowledged and
	// ignored.
	Branch string
	// OnPush is called for an authenticated push to Branch; it must not block.
	OnPush func(Push)
	Logger *slog.Logger
	// Now is the clock of the refusal log's rate limit (tests set it).
	Now func() time.Time

	mu         sync.Mutex
	lastRefuse time.Time
	suppressed int
}

// refusalLogEvery is the most often a refused request is logged: anyone
// who reaches the port can send refusals, and must not flood the log.
const refusalLogEvery = 10 * time.Second

// ServeHTTP authenticates, parses and dispatches one notification.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "payload too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	provider, err := Verify(r.Header, body, h.Secret)
	if err != nil {
		h.logRefusal(r.RemoteAddr, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	event := r.Header.Get("X-GitHub-Event") + r.Header.Get("X-Gitea-Event") + r.Header.Get("X-Gitlab-Event")
	if event == "ping" {
		fmt.Fprintln(w, "pong")
		return
	}
	push, err := Parse(provider, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if push.Branch() != h.Branch {
		fmt.Fprintf(w, "ignored: push to %s, following %s\n", push.Ref, h.Branch)
		return
	}
	h.log().Info("webhook push", "provider", provider, "ref", push.Ref, "after", push.After)
	if h.OnPush != nil {
		h.OnPush(push)
	}
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintln(w, "fetching")
}

// logRefusal logs a refused request, at most once per refusalLogEvery;
// the next line says how many were left out.
func (h *Handler) logRefusal(remote string, err error) {
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	h.mu.Lock()
	if !h.lastRefuse.IsZero() && now.Sub(h.lastRefuse) < refusalLogEvery {
		h.suppressed++
		h.mu.Unlock()
		return
	}
	h.lastRefuse = now
	n := h.suppressed
	h.suppressed = 0
	h.mu.Unlock()
	h.log().Warn("webhook refused", "remote", remote, "err", err, "suppressed", n)
}

func (h *Handler) log() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}
