package schema

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestGoChecks(t *testing.T) {
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	tests := []struct {
		check, value, want string
	}{
		{"ip", "10.0.0.1", ""},
		{"ip", "fd00::1", ""},
		{"ip", "10.0.0.256", `"10.0.0.256" is not an IP address`},
		{"cidr", "10.244.0.0/16", ""},
		{"cidr", "10.244.0.0", `"10.244.0.0" is not a CIDR prefix such as 10.244.1.0/24`},
		{"base64", "aGVsbG8=", ""},
		{"base64", "aGVs\nbG8=\n", ""}, // Kubernetes skips newlines
		{"base64", "aGVsbG8", `"aGVsbG8" is not valid base64 (illegal data at byte 4)`},
		{"cron", "*/5 * * * *", ""},
		{"cron", "0 3 * * 1-5", ""},
		{"cron", "@hourly", ""},
		{"cron", "@weekly", ""},
		{"cron", "@every 1h", ""},
		{"cron", "@fortnightly", `"@fortnightly" is not a valid cron schedule (unrecognized descriptor); use 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly`},
		{"cron", "61 * * * *", `"61 * * * *" is not a valid cron schedule (end of range (61) above maximum (59)); use 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly`},
		{"cron", "TZ=UTC 0 * * * *", `"TZ=UTC 0 * * * *" is not a valid cron schedule: set spec.timeZone instead of a TZ= prefix`},
		{"timezone", "Europe/Paris", ""},
		{"timezone", "UTC", ""},
		{"timezone", "Local", `"Local" is not a time zone (use an IANA name such as Europe/Paris or UTC)`},
		{"timezone", "Europe/Pariss", `"Europe/Pariss" is not a time zone (use an IANA name such as Europe/Paris or UTC)`},
	}
	for _, tt := range tests {
		c := &checkCtx{}
		if got := goChecks[tt.check].fn(c, str(tt.value)); got != tt.want {
			t.Errorf("%s(%q) = %q, want %q", tt.check, tt.value, got, tt.want)
		}
	}
	c := &checkCtx{redact: true}
	if got := checkBase64(c, str("hunter2")); got != "value is not valid base64 (illegal data at byte 4)" {
		t.Errorf("redacted base64 message = %q", got)
	}
}

func TestDefaultPullPolicy(t *testing.T) {
	for image, want := range map[string]string{
		"nginx":                              "Always",
		"nginx:latest":                       "Always",
		"nginx:1.25":                         "IfNotPresent",
		"127.0.0.1:5000/berth/hello":         "Always",
		"127.0.0.1:5000/berth/hello:1.0":     "IfNotPresent",
		"registry.example.com/app@sha256:ab": "IfNotPresent",
	} {
		if got := defaultPullPolicy(image); got != want {
			t.Errorf("defaultPullPolicy(%q) = %s, want %s", image, got, want)
		}
	}
}

func TestSecretChecks(t *testing.T) {
	s := mustLoad(t)
	tests := []struct{ src, want string }{
		{"apiVersion: v1\nkind: Secret\nmetadata: {name: r}\ntype: kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: \"{}\"}\n", ""},
		{"apiVersion: v1\nkind: Secret\nmetadata: {name: r}\ntype: kubernetes.io/dockerconfigjson\n", `a Secret of type kubernetes.io/dockerconfigjson needs the key ".dockerconfigjson" in data or stringData`},
		// stringData replaces a data key of the same name: counted once.
		{"apiVersion: v1\nkind: Secret\nmetadata: {name: r}\ndata: {a: YQ==}\nstringData: {a: b}\n", ""},
	}
	for _, tt := range tests {
		got := ""
		for _, v := range s.Validate(parseDoc(t, tt.src), Options{}) {
			got = v.Message
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.src, got, tt.want)
		}
	}
}
