package containerd

import (
	"debug/elf"
	"os"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes"
)

// TestHolderMounts: the holder's root gets the binary at /pause and, for
// a binary linked dynamically (this test binary, built with cgo), its
// loader and every library it needs, all read-only; nothing else of the
// node.
func TestHolderMounts(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	libs, _ := f.ImportedLibraries()
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	f.Close()
	mounts, err := holderMounts(exe)
	if err != nil {
		t.Fatal(err)
	}
	want := 1
	if dynamic {
		want += 1 + len(libs)
	}
	if len(mounts) != want {
		t.Fatalf("%d mounts for a binary with %d libraries (dynamic %v): %+v", len(mounts), len(libs), dynamic, mounts)
	}
	if mounts[0].Source != exe || mounts[0].Destination != "/pause" {
		t.Errorf("first mount %+v, want %s at /pause", mounts[0], exe)
	}
	for i, m := range mounts {
		if !strings.Contains(strings.Join(m.Options, ","), "ro") || m.Type != "bind" {
			t.Errorf("mount %+v is not a read-only bind", m)
		}
		if i > 0 && m.Source != m.Destination {
			t.Errorf("library mount %+v not at its own path", m)
		}
	}
	for _, lib := range libs {
		found := false
		for _, m := range mounts[1:] {
			found = found || strings.HasSuffix(m.Source, "/"+lib)
		}
		if !found {
			t.Errorf("library %s not mounted: %+v", lib, mounts)
		}
	}
	if _, err := holderMounts("/nonexistent/berth"); err == nil {
		t.Error("no error for a missing binary")
	}
}

// TestFinished: a pod's holder may go only once its phase is final and
// none of its containers runs.
func TestFinished(t *testing.T) {
	term := func(code int) nodes.ContainerStatus {
		return nodes.ContainerStatus{State: nodes.StateTerminated, ExitCode: code, StartedAt: time.Unix(1, 0)}
	}
	run := nodes.ContainerStatus{State: nodes.StateRunning, StartedAt: time.Unix(1, 0)}
	backoff := nodes.ContainerStatus{State: nodes.StateWaiting, Reason: "CrashLoopBackOff", RestartCount: 1, StartedAt: time.Unix(1, 0)}
	creating := nodes.ContainerStatus{State: nodes.StateWaiting, Reason: "ContainerCreating"}
	for _, tc := range []struct {
		name    string
		policy  string
		sidecar *nodes.ContainerStatus
		apps    []nodes.ContainerStatus
		want    bool
	}{
		{"all completed", RestartNever, nil, []nodes.ContainerStatus{term(0), term(0)}, true},
		{"one failed", RestartNever, nil, []nodes.ContainerStatus{term(0), term(3)}, true},
		{"one still runs", RestartNever, nil, []nodes.ContainerStatus{term(0), run}, false},
		{"in back-off", RestartOnFailure, nil, []nodes.ContainerStatus{term(0), backoff}, false},
		{"not started", RestartNever, nil, []nodes.ContainerStatus{creating, creating}, false},
		{"sidecar still runs", RestartNever, &run, []nodes.ContainerStatus{term(0), term(0)}, false},
		{"sidecar stopped", RestartNever, &nodes.ContainerStatus{State: nodes.StateTerminated, ExitCode: 143, StartedAt: time.Unix(1, 0)}, []nodes.ContainerStatus{term(0), term(0)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &plan.Pod{Namespace: "default", Name: "p", Spec: plan.PodSpec{RestartPolicy: tc.policy, ShareProcessNamespace: true,
				Containers: []plan.Container{{Name: "a"}, {Name: "b"}}}}
			if tc.sidecar != nil {
				p.Spec.InitContainers = []plan.Container{{Name: "side", RestartPolicy: plan.ContainerRestartAlways}}
			}
			pd := (&Runtime{}).newPod(p)
			for i, c := range pd.apps {
				c.state = tc.apps[i]
			}
			if tc.sidecar != nil {
				pd.inits[0].state = *tc.sidecar
				pd.initDone = true
			}
			if got := finished(pd); got != tc.want {
				t.Errorf("finished = %v, want %v (status %+v)", got, tc.want, pd.status())
			}
		})
	}
}
