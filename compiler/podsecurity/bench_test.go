package podsecurity

import (
	"testing"

	"berth.dev/berth/compiler/api"
)

// BenchmarkEvaluate is one pod template of two containers (probes, ports,
// a hostPath) built into a view and evaluated at restricted, which runs
// every check: the cost per template that lint, plan and the daemon add
// in a namespace with a pod-security label.
func BenchmarkEvaluate(b *testing.B) {
	uid := int64(1000)
	c := api.Container{Name: "app", Image: "app:1",
		Ports:           []api.ContainerPort{{ContainerPort: 8080}},
		ReadinessProbe:  &api.Probe{HTTPGet: &api.HTTPGetAction{Path: "/"}},
		SecurityContext: &api.SecurityContext{RunAsUser: &uid, Capabilities: &api.Capabilities{Drop: []string{"ALL"}}}}
	spec := &api.PodSpec{Containers: []api.Container{c, c}, Volumes: []api.Volume{{Name: "logs", HostPath: &api.HostPathVolumeSource{Path: "/var/log"}}}}
	meta := &api.ObjectMeta{Annotations: map[string]string{"a": "b"}}
	lv := LevelVersion{Restricted, Latest}
	b.ReportAllocs()
	for b.Loop() {
		p := NewPod(meta, "spec.template.metadata", spec, "spec.template.spec")
		if len(Evaluate(lv, &p)) == 0 {
			b.Fatal("no finding")
		}
	}
}
