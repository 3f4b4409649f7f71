package nodeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"berth.dev/berth/reconciler/gitops"
)

// Operator is the GitOps loop's operator commands (gitops.Loop). all
// gives a command to every node of the inventory: this node takes it and
// the others adopt it through the authenticated peer exchange.
type Operator interface {
	Suspend(all bool) error
	Resume(all bool) error
	Pin(rev string, all bool) (string, error)
	Unpin(all bool) error
	Retry(rev string) (string, error)
	History() *gitops.History
	Drain(node string) error
	Uncordon(node string) error
}

// operate adds the operator's routes:
//
//	POST /v1/suspend[?all=1]      berth suspend [--all-nodes]
//	POST /v1/resume[?all=1]       berth resume [--all-nodes]
//	POST /v1/pin/{rev}[?all=1]    berth pin REV [--all-nodes]
//	POST /v1/unpin[?all=1]        berth unpin [--all-nodes]
//	POST /v1/retry/{rev}          berth retry REV (every node)
//	GET  /v1/history              berth history
//	POST /v1/nodes/{node}/drain   berth node drain NODE (every node)
//	POST /v1/nodes/{node}/uncordon berth node uncordon NODE (every node)
func operate(mux *http.ServeMux, op Operator) {
	if op == nil {
		return
	}
	all := func(r *http.Request) bool { return r.URL.Query().Get("all") == "1" }
	where := func(r *http.Request) string {
		if all(r) {
			return "every node"
		}
		return "this node"
	}
	reply := func(w http.ResponseWriter, err error, format string, args ...any) {
		switch {
		case errors.Is(err, gitops.ErrRevision), errors.Is(err, gitops.ErrNode):
			http.Error(w, err.Error(), http.StatusNotFound)
		case err != nil:
			http.Error(w, err.Error(), http.StatusConflict)
		default:
			fmt.Fprintf(w, format+"\n", args...)
		}
	}
	mux.HandleFunc("POST /v1/suspend", func(w http.ResponseWriter, r *http.Request) {
		reply(w, op.Suspend(all(r)), "suspended %s: new revisions wait until berth resume; resync and drift repair go on", where(r))
	})
	mux.HandleFunc("POST /v1/resume", func(w http.ResponseWriter, r *http.Request) {
		reply(w, op.Resume(all(r)), "resumed %s: new revisions apply again", where(r))
	})
	mux.HandleFunc("POST /v1/pin/{rev}", func(w http.ResponseWriter, r *http.Request) {
		rev, err := op.Pin(r.PathValue("rev"), all(r))
		reply(w, err, "pinned %s to %s until berth unpin (newer commits wait)", where(r), rev)
	})
	mux.HandleFunc("POST /v1/unpin", func(w http.ResponseWriter, r *http.Request) {
		reply(w, op.Unpin(all(r)), "unpinned %s: it follows the branch again", where(r))
	})
	mux.HandleFunc("POST /v1/retry/{rev}", func(w http.ResponseWriter, r *http.Request) {
		rev, err := op.Retry(r.PathValue("rev"))
		reply(w, err, "revision %s will be tried again on every node", rev)
	})
	mux.HandleFunc("POST /v1/nodes/{node}/drain", func(w http.ResponseWriter, r *http.Request) {
		node := r.PathValue("node")
		reply(w, op.Drain(node), "node %s drained on every node: no pod but a DaemonSet's is placed there; its pods move to the other nodes as the disruption budgets allow (berth node uncordon %s undoes it)", node, node)
	})
	mux.HandleFunc("POST /v1/nodes/{node}/uncordon", func(w http.ResponseWriter, r *http.Request) {
		node := r.PathValue("node")
		reply(w, op.Uncordon(node), "node %s uncordoned on every node: pods may be placed there again", node)
	})
	mux.HandleFunc("GET /v1/history", func(w http.ResponseWriter, r *http.Request) {
		var recs []gitops.Record
		if h := op.History(); h != nil {
			recs = h.List()
		}
		for i := range recs {
			recs[i].Change = nil // `berth plan --base` shows it; the web view too
		}
		writeJSON(w, recs)
	})
}

// Operate sends an operator command: suspend, resume, unpin (rev ""), pin
// or retry (with rev); all gives it to every node.
func (c *Client) Operate(ctx context.Context, verb, rev string, all bool) (string, error) {
	path := "/v1/" + verb
	if rev != "" {
		path += "/" + url.PathEscape(rev)
	}
	if all {
		path += "?all=1"
	}
	return c.post(ctx, path)
}

// Cordon sends berth node drain (drained) or uncordon for node.
func (c *Client) Cordon(ctx context.Context, node string, drained bool) (string, error) {
	verb := "uncordon"
	if drained {
		verb = "drain"
	}
	return c.post(ctx, "/v1/nodes/"+url.PathEscape(node)+"/"+verb)
}

// History fetches the node's revision history, newest first.
func (c *Client) History(ctx context.Context) ([]gitops.Record, error) {
	resp, err := c.do(ctx, http.MethodGet, "/v1/history")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []gitops.Record
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return out, nil
}
