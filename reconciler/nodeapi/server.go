// Package nodeapi is the daemon's local API: status, pods, logs, promote
// and abort over a unix socket, and optionally on TCP (listen.go: a bearer
// token, required off loopback, and TLS), plus /metrics, /healthz, /readyz,
// the Git webhook and the web view under /ui/ (auth.go: its login and
// session cookie). The CLI's status, get, logs, promote and abort commands
// are its clients.
package nodeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
	"berth.dev/berth/reconciler/gitops"
)

// Loop is the GitOps loop's face.
type Loop interface {
	Status() gitops.Status
}

// Workloads is the reconciler's face: per-workload state, events, and the
// manual rollout gates.
type Workloads interface {
	// Status is the reconciler's status document (workloads and events).
	Status() any
	Promote(name string) error
	Abort(name string) error
}

// Pods is the pod driver's face.
type Pods interface {
	Observe(ctx context.Context) (nodes.NodeState, error)
	Logs(ctx context.Context, key, container string, follow, previous bool, w io.Writer) error
}

// Options configure the server.
type Options struct {
	Node      string
	Loop      Loop
	Workloads Workloads
	Pods      Pods
	Webhook   http.Handler // POST /hooks/git; nil disables it
	Registry  *prometheus.Registry
	// Token, when set, is required as "Authorization: Bearer" on TCP;
	// the unix socket is protected by its file mode (0600, root).
	Token  string
	Logger *slog.Logger
	// Ready reports whether the daemon has applied a good revision.
	Ready func() bool
	// Plan returns the plan the node runs, for the services listing.
	Plan func() *plan.Plan
	// Cluster returns this node and the other nodes of the inventory as
	// this node last heard from them (GET /v1/cluster; nil: 404).
	Cluster func() []NodeSummary
	// UI serves the web pages under /ui/ (nil: none).
	UI http.Handler
	// Operator takes suspend, resume, pin, unpin, retry and serves the
	// history (nil: none).
	Operator Operator
	// Held lists the pods disruption budgets keep on this node (nil:
	// none).
	Held func() []string
}

// NodeSummary is one node in `berth status --cluster`: what it applied
// and how its pods are, as it last told.
type NodeSummary struct {
	Node string `json:"node"`
	// Answers: the node is a live gossip member (always true for the
	// node asked); State says which: alive, suspect, failed or unknown.
	Answers  bool   `json:"answers"`
	State    string `json:"state,omitempty"`
	Applied  string `json:"applied,omitempty"`
	PlanHash string `json:"planHash,omitempty"`
	// Ready and Total count the pods of the node's workloads.
	Ready     int  `json:"ready"`
	Total     int  `json:"total"`
	Converged bool `json:"converged"`
	// Health is the health of the applied revision there (progressing,
	// healthy, failed); Suspended and Pinned its operator state.
	Health    string `json:"health,omitempty"`
	Suspended bool   `json:"suspended,omitempty"`
	Pinned    string `json:"pinned,omitempty"`
}

// StatusDoc is GET /v1/status.
type StatusDoc struct {
	Node      string            `json:"node"`
	GitOps    gitops.Status     `json:"gitops"`
	Workloads any               `json:"workloads,omitempty"`
	Pods      []nodes.PodStatus `json:"pods"`
	Services  []ServiceSummary  `json:"services,omitempty"`
	// Held are the pods disruption budgets keep on this node, one line
	// each.
	Held []string `json:"held,omitempty"`
}

// ServiceSummary is one service as `berth get services` shows it.
type ServiceSummary struct {
	Namespace   string   `json:"namespace"`
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	ClusterIP   string   `json:"clusterIP"`
	ExternalIPs []string `json:"externalIPs,omitempty"`
	Ports       []string `json:"ports"`
	Endpoints   int      `json:"endpoints"`
}

func summarize(p *plan.Plan) []ServiceSummary {
	if p == nil {
		return nil
	}
	out := make([]ServiceSummary, 0, len(p.Services))
	for _, s := range p.Services {
		sum := ServiceSummary{Namespace: s.Namespace, Name: s.Name, Type: s.Type, ClusterIP: s.ClusterIP, Endpoints: len(s.Endpoints),
			ExternalIPs: s.External()}
		for _, sp := range s.Ports {
			port := fmt.Sprintf("%d/%s", sp.Port, sp.Protocol)
			if sp.NodePort != 0 {
				port = fmt.Sprintf("%d:%d/%s", sp.Port, sp.NodePort, sp.Protocol)
			}
			sum.Ports = append(sum.Ports, port)
		}
		out = append(out, sum)
	}
	return out
}

// Handler builds the API's routes.
func Handler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if o.Ready != nil && !o.Ready() {
			http.Error(w, "no good revision applied yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	if o.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{}))
	}
	if o.Webhook != nil {
		mux.Handle("POST /hooks/git", o.Webhook)
	}
	if o.UI != nil {
		mux.Handle("/ui/", o.UI)
		mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusSeeOther))
	}
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		doc := StatusDoc{Node: o.Node}
		if o.Loop != nil {
			doc.GitOps = o.Loop.Status()
		}
		if o.Workloads != nil {
			doc.Workloads = o.Workloads.Status()
		}
		if o.Plan != nil {
			doc.Services = summarize(o.Plan())
		}
		if o.Held != nil {
			doc.Held = o.Held()
		}
		if o.Pods != nil {
			st, err := o.Pods.Observe(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			doc.Pods = st.Pods
		}
		writeJSON(w, doc)
	})
	mux.HandleFunc("GET /v1/cluster", func(w http.ResponseWriter, r *http.Request) {
		if o.Cluster == nil {
			http.Error(w, "this daemon has no other nodes to ask", http.StatusNotFound)
			return
		}
		writeJSON(w, o.Cluster())
	})
	mux.HandleFunc("POST /v1/rollouts/{name}/promote", func(w http.ResponseWriter, r *http.Request) {
		gate(w, o.Workloads, r.PathValue("name"), "promote")
	})
	mux.HandleFunc("POST /v1/rollouts/{name}/abort", func(w http.ResponseWriter, r *http.Request) {
		gate(w, o.Workloads, r.PathValue("name"), "abort")
	})
	operate(mux, o.Operator)
	mux.HandleFunc("GET /v1/logs/{namespace}/{pod}", func(w http.ResponseWriter, r *http.Request) {
		if o.Pods == nil {
			http.Error(w, "no pod runtime", http.StatusServiceUnavailable)
			return
		}
		q := r.URL.Query()
		key := r.PathValue("namespace") + "/" + r.PathValue("pod")
		fw := flushWriter{w: w}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := o.Pods.Logs(r.Context(), key, q.Get("container"), q.Get("follow") == "1", q.Get("previous") == "1", fw); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
		}
	})
	return mux
}

func gate(w http.ResponseWriter, wl Workloads, name, action string) {
	if wl == nil {
		http.Error(w, "no reconciler", http.StatusServiceUnavailable)
		return
	}
	var err error
	if action == "promote" {
		err = wl.Promote(name)
	} else {
		err = wl.Abort(name)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	fmt.Fprintf(w, "%s: %s requested\n", name, action)
}

type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// ListenUnix listens on a unix socket readable by root only, replacing a
// stale socket file from a crashed daemon.
func ListenUnix(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Serve serves h on l until ctx ends, then shuts down gracefully.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
