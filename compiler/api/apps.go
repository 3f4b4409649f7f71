package api

// Deployment is an apps/v1 Deployment.
type Deployment struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta     `json:"metadata" yaml:"metadata"`
	Spec     DeploymentSpec `json:"spec" yaml:"spec"`
}

// DeploymentSpec is the subset berth rolls.
type DeploymentSpec struct {
	Replicas                *int32             `json:"replicas,omitempty" yaml:"replicas,omitempty"`
	Selector                *LabelSelector     `json:"selector" yaml:"selector"`
	Template                PodTemplateSpec    `json:"template" yaml:"template"`
	Strategy                DeploymentStrategy `json:"strategy,omitempty" yaml:"strategy,omitempty"`
	MinReadySeconds         int32              `json:"minReadySeconds,omitempty" yaml:"minReadySeconds,omitempty"`
	RevisionHistoryLimit    *int32             `json:"revisionHistoryLimit,omitempty" yaml:"revisionHistoryLimit,omitempty"`
	ProgressDeadlineSeconds *int32             `json:"progressDeadlineSeconds,omitempty" yaml:"progressDeadlineSeconds,omitempty"`
	Paused                  bool               `json:"paused,omitempty" yaml:"paused,omitempty"`
}

// DeploymentStrategy is Recreate or RollingUpdate.
type DeploymentStrategy struct {
	Type          string                 `json:"type,omitempty" yaml:"type,omitempty"`
	RollingUpdate *RollingUpdateStrategy `json:"rollingUpdate,omitempty" yaml:"rollingUpdate,omitempty"`
}

// RollingUpdateStrategy bounds a rolling update.
type RollingUpdateStrategy struct {
	MaxSurge       *IntOrString `json:"maxSurge,omitempty" yaml:"maxSurge,omitempty"`
	MaxUnavailable *IntOrString `json:"maxUnavailable,omitempty" yaml:"maxUnavailable,omitempty"`
}

// ReplicaSet is an apps/v1 ReplicaSet.
type ReplicaSet struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta     `json:"metadata" yaml:"metadata"`
	Spec     ReplicaSetSpec `json:"spec" yaml:"spec"`
}

// ReplicaSetSpec is replicas of a template.
type ReplicaSetSpec struct {
	Replicas        *int32          `json:"replicas,omitempty" yaml:"replicas,omitempty"`
	Selector        *LabelSelector  `json:"selector" yaml:"selector"`
	Template        PodTemplateSpec `json:"template" yaml:"template"`
	MinReadySeconds int32           `json:"minReadySeconds,omitempty" yaml:"minReadySeconds,omitempty"`
}

// DaemonSet is an apps/v1 DaemonSet.
type DaemonSet struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta    `json:"metadata" yaml:"metadata"`
	Spec     DaemonSetSpec `json:"spec" yaml:"spec"`
}

// DaemonSetSpec is a template run on every matching node.
type DaemonSetSpec struct {
	Selector        *LabelSelector          `json:"selector" yaml:"selector"`
	Template        PodTemplateSpec         `json:"template" yaml:"template"`
	UpdateStrategy  DaemonSetUpdateStrategy `json:"updateStrategy,omitempty" yaml:"updateStrategy,omitempty"`
	MinReadySeconds int32                   `json:"minReadySeconds,omitempty" yaml:"minReadySeconds,omitempty"`
	// RevisionHistoryLimit is how many old revisions a node remembers.
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty" yaml:"revisionHistoryLimit,omitempty"`
}

// DaemonSetUpdateStrategy is RollingUpdate or OnDelete.
type DaemonSetUpdateStrategy struct {
	Type          string                 `json:"type,omitempty" yaml:"type,omitempty"`
	RollingUpdate *RollingUpdateStrategy `json:"rollingUpdate,omitempty" yaml:"rollingUpdate,omitempty"`
}

// Job is a batch/v1 Job.
type Job struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta `json:"metadata" yaml:"metadata"`
	Spec     JobSpec    `json:"spec" yaml:"spec"`
}

