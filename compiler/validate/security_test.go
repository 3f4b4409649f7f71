package validate_test

import "testing"

// ctr renders a pod with one container completed by extra (indented 4)
// and a pod spec completed by spec (indented 2).
func ctr(spec, extra string) string {
	return pod(spec + "  containers:\n  - name: c\n    image: c:1\n" + extra)
}

func TestSecurityRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "runAsUser out of range",
		bad:  ctr("", "    securityContext: {runAsUser: -1}\n"),
		want: []string{`test.yaml:8:34: error: spec.containers[0].securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive`},
		good: ctr("", "    securityContext: {runAsUser: 2147483647}\n"),
	}, {
		name: "pod ids out of range",
		bad:  ctr("  securityContext: {runAsGroup: 2147483648, fsGroup: -2, supplementalGroups: [1, -1]}\n", ""),
		want: []string{
			`test.yaml:5:33: error: spec.securityContext.runAsGroup: Invalid value: 2147483648: must be between 0 and 2147483647, inclusive`,
			`test.yaml:5:54: error: spec.securityContext.fsGroup: Invalid value: -2: must be between 0 and 2147483647, inclusive`,
			`test.yaml:5:82: error: spec.securityContext.supplementalGroups[1]: Invalid value: -1: must be between 0 and 2147483647, inclusive`,
		},
		good: ctr("  securityContext: {runAsGroup: 2147483647, fsGroup: 0, supplementalGroups: [1, 2]}\n", ""),
	}, {
		name: "allowPrivilegeEscalation false with privileged",
		bad:  ctr("", "    securityContext: {privileged: true, allowPrivilegeEscalation: false}\n"),
		want: []string{"test.yaml:8:22: error: spec.containers[0].securityContext: Invalid value: {\"privileged\":true,\"allowPrivilegeEscalation\":false}: cannot set `allowPrivilegeEscalation` to false and `privileged` to true"},
		good: ctr("", "    securityContext: {privileged: true, allowPrivilegeEscalation: true}\n"),
	}, {
		name: "allowPrivilegeEscalation false with CAP_SYS_ADMIN",
		bad:  ctr("", "    securityContext: {allowPrivilegeEscalation: false, capabilities: {add: [CAP_SYS_ADMIN]}}\n"),
		want: []string{"test.yaml:8:22: error: spec.containers[0].securityContext: Invalid value: {\"allowPrivilegeEscalation\":false,\"capabilities\":{\"add\":[\"CAP_SYS_ADMIN\"]}}: cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"},
		good: ctr("", "    securityContext: {allowPrivilegeEscalation: false, capabilities: {add: [NET_ADMIN]}}\n"),
	}, {
		name: "seccomp Localhost without a profile",
		bad:  ctr("  securityContext: {seccompProfile: {type: Localhost}}\n", ""),
		want: []string{`test.yaml:5:37: error: spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost`},
		good: ctr("  securityContext: {seccompProfile: {type: Localhost, localhostProfile: profiles/audit.json}}\n", ""),
	}, {
		name: "seccomp localhostProfile leaves its directory",
		bad:  ctr("", "    securityContext: {seccompProfile: {type: Localhost, localhostProfile: ../../etc/x.json}}\n"),
		want: []string{`test.yaml:8:75: error: spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "../../etc/x.json": must not contain '..'`},
		good: ctr("", "    securityContext: {seccompProfile: {type: Localhost, localhostProfile: etc/x.json}}\n"),
	}, {
		name: "seccomp absolute localhostProfile",
		bad:  ctr("", "    securityContext: {seccompProfile: {type: Localhost, localhostProfile: /etc/x.json}}\n"),
		want: []string{`test.yaml:8:75: error: spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "/etc/x.json": must be a relative path`},
		good: ctr("", "    securityContext: {seccompProfile: {type: RuntimeDefault}}\n"),
	}, {
		name: "seccomp localhostProfile without Localhost",
		bad:  ctr("", "    securityContext: {seccompProfile: {type: RuntimeDefault, localhostProfile: x.json}}\n"),
		want: []string{`test.yaml:8:80: error: spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: {"type":"RuntimeDefault","localhostProfile":"x.json"}: can only be set when seccomp type is Localhost`},
		good: ctr("", "    securityContext: {seccompProfile: {type: Unconfined}}\n"),
	}, {
		name: "appArmor localhostProfile without Localhost",
		bad:  ctr("", "    securityContext: {appArmorProfile: {type: Unconfined, localhostProfile: x}}\n"),
		want: []string{`test.yaml:8:77: error: spec.containers[0].securityContext.appArmorProfile.localhostProfile: Invalid value: "x": can only be set when AppArmor type is Localhost`},
		good: ctr("", "    securityContext: {appArmorProfile: {type: Unconfined}}\n"),
	}, {
		name: "sysctl name grammar and duplicates",
		bad:  ctr("  securityContext:\n    sysctls: [{name: Net.Bad, value: '1'}, {name: net.ipv4.tcp_syncookies, value: '1'}, {name: net.ipv4.tcp_syncookies, value: '0'}]\n", ""),
		want: []string{
			`test.yaml:6:22: error: spec.securityContext.sysctls[0].name: Invalid value: "Net.Bad": must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`,
			`test.yaml:6:96: error: spec.securityContext.sysctls[2].name: Duplicate value: "net.ipv4.tcp_syncookies"`,
		},
		good: ctr("  securityContext:\n    sysctls: [{name: net/ipv4/tcp_syncookies, value: '1'}, {name: net.ipv4.ip_local_port_range, value: '1024 2000'}]\n", ""),
	}, {
		name: "sysctl of a namespace shared with the host",
		bad:  ctr("  hostNetwork: true\n  hostIPC: true\n  securityContext:\n    sysctls: [{name: net.ipv4.tcp_syncookies, value: '1'}, {name: kernel.shm_rmid_forced, value: '1'}]\n", ""),
		want: []string{
			`test.yaml:8:22: error: spec.securityContext.sysctls[0].name: Invalid value: "net.ipv4.tcp_syncookies": may not be specified when 'hostNetwork' is true`,
			`test.yaml:8:67: error: spec.securityContext.sysctls[1].name: Invalid value: "kernel.shm_rmid_forced": may not be specified when 'hostIPC' is true`,
		},
		good: ctr("  hostPID: true\n  securityContext:\n    sysctls: [{name: net.ipv4.tcp_syncookies, value: '1'}, {name: kernel.shm_rmid_forced, value: '1'}]\n", ""),
	}, {
		name: "shareProcessNamespace with hostPID",
		bad:  ctr("  hostPID: true\n  shareProcessNamespace: true\n", ""),
		want: []string{`test.yaml:5:3: error: spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled`},
		good: ctr("  hostPID: true\n  shareProcessNamespace: false\n", ""),
	}, {
		name: "shareProcessNamespace with hostPID, placed at the securityContext",
		bad:  ctr("  hostPID: true\n  shareProcessNamespace: true\n  securityContext: {runAsUser: 1}\n", ""),
		want: []string{`test.yaml:7:20: error: spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled`},
		good: ctr("  shareProcessNamespace: true\n", ""),
	}, {
		name: "Bidirectional propagation in an unprivileged container",
		bad:  ctr("  volumes: [{name: v, hostPath: {path: /mnt}}]\n", "    volumeMounts: [{name: v, mountPath: /mnt, mountPropagation: Bidirectional}]\n"),
		want: []string{`test.yaml:9:65: error: spec.containers[0].volumeMounts[0].mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers`},
		good: ctr("  volumes: [{name: v, hostPath: {path: /mnt}}]\n", "    volumeMounts: [{name: v, mountPath: /mnt, mountPropagation: Bidirectional}]\n    securityContext: {privileged: true}\n"),
	}})
}
