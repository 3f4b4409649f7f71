package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadFlagsExitUsage: a --log-level or --log-format berth does not know
// and a --token-file it cannot read exit with code 2 and say which flag,
// before anything touches the node; none falls back silently.
func TestBadFlagsExitUsage(t *testing.T) {
	dir := t.TempDir()
	node := []string{"--state-dir", filepath.Join(dir, "state"), "--run-dir", filepath.Join(dir, "run")}
	missing := filepath.Join(dir, "no-such-token")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{append([]string{"cleanup", "--log-level", "loud"}, node...), `berth cleanup: --log-level "loud": use debug, info, warn or error`},
		{append([]string{"cleanup", "--log-format", "xml"}, node...), `berth cleanup: --log-format "xml": use text or json`},
		{append([]string{"daemon", "--watch", dir, "--log-format", "yaml"}, node...), `berth daemon: --log-format "yaml": use text or json`},
		{append([]string{"apply", "--log-level", "verbose"}, append(node, dir)...), `berth apply: --log-level "verbose"`},
		{[]string{"status", "--api", "http://127.0.0.1:1", "--token-file", missing}, "berth status: --token-file: open " + missing},
		{[]string{"suspend", "--api", "http://127.0.0.1:1", "--token-file", missing}, "berth suspend: --token-file: open " + missing},
		{[]string{"get", "pods", "--api", "http://127.0.0.1:1", "--token-file", missing}, "--token-file: open " + missing},
	} {
		var stdout, stderr bytes.Buffer
		code := run(&env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}, tt.args)
		if code != exitUsage || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("berth %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tt.args, " "), code, stderr.String(), exitUsage, tt.want)
		}
	}
}
