package plan

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"sync"
)

// WriteJSON writes p as `berth plan -o json` prints it: exactly the bytes
// of an encoding/json Encoder with two-space indent (json.MarshalIndent
// and a newline), but streamed, with the elements of the long lists
// (pods, Services, ConfigMaps, Secrets, workloads) encoded by workers in
// parallel and written in order. A 10k-object plan then needs neither
// its whole compact encoding nor its indented copy in memory at once.
// workers <= 0 means one per CPU; the output never depends on it.
func WriteJSON(w io.Writer, p *Plan, workers int) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	e := &streamer{w: bw, workers: workers}
	e.raw("{\n")
	e.field("formatVersion", p.FormatVersion, false)
	e.field("revision", p.Revision, false)
	if p.SecretKeyID != "" {
		e.field("secretKeyID", p.SecretKeyID, false)
	}
	more := len(p.Services)+len(p.ConfigMaps)+len(p.Secrets)+len(p.Workloads) > 0
	e.key("nodes")
	if p.Nodes == nil {
		e.raw("null")
	} else {
		list(e, p.Nodes)
	}
	e.end(!more)
	sections := []struct {
		name string
		n    int
		run  func()
	}{
		{"services", len(p.Services), func() { list(e, p.Services) }},
		{"configMaps", len(p.ConfigMaps), func() { list(e, p.ConfigMaps) }},
		{"secrets", len(p.Secrets), func() { list(e, p.Secrets) }},
		{"workloads", len(p.Workloads), func() { list(e, p.Workloads) }},
	}
	left := 0
	for _, s := range sections {
		if s.n > 0 {
			left++
		}
	}
	for _, s := range sections {
		if s.n == 0 {
			continue // omitempty
		}
		left--
		e.key(s.name)
		s.run()
		e.end(left == 0)
	}
	e.raw("}\n")
	if e.err != nil {
		return e.err
	}
	return bw.Flush()
}

// streamer writes the top level of a plan by hand and its list elements
// with encoding/json.
type streamer struct {
	w       *bufio.Writer
	workers int
	err     error
}

func (e *streamer) raw(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *streamer) key(name string) { e.raw(`  "` + name + `": `) }

// end closes a top-level field: a comma unless it is the last.
func (e *streamer) end(last bool) {
	if last {
		e.raw("\n")
	} else {
		e.raw(",\n")
	}
}

func (e *streamer) field(name, value string, last bool) {
	b, err := json.Marshal(value)
	if err != nil && e.err == nil {
		e.err = err
	}
	e.key(name)
	e.raw(string(b))
	e.end(last)
}

// chunk is how many elements one worker encodes at a time.
const chunk = 64

// list writes a non-empty top-level list: its elements at depth two.
func list[T any](e *streamer, xs []T) {
	if len(xs) == 0 {
		e.raw("[]")
		return
	}
	e.raw("[\n")
	type result struct {
		text string
		err  error
	}
	n := (len(xs) + chunk - 1) / chunk
	results := make([]chan result, n)
	for c := range n {
		results[c] = make(chan result, 1)
	}
	// At most workers chunks are encoded at once; the writer below takes
	// them in order, so a chunk waits at most for those before it.
	sem := make(chan struct{}, e.workers)
	var wg sync.WaitGroup
	go func() {
		for c := range n {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				var out []byte
				for i := c * chunk; i < min(len(xs), (c+1)*chunk); i++ {
					b, err := json.MarshalIndent(&xs[i], "    ", "  ")
					if err != nil {
						results[c] <- result{err: fmt.Errorf("encode %s %d: %w", reflect.TypeFor[T]().Name(), i, err)}
						return
					}
					out = append(out, "    "...)
					out = append(out, b...)
					if i < len(xs)-1 {
						out = append(out, ",\n"...)
					} else {
						out = append(out, '\n')
					}
				}
				results[c] <- result{text: string(out)}
			}()
		}
	}()
	for c := range n {
		r := <-results[c]
		if r.err != nil && e.err == nil {
			e.err = r.err
		}
		e.raw(r.text)
	}
	wg.Wait()
	e.raw("  ]")
}