// JobSpec is run-to-completion settings and a template.
type JobSpec struct {
	Completions             *int32 `json:"completions,omitempty" yaml:"completions,omitempty"`
	Parallelism             *int32 `json:"parallelism,omitempty" yaml:"parallelism,omitempty"`
	BackoffLimit            *int32 `json:"backoffLimit,omitempty" yaml:"backoffLimit,omitempty"`
	ActiveDeadlineSeconds   *int64 `json:"activeDeadlineSeconds,omitempty" yaml:"activeDeadlineSeconds,omitempty"`
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty" yaml:"ttlSecondsAfterFinished,omitempty"`
	CompletionMode          string `json:"completionMode,omitempty" yaml:"completionMode,omitempty"`
	// BackoffLimitPerIndex and MaxFailedIndexes bound the failures of
	// each index of an Indexed Job, and the failed indexes.
	BackoffLimitPerIndex *int32            `json:"backoffLimitPerIndex,omitempty" yaml:"backoffLimitPerIndex,omitempty"`
	MaxFailedIndexes     *int32            `json:"maxFailedIndexes,omitempty" yaml:"maxFailedIndexes,omitempty"`
	PodFailurePolicy     *PodFailurePolicy `json:"podFailurePolicy,omitempty" yaml:"podFailurePolicy,omitempty"`
	SuccessPolicy        *SuccessPolicy    `json:"successPolicy,omitempty" yaml:"successPolicy,omitempty"`
	Suspend              bool              `json:"suspend,omitempty" yaml:"suspend,omitempty"`
	Selector             *LabelSelector    `json:"selector,omitempty" yaml:"selector,omitempty"`
	// ManualSelector lets the Job use Selector as written; without it
	// the API server generates the selector and refuses one written.
	ManualSelector *bool           `json:"manualSelector,omitempty" yaml:"manualSelector,omitempty"`
	Template       PodTemplateSpec `json:"template" yaml:"template"`
}

// CronJob is a batch/v1 CronJob.
type CronJob struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta  `json:"metadata" yaml:"metadata"`
	Spec     CronJobSpec `json:"spec" yaml:"spec"`
}

// CronJobSpec is a schedule and a Job template.
type CronJobSpec struct {
	Schedule                   string          `json:"schedule" yaml:"schedule"`
	TimeZone                   *string         `json:"timeZone,omitempty" yaml:"timeZone,omitempty"`
	ConcurrencyPolicy          string          `json:"concurrencyPolicy,omitempty" yaml:"concurrencyPolicy,omitempty"`
	StartingDeadlineSeconds    *int64          `json:"startingDeadlineSeconds,omitempty" yaml:"startingDeadlineSeconds,omitempty"`
	Suspend                    bool            `json:"suspend,omitempty" yaml:"suspend,omitempty"`
	SuccessfulJobsHistoryLimit *int32          `json:"successfulJobsHistoryLimit,omitempty" yaml:"successfulJobsHistoryLimit,omitempty"`
	FailedJobsHistoryLimit     *int32          `json:"failedJobsHistoryLimit,omitempty" yaml:"failedJobsHistoryLimit,omitempty"`
	JobTemplate                JobTemplateSpec `json:"jobTemplate" yaml:"jobTemplate"`
}

// JobTemplateSpec is the Job a CronJob creates.
type JobTemplateSpec struct {
	Metadata ObjectMeta `json:"metadata,omitempty" yaml:"metadata,omitempty"`
	Spec     JobSpec    `json:"spec" yaml:"spec"`
}

// Rollout is argoproj.io/v1alpha1 Rollout: the blue/green and canary subset.
type Rollout struct {
	TypeMeta `yaml:",inline"`
	Metadata ObjectMeta  `json:"metadata" yaml:"metadata"`
	Spec     RolloutSpec `json:"spec" yaml:"spec"`
}

// RolloutSpec is a template with a blue/green or canary strategy.
type RolloutSpec struct {
	Replicas        *int32          `json:"replicas,omitempty" yaml:"replicas,omitempty"`
	Selector        *LabelSelector  `json:"selector" yaml:"selector"`
	Template        PodTemplateSpec `json:"template" yaml:"template"`
	MinReadySeconds int32           `json:"minReadySeconds,omitempty" yaml:"minReadySeconds,omitempty"`
	Strategy        RolloutStrategy `json:"strategy" yaml:"strategy"`
	// RevisionHistoryLimit is how many old revisions a node remembers.
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty" yaml:"revisionHistoryLimit,omitempty"`
}

