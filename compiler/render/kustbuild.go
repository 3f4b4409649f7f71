package render

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"

	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
)

// kustbuild.go is the worker's side of a kustomize build: krusty on the
// sandboxed file system, and each object with the file it came from.

// kustomizeMu serialises builds: krusty sets the OpenAPI schema of kyaml,
// a package-level variable, on every run, so two builds at once could see
// each other's schema.
var kustomizeMu sync.Mutex

// kustRequest asks the worker for one build.
type kustRequest struct {
	Root string // the repository root: nothing outside it is read (absolute, resolved)
	Top  string // the kustomization's directory (absolute, resolved)
	Dir  string // the same directory as the user named it
	// Origins skips berth's markers and asks kustomize for its origin
	// annotations (for tests that compare the two).
	Origins bool
	Limits  budget.Limits
}

// kustResponse is what it made.
type kustResponse struct {
	Objects []kustObject
	// Dirs are the directories whose kustomization the build read.
	Dirs []string
	// Refused are located findings about kustomization files (a remote
	// reference): they explain the build error.
	Refused []diag.Diagnostic
	// Err is kustomize's error, with paths as the user names them.
	Err string
	// Exceeded is a render budget the build went past.
	Exceeded *budget.Exceeded
	// Remarked says the markers did not explain the build, which was made
	// again with kustomize's origin annotations.
	Remarked bool
}

// kustObject is one built object.
type kustObject struct {
	YAML []byte
	// File is where it came from (absolute): the resource file it was
	// written in (Written), or the kustomization that generated it; ""
	// when unknown.
	File       string
	Written    bool
	Kind, Name string
}

// buildKustomization builds req's kustomization, as `kustomize build`
// does with its default load restrictions (files only below each
// kustomization's directory) inside the repository.
func buildKustomization(req kustRequest) kustResponse {
	show := func(abs string) string { return display(req.Dir, req.Top, abs) }
	sfs := newSandboxFS(req.Root, req.Top, show)
	sfs.origins = req.Origins
	var resp kustResponse
	m, err := runKrusty(sfs)
	for d := range sfs.kustDirs {
		resp.Dirs = append(resp.Dirs, d)
	}
	slices.Sort(resp.Dirs)
	if len(sfs.refused) > 0 {
		resp.Refused = sfs.refused
		return resp
	}
	if err != nil {
		resp.Err = cleanKustomizeError(err, req.Top, req.Dir)
		return resp
	}
	if max := req.Limits.Get(budget.RenderObjects); int64(m.Size()) > max {
		resp.Exceeded = &budget.Exceeded{Limit: budget.RenderObjects, Got: int64(m.Size()), Max: max}
		return resp
	}
	var srcs []source
	ok := false
	if !sfs.origins {
		srcs, ok = sfs.takeMarkers(m)
	}
	if ok {
		resp.Objects, resp.Exceeded, ok, err = serialise(m, srcs, req.Limits, true)
		if err != nil || resp.Exceeded != nil {
			resp.Err = errString(err)
			return resp
		}
	}
	if !ok {
		if !sfs.origins {
			// The markers did not explain the build: build it again
			// the exact, slow way.
			resp.Remarked = true
			sfs = newSandboxFS(req.Root, req.Top, show)
			sfs.origins = true
			if m, err = runKrusty(sfs); err != nil {
				resp.Err = cleanKustomizeError(err, req.Top, req.Dir)
				return resp
			}
		}
		if srcs, err = originSources(m, req.Top, sfs.userOrigin); err != nil {
			resp.Err = cleanKustomizeError(err, req.Top, req.Dir)
			return resp
		}
		resp.Objects, resp.Exceeded, _, err = serialise(m, srcs, req.Limits, false)
		resp.Err = errString(err)
	}
	return resp
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// runKrusty is one build.
func runKrusty(sfs *sandboxFS) (resmap.ResMap, error) {
	kustomizeMu.Lock()
	defer kustomizeMu.Unlock()
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	return krusty.MakeKustomizer(opts).Run(sfs, sfs.top)
}

// serialise writes each object as YAML, within the output budget; with
// check, ok is false when a marker shows in the output.
func serialise(m resmap.ResMap, srcs []source, lim budget.Limits, check bool) (objs []kustObject, ex *budget.Exceeded, ok bool, err error) {
	max := lim.Get(budget.RenderBytes)
	res := m.Resources()
	yamls := asYAML(res, max)
	var total int64
	for i, rs := range res {
		data, err := yamls[i].data, yamls[i].err
		if err != nil {
			return nil, nil, false, fmt.Errorf("kustomize output: %w", err)
		}
		if check && leaked(data) {
			return nil, nil, false, nil
		}
		total += int64(len(data))
		if total > max {
			return nil, &budget.Exceeded{Limit: budget.RenderBytes, Got: total, Max: max}, true, nil
		}
		objs = append(objs, kustObject{YAML: data, File: srcs[i].file, Written: srcs[i].written, Kind: rs.GetKind(), Name: rs.GetName()})
	}
	return objs, nil, true, nil
}

// objectYAML is one object written out, or why it could not be.
type objectYAML struct {
	data []byte
	err  error
}

// asYAML writes the objects out on every P: kustomize writes each through
// JSON (a fifth of a build's time), and reading a node is safe from
// several goroutines. Objects are taken in order and the taking stops
// once what is written passes max or an object fails, so every object
// before the first one not written is written, which is all serialise
// reads before it stops.
func asYAML(res []*resource.Resource, max int64) []objectYAML {
	out := make([]objectYAML, len(res))
	var next, total atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(res)) {
		wg.Go(func() {
			for !stop.Load() {
				i := next.Add(1) - 1
				if i >= int64(len(res)) {
					return
				}
				data, err := res[i].AsYAML()
				out[i] = objectYAML{data: data, err: err}
				if err != nil || total.Add(int64(len(data))) > max {
					stop.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return out
}
