package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	cutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/ignore"
	relv1 "helm.sh/helm/v4/pkg/release/v1"
	relutil "helm.sh/helm/v4/pkg/release/v1/util"

	"berth.dev/berth/compiler/budget"
)

// chartbuild.go is the worker's side of a chart render: load the chart,
// coalesce and check the values, run the templates, sort the manifests
// and hooks as `helm template` does. The parent turns the answer into
// documents and findings.

// chartRequest asks the worker for one chart render.
type chartRequest struct {
	// Dir is the chart's directory (absolute); else Archive is a cached
	// archive of Ref.
	Dir     string
	Archive string
	Ref     ChartRef
	// Release and Namespace name the release.
	Release, Namespace string
	// Values are the user's values layers, lowest priority first, over
	// the chart's values.yaml.
	Values [][]byte
	// Templates asks for the templates' sources (to place fields on
	// their lines).
	Templates bool
	Limits    budget.Limits
}

// chartResponse is what the render made, or why it made nothing.
type chartResponse struct {
	Name string // the chart's name
	// LoadErr is why the chart could not be read.
	LoadErr string
	// BadValues is the index of the values layer that does not parse,
	// with ValuesErr its error.
	BadValues int
	ValuesErr string
	// Fail is why the chart cannot render (a library chart, its
	// dependencies, its kubeVersion, its values), as a sentence.
	Fail string
	// Schema holds the values.schema.json violations.
	Schema []schemaErr
	// TemplateErr is a template's error, as Helm reports it.
	TemplateErr string
	Exceeded    *budget.Exceeded
	// Files are the rendered files to apply, in order: CRDs, pre-install
	// hooks, the manifests, post-install hooks.
	Files []renderedFile
	// Skipped are the hooks berth does not run.
	Skipped []renderedHook
	// Templates maps "chart/templates/x.yaml" (as Helm names them) to
	// their source.
	Templates map[string]string
}

// renderedFile is one rendered template (or CRD file).
type renderedFile struct {
	Name, Content string
}

// renderedHook is a hook left out.
type renderedHook struct {
	Path, Kind, Name, Events string
}

// schemaErr is a values.schema.json finding of one chart.
type schemaErr struct {
	// Chart is the chart's path in the root chart's directory
	// ("charts/sub"; "" for the root chart), Name its name.
	Chart, Name string
	// At is the values path, from the root chart's values.
	At []string
	// Msg is the violation; Schema says the schema itself is bad.
	Msg    string
	Schema bool
}

