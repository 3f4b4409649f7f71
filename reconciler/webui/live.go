package webui

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// broadcaster tells the open pages when what the daemon reports changed.
// One goroutine computes the fingerprint each interval while a page is
// open, however many are, and none runs when no page is.
type broadcaster struct {
	every       time.Duration
	fingerprint func() uint64

	mu      sync.Mutex
	subs    map[chan struct{}]struct{}
	running bool
}

func newBroadcaster(every time.Duration, fp func() uint64) *broadcaster {
	return &broadcaster{every: every, fingerprint: fp, subs: map[chan struct{}]struct{}{}}
}

// subscribe returns a channel that receives after each change, and the
// function that ends the subscription.
func (b *broadcaster) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	if !b.running {
		b.running = true
		go b.run()
	}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

func (b *broadcaster) run() {
	last := b.fingerprint()
	t := time.NewTicker(b.every)
	defer t.Stop()
	for range t.C {
		b.mu.Lock()
		if len(b.subs) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		fp := b.fingerprint()
		if fp == last {
			continue
		}
		last = fp
		b.mu.Lock()
		for ch := range b.subs {
			select {
			case ch <- struct{}{}:
			default: // the page has a change to fetch already
			}
		}
		b.mu.Unlock()
	}
}

// fingerprint hashes what the pages show and nothing that moves on its
// own (fetch and pass times), so an idle daemon sends no event.
func (u *UI) fingerprint() uint64 {
	h := fnv.New64a()
	g := u.opts.Loop.Status()
	fmt.Fprintln(h, g.Applied, g.Applying, g.Head, g.PlanHash, g.LastError, g.Rejected != nil)
	if hist := u.opts.Loop.History(); hist != nil {
		fmt.Fprintln(h, hist.Version())
	}
	if st, ok := u.status(); ok {
		fmt.Fprintln(h, st.Revision, st.LastError, len(st.Events))
		if n := len(st.Events); n > 0 {
			fmt.Fprintln(h, st.Events[n-1].Time.UnixNano())
		}
		for _, w := range st.Workloads {
			fmt.Fprintln(h, w.Kind, w.Namespace, w.Name, w.Revision, w.Ready, w.Total, w.Phase, w.Message, w.Step, w.Weight,
				w.Succeeded, w.Failed, w.ActiveRuns, w.Stable, w.Active)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, p := range u.observe(ctx).Pods {
		fmt.Fprintln(h, p.Namespace, p.Name, p.Phase, p.Ready, p.Reason, p.Restarts(), p.IP)
	}
	if u.opts.Cluster != nil {
		for _, n := range u.opts.Cluster() {
			fmt.Fprintln(h, n)
		}
	}
	return h.Sum64()
}

// acquire takes a stream slot, or answers 503 when all are taken.
func (u *UI) acquire(w http.ResponseWriter) bool {
	select {
	case u.streams <- struct{}{}:
		return true
	default:
		w.Header().Set("Retry-After", "10")
		http.Error(w, fmt.Sprintf("too many open live pages (%d); close some or reload later", maxStreams), http.StatusServiceUnavailable)
		return false
	}
}

func (u *UI) release() { <-u.streams }

// sseHeaders starts an event stream; proxies must not buffer it.
func sseHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
}

// heartbeat keeps idle streams open through proxies.
const heartbeat = 15 * time.Second

// events is GET /ui/events: a "change" event whenever the daemon's
// reported state changes.
func (u *UI) events(w http.ResponseWriter, r *http.Request) {
	if !u.acquire(w) {
		return
	}
	defer u.release()
	fl, _ := w.(http.Flusher)
	ch, cancel := u.live.subscribe()
	defer cancel()
	sseHeaders(w)
	fmt.Fprint(w, "retry: 2000\n\n")
	if fl != nil {
		fl.Flush()
	}
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ch:
			fmt.Fprint(w, "event: change\ndata: {}\n\n")
		case <-beat.C:
			fmt.Fprint(w, ": heartbeat\n\n")
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

// maxLogLine cuts a log line sent as one event.
const maxLogLine = 16 << 10

// logStream is GET /ui/pods/{ns}/{name}/log?container=C&from=N: a
// container's log from byte N on, one event per line, following it.
// Without Accept: text/event-stream it is the plain text, for reading
// without the script.
func (u *UI) logStream(w http.ResponseWriter, r *http.Request) {
	if u.opts.Pods == nil {
		http.Error(w, "this daemon runs no pods", http.StatusNotFound)
		return
	}
	if !u.acquire(w) {
		return
	}
	defer u.release()
	key := r.PathValue("namespace") + "/" + r.PathValue("name")
	q := r.URL.Query()
	from := int64(atoi(q.Get("from"), 0))
	sse := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	fl, _ := w.(http.Flusher)
	var out io.Writer
	if sse {
		sseHeaders(w)
		out = &sseLines{w: w, fl: fl}
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		out = flushing{w: w, fl: fl}
	}
	err := u.opts.Pods.Logs(r.Context(), key, q.Get("container"), q.Get("follow") != "0", false, &skipWriter{w: out, skip: from})
	if err != nil && r.Context().Err() == nil {
		if sse {
			fmt.Fprintf(w, "event: failed\ndata: %s\n\n", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Fprintf(w, "\n(log: %v)\n", err)
		}
	}
}

// skipWriter drops the first skip bytes: the part of the log the page
// already shows.
type skipWriter struct {
	w    io.Writer
	skip int64
}

func (s *skipWriter) Write(b []byte) (int, error) {
	n := len(b)
	if s.skip > 0 {
		k := min(int64(len(b)), s.skip)
		s.skip -= k
		b = b[k:]
	}
	if len(b) == 0 {
		return n, nil
	}
	if _, err := s.w.Write(b); err != nil {
		return 0, err
	}
	return n, nil
}

// sseLines sends each complete line as one "data:" event.
type sseLines struct {
	w       io.Writer
	fl      http.Flusher
	partial []byte
}

func (s *sseLines) Write(b []byte) (int, error) {
	n := len(b)
	s.partial = append(s.partial, b...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 && len(s.partial) < maxLogLine {
			break
		}
		line := s.partial
		if i >= 0 {
			line, s.partial = s.partial[:i], s.partial[i+1:]
		} else {
			line, s.partial = s.partial[:maxLogLine], s.partial[maxLogLine:]
		}
		l := strings.TrimSuffix(string(line), "\r")
		if _, err := fmt.Fprintf(s.w, "data: %s\n\n", strings.ReplaceAll(l, "\r", "")); err != nil {
			return 0, err
		}
	}
	if s.fl != nil {
		s.fl.Flush()
	}
	return n, nil
}

type flushing struct {
	w  io.Writer
	fl http.Flusher
}

func (f flushing) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	if f.fl != nil {
		f.fl.Flush()
	}
	return n, err
}
