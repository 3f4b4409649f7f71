package containerd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/compiler/plan"
)

func TestVerifyRunAsNonRoot(t *testing.T) {
	uid := func(v int64) *int64 { return &v }
	p := &plan.Pod{Namespace: "default", Name: "web"}
	for _, tt := range []struct {
		name  string
		sc    *plan.SecurityContext
		image string
		want  string
	}{
		{"not asked", nil, "", ""},
		{"not asked, root image", &plan.SecurityContext{RunAsUser: uid(0)}, "", ""},
		{"runAsUser 0", &plan.SecurityContext{RunAsNonRoot: true, RunAsUser: uid(0)}, "1000", `container's runAsUser breaks non-root policy (pod: "web_default", container: app)`},
		{"runAsUser wins over the image", &plan.SecurityContext{RunAsNonRoot: true, RunAsUser: uid(1000)}, "", ""},
		{"image without a user", &plan.SecurityContext{RunAsNonRoot: true}, "", `container has runAsNonRoot and image will run as root (pod: "web_default", container: app)`},
		{"image user 0:0", &plan.SecurityContext{RunAsNonRoot: true}, "0:0", `container has runAsNonRoot and image will run as root (pod: "web_default", container: app)`},
		{"image user by name", &plan.SecurityContext{RunAsNonRoot: true}, "nginx", `container has runAsNonRoot and image has non-numeric user (nginx), cannot verify user is non-root (pod: "web_default", container: app)`},
		{"image user 101:101", &plan.SecurityContext{RunAsNonRoot: true}, "101:101", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyRunAsNonRoot(p, plan.Container{Name: "app", SecurityContext: tt.sc}, tt.image)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestSeccompProfileChoice(t *testing.T) {
	for _, tt := range []struct {
		sc   *plan.SecurityContext
		want string
	}{
		{nil, "RuntimeDefault"},
		{&plan.SecurityContext{Seccomp: &plan.SeccompProfile{Type: "Unconfined"}}, "Unconfined"},
		{&plan.SecurityContext{Seccomp: &plan.SeccompProfile{Type: "Localhost", LocalhostProfile: "a.json"}}, "Localhost"},
		{&plan.SecurityContext{Privileged: true, Seccomp: &plan.SeccompProfile{Type: "RuntimeDefault"}}, "Unconfined"},
	} {
		if got := seccompProfile(plan.Container{SecurityContext: tt.sc}).Type; got != tt.want {
			t.Errorf("%+v: %s, want %s", tt.sc, got, tt.want)
		}
	}
}

// TestLocalhostProfileConfined: a profile is read under the node's
// directory only, a symlink inside cannot lead out, and a missing one
// says where to put it.
func TestLocalhostProfileConfined(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside.json")
	if err := os.WriteFile(outside, []byte(`{"defaultAction":"SCMP_ACT_ALLOW"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "audit.json"), []byte(`{"defaultAction":"SCMP_ACT_LOG","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "escape.json")); err != nil {
		t.Fatal(err)
	}
	p, err := localhostProfile(root, "audit.json")
	if err != nil || p.DefaultAction != "SCMP_ACT_LOG" || len(p.Syscalls) != 1 || p.Syscalls[0].Names[0] != "mkdir" {
		t.Fatalf("audit.json: %+v, %v", p, err)
	}
	for name, want := range map[string]string{
		"escape.json":         "no such file",
		"../outside.json":     "no such file",
		"missing.json":        "--seccomp-profile-root",
		"../../../etc/passwd": "no such file",
		"/" + outside[1:]:     "no such file",
	} {
		if _, err := localhostProfile(root, name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", name, err, want)
		}
	}
}

func TestLogTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.log")
	var b strings.Builder
	for i := range 100 {
		b.WriteString("line ")
		b.WriteString(strings.Repeat("x", i%3))
		b.WriteString("\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got := logTail(path, 80, 2048)
	if n := strings.Count(got, "\n"); n != 80 || !strings.HasSuffix(b.String(), got) {
		t.Errorf("80 lines: got %d lines", n)
	}
	if got := logTail(path, 80, 10); got != "line xx\nli" { // line 20 is the first of the last 80
		t.Errorf("byte limit: %q", got)
	}
	if err := os.WriteFile(path, []byte("no newline at the end"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := logTail(path, 80, 2048); got != "no newline at the end" {
		t.Errorf("partial line: %q", got)
	}
}
