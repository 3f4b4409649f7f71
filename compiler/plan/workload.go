package plan

// Workload is a controller the reconciler drives over time: how a
// Deployment rolls, how a Job runs to completion, when a CronJob fires.
type Workload struct {
	Kind      string `json:"kind"` // Deployment, ReplicaSet, DaemonSet, Job, CronJob, Rollout, Pod
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Revision is the pod-template-hash of the desired template.
	Revision string   `json:"revision,omitempty"`
	Replicas int32    `json:"replicas"`
	Strategy Strategy `json:"strategy"`
	Job      *Job     `json:"job,omitempty"`
	CronJob  *CronJob `json:"cronJob,omitempty"`
	// Template is the resolved pod of a Job or CronJob, which the reconciler
	// instantiates at run time; Node is where it runs.
	Template *Pod   `json:"template,omitempty"`
	Node     string `json:"node,omitempty"`
	// Nodes is the inventory nodes a DaemonSet runs on, sorted by name
	// (its nodeSelector, node affinity and taints decided once, at
	// compile time): the reconciler ranks them for a rolling update.
	Nodes []string `json:"nodes,omitempty"`
	// Wave and Hook order the workloads of a revision (compiler/wave):
	// a workload starts its rollout when every workload of an earlier
	// stage is healthy on every node that runs it. Hook is the Argo CD
	// sync phase of a hook ("PreSync", "PostSync", "SyncFail"; "" is the
	// main phase), from argocd.argoproj.io/hook or helm.sh/hook; Wave is
	// berth.dev/wave, argocd.argoproj.io/sync-wave or helm.sh/hook-weight.
	Wave int32  `json:"wave,omitempty"`
	Hook string `json:"hook,omitempty"`
	// HookDelete is a hook's delete policy: HookSucceeded, HookFailed,
	// BeforeHookCreation (Argo CD's names; Helm's map onto them).
	HookDelete []string `json:"hookDelete,omitempty"`
}

// Key is kind/namespace/name.
func (w *Workload) Key() string { return w.Kind + "/" + w.Namespace + "/" + w.Name }

