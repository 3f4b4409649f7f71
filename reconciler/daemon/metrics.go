package daemon

import (
	"context"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"berth.dev/berth/nodes"
	"berth.dev/berth/nodes/iptables"
)

// podCollector reports pods by phase and container restarts at scrape
// time, from the runtime's observed state.
type podCollector struct {
	node   *Node
	phases *prometheus.Desc
	starts *prometheus.Desc
	ready  *prometheus.Desc
	held   *prometheus.Desc
}

func newPodMetrics(reg prometheus.Registerer, n *Node) *podCollector {
	c := &podCollector{
		node:   n,
		phases: prometheus.NewDesc("berth_pods", "Pods on this node by phase.", []string{"phase"}, nil),
		starts: prometheus.NewDesc("berth_container_restarts", "Container restarts summed over this node's pods.", nil, nil),
		ready:  prometheus.NewDesc("berth_pods_ready", "Pods on this node that are ready.", nil, nil),
		held:   prometheus.NewDesc("berth_pods_held", "Pods this node keeps for their PodDisruptionBudgets: they run on another node in the plan, and go as their budgets allow.", nil, nil),
	}
	reg.MustRegister(c)
	return c
}

func (c *podCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.phases
	ch <- c.starts
	ch <- c.ready
	ch <- c.held
}

func (c *podCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.node.Observe(ctx)
	if err != nil {
		return
	}
	counts := map[string]int{nodes.PhasePending: 0, nodes.PhaseRunning: 0, nodes.PhaseSucceeded: 0, nodes.PhaseFailed: 0}
	restarts, ready := 0, 0
	for _, p := range st.Pods {
		counts[p.Phase]++
		restarts += p.Restarts()
		if p.Ready {
			ready++
		}
	}
	for phase, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.phases, prometheus.GaugeValue, float64(n), phase)
	}
	ch <- prometheus.MustNewConstMetric(c.starts, prometheus.GaugeValue, float64(restarts))
	ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, float64(ready))
	ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, float64(len(c.node.HeldPods())))
}

// driverMetrics observes the node drivers: service-rule syncs, image
// pulls and cluster DNS queries.
type driverMetrics struct {
	seconds *prometheus.HistogramVec
	rules   prometheus.Gauge
	pulls   *prometheus.HistogramVec
	queries *prometheus.CounterVec
}

func newDriverMetrics(reg prometheus.Registerer) *driverMetrics {
	m := &driverMetrics{
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_iptables_sync_duration_seconds",
			Help:    "Duration of a service-rule sync that did work, by kind (full or partial).",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"kind"}),
		rules: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "berth_iptables_rules",
			Help: "Rules in berth's service ruleset.",
		}),
	}
	m.pulls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "berth_image_pulls_seconds",
		Help:    "Image pulls from registries, by result (success or error).",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
	}, []string{"result"})
	m.queries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "berth_dns_queries_total",
		Help: "Queries the node's cluster DNS answered, by who answered (cluster: the plan's Services; upstream: the node's resolvers) and response code.",
	}, []string{"zone", "rcode"})
	reg.MustRegister(m.seconds, m.rules, m.pulls, m.queries)
	return m
}

func (m *driverMetrics) dnsQuery(local bool, rcode int) {
	if m == nil {
		return
	}
	zone := "upstream"
	if local {
		zone = "cluster"
	}
	m.queries.WithLabelValues(zone, dns.RcodeToString[rcode]).Inc()
}

func (m *driverMetrics) pulled(_ string, took time.Duration, err error) {
	if m == nil {
		return
	}
	result := "success"
	if err != nil {
		result = "error"
	}
	m.pulls.WithLabelValues(result).Observe(took.Seconds())
}

func (m *driverMetrics) observe(st iptables.SyncStats) {
	if m == nil {
		return
	}
	kind := "partial"
	if st.Full {
		kind = "full"
	}
	m.seconds.WithLabelValues(kind).Observe(st.Total.Seconds())
	m.rules.Set(float64(st.Rules))
}
