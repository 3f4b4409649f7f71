package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDBSaveLoadReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Save([]Record{{"a", "k1", []byte("v1")}, {"a", "k2", []byte("v2")}, {"b", "x", []byte("y")}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Save([]Record{{"a", "k1", nil}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := db.Load("a")
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 1 || string(a["k2"]) != "v2" {
		t.Fatalf("bucket a = %q", a)
	}
	none, err := db.Load("missing")
	if err != nil || len(none) != 0 {
		t.Fatalf("missing bucket = %v, %v", none, err)
	}
}

func TestDBLockedTwice(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second Open: %v, want a locked error", err)
	}
}

func TestMemory(t *testing.T) {
	m := NewMemory()
	_ = m.Save([]Record{{"a", "k", []byte("v")}})
	got, _ := m.Load("a")
	if string(got["k"]) != "v" {
		t.Fatalf("got %q", got)
	}
	_ = m.Save([]Record{{"a", "k", nil}})
	got, _ = m.Load("a")
	if len(got) != 0 {
		t.Fatalf("after delete %q", got)
	}
}

// TestDamagedStore: a damaged file never panics and never opens as a new,
// empty store; it is refused with the way out, and left as it was until
// MoveAside (berth daemon --reset-state) keeps it aside.
func TestDamagedStore(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"empty file", func(b []byte) []byte { return nil }},
		{"garbage", func(b []byte) []byte {
			for i := range b {
				b[i] = byte(i * 7)
			}
			return b
		}},
		{"truncated", func(b []byte) []byte { return b[:5000] }},
		{"both meta pages zeroed", func(b []byte) []byte { clear(b[:8192]); return b }},
		// bbolt panics on this one ("invalid freelist page").
		{"freelist overwritten", func(b []byte) []byte { fill(b[16384:]); return b }},
		// This one opens; the page check finds it.
		{"root pages overwritten", func(b []byte) []byte { fill(b[8192:16384]); return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 200 {
				if err := db.Save([]Record{{"jobs", fmt.Sprintf("job-%03d", i), make([]byte, 300)}}); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			path := filepath.Join(dir, FileName)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			damaged := tc.damage(b)
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}

			_, err = Open(dir)
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Open = %v, want a CorruptError", err)
			}
			if !strings.Contains(err.Error(), "--reset-state") || !strings.Contains(err.Error(), path) {
				t.Errorf("the error does not say which file and what to do: %v", err)
			}
			if now, _ := os.ReadFile(path); !bytes.Equal(now, damaged) {
				t.Error("Open changed the damaged file")
			}

			aside, err := MoveAside(dir, time.Date(2026, 12, 6, 1, 2, 3, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if want := path + ".corrupt-20261206T010203Z"; aside != want {
				t.Errorf("moved aside to %s, want %s", aside, want)
			}
			if kept, _ := os.ReadFile(aside); !bytes.Equal(kept, damaged) {
				t.Error("the file moved aside is not the damaged one")
			}
			db, err = Open(dir)
			if err != nil {
				t.Fatalf("Open after MoveAside: %v", err)
			}
			defer db.Close()
			if jobs, _ := db.Load("jobs"); len(jobs) != 0 {
				t.Errorf("the new store has %d jobs", len(jobs))
			}
		})
	}
}

func fill(b []byte) {
	for i := range b {
		b[i] = 0xff
	}
}
