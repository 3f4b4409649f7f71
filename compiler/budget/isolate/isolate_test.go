package isolate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/internal/testneed"
)

// raceEnabled is set under -race (race_test.go).
var raceEnabled bool

// sink keeps allocations reachable so that the compiler cannot drop them.
var sink [][]byte

func init() {
	Serve("test-echo", func(in []byte, _ Env) ([]byte, error) { return bytes.ToUpper(in), nil })
	Serve("test-fail", func(in []byte, _ Env) ([]byte, error) { return nil, errors.New("bad input: " + string(in)) })
	Serve("test-sleep", func([]byte, Env) ([]byte, error) { time.Sleep(time.Hour); return nil, nil })
	// One huge allocation, as strings.Repeat makes.
	Serve("test-big", func([]byte, Env) ([]byte, error) {
		b := make([]byte, 4<<30)
		b[len(b)-1] = 1
		sink = append(sink, b)
		return nil, nil
	})
	// Many small ones, touched, as an evaluator building a large value.
	Serve("test-grow", func([]byte, Env) ([]byte, error) {
		for {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			sink = append(sink, b)
		}
	})
	// Reads the file its input names, and says whether it is confined.
	Serve("test-read", func(in []byte, env Env) ([]byte, error) {
		b, err := os.ReadFile(string(in))
		if err != nil {
			return nil, err
		}
		return fmt.Appendf(nil, "%v %s", env.Confined, b), nil
	})
	Serve("test-dial", func(in []byte, _ Env) ([]byte, error) {
		c, err := net.DialTimeout("tcp", string(in), 2*time.Second)
		if err != nil {
			return nil, err
		}
		c.Close()
		return []byte("connected"), nil
	})
	Serve("test-flood", func([]byte, Env) ([]byte, error) { return make([]byte, 64<<20), nil })
}

func TestRun(t *testing.T) {
	opts := Options{Time: 20 * time.Second, Memory: 128 << 20}
	ctx := context.Background()
	out, _, err := Run(ctx, "test-echo", []byte("abc"), opts)
	if err != nil || string(out) != "ABC" {
		t.Fatalf("echo: %q, %v", out, err)
	}
	_, _, err = Run(ctx, "test-fail", []byte("x"), opts)
	var we *WorkError
	if !errors.As(err, &we) || we.Msg != "bad input: x" {
		t.Fatalf("fail: %v, want the worker's error", err)
	}
}

func TestRunBudgets(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		worker string
		opts   Options
		want   budget.Limit
	}{
		{"test-sleep", Options{Time: 200 * time.Millisecond, Memory: 128 << 20}, budget.EvalTime},
		{"test-big", Options{Time: 20 * time.Second, Memory: 128 << 20}, budget.EvalMemory},
		{"test-grow", Options{Time: 20 * time.Second, Memory: 128 << 20}, budget.EvalMemory},
		{"test-flood", Options{Time: 20 * time.Second, Memory: 16 << 20}, budget.EvalMemory},
	}
	for _, tt := range append(tests, tests[1], tests[1], tests[1]) { // the huge allocation, again
		t.Run(tt.worker, func(t *testing.T) {
			_, st, err := Run(ctx, tt.worker, nil, tt.opts)
			var ex *budget.Exceeded
			if !errors.As(err, &ex) || ex.Limit != tt.want {
				t.Fatalf("err = %v, want %s exceeded", err, tt.want)
			}
			if !strings.Contains(err.Error(), "--"+tt.want.Flag()) {
				t.Fatalf("error %q does not name the flag", err)
			}
			// The cap holds: the child never got near the 4 GiB it asked
			// for (the runtime and the binary add some 30 MiB, and the
			// heap may use the threads' stack reserve they leave unused).
			if !raceEnabled && st.MaxRSS > tt.opts.Memory+threadReserve()+64<<20 {
				t.Fatalf("child peaked at %d MiB, budget %d MiB", st.MaxRSS>>20, tt.opts.Memory>>20)
			}
			// One huge allocation is refused before it is touched.
			if !raceEnabled && tt.worker == "test-big" && st.MaxRSS > 64<<20 {
				t.Fatalf("the refused allocation was touched: peak %d MiB", st.MaxRSS>>20)
			}
		})
	}
}

func TestRunParentCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, _, err := Run(ctx, "test-sleep", nil, Options{Time: time.Minute, Memory: 64 << 20})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestConfinement: the worker reads beneath Options.Read only, a link
// does not lead it out, and it opens no TCP connection.
func TestConfinement(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(in, "ok"), []byte("inside"), 0o644)
	os.WriteFile(filepath.Join(out, "secret"), []byte("TOKEN"), 0o644)
	os.Symlink(filepath.Join(out, "secret"), filepath.Join(in, "link"))
	opts := Options{Time: 20 * time.Second, Memory: 128 << 20, Read: []string{in}}
	ctx := context.Background()

	got, _, err := Run(ctx, "test-read", []byte(filepath.Join(in, "ok")), opts)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "true inside" {
		if string(got) == "false inside" {
			testneed.Env(t, "Landlock", "this kernel has no Landlock")
		}
		t.Fatalf("read inside: %q", got)
	}
	for _, p := range []string{filepath.Join(out, "secret"), filepath.Join(in, "link")} {
		got, _, err := Run(ctx, "test-read", []byte(p), opts)
		if err == nil || !strings.Contains(err.Error(), "permission denied") || strings.Contains(err.Error(), "TOKEN") {
			t.Fatalf("read %s: %q, %v; want permission denied", p, got, err)
		}
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
			accepted <- struct{}{}
		}
	}()
	if got, _, err := Run(ctx, "test-dial", []byte(l.Addr().String()), opts); err == nil {
		t.Fatalf("dial: %q, want refused", got)
	}
	select {
	case <-accepted:
		t.Fatal("the listener saw a connection from the confined worker")
	default:
	}
}

func init() {
	Serve("test-panic", func([]byte, Env) ([]byte, error) { panic("evaluator bug") })
}

// TestRunCrash: a panic in the worker is its own fault, not a budget.
func TestRunCrash(t *testing.T) {
	_, _, err := Run(context.Background(), "test-panic", nil, Options{Time: 20 * time.Second, Memory: 128 << 20})
	var we *WorkError
	if !errors.As(err, &we) || !strings.Contains(we.Msg, "panic: evaluator bug") {
		t.Fatalf("err = %v, want the crash", err)
	}
}

func init() {
	Serve("test-pid", func(in []byte, _ Env) ([]byte, error) {
		if string(in) == "sleep" {
			time.Sleep(time.Hour)
		}
		return []byte(fmt.Sprint(os.Getpid())), nil
	})
}

// TestSession: one child serves many evaluations; one that breaks a
// budget costs the child, and the next evaluation gets a new one.
func TestSession(t *testing.T) {
	s, err := NewSession("test-pid", Options{Time: 300 * time.Millisecond, Memory: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	first, _, err := s.Run(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if pid, _, err := s.Run(ctx, nil); err != nil || string(pid) != string(first) {
			t.Fatalf("pid %s, %v; want the same child %s", pid, err, first)
		}
	}
	var ex *budget.Exceeded
	if _, _, err := s.Run(ctx, []byte("sleep")); !errors.As(err, &ex) || ex.Limit != budget.EvalTime {
		t.Fatalf("sleep: %v", err)
	}
	if pid, _, err := s.Run(ctx, nil); err != nil || string(pid) == string(first) {
		t.Fatalf("after a timeout: pid %s, %v; want a new child", pid, err)
	}
}
