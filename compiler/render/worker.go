package render

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/budget/isolate"
	"berth.dev/berth/compiler/diag"
)

// worker.go runs each render in a child process (compiler/budget/isolate):
// a template that loops without calling a function, or a kustomization
// that builds for minutes, cannot be stopped inside the process, and one
// that asks for gigabytes would take the process with it. The child is
// killed at the evaluation deadline and its address space is capped at
// the evaluation memory budget; where the kernel has Landlock, it reads
// only the repositories being rendered and the chart cache, and opens no
// TCP connection. It is started on the first render of a load and serves
// all of its renders, so a load without a chart or a kustomization
// starts none.

// renderWorker names the child process that renders (see isolate).
const renderWorker = "render"

func init() {
	// A berth process started as the render worker renders until its
	// input ends, and exits here, before main.
	isolate.Serve(renderWorker, serveRender)
}

// request is one render the parent asks for: exactly one field is set.
type request struct {
	Kust  *kustRequest
	Chart *chartRequest
}

// response is the worker's answer.
type response struct {
	Kust  *kustResponse
	Chart *chartResponse
}

// workerGC is the collector's target in the worker: it collects when the
// heap has grown fivefold, not doubled. A render allocates much and
// keeps little, so the default spends a third of a kustomize build
// collecting; the address-space cap and the memory limit isolate sets
// (three quarters of the budget) still bound it.
const workerGC = 400

func serveRender(in []byte, _ isolate.Env) ([]byte, error) {
	debug.SetGCPercent(workerGC)
	var req request
	if err := gob.NewDecoder(bytes.NewReader(in)).Decode(&req); err != nil {
		return nil, fmt.Errorf("read the render request: %w", err)
	}
	var resp response
	switch {
	case req.Kust != nil:
		r := buildKustomization(*req.Kust)
		resp.Kust = &r
	case req.Chart != nil:
		r := buildChart(*req.Chart)
		resp.Chart = &r
	default:
		return nil, errors.New("empty render request")
	}
	var out bytes.Buffer
	if err := gob.NewEncoder(&out).Encode(resp); err != nil {
		return nil, fmt.Errorf("write the render answer: %w", err)
	}
	return out.Bytes(), nil
}

// worker is the parent's handle on the child: started on first use,
// closed by the render that made it.
type worker struct {
	opts isolate.Options
	ctx  context.Context
	s    *isolate.Session
}

func newWorker(ctx context.Context, lim budget.Limits, read []string) *worker {
	if ctx == nil {
		ctx = context.Background()
	}
	return &worker{ctx: ctx, opts: isolate.Options{
		Time:   time.Duration(lim.Get(budget.EvalTime)),
		Memory: lim.Get(budget.EvalMemory),
		Read:   read,
	}}
}

// run renders req in the child. An error is a budget the child went
// past (*budget.Exceeded, evaluation time or memory), the end of the
// load's context, or a crash.
func (w *worker) run(req request) (response, error) {
	if w.s == nil {
		s, err := isolate.NewSession(renderWorker, w.opts)
		if err != nil {
			return response{}, err
		}
		w.s = s
	}
	var in bytes.Buffer
	if err := gob.NewEncoder(&in).Encode(req); err != nil {
		return response{}, err
	}
	out, _, err := w.s.Run(w.ctx, in.Bytes())
	if err != nil {
		return response{}, err
	}
	var resp response
	if err := gob.NewDecoder(bytes.NewReader(out)).Decode(&resp); err != nil {
		return response{}, fmt.Errorf("bad answer from the render worker: %w (this is a bug in berth)", err)
	}
	return resp, nil
}

func (w *worker) close() {
	if w.s != nil {
		w.s.Close()
	}
}

// failed turns an error of run into a finding at file: a budget names
// its flag, anything else says the render failed.
func failed(err error, file, rule, object, what string) diag.Diagnostic {
	var ex *budget.Exceeded
	if errors.As(err, &ex) {
		return exceeded(ex, file, object)
	}
	return errorAt(file, 0, 0, rule, object, "%s failed: %v", what, err)
}

// exceeded is the finding of a render past a budget, at file.
func exceeded(ex *budget.Exceeded, file, object string) diag.Diagnostic {
	if ex.Where == "" {
		ex.Where = file
	}
	d := ex.Diagnostic(diag.Pos{File: file})
	d.Object = object
	return d
}
