// Package nodes holds what the node drivers report: the observed state of
// a node, rebuilt from the runtime (containerd labels, iptables, the state
// directory) rather than remembered. The drivers live in sub-packages:
// containerd (pods), iptables (services), and fake (the in-memory runtime
// used by the reconciler's unit tests).
package nodes

import (
	"time"

	"berth.dev/berth/compiler/plan"
)

// Pod phases, as Kubernetes names them.
const (
	PhasePending   = "Pending"
	PhaseRunning   = "Running"
	PhaseSucceeded = "Succeeded"
	PhaseFailed    = "Failed"
)

// Labels berth puts on everything it creates in containerd.
const (
	LabelPod       = "berth.dev/pod"       // pod name
	LabelNamespace = "berth.dev/namespace" // pod namespace
	LabelPodHash   = "berth.dev/pod-hash"  // plan.Pod.Hash
	LabelContainer = "berth.dev/container" // container name
	LabelOwner     = "berth.dev/owner"     // Kind/name of the controller
	LabelRevision  = "berth.dev/revision"  // pod-template-hash
	LabelManaged   = "berth.dev/managed"   // "true"
)

// NodeState is what really runs on a node.
type NodeState struct {
	Pods []PodStatus `json:"pods"`
}

// Pod returns the pod with the given namespace/name key, or nil.
func (s *NodeState) Pod(key string) *PodStatus {
	for i := range s.Pods {
		if s.Pods[i].Key() == key {
			return &s.Pods[i]
		}
	}
	return nil
}

// PodStatus is one pod berth runs on this node.
type PodStatus struct {
	Namespace  string            `json:"namespace"`
	Name       string            `json:"name"`
	Labels     map[string]string `json:"labels,omitempty"`
	Owner      plan.Owner        `json:"owner"`
	Revision   string            `json:"revision,omitempty"`
	Hash       string            `json:"hash"`
	ConfigHash string            `json:"configHash,omitempty"`
	IP         string            `json:"ip,omitempty"`
	Phase      string            `json:"phase"`
	// Ready is true when every container passes its readiness probe (or has
	// none and is running).
	Ready bool `json:"ready"`
	// ReadySince is when the pod last became ready (minReadySeconds).
	ReadySince time.Time `json:"readySince,omitzero"`
	// Reason explains a pod that is not running: ErrImagePull,
	// CrashLoopBackOff, OOMKilled, ContainerCannotRun, ...
	Reason     string            `json:"reason,omitempty"`
	Message    string            `json:"message,omitempty"`
	Containers []ContainerStatus `json:"containers,omitempty"`
	// InitContainers are the init containers' states (exit codes a Job's
	// pod failure policy matches).
	InitContainers []ContainerStatus `json:"initContainers,omitempty"`
	StartedAt      time.Time         `json:"startedAt,omitzero"`
	// GracePeriodSeconds is the pod's terminationGracePeriodSeconds: how
	// long a stop waits after it begins before it kills.
	GracePeriodSeconds int64 `json:"terminationGracePeriodSeconds,omitempty"`
}

// Key is namespace/name.
func (p *PodStatus) Key() string { return p.Namespace + "/" + p.Name }

// Restarts is the sum of the containers' restart counts.
func (p *PodStatus) Restarts() int {
	n := 0
	for _, c := range p.Containers {
		n += c.RestartCount
	}
	return n
}

// ContainerStatus is one container of a pod.
type ContainerStatus struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	// State is waiting, running or terminated.
	State        string    `json:"state"`
	Ready        bool      `json:"ready"`
	RestartCount int       `json:"restartCount"`
	ExitCode     int       `json:"exitCode,omitempty"`
	Reason       string    `json:"reason,omitempty"` // OOMKilled, Error, Completed, ErrImagePull, CrashLoopBackOff
	Message      string    `json:"message,omitempty"`
	StartedAt    time.Time `json:"startedAt,omitzero"`
	FinishedAt   time.Time `json:"finishedAt,omitzero"`
}

// Container states.
const (
	StateWaiting    = "waiting"
	StateRunning    = "running"
	StateTerminated = "terminated"
)
