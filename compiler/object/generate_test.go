package object_test

import (
	"strings"
	"testing"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/internal/objtest"
)

func hookJob(prefix, image string) string {
	return "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: " + prefix + ", namespace: shop, annotations: {argocd.argoproj.io/hook: PreSync}}\n" +
		"spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: \"" + image + "\"}]}}}\n"
}

// A Job with a generateName is named from its content: the same Job
// gets the same name everywhere, a changed one a new name (it runs
// again), and the name is the prefix cut to 58 characters and 5 of
// Kubernetes' name characters.
func TestGeneratedJobName(t *testing.T) {
	name := func(src string) string {
		objs := objtest.Set(t, src).All()
		if len(objs) != 1 {
			t.Fatalf("%d objects", len(objs))
		}
		o := objs[0]
		if got := o.Value.(*api.Job).Metadata.Name; got != o.Name {
			t.Errorf("metadata.name %q, object name %q", got, o.Name)
		}
		return o.Name
	}
	a := name(hookJob("migrate-", "db:1"))
	if a != name(hookJob("migrate-", "db:1")) {
		t.Errorf("the same Job got two names")
	}
	if b := name(hookJob("migrate-", "db:2")); b == a {
		t.Errorf("a changed Job kept the name %s", a)
	}
	suffix, ok := strings.CutPrefix(a, "migrate-")
	if !ok || len(suffix) != 5 || strings.Trim(suffix, "bcdfghjklmnpqrstvwxz2456789") != "" {
		t.Errorf("name %q is not migrate- and 5 name characters", a)
	}
	long := name(hookJob(strings.Repeat("x", 70), "db:1"))
	if len(long) != 63 || !strings.HasPrefix(long, strings.Repeat("x", 58)) {
		t.Errorf("long prefix gave %q (%d characters)", long, len(long))
	}
	if n := name("apiVersion: batch/v1\nkind: Job\nmetadata: {name: fixed, generateName: migrate-}\nspec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: \"c:1\"}]}}}\n"); n != "fixed" {
		t.Errorf("a written name gave way to %q", n)
	}
}
