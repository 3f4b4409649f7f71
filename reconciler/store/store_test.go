package store

import (
	"strings"
	"testing"
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