func buildChart(req chartRequest) chartResponse {
	var resp chartResponse
	var c *chart.Chart
	var err error
	if req.Dir != "" {
		c, err = loadChartDir(req.Dir, req.Limits.Get(budget.TotalBytes))
	} else {
		c, err = Cache{Dir: filepath.Dir(req.Archive)}.Load(req.Archive, req.Ref)
	}
	var ex *budget.Exceeded
	if errors.As(err, &ex) {
		resp.Exceeded = ex
		return resp
	}
	if err != nil {
		resp.LoadErr = err.Error()
		return resp
	}
	resp.Name = c.Name()
	if req.Release == "" {
		req.Release = c.Name()
	}
	if c.Metadata != nil && c.Metadata.Type == "library" {
		resp.Fail = fmt.Sprintf("chart %s is a library chart: it renders nothing on its own", c.Name())
		return resp
	}
	vals := map[string]any{}
	for i, data := range req.Values {
		v, err := loader.LoadValues(bytes.NewReader(data))
		if err != nil {
			resp.BadValues, resp.ValuesErr = i, err.Error()
			return resp
		}
		vals = loader.MergeMaps(vals, v)
	}
	if err := chartutil.ProcessDependencies(c, vals); err != nil {
		resp.Fail = fmt.Sprintf("chart dependencies: %v", err)
		return resp
	}
	kv, err := common.ParseKubeVersion(KubeVersion)
	if err != nil {
		resp.Fail = fmt.Sprintf("kube version: %v", err)
		return resp
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	if c.Metadata.KubeVersion != "" && !chartutil.IsCompatibleRange(c.Metadata.KubeVersion, KubeVersion) {
		resp.Fail = fmt.Sprintf("chart requires kubeVersion %s, and berth renders charts for Kubernetes %s", c.Metadata.KubeVersion, KubeVersion)
		return resp
	}
	top, err := cutil.ToRenderValuesWithSchemaValidation(c, vals, common.ReleaseOptions{
		Name: req.Release, Namespace: req.Namespace, Revision: 1, IsInstall: true,
	}, caps, true)
	if err != nil {
		resp.Fail = fmt.Sprintf("values: %v", err)
		return resp
	}
	if resp.Schema = checkSchemas(c, top["Values"]); len(resp.Schema) > 0 {
		return resp
	}

	maxBytes := req.Limits.Get(budget.RenderBytes)
	b := newTemplateBudget(maxBytes)
	e := engine.Engine{CustomTemplateFuncs: b.funcs()}
	files, err := e.RenderWithContext(context.Background(), c, top)
	if b.exceeded != nil {
		resp.Exceeded = b.exceeded
		return resp
	}
	if err != nil {
		resp.TemplateErr = err.Error()
		return resp
	}
	var total int64
	for name, text := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
			continue
		}
		total += int64(len(text))
	}
	if total > maxBytes {
		resp.Exceeded = &budget.Exceeded{Limit: budget.RenderBytes, Got: total, Max: maxBytes}
		return resp
	}
	hooks, manifests, err := relutil.SortManifests(files, nil, relutil.InstallOrder)
	if err != nil {
		resp.TemplateErr = err.Error()
		return resp
	}

	var pre, post []*relv1.Hook
	for _, h := range hooks {
		switch {
		case hasEvent(h, relv1.HookPreInstall, relv1.HookPreUpgrade):
			pre = append(pre, h)
		case hasEvent(h, relv1.HookPostInstall, relv1.HookPostUpgrade):
			post = append(post, h)
		case hasEvent(h, relv1.HookTest):
			// helm install never runs test hooks; `helm test` does.
		default:
			resp.Skipped = append(resp.Skipped, renderedHook{Path: h.Path, Kind: h.Kind, Name: h.Name, Events: events(h)})
		}
	}
	byWeight := func(a, b *relv1.Hook) int {
		if a.Weight != b.Weight {
			return a.Weight - b.Weight
		}
		return strings.Compare(a.Name, b.Name)
	}
	slices.SortStableFunc(pre, byWeight)
	slices.SortStableFunc(post, byWeight)
	for _, crd := range c.CRDObjects() {
		resp.Files = append(resp.Files, renderedFile{crd.Filename, string(crd.File.Data)})
	}
	for _, h := range pre {
		resp.Files = append(resp.Files, renderedFile{h.Path, h.Manifest})
	}
	for _, m := range manifests {
		resp.Files = append(resp.Files, renderedFile{m.Name, m.Content})
	}
	for _, h := range post {
		resp.Files = append(resp.Files, renderedFile{h.Path, h.Manifest})
	}
	if req.Templates {
		resp.Templates = map[string]string{}
		var collect func(ch *chart.Chart)
		collect = func(ch *chart.Chart) {
			for _, t := range ch.Templates {
				resp.Templates[ch.ChartFullPath()+"/"+t.Name] = string(t.Data)
			}
			for _, d := range ch.Dependencies() {
				collect(d)
			}
		}
		collect(c)
	}
	return resp
}

func hasEvent(h *relv1.Hook, evs ...relv1.HookEvent) bool {
	for _, e := range h.Events {
		if slices.Contains(evs, e) {
			return true
		}
	}
	return false
}

func events(h *relv1.Hook) string {
	var s []string
	for _, e := range h.Events {
		s = append(s, e.String())
	}
	return strings.Join(s, ",")
}

// loadChartDir reads a chart directory as Helm's loader does (honouring
// .helmignore), but only through an os.Root: a link that leads out of the
// chart is an error, so templates cannot reach a file outside it. Its
// files count against the total-size budget of a run.
func loadChartDir(dir string, maxBytes int64) (*chart.Chart, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	rules := ignore.Empty()
	if data, err := root.ReadFile(ignore.HelmIgnore); err == nil {
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%s: %w", ignore.HelmIgnore, err)
		}
	}
	rules.AddDefaults()
	var files []*archive.BufferedFile
	var total int64
	err = fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		info, err := root.Stat(name) // follows a link, within the root only
		if err != nil {
			return fmt.Errorf("%s: %w (a chart may not link outside its directory)", name, err)
		}
		if info.IsDir() {
			if rules.Ignore(name, info) {
				return fs.SkipDir
			}
			if d.Type()&fs.ModeSymlink != 0 {
				return fmt.Errorf("%s: a linked directory in a chart is not supported", name)
			}
			return nil
		}
		if rules.Ignore(name, info) {
			return nil
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", name)
		}
		total += info.Size()
		if total > maxBytes {
			return &budget.Exceeded{Limit: budget.TotalBytes, Got: total, Max: maxBytes}
		}
		data, err := root.ReadFile(name)
		if err != nil {
			return err
		}
		files = append(files, &archive.BufferedFile{Name: filepath.ToSlash(name), Data: bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loader.LoadFiles(files)
}
