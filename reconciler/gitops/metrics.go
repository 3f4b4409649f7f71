package gitops

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the loop's Prometheus metrics, registered on a registry the
// daemon owns (no global registry). A nil *Metrics records nothing.
type Metrics struct {
	reconcileSeconds *prometheus.HistogramVec
	revisionInfo     *prometheus.GaugeVec
	commitToApply    prometheus.Histogram
	rejectedTotal    prometheus.Counter
	fetchErrors      prometheus.Counter
	appliedTotal     prometheus.Counter
	failedTotal      prometheus.Counter
	revertedTotal    prometheus.Counter
	suspended        prometheus.Gauge
	pinned           prometheus.Gauge
	healthState      *prometheus.GaugeVec

	// lastSeen is written by the fetch goroutine, read by the loop's.
	mu       sync.Mutex
	lastSeen time.Time
}

// NewMetrics registers the loop's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reconcileSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_reconcile_duration_seconds",
			Help:    "Duration of one reconcile pass, by result.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"result"}),
		revisionInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "berth_applied_revision_info",
			Help: "The revision the node runs (value 1).",
		}, []string{"revision"}),
		commitToApply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "berth_commit_to_applied_seconds",
			Help:    "From seeing a new revision to its plan applied.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}),
		rejectedTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_revisions_rejected_total",
			Help: "Revisions that failed lint or plan and were not applied.",
		}),
		fetchErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_fetch_errors_total",
			Help: "Failed fetches from the source.",
		}),
	}
	m.appliedTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "berth_revisions_applied_total",
		Help: "Revisions this node applied (a revert to an earlier one counts).",
	})
	m.failedTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "berth_revisions_failed_total",
		Help: "Revisions that failed on this node: a rollout past its deadline, a crash loop, a failed Job of a wave.",
	})
	m.revertedTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "berth_revisions_reverted_total",
		Help: "Times this node went back to the last revision healthy on every node because the head failed (on any node).",
	})
	m.suspended = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "berth_suspended",
		Help: "1 while the node is suspended (berth suspend): new revisions wait.",
	})
	m.pinned = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "berth_pinned",
		Help: "1 while the node is pinned to a revision (berth pin).",
	})
	m.healthState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "berth_revision_health",
		Help: "Health of the revision the node runs: 1 for its state (progressing, healthy, failed).",
	}, []string{"state"})
	reg.MustRegister(m.reconcileSeconds, m.revisionInfo, m.commitToApply, m.rejectedTotal, m.fetchErrors,
		m.appliedTotal, m.failedTotal, m.revertedTotal, m.suspended, m.pinned, m.healthState)
	return m
}

// Passed times one reconcile pass of the node's reconciler: the loop's
// own passes (resync, rollout steps) and those an apply asked for.
func (m *Metrics) Passed(took time.Duration, failed bool) {
	if m == nil {
		return
	}
	result := "success"
	if failed {
		result = "error"
	}
	m.reconcileSeconds.WithLabelValues(result).Observe(took.Seconds())
}

// reconciled records an apply's end: from seeing a revision to its plan
// applied.
func (m *Metrics) reconciled(end time.Time, err error) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil && !m.lastSeen.IsZero() {
		m.commitToApply.Observe(end.Sub(m.lastSeen).Seconds())
		m.lastSeen = time.Time{}
	}
}

func (m *Metrics) applied(rev string) {
	if m == nil {
		return
	}
	m.revisionInfo.Reset()
	m.revisionInfo.WithLabelValues(rev).Set(1)
	m.appliedTotal.Inc()
}

func (m *Metrics) failed() {
	if m != nil {
		m.failedTotal.Inc()
	}
}

func (m *Metrics) reverted() {
	if m != nil {
		m.revertedTotal.Inc()
	}
}

func (m *Metrics) operated(suspended bool, pin string) {
	if m == nil {
		return
	}
	m.suspended.Set(b2f(suspended))
	m.pinned.Set(b2f(pin != ""))
}

func (m *Metrics) health(state string) {
	if m == nil {
		return
	}
	for _, s := range []string{"progressing", "healthy", "failed"} {
		m.healthState.WithLabelValues(s).Set(b2f(s == state))
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (m *Metrics) revisionSeen(at time.Time) {
	if m != nil {
		m.mu.Lock()
		m.lastSeen = at
		m.mu.Unlock()
	}
}

func (m *Metrics) rejected() {
	if m != nil {
		m.rejectedTotal.Inc()
	}
}

func (m *Metrics) fetchFailed() {
	if m != nil {
		m.fetchErrors.Inc()
	}
}
