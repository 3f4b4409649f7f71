package budget

import (
	"errors"
	"testing"
	"time"

	"berth.dev/berth/compiler/diag"
)

func TestExceededMessage(t *testing.T) {
	tests := []struct {
		err  *Exceeded
		want string
	}{
		{&Exceeded{Limit: FileBytes, Got: 300 << 20, Max: 16 << 20},
			"budget exceeded (file size): 300 MiB, over the limit of 16 MiB (raise it with --max-file-bytes)"},
		{&Exceeded{Limit: Files, Got: 100001, Max: 100000},
			"budget exceeded (files): 100001, over the limit of 100000 (raise it with --max-files)"},
		{&Exceeded{Limit: EvalTime, Max: int64(30 * time.Second)},
			"budget exceeded (evaluation time): over the limit of 30s (raise it with --max-eval-time)"},
		{&Exceeded{Limit: ObjectBytes, Got: 1536 * 1024, Max: 1 << 20},
			"budget exceeded (object size): 1.5 MiB, over the limit of 1 MiB (raise it with --max-object-bytes)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestSummary(t *testing.T) {
	e := &Exceeded{Limit: FileBytes, Where: "deploy/big.yaml", Got: 300 << 20, Max: 16 << 20}
	got, ok := Summary(e.Diagnostic(diag.Pos{}))
	if !ok || got != "budget exceeded (file size, deploy/big.yaml)" {
		t.Fatalf("Summary = %q, %v", got, ok)
	}
	if _, ok := Summary(diag.Diagnostic{Rule: "schema", Message: "x"}); ok {
		t.Fatal("a schema diagnostic read as a budget refusal")
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		k    Limit
		in   string
		want int64
		ok   bool
	}{
		{FileBytes, "16Mi", 16 << 20, true},
		{FileBytes, "16MiB", 16 << 20, true},
		{FileBytes, "2G", 2 << 30, true},
		{FileBytes, "1048576", 1 << 20, true},
		{FileBytes, "64Ki", 64 << 10, true},
		{FileBytes, "lots", 0, false},
		{FileBytes, "0", 0, false},
		{Files, "10", 10, true},
		{Files, "-1", 0, false},
		{EvalTime, "1m", int64(time.Minute), true},
		{EvalTime, "1", 0, false},
	}
	for _, tt := range tests {
		got, err := Parse(tt.k, tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Parse(%s, %q) = %d, %v", tt.k, tt.in, got, err)
		}
	}
	var l Limits
	if err := Value(&l, EvalMemory).Set("256Mi"); err != nil || l.EvalMemory != 256<<20 {
		t.Fatalf("Set: %v, %+v", err, l)
	}
	if got := Value(&l, FileBytes).String(); got != "16 MiB" {
		t.Fatalf("default shown as %q", got)
	}
}

func TestTally(t *testing.T) {
	ta := NewTally(Limits{Files: 2, TotalBytes: 100, FileBytes: 60, Objects: 3})
	if err := ta.File("a", 50); err != nil {
		t.Fatal(err)
	}
	var ex *Exceeded
	if err := ta.File("b", 61); !errors.As(err, &ex) || ex.Limit != FileBytes || ex.Where != "b" {
		t.Fatalf("b: %v", err)
	}
	if err := ta.File("c", 55); !errors.As(err, &ex) || ex.Limit != TotalBytes || ex.Got != 105 {
		t.Fatalf("c: %v", err)
	}
	if err := ta.File("d", 1); !errors.As(err, &ex) || ex.Limit != Files {
		t.Fatalf("d: %v", err)
	}
	if err := ta.Objects("x", 3); err != nil {
		t.Fatal(err)
	}
	if err := ta.Objects("y", 1); !errors.As(err, &ex) || ex.Limit != Objects {
		t.Fatalf("y: %v", err)
	}
	if d := (Limits{}).Defaults(); d.FileBytes != 16<<20 || d.EvalTime != 30*time.Second || d.ObjectBytes != 1<<20 {
		t.Fatalf("defaults %+v", d)
	}
}
