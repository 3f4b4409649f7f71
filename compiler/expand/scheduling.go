package expand

import (
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/nodefit"
	"berth.dev/berth/compiler/validate"
)

// placement is what scheduling reads from a template besides its
// requests: shared by its replicas, never copied.
type placement struct {
	fit  *nodefit.Filter
	spec *api.PodSpec
	// extended is the pod's request of each extended resource: the sum
	// over its containers, or the largest init container's when larger
	// (as for cpu); a request defaults to its limit.
	extended map[string]int64
}

func newPlacement(spec *api.PodSpec) placement {
	return placement{fit: nodefit.New(spec), spec: spec, extended: extendedRequests(spec)}
}

func extendedRequests(spec *api.PodSpec) map[string]int64 {
	var out map[string]int64
	one := func(c *api.Container) map[string]int64 {
		var m map[string]int64
		for _, src := range []map[string]string{c.Resources.Limits, c.Resources.Requests} {
			for name, v := range src {
				if !validate.IsExtendedResource(name) {
					continue
				}
				q, err := api.ParseQuantity(v)
				if err != nil {
					continue // reported by the schema
				}
				if m == nil {
					m = map[string]int64{}
				}
				m[name] = q.Value() // the request, written last, wins
			}
		}
		return m
	}
	// As for cpu (expand.go): sidecars add to everything after them.
	sum, sidecars, initMax := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		for k, v := range one(c) {
			if c.RestartPolicy == api.ContainerRestartAlways {
				sidecars[k] += v
				initMax[k] = max(initMax[k], sidecars[k])
			} else {
				initMax[k] = max(initMax[k], v+sidecars[k])
			}
		}
	}
	for i := range spec.Containers {
		for k, v := range one(&spec.Containers[i]) {
			sum[k] += v
		}
	}
	for k, v := range sidecars {
		sum[k] += v
	}
	for k, v := range initMax {
		sum[k] = max(sum[k], v)
	}
	for k, v := range sum {
		if v > 0 {
			if out == nil {
				out = map[string]int64{}
			}
			out[k] = v
		}
	}
	return out
}
