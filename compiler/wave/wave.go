// Package wave places each object of a revision in its stage: a hook
// phase (PreSync, the main phase, PostSync, SyncFail) and a wave within
// it, from the annotations that repositories written for Argo CD and
// Helm carry. It is the compile-time half of waves: Check reports wrong
// annotations (lint and plan both run it), Assign writes each workload's
// stage into the plan; the reconciler starts a stage when the ones before
// it are healthy on every node.
//
// The mapping is Argo CD's, Helm hooks included
// (https://argo-cd.readthedocs.io/en/stable/user-guide/helm/#helm-hooks):
//
//	berth.dev/wave, argocd.argoproj.io/sync-wave   the wave (an integer, default 0)
//	argocd.argoproj.io/hook                        PreSync, Sync, PostSync, SyncFail
//	argocd.argoproj.io/hook-delete-policy          HookSucceeded, HookFailed, BeforeHookCreation
//	helm.sh/hook: pre-install, pre-upgrade         PreSync
//	helm.sh/hook: post-install, post-upgrade       PostSync
//	helm.sh/hook-weight                            the wave within the hook's phase
//	helm.sh/hook-delete-policy                     hook-succeeded, hook-failed, before-hook-creation
//
// Objects that berth folds into the pods and rules of a revision
// (Namespaces, quotas, ConfigMaps, Secrets, volumes, Services) take
// effect with its first stage whatever their wave: Argo CD's and Helm's
// kind order puts them before the workloads, and every pod sees them from
// its start.
package wave

import (
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
)

// The annotations read.
const (
	Wave           = "berth.dev/wave"
	SyncWave       = "argocd.argoproj.io/sync-wave"
	Hook           = "argocd.argoproj.io/hook"
	HookDelete     = "argocd.argoproj.io/hook-delete-policy"
	HelmHook       = "helm.sh/hook"
	HelmWeight     = "helm.sh/hook-weight"
	HelmHookDelete = "helm.sh/hook-delete-policy"
)

// Rule is the rule id of the findings.
const Rule = "wave"

// Placement is an object's stage and, for a hook, its delete policy.
type Placement struct {
	Hook   string
	Wave   int32
	Delete []string
}

// helmEvents maps the Helm hook events berth runs onto Argo CD phases; the
// render drops the others before (compiler/render), with a warning.
var helmEvents = map[string]string{
	"pre-install": plan.HookPreSync, "pre-upgrade": plan.HookPreSync,
	"post-install": plan.HookPostSync, "post-upgrade": plan.HookPostSync,
}

var helmDelete = map[string]string{
	"hook-succeeded": plan.HookSucceeded, "hook-failed": plan.HookFailed, "before-hook-creation": plan.BeforeHookCreation,
}

