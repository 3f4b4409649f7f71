// Package notify sends the daemon's events (a revision applied, refused,
// failed or reverted; the node suspended, resumed or pinned; drift
// repaired) to webhooks (--notify-url) as JSON, in a documented format
// with a Slack-compatible "text" field. Each URL has its own bounded
// queue and sender: a slow or dead receiver delays nothing else, and past
// the queue's bound the oldest events are dropped (and counted). A
// delivery is retried with a doubling back-off; a 4xx answer other than
// 408 and 429 is final. URLs (a Slack webhook URL is a credential) are
// never logged; event text passes the daemon's secret masking.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Version is the version of the event document.
const Version = "berth.dev/event/v1"

// Event types.
const (
	Applied       = "revision.applied"
	Rejected      = "revision.rejected"
	Failed        = "revision.failed"
	Reverted      = "revision.reverted"
	Suspended     = "node.suspended"
	Resumed       = "node.resumed"
	Pinned        = "node.pinned"
	Unpinned      = "node.unpinned"
	DriftRepaired = "drift.repaired"
)

// Event is the JSON body POSTed to every --notify-url.
type Event struct {
	Version string    `json:"version"`
	Type    string    `json:"type"`
	Time    time.Time `json:"time"`
	// Node is the node that sends it.
	Node string `json:"node"`
	// Revision is the revision it is about (for a drift repair, the one
	// the node runs); Subject its commit's first line.
	Revision string `json:"revision,omitempty"`
	Subject  string `json:"subject,omitempty"`
	// To is where a revert went (the last revision healthy everywhere),
	// or the revision pinned.
	To string `json:"to,omitempty"`
	// Reason says why (a failure, the first error of a refusal, who
	// suspended); Object is the workload it is about; FailedOn the node
	// where the revision failed.
	Reason   string `json:"reason,omitempty"`
	Object   string `json:"object,omitempty"`
	FailedOn string `json:"failedOn,omitempty"`
	// AllNodes: a suspend, resume or pin given to every node at once.
	AllNodes bool `json:"allNodes,omitempty"`
	// Diagnostics are a refused revision's first errors (at most 5).
	Diagnostics []string `json:"diagnostics,omitempty"`
	// Repairs are what a drift repair did (at most 10).
	Repairs []string `json:"repairs,omitempty"`
	// Text is the event in one message, for Slack and its look-alikes
	// (Mattermost, Rocket.Chat, Discord's /slack endpoint).
	Text string `json:"text"`
}

// Masker hides credentials in text (reconciler/redact.Secrets).
type Masker interface{ String(string) string }

// Options configure a Notifier.
type Options struct {
	URLs []string
	// Queue bounds the events waiting per URL (default 256).
	Queue int
	// Attempts per event (default 6), the first Backoff (default 1s,
	// doubling up to 1 min), and the timeout of one request (default 10s).
	Attempts int
	Backoff  time.Duration
	Timeout  time.Duration
	Client   *http.Client
	Mask     Masker
	Logger   *slog.Logger
	// Registerer, when set, gets berth_notifications_total{result}.
	Registerer prometheus.Registerer
}

// Notifier fans events out to the URLs.
type Notifier struct {
	opts    Options
	targets []*target
	total   *prometheus.CounterVec
}

type target struct {
	url  string
	host string // what logs may show
	mu   sync.Mutex
	q    []Event
	wake chan struct{}
}

// CheckURL says whether u may be a notification URL: http or https with
// a host.
func CheckURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("--notify-url: want an http:// or https:// URL with a host, got %q", shown(u))
	}
	return nil
}

// shown is a URL as a log may show it: scheme and host.
func shown(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "(not a URL)"
	}
	return p.Scheme + "://" + p.Host
}

// New makes a Notifier; Run sends.
func New(o Options) (*Notifier, error) {
	if o.Queue <= 0 {
		o.Queue = 256
	}
	if o.Attempts <= 0 {
		o.Attempts = 6
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Timeout}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{opts: o, total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "berth_notifications_total",
		Help: "Events for --notify-url receivers, by result: sent, failed (after every attempt), dropped (queue full).",
	}, []string{"result"})}
	if o.Registerer != nil {
		o.Registerer.MustRegister(n.total)
	}
	for _, u := range o.URLs {
		if err := CheckURL(u); err != nil {
			return nil, err
		}
		n.targets = append(n.targets, &target{url: u, host: shown(u), wake: make(chan struct{}, 1)})
	}
	return n, nil
}

