package e2e_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
)

// repo is a bare Git repository (what the daemon follows) and a working
// clone that commits and pushes to it with the git CLI.
type repo struct {
	t    *testing.T
	bare string
	work string
}

func newRepo(t *testing.T, dir string) *repo {
	t.Helper()
	r := &repo{t: t, bare: filepath.Join(dir, "repo.git"), work: filepath.Join(dir, "work")}
	r.run("", "init", "-q", "--bare", "-b", "main", r.bare)
	r.run("", "init", "-q", "-b", "main", r.work)
	r.git("config", "user.email", "e2e@berth.dev")
	r.git("config", "user.name", "berth e2e")
	r.git("remote", "add", "origin", r.bare)
	return r
}

func (r *repo) run(dir string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// git runs git in the working clone.
func (r *repo) git(args ...string) string { r.t.Helper(); return r.run(r.work, args...) }

func (r *repo) write(name, content string) {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.work, name), []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *repo) remove(name string) { r.t.Helper(); r.git("rm", "-q", name) }

// commit commits every change and returns the new head.
func (r *repo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// push pushes main to the bare repository.
func (r *repo) push() { r.t.Helper(); r.git("push", "-q", "origin", "main") }

// forcePush pushes a rewritten main.
func (r *repo) forcePush() { r.t.Helper(); r.git("push", "-q", "--force", "origin", "main") }

// app describes the hello app's manifest: a Deployment of the hello
// server and a NodePort Service in front of it.
type app struct {
	Name           string
	Image          string
	Replicas       int
	MaxSurge       int
	MaxUnavailable int
	// InitialDelay is the readiness probe's initialDelaySeconds, to make
	// each rollout step last.
	InitialDelay int
	// Grace is terminationGracePeriodSeconds (default 5); PreStop, when
	// set, is a preStop hook sleeping that many seconds, so a stop lasts.
	Grace, PreStop int
	NodePort       int
	// Typo misspells a field, making the commit invalid.
	Typo bool
}

var appTemplate = template.Must(template.New("app").Parse(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{.Name}}
spec:
  {{if .Typo}}replicaz{{else}}replicas{{end}}: {{.Replicas}}
  selector:
    matchLabels: {app: {{.Name}}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: {{.MaxSurge}}, maxUnavailable: {{.MaxUnavailable}}}
  template:
    metadata:
      labels: {app: {{.Name}}}
    spec:
      terminationGracePeriodSeconds: {{.Grace}}
      containers:
        - name: hello
          image: {{.Image}}
          {{- if .PreStop}}
          lifecycle:
            preStop:
              exec: {command: [sleep, "{{.PreStop}}"]}
          {{- end}}
          ports:
            - {name: http, containerPort: 8000}
          readinessProbe:
            httpGet: {path: /, port: http}
            initialDelaySeconds: {{.InitialDelay}}
            periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: {{.Name}}
spec:
  {{if .NodePort}}type: NodePort
  {{end}}selector: {app: {{.Name}}}
  ports:
    - name: http
      port: 80
      targetPort: http
      {{if .NodePort}}nodePort: {{.NodePort}}{{end}}
`))

func (a app) yaml() string {
	if a.Replicas == 0 {
		a.Replicas = 1
	}
	if a.MaxSurge == 0 && a.MaxUnavailable == 0 {
		a.MaxSurge = 1
	}
	if a.Grace == 0 {
		a.Grace = 5
	}
	var b bytes.Buffer
	if err := appTemplate.Execute(&b, a); err != nil {
		panic(fmt.Sprintf("app template: %v", err))
	}
	return b.String()
}
