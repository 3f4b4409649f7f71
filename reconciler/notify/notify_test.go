package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// receiver is a local webhook: it answers with the statuses in order
// (then 200) and keeps the bodies it accepted.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	got      []Event
	raw      []string
	tries    int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tries++
	if len(r.statuses) > 0 {
		s := r.statuses[0]
		r.statuses = r.statuses[1:]
		if s != http.StatusOK {
			w.WriteHeader(s)
			return
		}
	}
	if req.Header.Get("Content-Type") != "application/json" {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.got, r.raw = append(r.got, e), append(r.raw, string(b))
}

func (r *receiver) events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.got...)
}

type mask struct{ secret string }

func (m mask) String(s string) string { return strings.ReplaceAll(s, m.secret, "***") }

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !f(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeliverRetryAndFormat(t *testing.T) {
	rcv := &receiver{statuses: []int{http.StatusInternalServerError, http.StatusTooManyRequests}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	url := srv.URL + "/services/T000/B000/XXXXSECRETPATH"
	n, err := New(Options{URLs: []string{url}, Backoff: time.Millisecond, Mask: mask{"hunter2"},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Run(ctx)
	n.Notify(Event{Type: Reverted, Node: "n1", Revision: "0123456789abcdef0123", To: "fedcba9876543210", FailedOn: "n2",
		Reason: "progress deadline exceeded: 0 of 2 new pods available after 10s (pod web-x Pending: ImagePullBackOff: token hunter2)",
		Object: "Deployment/default/web", Subject: "web v2"})
	waitFor(t, "the event", func() bool { return len(rcv.events()) == 1 })
	e := rcv.events()[0]
	if e.Version != Version || e.Type != Reverted || e.Time.IsZero() || e.To != "fedcba9876543210" {
		t.Fatalf("event %+v", e)
	}
	want := "berth n1: revision 0123456789ab failed on n2; back to fedcba987654, the last revision healthy on every node (web v2): " +
		"Deployment/default/web: progress deadline exceeded: 0 of 2 new pods available after 10s (pod web-x Pending: ImagePullBackOff: token ***)"
	if e.Text != want {
		t.Errorf("text:\n%s\nwant:\n%s", e.Text, want)
	}
	if strings.Contains(rcv.raw[0], "hunter2") {
		t.Errorf("a secret reached the receiver: %s", rcv.raw[0])
	}
	rcv.mu.Lock()
	tries := rcv.tries
	rcv.mu.Unlock()
	if tries != 3 {
		t.Errorf("%d tries, want 3 (500, 429, then 200)", tries)
	}
	if got := testutil.ToFloat64(n.total.WithLabelValues("sent")); got != 1 {
		t.Errorf("sent = %v", got)
	}

	// A 4xx is final: no retry, counted failed, and the log names the host only.
	rcv.mu.Lock()
	rcv.statuses, rcv.tries = []int{http.StatusNotFound}, 0
	rcv.mu.Unlock()
	n.Notify(Event{Type: Suspended, Node: "n1"})
	waitFor(t, "the failure", func() bool { return testutil.ToFloat64(n.total.WithLabelValues("failed")) == 1 })
	rcv.mu.Lock()
	tries = rcv.tries
	rcv.mu.Unlock()
	if tries != 1 {
		t.Errorf("%d tries after a 404, want 1", tries)
	}
	if strings.Contains(logs.String(), "SECRETPATH") || !strings.Contains(logs.String(), "404") {
		t.Errorf("log:\n%s", logs.String())
	}
}

func TestQueueBounded(t *testing.T) {
	block := make(chan struct{})
	var got []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-block
		var e Event
		_ = json.NewDecoder(r.Body).Decode(&e)
		mu.Lock()
		got = append(got, e.Revision)
		mu.Unlock()
	}))
	defer srv.Close()
	defer close(block)
	n, err := New(Options{URLs: []string{srv.URL}, Queue: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Run(ctx)
	n.Notify(Event{Type: Applied, Revision: "r0"})
	waitFor(t, "the first send", func() bool {
		n.targets[0].mu.Lock()
		defer n.targets[0].mu.Unlock()
		return len(n.targets[0].q) == 0
	})
	for _, r := range []string{"r1", "r2", "r3", "r4", "r5"} {
		n.Notify(Event{Type: Applied, Revision: r}) // never blocks
	}
	if d := testutil.ToFloat64(n.total.WithLabelValues("dropped")); d != 2 {
		t.Fatalf("dropped %v, want 2", d)
	}
	for range 4 {
		block <- struct{}{}
	}
	waitFor(t, "the queue", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 4 })
	if strings.Join(got, ",") != "r0,r3,r4,r5" {
		t.Fatalf("delivered %v, want the newest three after r0", got)
	}
}

func TestCheckURL(t *testing.T) {
	for _, u := range []string{"ftp://x", "http://", "not a url", "/path"} {
		if err := CheckURL(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	if err := CheckURL("https://hooks.slack.com/services/T/B/C"); err != nil {
		t.Error(err)
	}
}
