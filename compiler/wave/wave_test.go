package wave

import (
	"fmt"
	"slices"
	"testing"

	"berth.dev/berth/compiler/internal/objtest"
	"berth.dev/berth/compiler/plan"
)

func job(annotations string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: j
  annotations: %s
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "busybox:1.36"}]
`, annotations)
}

func TestOf(t *testing.T) {
	for _, tt := range []struct {
		name string
		ann  string
		want Placement
		errs []string
	}{
		{"none", `{}`, Placement{}, nil},
		{"berth wave", `{berth.dev/wave: "-2"}`, Placement{Wave: -2}, nil},
		{"argo wave", `{argocd.argoproj.io/sync-wave: "3"}`, Placement{Wave: 3}, nil},
		{"both agree", `{berth.dev/wave: "3", argocd.argoproj.io/sync-wave: "3"}`, Placement{Wave: 3}, nil},
		{"both disagree", `{berth.dev/wave: "3", argocd.argoproj.io/sync-wave: "4"}`, Placement{Wave: 3},
			[]string{`test.yaml:5:68: error: metadata.annotations["argocd.argoproj.io/sync-wave"]: wave 4 disagrees with berth.dev/wave: 3 on the same object; keep one of the two annotations`}},
		{"not a number", `{berth.dev/wave: "first"}`, Placement{},
			[]string{`test.yaml:5:33: error: metadata.annotations["berth.dev/wave"]: "first" is not a wave: write an integer such as "-1" or "5" (objects apply in increasing waves)`}},
		{"out of range", `{berth.dev/wave: "9999999999"}`, Placement{},
			[]string{`test.yaml:5:33: error: metadata.annotations["berth.dev/wave"]: "9999999999" is not a wave: write an integer such as "-1" or "5" (objects apply in increasing waves)`}},
		{"argo PreSync", `{argocd.argoproj.io/hook: PreSync, argocd.argoproj.io/hook-delete-policy: "HookSucceeded, BeforeHookCreation"}`,
			Placement{Hook: plan.HookPreSync, Delete: []string{plan.BeforeHookCreation, plan.HookSucceeded}}, nil},
		{"argo SyncFail", `{argocd.argoproj.io/hook: SyncFail}`, Placement{Hook: plan.HookSyncFail}, nil},
		{"argo Sync with wave", `{argocd.argoproj.io/hook: Sync, argocd.argoproj.io/sync-wave: "2"}`, Placement{Hook: plan.HookSync, Wave: 2}, nil},
		{"argo two phases", `{argocd.argoproj.io/hook: "PreSync,PostSync"}`, Placement{},
			[]string{`test.yaml:5:42: error: metadata.annotations["argocd.argoproj.io/hook"]: "PreSync,PostSync": berth runs a hook in one phase; give one of PreSync, Sync, PostSync, SyncFail (not supported by berth: several phases on one object)`}},
		{"argo unknown", `{argocd.argoproj.io/hook: Later}`, Placement{},
			[]string{`test.yaml:5:42: error: metadata.annotations["argocd.argoproj.io/hook"]: unknown hook "Later": want PreSync, Sync, PostSync or SyncFail`}},
		{"helm pre", `{helm.sh/hook: "pre-install,pre-upgrade", helm.sh/hook-weight: "-5", helm.sh/hook-delete-policy: "before-hook-creation,hook-succeeded"}`,
			Placement{Hook: plan.HookPreSync, Wave: -5, Delete: []string{plan.BeforeHookCreation, plan.HookSucceeded}}, nil},
		{"helm post", `{helm.sh/hook: post-upgrade}`, Placement{Hook: plan.HookPostSync}, nil},
		{"helm weight under a sync-wave", `{helm.sh/hook: post-upgrade, helm.sh/hook-weight: "4", berth.dev/wave: "1"}`, Placement{Hook: plan.HookPostSync, Wave: 1}, nil},
		{"helm pre and post", `{helm.sh/hook: "pre-install,post-install"}`, Placement{Hook: plan.HookPreSync},
			[]string{`test.yaml:5:31: error: metadata.annotations["helm.sh/hook"]: "pre-install,post-install": berth runs a hook in one phase, before (pre-) or after (post-) the release's objects, not both`}},
		{"argo hook wins over helm", `{argocd.argoproj.io/hook: PostSync, helm.sh/hook: pre-install}`, Placement{Hook: plan.HookPostSync},
			nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set := objtest.Set(t, job(tt.ann))
			got, ds := Of(set.All()[0])
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("placement %+v, want %+v", got, tt.want)
			}
			if errs := objtest.Errors(ds); !slices.Equal(errs, tt.errs) {
				t.Errorf("errors:\n%q\nwant:\n%q", errs, tt.errs)
			}
		})
	}
}

func TestAssignAndStages(t *testing.T) {
	src := job(`{argocd.argoproj.io/hook: PreSync}`) + "---\n" + `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, annotations: {berth.dev/wave: "2"}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: "busybox:1.36"}]
`
	set := objtest.Set(t, src)
	ws := []plan.Workload{{Kind: "Deployment", Namespace: "default", Name: "web"}, {Kind: "Job", Namespace: "default", Name: "j"},
		{Kind: "Deployment", Namespace: "default", Name: "other"}}
	Assign(set, ws)
	if ws[0].Wave != 2 || ws[1].Hook != plan.HookPreSync || ws[2].Stage() != (plan.Stage{}) {
		t.Fatalf("assigned %+v", ws)
	}
	got := fmt.Sprint(plan.Stages(ws))
	if want := "[PreSync wave 0 wave 0 wave 2]"; got != want {
		t.Errorf("stages %s, want %s", got, want)
	}
}
