package reconciler

import (
	"maps"
	"time"
)

// Rollout phases.
const (
	PhaseProgressing = "Progressing"
	PhasePaused      = "Paused"
	PhaseComplete    = "Complete"
	PhaseFailed      = "Failed"
	PhaseAborted     = "Aborted"
	// PhaseWaiting: the workload's stage waits for an earlier one (waves).
	PhaseWaiting = "Waiting"
)

// Job phases.
const (
	JobRunning  = "Running"
	JobComplete = "Complete"
	JobFailed   = "Failed"
)

// Store buckets.
const (
	bucketRollouts = "rollouts"
	bucketJobs     = "jobs"
	bucketCrons    = "cronjobs"
	bucketMeta     = "meta"
	bucketStops    = "stops"
)

// State is the progress that containerd cannot give back, plus the time of
// the pass. Diff reads it; the actions it returns carry the new values.
type State struct {
	Now      time.Time
	Rollouts map[string]Rollout // by workload key
	Jobs     map[string]JobRun  // by workload key of a Job
	Crons    map[string]CronRuns
	History  map[string]RevisionHistory
	// Claims are the claims whose retention policy deletes them, by
	// namespace/claim (claims.go).
	Claims map[string]ClaimHold
}

func (s State) clone() State {
	c := State{Now: s.Now, Rollouts: map[string]Rollout{}, Jobs: map[string]JobRun{}, Crons: map[string]CronRuns{}, History: map[string]RevisionHistory{}}
	for k, v := range s.History {
		c.History[k] = v
	}
	c.Claims = maps.Clone(s.Claims)
	for k, v := range s.Rollouts {
		c.Rollouts[k] = v
	}
	for k, v := range s.Jobs {
		c.Jobs[k] = v
	}
	for k, v := range s.Crons {
		c.Crons[k] = v
	}
	return c
}

// Rollout is the progress of one workload towards its desired revision.
type Rollout struct {
	// Revision is the revision being rolled out.
	Revision string `json:"revision"`
	// Stable is the revision that served before ("" for a first deploy).
	Stable  string    `json:"stable,omitempty"`
	Phase   string    `json:"phase"`
	Message string    `json:"message,omitempty"`
	Started time.Time `json:"started"`
	// LastProgress is when the number of available new pods last changed.
	LastProgress time.Time `json:"lastProgress"`
	Available    int       `json:"available"`
	// Step is the canary step in progress; StepStarted when it began.
	Step        int       `json:"step,omitempty"`
	StepStarted time.Time `json:"stepStarted,omitzero"`
	// Weight is the canary's traffic share, in percent.
	Weight int32 `json:"weight,omitempty"`
	// Promote and Abort are user requests waiting to be acted on.
	Promote bool `json:"promote,omitempty"`
	Abort   bool `json:"abort,omitempty"`
	// Active is the revision behind a blue/green activeService.
	Active string `json:"active,omitempty"`
	// ReadyAt is when the new revision became fully available (blue/green
	// auto-promotion counts from it).
	ReadyAt time.Time `json:"readyAt,omitzero"`
	// SwitchedAt is when activeService moved to the new revision; the old
	// revision is kept scaleDownDelaySeconds after it.
	SwitchedAt time.Time `json:"switchedAt,omitzero"`
	// Waiting is since when a StatefulSet's ordinals here wait for
	// nodes without word (setorder.go): their turns count from it.
	Waiting time.Time `json:"waiting,omitzero"`
	// Spread is where a StatefulSet's ordinals ended (ordinals.start +
	// replicas) when the plan last put some on other nodes, kept while
	// a scale down runs here: without word from a node, the ordinals
	// above one here go first, by turns.
	Spread int `json:"spread,omitempty"`
}

// Stop is a stop or removal of a pod the reconciler began, kept until it
// is done, as Kubernetes keeps a terminating pod's deletionTimestamp: the
// pod counts as terminating meanwhile (not ready, out of every service,
// not available), and after a daemon restart the stop is issued again
// with what is left of its grace period.
type Stop struct {
	// Hash is the pod's hash: a pod of the same name with another hash is
	// another pod.
	Hash string `json:"hash"`
	// Remove deletes the pod once stopped (else it is kept, with its
	// status and logs).
	Remove bool `json:"remove,omitempty"`
	// Deadline is when the grace period ends: the pod is killed then.
	Deadline time.Time `json:"deadline"`
	Object   string    `json:"object,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

// JobRun is one run of a Job (a Job itself, or one CronJob run).
type JobRun struct {
	Name      string    `json:"name"`
	Revision  string    `json:"revision"`
	Phase     string    `json:"phase"`
	Reason    string    `json:"reason,omitempty"`
	Scheduled time.Time `json:"scheduled,omitzero"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished,omitzero"`
	Succeeded int32     `json:"succeeded"`
	Failed    int32     `json:"failed"`
	// Next is the index of the next pod: pod names never repeat, so a
	// retried pod does not collide with the failed one it replaces.
	Next         int       `json:"next"`
	BackoffUntil time.Time `json:"backoffUntil,omitzero"`
	Pods         []JobPod  `json:"pods,omitempty"`
	// Cleaned is set once the finished pods are removed (TTL, history).
	Cleaned bool `json:"cleaned,omitempty"`
	// Message says why the run ended as it did (which pod failure rule
	// failed it, which success rule completed it).
	Message string `json:"message,omitempty"`
	// CompletedIndexes and FailedIndexes are an Indexed Job's indexes
	// that succeeded and that failed, as "0-2,5" (Kubernetes'
	// status.completedIndexes and status.failedIndexes).
	CompletedIndexes string `json:"completedIndexes,omitempty"`
	FailedIndexes    string `json:"failedIndexes,omitempty"`
	// IndexFailures counts the failures of each index that failed
	// (backoffLimitPerIndex), by index.
	IndexFailures map[string]int32 `json:"indexFailures,omitempty"`
	// Ignored counts the failed pods a pod failure policy's Ignore rule
	// left out of Failed.
	Ignored int32 `json:"ignored,omitempty"`
	// Suspended is set while spec.suspend holds the run's pods stopped.
	Suspended bool `json:"suspended,omitempty"`
}

// JobPod is one pod of a run.
type JobPod struct {
	Name string `json:"name"`
	// Result is "" while the pod runs, then Succeeded, Failed or Stopped.
	Result string `json:"result,omitempty"`
	// Seen is set once the pod was observed: a pod that vanishes after
	// that failed; one never seen is created again (a crash between the
	// record and the create).
	Seen bool `json:"seen,omitempty"`
	// Index is the completion index of an Indexed Job's pod, and N the
	// number of the pod in its run (part of its name).
	Index *int32 `json:"index,omitempty"`
	N     int    `json:"n,omitempty"`
	// Ignored is set when a pod failure policy's Ignore rule matched it.
	Ignored bool `json:"ignored,omitempty"`
}

func (j *JobRun) active() int {
	n := 0
	for _, p := range j.Pods {
		if p.Result == "" {
			n++
		}
	}
	return n
}

func (j *JobRun) finished() bool { return j.Phase == JobComplete || j.Phase == JobFailed }

// CronRuns is the history of one CronJob.
type CronRuns struct {
	// Created is when berth first saw the CronJob: missed runs count from
	// there, as Kubernetes counts from the creation timestamp.
	Created      time.Time `json:"created"`
	LastSchedule time.Time `json:"lastSchedule,omitzero"`
	Runs         []JobRun  `json:"runs,omitempty"`
}