// Notify queues e for every URL; it never blocks. Time, Version and Text
// are filled when empty.
func (n *Notifier) Notify(e Event) {
	if n == nil || len(n.targets) == 0 {
		return
	}
	e.Version = Version
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if e.Text == "" {
		e.Text = Text(e)
	}
	if m := n.opts.Mask; m != nil {
		e.Reason, e.Text, e.Subject = m.String(e.Reason), m.String(e.Text), m.String(e.Subject)
		for i := range e.Diagnostics {
			e.Diagnostics[i] = m.String(e.Diagnostics[i])
		}
		for i := range e.Repairs {
			e.Repairs[i] = m.String(e.Repairs[i])
		}
	}
	for _, t := range n.targets {
		t.mu.Lock()
		if len(t.q) >= n.opts.Queue {
			t.q = t.q[1:]
			n.total.WithLabelValues("dropped").Inc()
			n.opts.Logger.Warn("notification queue full: the oldest event is dropped", "receiver", t.host)
		}
		t.q = append(t.q, e)
		t.mu.Unlock()
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// Run sends the queued events until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range n.targets {
		wg.Go(func() { n.send(ctx, t) })
	}
	wg.Wait()
}

func (n *Notifier) send(ctx context.Context, t *target) {
	for {
		t.mu.Lock()
		if len(t.q) == 0 {
			t.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.wake:
			}
			continue
		}
		e := t.q[0]
		t.q = t.q[1:]
		t.mu.Unlock()
		if err := n.deliver(ctx, t, e); err != nil {
			if ctx.Err() != nil {
				return
			}
			n.opts.Logger.Warn("notification not delivered", "receiver", t.host, "event", e.Type, "err", err)
			n.total.WithLabelValues("failed").Inc()
			continue
		}
		n.total.WithLabelValues("sent").Inc()
	}
}

// errFinal is an answer that no retry changes.
var errFinal = errors.New("refused")

func (n *Notifier) deliver(ctx context.Context, t *target, e Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	wait := n.opts.Backoff
	for attempt := 1; ; attempt++ {
		err = n.post(ctx, t, body)
		if err == nil || errors.Is(err, errFinal) || attempt >= n.opts.Attempts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Minute)
	}
}

func (n *Notifier) post(ctx context.Context, t *target, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request to %s: %w", t.host, errFinal)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "berth")
	resp, err := n.opts.Client.Do(req)
	if err != nil {
		// The error names the URL: say only the host.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("POST %s: %w", t.host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c < 300:
		return nil
	case c >= 400 && c < 500 && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests:
		return fmt.Errorf("POST %s: %s: %w", t.host, resp.Status, errFinal)
	default:
		return fmt.Errorf("POST %s: %s", t.host, resp.Status)
	}
}

// Text is an event in one line or two, as a chat shows it.
func Text(e Event) string {
	rev := short(e.Revision)
	var b strings.Builder
	fmt.Fprintf(&b, "berth %s: ", e.Node)
	switch e.Type {
	case Applied:
		fmt.Fprintf(&b, "revision %s applied", rev)
	case Rejected:
		fmt.Fprintf(&b, "revision %s refused; the node keeps its last good revision", rev)
	case Failed:
		fmt.Fprintf(&b, "revision %s failed", rev)
		if e.FailedOn != "" && e.FailedOn != e.Node {
			fmt.Fprintf(&b, " on %s", e.FailedOn)
		}
	case Reverted:
		fmt.Fprintf(&b, "revision %s failed", rev)
		if e.FailedOn != "" && e.FailedOn != e.Node {
			fmt.Fprintf(&b, " on %s", e.FailedOn)
		}
		fmt.Fprintf(&b, "; back to %s, the last revision healthy on every node", short(e.To))
	case Suspended:
		b.WriteString("suspended: new revisions wait until berth resume")
	case Resumed:
		b.WriteString("resumed: new revisions apply again")
	case Pinned:
		fmt.Fprintf(&b, "pinned to revision %s until berth unpin", short(e.To))
	case Unpinned:
		b.WriteString("unpinned: follows the branch again")
	case DriftRepaired:
		fmt.Fprintf(&b, "drift repaired at revision %s", rev)
	default:
		b.WriteString(e.Type)
	}
	if e.Subject != "" {
		fmt.Fprintf(&b, " (%s)", e.Subject)
	}
	if e.Reason != "" {
		b.WriteString(": ")
		if e.Object != "" && !strings.Contains(e.Reason, e.Object) {
			b.WriteString(e.Object + ": ")
		}
		b.WriteString(e.Reason)
	}
	for _, d := range e.Diagnostics {
		b.WriteString("\n" + d)
	}
	for _, r := range e.Repairs {
		b.WriteString("\n" + r)
	}
	return b.String()
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
