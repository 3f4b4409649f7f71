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
	reg.MustRegister(m.reconcileSeconds, m.revisionInfo, m.commitToApply, m.rejectedTotal, m.fetchErrors)
	return m
}

func (m *Metrics) reconciled(start, end time.Time, err error) {
	if m == nil {
		return
	}
	result := "success"
	if err != nil {
		result = "error"
	}
	m.reconcileSeconds.WithLabelValues(result).Observe(end.Sub(start).Seconds())
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
