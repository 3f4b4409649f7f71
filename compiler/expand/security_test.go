package expand

import (
	"encoding/json"
	"testing"

	"berth.dev/berth/compiler/api"
)

func ptr[T any](v T) *T { return &v }

func TestEffectiveSecurityContext(t *testing.T) {
	for _, tt := range []struct {
		name string
		pod  *api.PodSecurityContext
		c    *api.SecurityContext
		want string
	}{
		{"nothing", nil, nil, "null"},
		{"empty pod context", &api.PodSecurityContext{}, &api.SecurityContext{}, "null"},
		{"pod ids and groups", &api.PodSecurityContext{RunAsUser: ptr[int64](1000), RunAsGroup: ptr[int64](3000), FSGroup: ptr[int64](2000), SupplementalGroups: []int64{4000, 5000}}, nil,
			`{"runAsUser":1000,"runAsGroup":3000,"supplementalGroups":[2000,4000,5000]}`},
		{"container wins", &api.PodSecurityContext{RunAsUser: ptr[int64](1000), RunAsNonRoot: ptr(true), SeccompProfile: &api.SeccompProfile{Type: "RuntimeDefault"}},
			&api.SecurityContext{RunAsUser: ptr[int64](0), RunAsNonRoot: ptr(false), SeccompProfile: &api.SeccompProfile{Type: "Localhost", LocalhostProfile: ptr("audit.json")}},
			`{"runAsUser":0,"seccompProfile":{"type":"Localhost","localhostProfile":"audit.json"}}`},
		{"pod seccomp and runAsNonRoot", &api.PodSecurityContext{RunAsNonRoot: ptr(true), SeccompProfile: &api.SeccompProfile{Type: "RuntimeDefault"}}, &api.SecurityContext{AllowPrivilegeEscalation: ptr(false)},
			`{"runAsNonRoot":true,"allowPrivilegeEscalation":false,"seccompProfile":{"type":"RuntimeDefault"}}`},
		{"container only", nil, &api.SecurityContext{ReadOnlyRootFilesystem: true, Capabilities: &api.Capabilities{Drop: []string{"ALL"}}},
			`{"readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(securityContext(tt.pod, tt.c))
			if string(b) != tt.want {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}

func TestPodSecurity(t *testing.T) {
	for _, tt := range []struct {
		name string
		sc   *api.PodSecurityContext
		want string
	}{
		{"nothing", nil, "null"},
		{"ids only", &api.PodSecurityContext{RunAsUser: ptr[int64](1)}, "null"},
		{"fsGroup, Always", &api.PodSecurityContext{FSGroup: ptr[int64](2000), FSGroupChangePolicy: "Always"}, `{"fsGroup":2000}`},
		{"fsGroup, OnRootMismatch", &api.PodSecurityContext{FSGroup: ptr[int64](2000), FSGroupChangePolicy: "OnRootMismatch"}, `{"fsGroup":2000,"fsGroupChangePolicy":"OnRootMismatch"}`},
		{"policy without fsGroup", &api.PodSecurityContext{FSGroupChangePolicy: "OnRootMismatch"}, "null"},
		{"sysctls with slashes", &api.PodSecurityContext{Sysctls: []api.Sysctl{{Name: "net/ipv4/ip_local_port_range", Value: "1024 2000"}, {Name: "net/ipv4/conf/eno2.100/rp_filter", Value: "1"}}},
			`{"sysctls":[{"name":"net.ipv4.ip_local_port_range","value":"1024 2000"},{"name":"net.ipv4.conf.eno2/100.rp_filter","value":"1"}]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(podSecurity(tt.sc))
			if string(b) != tt.want {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}
