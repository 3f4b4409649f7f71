package podsecurity

import (
	"strings"
	"testing"

	"berth.dev/berth/compiler/api"
)

// TestNewPodReadsTheSecurityFields: every field berth accepts reaches
// the checks, so a compliant pod passes restricted and each unsafe
// field is found.
func TestNewPodReadsTheSecurityFields(t *testing.T) {
	compliantSpec := func() *api.PodSpec {
		return &api.PodSpec{
			SecurityContext: &api.PodSecurityContext{RunAsNonRoot: ptr(true), SeccompProfile: &api.SeccompProfile{Type: "RuntimeDefault"}},
			Containers: []api.Container{{Name: "app", SecurityContext: &api.SecurityContext{
				AllowPrivilegeEscalation: ptr(false), Capabilities: &api.Capabilities{Drop: []string{"ALL"}}}}},
		}
	}
	eval := func(lv LevelVersion, s *api.PodSpec) string {
		var got []string
		for _, r := range Evaluate(lv, ptr(NewPod(nil, "metadata", s, "spec"))) {
			got = append(got, r.Check+" @"+r.Field)
		}
		return strings.Join(got, "; ")
	}
	if got := eval(restrictedLatest, compliantSpec()); got != "" {
		t.Errorf("a compliant pod fails restricted: %s", got)
	}
	for _, tt := range []struct {
		name   string
		lv     LevelVersion
		change func(s *api.PodSpec)
		want   string
	}{
		{"hostPID and hostIPC", baselineLatest, func(s *api.PodSpec) { s.HostPID, s.HostIPC = true, true }, "hostNamespaces @spec.hostPID"},
		{"unsafe sysctl", baselineLatest, func(s *api.PodSpec) {
			s.SecurityContext.Sysctls = []api.Sysctl{{Name: "net.ipv4.tcp_syncookies", Value: "1"}, {Name: "kernel.msgmax", Value: "1"}}
		}, "sysctls @spec.securityContext.sysctls"},
		{"seccomp Unconfined in the pod", baselineLatest, func(s *api.PodSpec) { s.SecurityContext.SeccompProfile.Type = "Unconfined" },
			"seccompProfile_baseline @spec.securityContext.seccompProfile.type"},
		{"escalation allowed", restrictedLatest, func(s *api.PodSpec) { s.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr(true) },
			"allowPrivilegeEscalation @spec.containers[0].securityContext.allowPrivilegeEscalation"},
		{"container runAsNonRoot false", restrictedLatest, func(s *api.PodSpec) { s.Containers[0].SecurityContext.RunAsNonRoot = ptr(false) },
			"runAsNonRoot @spec.containers[0].securityContext.runAsNonRoot"},
		{"no pod seccomp", restrictedLatest, func(s *api.PodSpec) { s.SecurityContext.SeccompProfile = nil },
			"seccompProfile_restricted @spec.containers[0].securityContext.seccompProfile.type"},
		{"container seccomp covers it", restrictedLatest, func(s *api.PodSpec) {
			s.SecurityContext.SeccompProfile = nil
			s.Containers[0].SecurityContext.SeccompProfile = &api.SeccompProfile{Type: "Localhost"}
		}, ""},
		{"procMount Default is fine", restrictedLatest, func(s *api.PodSpec) { s.Containers[0].SecurityContext.ProcMount = "Default" }, ""},
		{"empty seLinuxOptions are fine", restrictedLatest, func(s *api.PodSpec) {
			s.SecurityContext.SELinuxOptions = &api.SELinuxOptions{}
			s.Containers[0].SecurityContext.SELinuxOptions = &api.SELinuxOptions{}
		}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := compliantSpec()
			tt.change(s)
			if got := eval(tt.lv, s); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
