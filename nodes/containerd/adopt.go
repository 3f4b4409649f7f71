package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/typeurl/v2"

	"berth.dev/berth/nodes"
)

// adopt rebuilds the pods a previous Runtime left from containerd's labels
// and tasks plus the state files, and resumes their supervision without
// restarting running containers. A pod whose containers were never
// created (its image was still pulling) is torn down, so the reconciler
// creates it again with its full spec.
func (r *Runtime) adopt(ctx context.Context) error {
	r.wg.Add(1)
	go r.watchOOM()
	conts, err := r.client.Containers(ctx, fmt.Sprintf(`labels."%s"==true`, nodes.LabelManaged))
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	byPod := map[string]map[string]map[string]string{} // key -> container id -> labels
	holders := map[string]string{}                     // key -> holder id (pidns.go)
	for _, c := range conts {
		l, err := c.Labels(ctx)
		if err != nil {
			return err
		}
		key := l[nodes.LabelNamespace] + "/" + l[nodes.LabelPod]
		if l[labelHolder] != "" {
			holders[key] = c.ID()
			continue
		}
		if byPod[key] == nil {
			byPod[key] = map[string]map[string]string{}
		}
		byPod[key][c.ID()] = l
	}
	dirs, _ := filepath.Glob(filepath.Join(r.opts.StateDir, "pods", "*", "pod.json"))
	seen := map[string]bool{}
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		rec, err := readRecord(b)
		if err != nil || rec.Pod == nil {
			r.log.Warn("unreadable pod state; ignoring", "file", f, "err", err)
			continue
		}
		key := rec.Pod.Key()
		seen[key] = true
		pd := r.newPod(rec.Pod)
		pd.ip, pd.startedAt = rec.IP, rec.StartedAt
		pd.adopted = true
		labels := byPod[key]
		pd.ns.Net = recordedNetns(rec, labels)
		if len(labels) < len(pd.all()) {
			// Some containers were never created (an image was still
			// pulling): the state file lacks the secret values to create
			// them, so the reconciler creates the pod again.
			r.log.Info("tearing down pod that had not fully started", "pod", key)
			if err := r.teardown(ctx, pd); err != nil {
				r.log.Warn("tear down", "pod", key, "err", err)
			}
			continue
		}
		if err := r.restore(ctx, pd, labels); err != nil {
			return fmt.Errorf("pod %s: %w", key, err)
		}
		r.adoptHolder(ctx, pd)
		r.updateReady(pd)
		r.mu.Lock()
		r.pods[key] = pd
		r.mu.Unlock()
		r.log.Info("re-adopted pod", "pod", key, "ip", pd.ip)
		r.startSupervision(pd)
	}
	for key, cs := range byPod {
		if seen[key] {
			continue
		}
		// Containers without a state file cannot be supervised: remove them.
		for id := range cs {
			r.log.Warn("removing orphaned container", "container", id, "pod", key)
			if err := r.deleteContainer(ctx, id); err != nil {
				return err
			}
		}
	}
	for key, id := range holders {
		if !seen[key] {
			r.log.Warn("removing orphaned process namespace holder", "container", id, "pod", key)
			if err := r.deleteContainer(ctx, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// recordedNetns is where the pod's network namespace was made: its
// containers joined it by that path, and the CNI DEL needs it. Pods
// started before the path was recorded in the state file had it under
// /run/netns, as their containers' labels say.
func recordedNetns(rec record, labels map[string]map[string]string) string {
	if rec.Netns != "" {
		return rec.Netns
	}
	for _, l := range labels {
		if p := l[labelNetns]; p != "" {
			return p
		}
	}
	return filepath.Join("/run/netns", rec.ID)
}

// restore sets the pod's container states from their labels and tasks.
func (r *Runtime) restore(ctx context.Context, pd *pod, labels map[string]map[string]string) error {
	for _, c := range pd.all() {
		l, ok := labels[c.id]
		if !ok {
			continue
		}
		c.created = true
		if l[labelStopped] != "" && !pd.stopped {
			pd.stopped = true
			close(pd.stop)
		}
		if l[labelStopped] == "forced" {
			pd.forced = true
		}
		c.state.RestartCount, _ = strconv.Atoi(l[labelRestarts])
		c.state.StartedAt, _ = time.Parse(time.RFC3339Nano, l[labelStartedAt])
		c.started = c.spec.StartupProbe == nil
		if l[labelReason] != "" {
			c.state.State = nodes.StateTerminated
			c.state.Reason = l[labelReason]
			c.state.ExitCode, _ = strconv.Atoi(l[labelExitCode])
			c.state.FinishedAt, _ = time.Parse(time.RFC3339Nano, l[labelFinishedAt])
			c.completed = c.init > 0 && !c.sidecar && c.state.ExitCode == 0
		}
		cont, err := r.client.LoadContainer(ctx, c.id)
		if err != nil {
			return err
		}
		t, err := cont.Task(ctx, nil)
		if err != nil {
			if l[labelReason] == "" && !c.state.StartedAt.IsZero() {
				// It ran, and both its task and its exit are gone (a
				// daemon before the exit was recorded ahead of the task's
				// deletion): what the kubelet reports for a container it
				// cannot find, so that restartPolicy decides, and a
				// finished Job's container does not run again.
				c.state.State, c.state.Reason, c.state.ExitCode = nodes.StateTerminated, "ContainerStatusUnknown", 137
				c.state.Message = "the container could not be located when the daemon restarted"
			}
			continue
		}
		st, err := t.Status(ctx)
		if err != nil {
			continue
		}
		switch st.Status {
		case containerd.Running, containerd.Paused:
			c.state.State, c.state.Reason = nodes.StateRunning, ""
			// The readiness probe will confirm; until then, trust the
			// last daemon's view that a running container had started
			// and was ready. Starting it as not ready would empty the
			// service's endpoints and make a rollout replace every pod
			// at once on each daemon restart.
			c.started = true
			c.state.Ready = true
		case containerd.Stopped:
			if l[labelReason] != "" {
				break // recorded before the daemon stopped (an OOMKilled stays one)
			}
			// Exited while no daemon watched: record it now.
			c.state.State = nodes.StateTerminated
			c.state.ExitCode = int(st.ExitStatus)
			c.state.FinishedAt = st.ExitTime
			c.state.Reason = "Error"
			if st.ExitStatus == 0 {
				c.state.Reason = "Completed"
			}
			c.completed = c.init > 0 && !c.sidecar && st.ExitStatus == 0
		}
	}
	return nil
}

// oomSeen holds the containers the kernel OOM-killed, from containerd's
// /tasks/oom events.
type oomSeen struct {
	mu  sync.Mutex
	ids map[string]time.Time
}

func (r *Runtime) watchOOM() {
	defer r.wg.Done()
	for r.ctx.Err() == nil {
		ch, errs := r.client.Subscribe(r.ctx, `topic=="/tasks/oom"`)
	loop:
		for {
			select {
			case env := <-ch:
				if env == nil || env.Namespace != r.opts.Namespace {
					continue
				}
				ev, err := typeurl.UnmarshalAny(env.Event)
				if err != nil {
					continue
				}
				if oom, ok := ev.(*apievents.TaskOOM); ok {
					r.oom.mu.Lock()
					if r.oom.ids == nil {
						r.oom.ids = map[string]time.Time{}
					}
					r.oom.ids[oom.ContainerID] = time.Now()
					r.oom.mu.Unlock()
				}
			case err := <-errs:
				if err != nil && !errors.Is(err, context.Canceled) {
					r.log.Debug("event stream ended", "err", err)
				}
				break loop
			case <-r.ctx.Done():
				return
			}
		}
		select {
		case <-time.After(time.Second):
		case <-r.ctx.Done():
			return
		}
	}
}

// sawOOM consumes an OOM event of the container.
func (r *Runtime) sawOOM(id string) bool {
	r.oom.mu.Lock()
	defer r.oom.mu.Unlock()
	_, ok := r.oom.ids[id]
	delete(r.oom.ids, id)
	return ok
}

// readRecord reads a pod state file, also one a daemon of plan format v1
// wrote (its imagePullSecrets held credentials, redacted; v2 holds names):
// such a pod is adopted, and replaced by the reconciler like any pod of
// an older hash.
func readRecord(b []byte) (record, error) {
	var rec record
	err := json.Unmarshal(b, &rec)
	if err == nil {
		return rec, nil
	}
	var raw map[string]any
	if json.Unmarshal(b, &raw) != nil {
		return rec, err
	}
	if pod, ok := raw["pod"].(map[string]any); ok {
		if spec, ok := pod["spec"].(map[string]any); ok {
			delete(spec, "imagePullSecrets")
		}
	}
	fixed, merr := json.Marshal(raw)
	if merr != nil {
		return rec, err
	}
	rec = record{}
	if json.Unmarshal(fixed, &rec) != nil {
		return rec, err
	}
	return rec, nil
}