// RolloutStrategy is exactly one of blueGreen and canary.
type RolloutStrategy struct {
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty" yaml:"blueGreen,omitempty"`
	Canary    *CanaryStrategy    `json:"canary,omitempty" yaml:"canary,omitempty"`
}

// BlueGreenStrategy switches activeService from the old to the new revision.
type BlueGreenStrategy struct {
	ActiveService         string `json:"activeService" yaml:"activeService"`
	PreviewService        string `json:"previewService,omitempty" yaml:"previewService,omitempty"`
	AutoPromotionEnabled  *bool  `json:"autoPromotionEnabled,omitempty" yaml:"autoPromotionEnabled,omitempty"`
	AutoPromotionSeconds  int32  `json:"autoPromotionSeconds,omitempty" yaml:"autoPromotionSeconds,omitempty"`
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty" yaml:"scaleDownDelaySeconds,omitempty"`
}

// CanaryStrategy shifts traffic in steps.
type CanaryStrategy struct {
	StableService string       `json:"stableService,omitempty" yaml:"stableService,omitempty"`
	CanaryService string       `json:"canaryService,omitempty" yaml:"canaryService,omitempty"`
	Steps         []CanaryStep `json:"steps,omitempty" yaml:"steps,omitempty"`
}

// CanaryStep is a setWeight or a pause.
type CanaryStep struct {
	SetWeight *int32        `json:"setWeight,omitempty" yaml:"setWeight,omitempty"`
	Pause     *RolloutPause `json:"pause,omitempty" yaml:"pause,omitempty"`
}

// RolloutPause pauses for a duration ("30s", "5m") or until promoted.
type RolloutPause struct {
	Duration *IntOrString `json:"duration,omitempty" yaml:"duration,omitempty"`
}

// Job completion modes.
const (
	NonIndexedCompletion = "NonIndexed"
	IndexedCompletion    = "Indexed"
)

// PodFailurePolicy decides what a failed pod of a Job means.
type PodFailurePolicy struct {
	Rules []PodFailurePolicyRule `json:"rules" yaml:"rules"`
}

// PodFailurePolicyRule is an action and when it applies.
type PodFailurePolicyRule struct {
	Action          string                                   `json:"action" yaml:"action"` // FailJob, FailIndex, Ignore, Count
	OnExitCodes     *PodFailurePolicyOnExitCodes             `json:"onExitCodes,omitempty" yaml:"onExitCodes,omitempty"`
	OnPodConditions []PodFailurePolicyOnPodConditionsPattern `json:"onPodConditions,omitempty" yaml:"onPodConditions,omitempty"`
}

// PodFailurePolicyOnExitCodes matches exit codes of a pod's containers.
type PodFailurePolicyOnExitCodes struct {
	ContainerName *string `json:"containerName,omitempty" yaml:"containerName,omitempty"`
	Operator      string  `json:"operator" yaml:"operator"` // In, NotIn
	Values        []int32 `json:"values" yaml:"values"`
}

// PodFailurePolicyOnPodConditionsPattern matches a condition of a pod.
type PodFailurePolicyOnPodConditionsPattern struct {
	Type   string `json:"type" yaml:"type"`
	Status string `json:"status,omitempty" yaml:"status,omitempty"`
}

// SuccessPolicy ends an Indexed Job as complete when any rule holds.
type SuccessPolicy struct {
	Rules []SuccessPolicyRule `json:"rules" yaml:"rules"`
}

// SuccessPolicyRule holds when the listed indexes (or enough of them)
// succeeded.
type SuccessPolicyRule struct {
	SucceededIndexes *string `json:"succeededIndexes,omitempty" yaml:"succeededIndexes,omitempty"`
	SucceededCount   *int32  `json:"succeededCount,omitempty" yaml:"succeededCount,omitempty"`
}
