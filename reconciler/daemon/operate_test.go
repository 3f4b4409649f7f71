package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/reconciler/notify"
)

// TestDriftNotesCoalesce: the first repair is told at once; the repairs
// that follow within the interval go out as one event.
func TestDriftNotesCoalesce(t *testing.T) {
	var mu sync.Mutex
	var got []notify.Event
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e notify.Event
		_ = json.NewDecoder(r.Body).Decode(&e)
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}))
	defer srv.Close()
	n, err := notify.New(notify.Options{URLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Run(ctx)
	d := &driftNotes{n: n, node: "n1", every: 200 * time.Millisecond}
	d.repaired("r1", []string{"create default/web-1 (Deployment/default/web): missing"})
	d.repaired("r1", []string{"create default/web-2 (Deployment/default/web): missing"})
	d.repaired("r1", []string{"create default/web-3 (Deployment/default/web): missing"})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k >= 2 || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || len(got[0].Repairs) != 1 || len(got[1].Repairs) != 2 || got[1].Type != notify.DriftRepaired ||
		!strings.Contains(got[1].Text, "drift repaired at revision r1") {
		t.Fatalf("events %+v", got)
	}
}
