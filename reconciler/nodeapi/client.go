package nodeapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Client talks to a daemon's API over its unix socket, or over TCP
// ("http://host:port") with a bearer token.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// NewClient connects to addr: a socket path or an http:// URL.
func NewClient(addr, token string) *Client {
	if strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://") {
		return &Client{base: strings.TrimSuffix(addr, "/"), token: token, http: http.DefaultClient}
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", addr)
	}}
	return &Client{base: "http://berth", token: token, http: &http.Client{Transport: tr}}
}

func (c *Client) do(ctx context.Context, method, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach the berth daemon: %w (is `berth daemon` running? see --api)", err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%s %s: %s", method, path, strings.TrimSpace(string(b)))
	}
	return resp, nil
}

// Status fetches the status document; raw keeps the reconciler's part.
func (c *Client) Status(ctx context.Context) (StatusDoc, json.RawMessage, error) {
	resp, err := c.do(ctx, http.MethodGet, "/v1/status")
	if err != nil {
		return StatusDoc{}, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return StatusDoc{}, nil, err
	}
	var doc StatusDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return StatusDoc{}, nil, fmt.Errorf("status: %w", err)
	}
	return doc, raw, nil
}

// Cluster fetches every node of the inventory as the daemon last heard
// from it.
func (c *Client) Cluster(ctx context.Context) ([]NodeSummary, error) {
	resp, err := c.do(ctx, http.MethodGet, "/v1/cluster")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []NodeSummary
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return out, nil
}

// Promote asks the daemon to promote a rollout.
func (c *Client) Promote(ctx context.Context, name string) (string, error) {
	return c.post(ctx, "/v1/rollouts/"+url.PathEscape(name)+"/promote")
}

// Abort asks the daemon to abort a rollout.
func (c *Client) Abort(ctx context.Context, name string) (string, error) {
	return c.post(ctx, "/v1/rollouts/"+url.PathEscape(name)+"/abort")
}

func (c *Client) post(ctx context.Context, path string) (string, error) {
	resp, err := c.do(ctx, http.MethodPost, path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Logs copies a container's log to w.
func (c *Client) Logs(ctx context.Context, key, container string, follow, previous bool, w io.Writer) error {
	ns, pod, ok := strings.Cut(key, "/")
	if !ok {
		ns, pod = "default", key
	}
	q := url.Values{}
	if container != "" {
		q.Set("container", container)
	}
	if follow {
		q.Set("follow", "1")
	}
	if previous {
		q.Set("previous", "1")
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/logs/"+url.PathEscape(ns)+"/"+url.PathEscape(pod)+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}
