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
		{"ip", "10.0.0.256", `Invalid value: "10.0.0.256": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`},
		{"ip", "010.0.0.1", `Invalid value: "010.0.0.1": must not have leading 0s`},
		{"cidr", "10.244.0.0/16", ""},
		{"cidr", "10.244.0.0", `Invalid value: "10.244.0.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`},
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
		// The API server's grammar: apimachinery's resource.ParseQuantity.
		{"quantity", "100m", ""},
		{"quantity", "1e31", ""}, // valid Kubernetes (the plan saturates it)
		{"quantity", "0.5", ""},
		{"quantity", "128Mi", ""},
		{"quantity", "1.5 cores", `Invalid value: "1.5 cores": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (examples: 100m, 0.5, 128Mi, 1G)`},
		{"quantity", "-1", `Invalid value: "-1": must be greater than or equal to 0`},
		// Names and labels: apimachinery's util/validation, its wording.
		{"dns1123label", "web-1", ""},
		{"dns1123label", "a.b", `Invalid value: "a.b": must not contain dots`},
		{"dns1035label", "1web", `Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`},
		{"dns1123subdomain", "a.b-c", ""},
		{"qualifiedName", "app.kubernetes.io/name", ""},
		{"annotationKey", "Example.COM/Key", ""}, // compared in lower case
		{"annotationKey", "bad key!", `Invalid value: "bad key!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`},
		{"labelValue", "", ""},
		{"portName", "http", ""},
		{"portName", "metrics-endpoint", `Invalid value: "metrics-endpoint": must be no more than 15 characters`},
		{"envVarName", "MY VAR", ""}, // printable ASCII since Kubernetes 1.34
		{"envVarName", "A=B", `Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`},
		{"percent", "25%", ""},
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
