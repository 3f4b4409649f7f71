package containerd

import "time"

// Restart policies.
const (
	RestartAlways    = "Always"
	RestartOnFailure = "OnFailure"
	RestartNever     = "Never"
)

// shouldRestart is the kubelet's decision after a container exits.
func shouldRestart(policy string, exitCode int) bool {
	switch policy {
	case RestartNever:
		return false
	case RestartOnFailure:
		return exitCode != 0
	default:
		return true
	}
}

// backoff is the kubelet's crash-loop back-off: base doubling to max, reset
// after the container ran for reset.
type backoff struct {
	base, max, reset time.Duration
	n                int
}

// next returns the delay before the next restart of a container that ran
// for ran.
func (b *backoff) next(ran time.Duration) time.Duration {
	if ran >= b.reset {
		b.n = 0
	}
	d := b.base
	for i := 0; i < b.n && d < b.max; i++ {
		d *= 2
	}
	b.n++
	return min(d, b.max)
}

func (r *Runtime) newBackoff() *backoff {
	return &backoff{base: r.opts.BackoffBase, max: r.opts.BackoffMax, reset: r.opts.BackoffReset}
}
