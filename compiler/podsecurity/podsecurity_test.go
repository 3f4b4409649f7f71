package podsecurity

import (
	"reflect"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

// ctr is a container named name at spec.containers[i].
func ctr(i int, name string, sc SecurityContext) Container {
	return Container{Name: name, Path: "spec.containers[" + string(rune('0'+i)) + "]", SecurityContext: sc}
}

// compliant is a container that meets restricted.
var compliant = SecurityContext{Set: true, AllowPrivilegeEscalation: ptr(false), RunAsNonRoot: ptr(true),
	SeccompType: ptr("RuntimeDefault"), Capabilities: &Capabilities{Drop: []string{"ALL"}}}

func with(f func(sc *SecurityContext)) SecurityContext {
	sc := compliant
	f(&sc)
	return sc
}

func pod(cs ...Container) *Pod {
	return &Pod{Path: "spec", MetaPath: "metadata", Containers: cs}
}

var (
	baselineLatest   = LevelVersion{Baseline, Latest}
	restrictedLatest = LevelVersion{Restricted, Latest}
)

// Each case is PSA's own wording for the same pod (k8s.io/pod-security-admission v0.37 policy tests).
func TestChecks(t *testing.T) {
	tests := []struct {
		name string
		lv   LevelVersion
		pod  *Pod
		want []string // "check: reason (detail) @field"
	}{
		{"restricted pod passes", restrictedLatest, pod(ctr(0, "a", compliant)), nil},
		{"privileged passes everything", LevelVersion{Privileged, Latest},
			pod(ctr(0, "a", SecurityContext{Privileged: ptr(true)})), nil},
		{"privileged", baselineLatest, pod(ctr(0, "a", with(func(sc *SecurityContext) { sc.Privileged = ptr(true) })), ctr(1, "b", with(func(sc *SecurityContext) { sc.Privileged = ptr(true) }))),
			[]string{`privileged: privileged (containers "a", "b" must not set securityContext.privileged=true) @spec.containers[0].securityContext.privileged`}},
		{"host namespaces sorted", baselineLatest, &Pod{Path: "spec", HostNetwork: true, HostPID: true},
			[]string{`hostNamespaces: host namespaces (hostNetwork, hostPID) @spec.hostNetwork`}},
		{"capabilities baseline", baselineLatest, pod(ctr(0, "a", SecurityContext{Capabilities: &Capabilities{Add: []string{"SYS_ADMIN", "CHOWN", "NET_ADMIN"}}})),
			[]string{`capabilities_baseline: non-default capabilities (container "a" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add) @spec.containers[0].securityContext.capabilities.add`}},
		{"hostPath", baselineLatest, &Pod{Path: "spec", Volumes: []Volume{{"a", "emptyDir"}, {"b", "hostPath"}, {"c", "hostPath"}}},
			[]string{`hostPathVolumes: hostPath volumes (volumes "b", "c") @spec.volumes[1].hostPath`}},
		{"hostPorts sort as strings", baselineLatest, pod(Container{Name: "a", Path: "spec.containers[0]",
			HostPorts: []HostPort{{8080, "spec.containers[0].ports[0].hostPort"}, {10000, "spec.containers[0].ports[1].hostPort"}}}),
			[]string{`hostPorts: hostPort (container "a" uses hostPorts 10000, 8080) @spec.containers[0].ports[0].hostPort`}},
		{"probe host", baselineLatest, pod(Container{Name: "b", Path: "spec.containers[0]", ProbeHosts: []ProbeHost{{"10.0.0.1", "spec.containers[0].livenessProbe.httpGet.host"}}}),
			[]string{`hostProbesAndHostLifecycle: probe or lifecycle host (container "b" uses probe or lifecycle host "10.0.0.1") @spec.containers[0].livenessProbe.httpGet.host`}},
		{"probe host is allowed before v1.34", LevelVersion{Baseline, V1(33)},
			pod(Container{Name: "b", Path: "spec.containers[0]", ProbeHosts: []ProbeHost{{"10.0.0.1", "x"}}}), nil},
		{"apparmor annotation", baselineLatest, &Pod{Path: "spec", MetaPath: "metadata", Annotations: map[string]string{
			"container.apparmor.security.beta.kubernetes.io/a": "unconfined", "container.apparmor.security.beta.kubernetes.io/b": "localhost/x"}},
			[]string{`appArmorProfile: forbidden AppArmor profile (annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/a="unconfined"") @metadata.annotations`}},
		{"seccomp annotation before v1.19", LevelVersion{Baseline, V1(18)}, &Pod{Path: "spec", MetaPath: "metadata",
			Annotations: map[string]string{"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}},
			[]string{`seccompProfile_baseline: seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined") @metadata.annotations`}},
		{"seccomp annotation ignored from v1.19", baselineLatest, &Pod{Path: "spec", MetaPath: "metadata",
			Annotations: map[string]string{"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}}, nil},
		{"seccomp unconfined", baselineLatest, pod(ctr(0, "a", SecurityContext{SeccompType: ptr("Unconfined")})),
			[]string{`seccompProfile_baseline: seccompProfile (container "a" must not set securityContext.seccompProfile.type to "Unconfined") @spec.containers[0].securityContext.seccompProfile.type`}},
		{"selinux", baselineLatest, &Pod{Path: "spec", SecurityContext: SecurityContext{SELinux: &SELinuxOptions{Type: "spc_t", User: "u"}}},
			[]string{`seLinuxOptions: seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set) @spec.securityContext.seLinuxOptions`}},
		{"container_engine_t from v1.31", LevelVersion{Baseline, V1(30)}, pod(ctr(0, "a", SecurityContext{SELinux: &SELinuxOptions{Type: "container_engine_t"}})),
			[]string{`seLinuxOptions: seLinuxOptions (container "a" set forbidden securityContext.seLinuxOptions: type "container_engine_t") @spec.containers[0].securityContext.seLinuxOptions`}},
		{"sysctls by version", LevelVersion{Baseline, V1(28)}, &Pod{Path: "spec", Sysctls: []string{"net.ipv4.tcp_keepalive_time", "kernel.msgmax", "net.ipv4.ip_local_reserved_ports"}},
			[]string{`sysctls: forbidden sysctls (net.ipv4.tcp_keepalive_time, kernel.msgmax) @spec.securityContext.sysctls`}},
		{"procMount", baselineLatest, pod(ctr(0, "a", SecurityContext{ProcMount: ptr("Unmasked")})),
			[]string{`procMount: procMount (container "a" must not set securityContext.procMount to "Unmasked") @spec.containers[0].securityContext.procMount`}},
		{"procMount relaxed for a user namespace from v1.35 in baseline", baselineLatest,
			&Pod{Path: "spec", HostUsers: ptr(false), Containers: []Container{ctr(0, "a", SecurityContext{ProcMount: ptr("Unmasked")})}}, nil},
		{"but not in restricted", restrictedLatest,
			&Pod{Path: "spec", HostUsers: ptr(false), Containers: []Container{ctr(0, "a", with(func(sc *SecurityContext) { sc.ProcMount = ptr("Unmasked") }))}},
			[]string{`procMount_restricted: procMount (container "a" must not set securityContext.procMount to "Unmasked") @spec.containers[0].securityContext.procMount`}},
		{"hostProcess", baselineLatest, &Pod{Path: "spec", SecurityContext: SecurityContext{HostProcess: ptr(true)},
			Containers: []Container{ctr(0, "a", SecurityContext{HostProcess: ptr(true)})}},
			[]string{`windowsHostProcess: hostProcess (pod and container "a" must not set securityContext.windowsOptions.hostProcess=true) @spec.securityContext.windowsOptions.hostProcess`}},

		{"restricted, nothing set", restrictedLatest, pod(Container{Name: "a", Path: "spec.containers[0]"}), []string{
			`allowPrivilegeEscalation: allowPrivilegeEscalation != false (container "a" must set securityContext.allowPrivilegeEscalation=false) @spec.containers[0].securityContext.allowPrivilegeEscalation`,
			`capabilities_restricted: unrestricted capabilities (container "a" must set securityContext.capabilities.drop=["ALL"]) @spec.containers[0].securityContext.capabilities.drop`,
			`runAsNonRoot: runAsNonRoot != true (pod or container "a" must set securityContext.runAsNonRoot=true) @spec.containers[0].securityContext.runAsNonRoot`,
			`seccompProfile_restricted: seccompProfile (pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost") @spec.containers[0].securityContext.seccompProfile.type`,
		}},
		{"restricted replaces the baseline capability and hostPath checks", restrictedLatest, &Pod{Path: "spec",
			Volumes: []Volume{{"data", "hostPath"}},
			Containers: []Container{ctr(0, "a", with(func(sc *SecurityContext) {
				sc.Capabilities = &Capabilities{Drop: []string{"ALL"}, Add: []string{"NET_BIND_SERVICE", "NET_RAW"}}
			}))}},
			[]string{
				`capabilities_restricted: unrestricted capabilities (container "a" must not include "NET_RAW" in securityContext.capabilities.add) @spec.containers[0].securityContext.capabilities.add`,
				`restrictedVolumes: restricted volume types (volume "data" uses restricted volume type "hostPath") @spec.volumes[0].hostPath`,
			}},
		{"before v1.22 restricted uses the baseline capability check", LevelVersion{Restricted, V1(21)},
			pod(ctr(0, "a", with(func(sc *SecurityContext) { sc.Capabilities = &Capabilities{Add: []string{"NET_RAW"}} }))),
			[]string{`capabilities_baseline: non-default capabilities (container "a" must not include "NET_RAW" in securityContext.capabilities.add) @spec.containers[0].securityContext.capabilities.add`}},
		{"runAsNonRoot false and runAsUser 0", restrictedLatest, &Pod{Path: "spec",
			SecurityContext: SecurityContext{RunAsNonRoot: ptr(false), RunAsUser: ptr(int64(0))},
			Containers:      []Container{ctr(0, "a", with(func(sc *SecurityContext) { sc.RunAsNonRoot = ptr(false); sc.RunAsUser = ptr(int64(0)) }))}},
			[]string{
				`runAsNonRoot: runAsNonRoot != true (pod and container "a" must not set securityContext.runAsNonRoot=false) @spec.securityContext.runAsNonRoot`,
				`runAsUser: runAsUser=0 (pod and container "a" must not set runAsUser=0) @spec.securityContext.runAsUser`,
			}},
		{"pod-level runAsNonRoot and seccomp cover the containers", restrictedLatest, &Pod{Path: "spec",
			SecurityContext: SecurityContext{RunAsNonRoot: ptr(true), SeccompType: ptr("Localhost")},
			Containers:      []Container{ctr(0, "a", with(func(sc *SecurityContext) { sc.RunAsNonRoot, sc.SeccompType = nil, nil }))}}, nil},
		{"runAsUser 0 allowed before v1.23", LevelVersion{Restricted, V1(22)},
			pod(ctr(0, "a", with(func(sc *SecurityContext) { sc.RunAsUser = ptr(int64(0)) }))), nil},
		{"windows pods skip some checks from v1.25", restrictedLatest, &Pod{Path: "spec", OS: "windows",
			SecurityContext: SecurityContext{RunAsNonRoot: ptr(true)}, Containers: []Container{{Name: "a", Path: "spec.containers[0]"}}}, nil},
		{"a later version than known is latest", LevelVersion{Baseline, V1(99)}, pod(ctr(0, "a", SecurityContext{Privileged: ptr(true)})),
			[]string{`privileged: privileged (container "a" must not set securityContext.privileged=true) @spec.containers[0].securityContext.privileged`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range Evaluate(tt.lv, tt.pod) {
				got = append(got, r.Check+": "+Message([]Result{r})+" @"+r.Field)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestMessageAggregates(t *testing.T) {
	rs := Evaluate(baselineLatest, &Pod{Path: "spec", HostNetwork: true, Containers: []Container{ctr(0, "a", SecurityContext{Privileged: ptr(true)})}})
	want := `host namespaces (hostNetwork), privileged (container "a" must not set securityContext.privileged=true)`
	if got := Message(rs); got != want {
		t.Errorf("Message = %s\nwant      %s", got, want)
	}
}

func TestPolicyFor(t *testing.T) {
	base := LevelVersion{Baseline, Latest}
	tests := []struct {
		name     string
		labels   map[string]string
		defaults Policy
		want     Policy
		errs     []string
	}{
		{"no labels: defaults", nil, Policy{Enforce: base, Audit: base, Warn: base}, Policy{Enforce: base, Audit: base, Warn: base}, nil},
		{"enforce raises an unset warn", map[string]string{EnforceLabel: "restricted", EnforceVersionLabel: "v1.30"}, DefaultPolicy,
			Policy{Enforce: LevelVersion{Restricted, V1(30)}, Audit: DefaultPolicy.Audit, Warn: LevelVersion{Restricted, V1(30)}}, nil},
		{"an explicit warn stays", map[string]string{EnforceLabel: "restricted", WarnLabel: "baseline"}, DefaultPolicy,
			Policy{Enforce: LevelVersion{Restricted, Latest}, Audit: DefaultPolicy.Audit, Warn: base}, nil},
		{"invalid values", map[string]string{EnforceLabel: "strict", AuditLabel: "x", WarnVersionLabel: "1.30"}, DefaultPolicy,
			Policy{Enforce: LevelVersion{Restricted, Latest}, Audit: DefaultPolicy.Audit, Warn: DefaultPolicy.Warn},
			[]string{
				`metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted`,
				`metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: "x": must be one of privileged, baseline, restricted`,
				`metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: "1.30": must be "latest" or "v1.x"`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := PolicyFor(tt.labels, tt.defaults)
			if got != tt.want {
				t.Errorf("policy %+v, want %+v", got, tt.want)
			}
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			if !reflect.DeepEqual(msgs, tt.errs) {
				t.Errorf("errors\n  %s\nwant\n  %s", strings.Join(msgs, "\n  "), strings.Join(tt.errs, "\n  "))
			}
		})
	}
}

func TestParseLevelVersion(t *testing.T) {
	for in, want := range map[string]string{"baseline": "baseline:latest", "restricted:v1.30": "restricted:v1.30", "privileged:latest": "privileged:latest"} {
		lv, err := ParseLevelVersion(in)
		if err != nil || lv.String() != want {
			t.Errorf("ParseLevelVersion(%q) = %s, %v; want %s", in, lv, err, want)
		}
	}
	for _, in := range []string{"", "root", "baseline:v2.0", "baseline:v1.01"} {
		if _, err := ParseLevelVersion(in); err == nil {
			t.Errorf("ParseLevelVersion(%q) accepted", in)
		}
	}
	if l, err := ParseLevel("x"); l != Restricted || err == nil || err.Error() != "must be one of privileged, baseline, restricted" {
		t.Errorf("ParseLevel(x) = %s, %v; want restricted (fail closed) and PSA's message", l, err)
	}
}