// Strategy is how a workload moves from one revision to the next.
type Strategy struct {
	// Type is Recreate, RollingUpdate, OnDelete, BlueGreen, Canary, or ""
	// (bare pods, Jobs).
	Type                    string     `json:"type,omitempty"`
	MaxSurge                int32      `json:"maxSurge,omitempty"`
	MaxUnavailable          int32      `json:"maxUnavailable,omitempty"`
	MinReadySeconds         int32      `json:"minReadySeconds,omitempty"`
	ProgressDeadlineSeconds int32      `json:"progressDeadlineSeconds,omitempty"`
	Paused                  bool       `json:"paused,omitempty"`
	BlueGreen               *BlueGreen `json:"blueGreen,omitempty"`
	Canary                  *Canary    `json:"canary,omitempty"`
	// Partition keeps a StatefulSet's ordinals below it at their
	// revision; PodManagementPolicy is its OrderedReady (create 0..n-1
	// each after the previous is ready, remove in reverse) or Parallel.
	Partition           int32  `json:"partition,omitempty"`
	PodManagementPolicy string `json:"podManagementPolicy,omitempty"`
	// OrdinalsStart is a StatefulSet's first ordinal (spec.ordinals.start).
	OrdinalsStart int32 `json:"ordinalsStart,omitempty"`
	// RevisionHistoryLimit is how many old revisions a node remembers of
	// a Deployment, DaemonSet, StatefulSet or Rollout (nil for other kinds).
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`
}

// BlueGreen is an Argo-style blue/green rollout.
type BlueGreen struct {
	ActiveService         string `json:"activeService"`
	PreviewService        string `json:"previewService,omitempty"`
	AutoPromotionEnabled  bool   `json:"autoPromotionEnabled"`
	AutoPromotionSeconds  int32  `json:"autoPromotionSeconds,omitempty"`
	ScaleDownDelaySeconds int32  `json:"scaleDownDelaySeconds"`
}

// Canary is an Argo-style canary rollout.
type Canary struct {
	StableService string       `json:"stableService,omitempty"`
	CanaryService string       `json:"canaryService,omitempty"`
	Steps         []CanaryStep `json:"steps"`
}

// CanaryStep is a weight to set, or a pause (seconds; 0 with Pause set
// means until promoted).
type CanaryStep struct {
	SetWeight    *int32 `json:"setWeight,omitempty"`
	Pause        bool   `json:"pause,omitempty"`
	PauseSeconds int32  `json:"pauseSeconds,omitempty"`
}

// Job is run-to-completion settings.
type Job struct {
	Completions             int32  `json:"completions"`
	Parallelism             int32  `json:"parallelism"`
	BackoffLimit            int32  `json:"backoffLimit"`
	ActiveDeadlineSeconds   int64  `json:"activeDeadlineSeconds,omitempty"`
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`
	// WorkQueue is a Job without completions and with parallelism above
	// 1: complete once a pod succeeded and no other runs; no pod starts
	// after the first success.
	WorkQueue bool `json:"workQueue,omitempty"`
	// Indexed runs index 0 to Completions-1, each until one pod succeeds
	// (completionMode Indexed).
	Indexed bool `json:"indexed,omitempty"`
	// BackoffLimitPerIndex fails an index after that many failures (the
	// Job goes on with the others); MaxFailedIndexes fails the Job when
	// more indexes than that failed.
	BackoffLimitPerIndex *int32 `json:"backoffLimitPerIndex,omitempty"`
	MaxFailedIndexes     *int32 `json:"maxFailedIndexes,omitempty"`
	// PodFailurePolicy are the rules a failed pod is matched against, in
	// order; the first that matches decides (no rule: Count).
	PodFailurePolicy []PodFailureRule `json:"podFailurePolicy,omitempty"`
	// SuccessPolicy completes an Indexed Job when any rule holds.
	SuccessPolicy []SuccessRule `json:"successPolicy,omitempty"`
	// Suspend stops the Job's pods, without counting them as failures,
	// and starts none until it is false again.
	Suspend bool `json:"suspend,omitempty"`
}

// Pod failure policy actions.
const (
	ActionFailJob   = "FailJob"
	ActionFailIndex = "FailIndex"
	ActionIgnore    = "Ignore"
	ActionCount     = "Count"
)

// PodFailureRule is an action and what a failed pod must show for it:
// exit codes of its containers, or conditions.
type PodFailureRule struct {
	Action          string         `json:"action"`
	OnExitCodes     *ExitCodeRule  `json:"onExitCodes,omitempty"`
	OnPodConditions []PodCondition `json:"onPodConditions,omitempty"`
}

// ExitCodeRule matches a container (any, or the named one) that ended
// with a non-zero exit code In or NotIn Values.
type ExitCodeRule struct {
	Container string  `json:"container,omitempty"`
	Operator  string  `json:"operator"`
	Values    []int32 `json:"values"`
}

// PodCondition is a condition of a failed pod: a type and its status.
type PodCondition struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

// SuccessRule holds when every index of Indexes succeeded (all of them
// when Indexes is nil), or at least Count of them.
type SuccessRule struct {
	Indexes []IndexRange `json:"indexes,omitempty"`
	Count   *int32       `json:"count,omitempty"`
}

// IndexRange is the indexes From to To, both included.
type IndexRange struct {
	From int32 `json:"from"`
	To   int32 `json:"to"`
}

// CronJob is a schedule that creates Jobs.
type CronJob struct {
	Schedule                   string `json:"schedule"`
	TimeZone                   string `json:"timeZone,omitempty"`
	ConcurrencyPolicy          string `json:"concurrencyPolicy"`
	StartingDeadlineSeconds    *int64 `json:"startingDeadlineSeconds,omitempty"`
	Suspend                    bool   `json:"suspend,omitempty"`
	SuccessfulJobsHistoryLimit int32  `json:"successfulJobsHistoryLimit"`
	FailedJobsHistoryLimit     int32  `json:"failedJobsHistoryLimit"`
	Job                        Job    `json:"job"`
}