// Of reads o's placement. Wrong values are diagnostics, and leave the
// default in their place.
func Of(o *object.Object) (Placement, []diag.Diagnostic) {
	ann := annotations(o)
	if len(ann) == 0 {
		return Placement{}, nil
	}
	var p Placement
	var ds []diag.Diagnostic
	bad := func(key, format string, args ...any) {
		ds = append(ds, o.Diag(diag.Error, Rule, `metadata.annotations["`+key+`"]`, format, args...))
	}
	warn := func(key, format string, args ...any) {
		ds = append(ds, o.Diag(diag.Warning, Rule, `metadata.annotations["`+key+`"]`, format, args...))
	}
	wave := func(key string) (int32, bool) {
		v, ok := ann[key]
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			bad(key, "%q is not a wave: write an integer such as \"-1\" or \"5\" (objects apply in increasing waves)", v)
			return 0, false
		}
		return int32(n), true
	}
	w1, has1 := wave(Wave)
	w2, has2 := wave(SyncWave)
	switch {
	case has1 && has2 && w1 != w2:
		bad(SyncWave, "wave %d disagrees with %s: %d on the same object; keep one of the two annotations", w2, Wave, w1)
		p.Wave = w1
	case has1:
		p.Wave = w1
	case has2:
		p.Wave = w2
	}

	switch v, ok := ann[Hook]; {
	case ok:
		phases := list(v)
		switch {
		case len(phases) != 1:
			bad(Hook, "%q: berth runs a hook in one phase; give one of PreSync, Sync, PostSync, SyncFail (not supported by berth: several phases on one object)", v)
		case phases[0] == "Skip":
			bad(Hook, "Skip is not supported by berth: berth applies every object it reads; leave the file out with .berthignore or --exclude instead")
		case phases[0] == "PostDelete":
			bad(Hook, "PostDelete is not supported by berth: a repository is never deleted as an application, so the hook would never run; remove it")
		case !slices.Contains([]string{plan.HookPreSync, plan.HookSync, plan.HookPostSync, plan.HookSyncFail}, phases[0]):
			bad(Hook, "unknown hook %q: want PreSync, Sync, PostSync or SyncFail", phases[0])
		default:
			p.Hook = phases[0]
		}
		if _, helm := ann[HelmHook]; helm {
			warn(HelmHook, "ignored: %s decides the phase, as in Argo CD", Hook)
		}
	default:
		if v, ok := ann[HelmHook]; ok {
			phase := ""
			for _, ev := range list(v) {
				ph, known := helmEvents[ev]
				switch {
				case ev == "test" || ev == "test-success":
					bad(HelmHook, "a test hook runs only with `helm test`, which berth has not: remove it from the manifests berth reads")
				case !known:
					bad(HelmHook, "hook event %q: berth installs and upgrades, it never deletes or rolls back a release, so the hook would never run (not supported by berth)", ev)
				case phase != "" && ph != phase:
					bad(HelmHook, "%q: berth runs a hook in one phase, before (pre-) or after (post-) the release's objects, not both", v)
				default:
					phase = ph
				}
			}
			p.Hook = phase
			if w, ok := wave(HelmWeight); ok && !has1 && !has2 {
				p.Wave = w
			}
		}
	}

	policy, policyKey := ann[HookDelete], HookDelete
	if _, ok := ann[HookDelete]; !ok {
		policy, policyKey = ann[HelmHookDelete], HelmHookDelete
	}
	if policy != "" {
		if p.Hook == "" {
			warn(policyKey, "has no effect: the object is not a hook (add %s)", Hook)
		}
		for _, v := range list(policy) {
			name := v
			if policyKey == HelmHookDelete {
				name = helmDelete[v]
			}
			if !slices.Contains([]string{plan.HookSucceeded, plan.HookFailed, plan.BeforeHookCreation}, name) {
				want := "HookSucceeded, HookFailed or BeforeHookCreation"
				if policyKey == HelmHookDelete {
					want = "hook-succeeded, hook-failed or before-hook-creation"
				}
				bad(policyKey, "unknown delete policy %q: want %s", v, want)
				continue
			}
			if p.Hook != "" && !slices.Contains(p.Delete, name) {
				p.Delete = append(p.Delete, name)
			}
		}
		slices.Sort(p.Delete)
	}
	return p, ds
}

// Check reports the wrong wave and hook annotations of every object.
func Check(set *object.Set) []diag.Diagnostic {
	var ds []diag.Diagnostic
	for _, o := range set.All() {
		_, d := Of(o)
		ds = append(ds, d...)
	}
	return ds
}

// Assign writes each workload's stage, from the object that made it.
func Assign(set *object.Set, ws []plan.Workload) {
	for i := range ws {
		w := &ws[i]
		o := set.Get(w.Kind, w.Namespace, w.Name)
		if o == nil {
			continue
		}
		p, _ := Of(o)
		w.Hook, w.Wave, w.HookDelete = p.Hook, p.Wave, p.Delete
	}
}

// list splits a comma-separated annotation value.
func list(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// annotations reads metadata.annotations as written.
func annotations(o *object.Object) map[string]string {
	if o.Doc == nil || o.Doc.Node == nil {
		return nil
	}
	n := child(child(o.Doc.Node, "metadata"), "annotations")
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = n.Content[i+1].Value
	}
	return out
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
