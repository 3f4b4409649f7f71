package plan

import (
	"cmp"
	"fmt"
	"slices"
)

// Hook phases (Argo CD's names): a PreSync hook runs before the main
// phase, a PostSync hook after it, a SyncFail hook when the revision
// failed.
const (
	HookPreSync  = "PreSync"
	HookSync     = "Sync"
	HookPostSync = "PostSync"
	HookSyncFail = "SyncFail"
)

// Hook delete policies (Argo CD's names).
const (
	HookSucceeded      = "HookSucceeded"
	HookFailed         = "HookFailed"
	BeforeHookCreation = "BeforeHookCreation"
)

// Stage is where a workload starts in its revision: its hook phase, then
// its wave within the phase.
type Stage struct {
	Hook string `json:"hook,omitempty"`
	Wave int32  `json:"wave"`
}

// Stage is w's stage (a Sync hook runs in the main phase).
func (w *Workload) Stage() Stage {
	h := w.Hook
	if h == HookSync {
		h = ""
	}
	return Stage{Hook: h, Wave: w.Wave}
}

// phase orders the hook phases; SyncFail hooks come last, and only run
// when the revision failed.
func phase(hook string) int {
	switch hook {
	case HookPreSync:
		return 0
	case "":
		return 1
	case HookPostSync:
		return 2
	}
	return 3
}

// Compare orders stages: PreSync, the main phase, PostSync, SyncFail;
// by wave within a phase.
func (s Stage) Compare(t Stage) int {
	return cmp.Or(cmp.Compare(phase(s.Hook), phase(t.Hook)), cmp.Compare(s.Wave, t.Wave))
}

// String is "wave 2", "PreSync wave -1".
func (s Stage) String() string {
	if s.Hook == "" {
		return fmt.Sprintf("wave %d", s.Wave)
	}
	return fmt.Sprintf("%s wave %d", s.Hook, s.Wave)
}

// Stages lists the distinct stages of ws in order, SyncFail hooks left
// out: a plan without annotations has one, the main phase's wave 0.
func Stages(ws []Workload) []Stage {
	var out []Stage
	for i := range ws {
		if s := ws[i].Stage(); s.Hook != HookSyncFail && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, Stage.Compare)
	return out
}
