package compiler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretContentLintAndPlanAgree: a pull secret whose content plan
// cannot use fails lint as well, with the same message, even when no pod
// refers to it yet.
func TestSecretContentLintAndPlanAgree(t *testing.T) {
	secret := "apiVersion: v1\nkind: Secret\nmetadata: {name: registry}\ntype: kubernetes.io/dockerconfigjson\n" +
		"stringData:\n  .dockerconfigjson: '{\"auths\": {\"r.example\": {\"auth\": \"not-base64!\"}}}'\n"
	pod := "---\napiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  imagePullSecrets: [{name: registry}]\n  containers: [{name: web, image: r.example/web:1}]\n"
	const want = `auths["r.example"].auth is not base64`
	for name, content := range map[string]string{"alone": secret, "used": secret + pod} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "s.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		diags, _, err := Lint([]string{dir}, Options{})
		if err != nil || len(diags) == 0 || !strings.Contains(diags[0].Message, want) {
			t.Fatalf("%s: lint %v, %v; want %q", name, diags, err, want)
		}
		p, pdiags, err := CompilePaths([]string{dir}, CompileOptions{})
		if err != nil || p != nil || len(pdiags) == 0 || !strings.Contains(pdiags[0].Message, want) {
			t.Fatalf("%s: plan %v, %v", name, pdiags, err)
		}
	}
}
