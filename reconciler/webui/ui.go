// Package webui is the daemon's web view, served under /ui/ on the node
// API's listeners and behind the same authentication (nodeapi.Auth): the
// fleet, the revision history, workloads, pods with their logs, the plan
// diff between the applied revision and the branch head, and services.
//
// Pages are server-rendered html/template with embedded assets; they are
// complete without JavaScript. A small script (assets/berth.js) keeps a
// page live: the server sends a "change" server-sent event when what the
// daemon reports changes, and the page fetches its own live region again
// (the X-Berth-Live header asks for that region only). Everything is
// read-only, and no page shows a Secret's value.
package webui

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/gitops"
	"berth.dev/berth/reconciler/nodeapi"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Loop is the GitOps loop's face.
type Loop interface {
	Status() gitops.Status
	// Plan is the newest good plan (the one applied, or being applied).
	Plan() *plan.Plan
	History() *gitops.History
}

// Pods is the pod driver's face.
type Pods interface {
	Observe(ctx context.Context) (nodes.NodeState, error)
	Logs(ctx context.Context, key, container string, follow, previous bool, w io.Writer) error
}

// Options say where the pages read from. Only Loop is required.
type Options struct {
	Node string
	Loop Loop
	Pods Pods
	// Status is the reconciler's status; ok is false before the node has
	// started (no good revision yet).
	Status func() (reconciler.Status, bool)
	// Routes are the service routes this node programmed.
	Routes func() []nodes.ServiceRoute
	// Cluster is every node of the inventory as this node last heard from
	// it (nil: a single node).
	Cluster func() []nodeapi.NodeSummary
	// Snapshot is the directory of a revision's manifests, while the node
	// keeps it: pods link to the file:line of the objects they come from.
	Snapshot func(rev string) (dir string, ok bool)
	// LiveInterval is how often the event stream looks for a change
	// (default 1s).
	LiveInterval time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
}

// UI is the web view's handler.
type UI struct {
	opts    Options
	pages   map[string]*template.Template
	mux     *http.ServeMux
	live    *broadcaster
	streams chan struct{} // budget of concurrent event and log streams
	sources *sourceIndex
}

// maxStreams caps the open event and log streams: each holds a
// goroutine and a connection for as long as the page is open.
const maxStreams = 64

// New builds the handler; mount it at /ui/.
func New(o Options) (*UI, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LiveInterval <= 0 {
		o.LiveInterval = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	u := &UI{opts: o, pages: map[string]*template.Template{}, mux: http.NewServeMux(),
		streams: make(chan struct{}, maxStreams), sources: newSourceIndex(o.Snapshot)}
	if err := u.parse(); err != nil {
		return nil, err
	}
	u.live = newBroadcaster(o.LiveInterval, u.fingerprint)
	assets, _ := fs.Sub(assetFS, "assets")
	u.mux.Handle("GET /ui/assets/", http.StripPrefix("/ui/assets/", http.FileServerFS(assets)))
	u.mux.HandleFunc("GET /ui/{$}", u.fleet)
	u.mux.HandleFunc("GET /ui/login", u.login)
	u.mux.HandleFunc("POST /ui/login", func(w http.ResponseWriter, r *http.Request) {
		// Only a listener without a token gets here: nothing to log in to.
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
	})
	u.mux.HandleFunc("GET /ui/history", u.history)
	u.mux.HandleFunc("GET /ui/revisions/{rev}", u.revision)
	u.mux.HandleFunc("GET /ui/plan", u.planDiff)
	u.mux.HandleFunc("GET /ui/workloads", u.workloads)
	u.mux.HandleFunc("GET /ui/workloads/{kind}/{namespace}/{name}", u.workload)
	u.mux.HandleFunc("GET /ui/pods/{namespace}/{name}", u.pod)
	u.mux.HandleFunc("GET /ui/pods/{namespace}/{name}/log", u.logStream)
	u.mux.HandleFunc("GET /ui/services", u.services)
	u.mux.HandleFunc("GET /ui/events", u.events)
	return u, nil
}

// ServeHTTP sets the headers every page carries and routes.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Only this site's stylesheet and script run; no page can be framed.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	u.mux.ServeHTTP(w, r)
}

// parse reads every page template with the layout.
func (u *UI) parse() error {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return fmt.Errorf("webui: %w", err)
	}
	entries, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := strings.TrimSuffix(strings.TrimPrefix(e, "templates/"), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, e)
		if err != nil {
			return fmt.Errorf("webui: %w", err)
		}
		u.pages[name] = t
	}
	return nil
}

// page is what every template gets: the layout's fields and the page's.
type page struct {
	Title string
	Nav   string // the menu entry to mark current
	Node  string
	// GitOps is shown in the header: applied revision and head.
	GitOps gitops.Status
	// LoggedIn shows the logout button (the request has a session).
	LoggedIn bool
	Now      time.Time
	Data     any
}

// render writes a page, or only its live region when the page script asks.
func (u *UI) render(w http.ResponseWriter, r *http.Request, name, title, nav string, data any) {
	t := u.pages[name]
	p := page{Title: title, Nav: nav, Node: u.opts.Node, GitOps: u.opts.Loop.Status(), Now: u.opts.Now(), Data: data}
	if _, err := r.Cookie(nodeapi.SessionCookie); err == nil {
		p.LoggedIn = true
	}
	tmpl := "layout.html"
	if r.Header.Get("X-Berth-Live") == "1" {
		tmpl = "fragment"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, p); err != nil {
		u.opts.Logger.Error("render page", "page", name, "err", err)
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

// notFound is a page that says what was not found and where to look.
func (u *UI) notFound(w http.ResponseWriter, r *http.Request, what string) {
	w.WriteHeader(http.StatusNotFound)
	u.render(w, r, "notfound", "Not found", "", what)
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	u.render(w, r, "login", "Log in", "", struct {
		Next   string
		Failed bool
	}{Next: q.Get("next"), Failed: q.Get("failed") == "1"})
}

// status is the reconciler's status, empty before the node started.
func (u *UI) status() (reconciler.Status, bool) {
	if u.opts.Status == nil {
		return reconciler.Status{}, false
	}
	return u.opts.Status()
}

func (u *UI) observe(ctx context.Context) nodes.NodeState {
	if u.opts.Pods == nil {
		return nodes.NodeState{}
	}
	st, err := u.opts.Pods.Observe(ctx)
	if err != nil {
		u.opts.Logger.Warn("observe pods for the web view", "err", err)
	}
	return st
}
