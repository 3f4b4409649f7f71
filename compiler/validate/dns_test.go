package validate_test

import (
	"strings"
	"testing"
)

func TestDNSRules(t *testing.T) {
	long := strings.Repeat("a", 60) + ".example"
	var searches []string
	for i := 0; i < 30; i++ {
		searches = append(searches, long)
	}
	many := "[" + strings.Repeat("a.example, ", 32) + "b.example]"
	runRules(t, []ruleCase{{
		name: "None without dnsConfig",
		bad:  ctr("  dnsPolicy: None\n", ""),
		want: []string{
			"test.yaml:5:3: error: spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None",
		},
		good: ctr("  dnsPolicy: None\n  dnsConfig: {nameservers: [1.1.1.1]}\n", ""),
	}, {
		name: "None without a nameserver",
		bad:  ctr("  dnsPolicy: None\n  dnsConfig: {searches: [example.com]}\n", ""),
		want: []string{
			"test.yaml:6:14: error: spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None",
		},
		good: ctr("  dnsPolicy: Default\n  dnsConfig: {searches: [example.com]}\n", ""),
	}, {
		name: "more than 3 nameservers",
		bad:  ctr("  dnsConfig: {nameservers: [1.1.1.1, 1.0.0.1, 8.8.8.8, 8.8.4.4]}\n", ""),
		want: []string{
			`test.yaml:5:28: error: spec.dnsConfig.nameservers: Invalid value: ["1.1.1.1","1.0.0.1","8.8.8.8","8.8.4.4"]: must not have more than 3 nameservers`,
		},
		good: ctr("  dnsConfig: {nameservers: [1.1.1.1, 1.0.0.1, 8.8.8.8]}\n", ""),
	}, {
		name: "more than 32 search paths",
		bad:  ctr("  dnsConfig: {searches: "+many+"}\n", ""),
		want: []string{
			`test.yaml:5:25: error: spec.dnsConfig.searches: Invalid value: ["` + strings.Repeat(`a.example","`, 32) + `b.example"]: must not have more than 32 search paths`,
		},
		good: ctr("  dnsConfig: {searches: [a.example., ., _srv.example]}\n", ""),
	}, {
		name: "search list over 2048 characters",
		bad:  ctr("  dnsConfig: {searches: ["+strings.Join(searches, ", ")+"]}\n", ""),
		want: []string{
			`test.yaml:5:25: error: spec.dnsConfig.searches: Invalid value: ["` + strings.Join(searches, `","`) + `"]: must not have more than 2048 characters (including spaces) in the search list`,
		},
		good: ctr("  dnsConfig: {searches: ["+strings.Join(searches[:29], ", ")+"]}\n", ""),
	}, {
		name: "search domain grammar",
		bad:  ctr("  dnsConfig: {searches: [Bad.Example]}\n", ""),
		want: []string{
			`test.yaml:5:26: error: spec.dnsConfig.searches[0]: Invalid value: "Bad.Example": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*')`,
		},
		good: ctr("  dnsConfig: {searches: [good.example]}\n", ""),
	}, {
		name: "option without a name, option breaking its line",
		bad:  ctr("  dnsConfig: {options: [{value: '2'}, {name: 'ndots:1 x', value: 'a#b'}]}\n", ""),
		want: []string{
			"test.yaml:5:25: error: spec.dnsConfig.options[0]: Required value: must not be empty",
			`test.yaml:5:46: error: spec.dnsConfig.options[1].name: Invalid value: "ndots:1 x": valid Kubernetes but not supported by berth: blanks, '#' and ';' would break the pod's resolv.conf line; remove them`,
			`test.yaml:5:66: error: spec.dnsConfig.options[1].value: Invalid value: "a#b": valid Kubernetes but not supported by berth: blanks, '#' and ';' would break the pod's resolv.conf line; remove them`,
		},
		good: ctr("  dnsConfig: {options: [{name: ndots, value: '2'}, {name: edns0}]}\n", ""),
	}, {
		name: "hostAliases and hostname grammar",
		bad:  ctr("  hostname: Web_1\n  subdomain: a.b\n  hostAliases: [{ip: 10.0.0.256, hostnames: [Foo]}]\n", ""),
		want: []string{
			`test.yaml:5:13: error: spec.hostname: Invalid value: "Web_1": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			`test.yaml:6:14: error: spec.subdomain: Invalid value: "a.b": must not contain dots`,
			`test.yaml:7:22: error: spec.hostAliases[0].ip: Invalid value: "10.0.0.256": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`,
			`test.yaml:7:46: error: spec.hostAliases[0].hostnames[0]: Invalid value: "Foo": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		},
		good: ctr("  hostname: web-1\n  subdomain: web\n  hostAliases: [{ip: 10.0.0.1, hostnames: [foo.local, bar]}, {ip: 'fd00::1'}]\n", ""),
	}, {
		name: "dnsPolicy value",
		bad:  ctr("  dnsPolicy: ClusterFirstWithHostNetwork\n", ""),
		want: []string{
			`test.yaml:5:14: error: spec.dnsPolicy: Unsupported value: "ClusterFirstWithHostNetwork": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`,
		},
		good: ctr("  hostNetwork: true\n  dnsPolicy: ClusterFirstWithHostNet\n", ""),
	}})
}

func TestProbeHeaderRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name: "header name",
		bad:  ctr("", "    readinessProbe: {httpGet: {port: 80, httpHeaders: [{name: 'X Bad', value: v}]}}\n"),
		want: []string{`test.yaml:8:55: error: spec.containers[0].readinessProbe.httpGet.httpHeaders: Invalid value: "X Bad": a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')`},
		good: ctr("", "    readinessProbe: {httpGet: {port: 80, httpHeaders: [{name: X-Probe, value: v}, {name: Host, value: example.com}, {name: Accept}]}}\n"),
	}})
}
