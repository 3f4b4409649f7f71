package daemon

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"berth.dev/berth/nodes"
)

// podCollector reports pods by phase and container restarts at scrape
// time, from the runtime's observed state.
type podCollector struct {
	node   *Node
	phases *prometheus.Desc
	starts *prometheus.Desc
	ready  *prometheus.Desc
}

func newPodMetrics(reg prometheus.Registerer, n *Node) *podCollector {
	c := &podCollector{
		node:   n,
		phases: prometheus.NewDesc("berth_pods", "Pods on this node by phase.", []string{"phase"}, nil),
		starts: prometheus.NewDesc("berth_container_restarts", "Container restarts summed over this node's pods.", nil, nil),
		ready:  prometheus.NewDesc("berth_pods_ready", "Pods on this node that are ready.", nil, nil),
	}
	reg.MustRegister(c)
	return c
}

func (c *podCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.phases
	ch <- c.starts
	ch <- c.ready
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
}
