package admit

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/internal/objtest"
)

// BenchmarkAdmit10k admits 2,500 Deployments (10,000 pods with surge)
// in 25 namespaces, each with a LimitRange and a ResourceQuota.
func BenchmarkAdmit10k(b *testing.B) {
	var src strings.Builder
	const namespaces = 25
	for i := range namespaces {
		fmt.Fprintf(&src, `apiVersion: v1
kind: Namespace
metadata: {name: ns%[1]d}
---
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: ns%[1]d}
spec:
  limits:
  - type: Container
    default: {cpu: 200m, memory: 128Mi}
    defaultRequest: {cpu: 100m, memory: 64Mi}
    max: {cpu: "2", memory: 1Gi}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: budget, namespace: ns%[1]d}
spec:
  hard: {pods: "1000", requests.cpu: "100", limits.memory: 100Gi}
---
`, i)
	}
	for i := range 2500 {
		fmt.Fprintf(&src, `apiVersion: apps/v1
kind: Deployment
metadata: {name: app%d, namespace: ns%d}
spec:
  replicas: 3
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      containers:
      - {name: app, image: "img:1", resources: {requests: {cpu: 100m}, limits: {memory: 64Mi}}}
      - {name: sidecar, image: "img:1"}
---
`, i, i%namespaces)
	}
	set := objtest.Set(b, src.String())
	templates := Templates(set)
	if ds := Admit(set, copyTemplates(templates)); len(ds) != 0 {
		b.Fatalf("corpus does not admit: %v", objtest.Strings(ds)[0])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Admit(set, copyTemplates(templates))
	}
}

// BenchmarkAdmitNamespace10k admits 10,000 Pods in one namespace with a
// LimitRange (Container defaults and bounds, a Pod total) and a
// ResourceQuota on pods, cpu and memory: the worst realistic namespace,
// where every pod meets every rule.
func BenchmarkAdmitNamespace10k(b *testing.B) {
	var src strings.Builder
	src.WriteString(`apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: team}
spec:
  limits:
  - type: Container
    default: {cpu: 200m, memory: 128Mi}
    defaultRequest: {cpu: 100m, memory: 64Mi}
    max: {cpu: "2", memory: 1Gi}
    min: {cpu: 10m}
    maxLimitRequestRatio: {cpu: "10"}
  - type: Pod
    max: {cpu: "4", memory: 2Gi}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: budget, namespace: team}
spec:
  hard: {pods: "10000", requests.cpu: "4000", limits.cpu: "8000", requests.memory: 2Ti, limits.memory: 4Ti}
---
`)
	for i := range 10000 {
		fmt.Fprintf(&src, `apiVersion: v1
kind: Pod
metadata: {name: p%d, namespace: team}
spec:
  initContainers:
  - {name: init, image: "img:1"}
  containers:
  - {name: app, image: "img:1", resources: {requests: {cpu: 100m}, limits: {memory: 64Mi}}}
  - {name: sidecar, image: "img:1"}
---
`, i)
	}
	set := objtest.Set(b, src.String())
	templates := Templates(set)
	if ds := Admit(set, copyTemplates(templates)); len(ds) != 0 {
		b.Fatalf("corpus does not admit: %v", objtest.Strings(ds)[0])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Admit(set, copyTemplates(templates))
	}
}

// copyTemplates gives each run templates of its own: Admit writes the
// defaults into the specs, and every run must admit the same input.
func copyTemplates(templates []Template) []Template {
	out := slices.Clone(templates)
	for i := range out {
		if out[i].Spec == nil {
			continue
		}
		s := *out[i].Spec
		s.Containers = cloneContainers(s.Containers)
		s.InitContainers = cloneContainers(s.InitContainers)
		out[i].Spec = &s
	}
	return out
}

func cloneContainers(cs []api.Container) []api.Container {
	if cs == nil {
		return nil
	}
	out := slices.Clone(cs)
	for i := range out {
		out[i].Resources.Requests = maps.Clone(out[i].Resources.Requests)
		out[i].Resources.Limits = maps.Clone(out[i].Resources.Limits)
	}
	return out
}
