// Package nodepolicy is what a node allows whatever the repository says:
// privileged containers, host paths (hostPath volumes and the paths of
// the PersistentVolumes claims bind to), the addresses a Service may
// capture (externalIPs and LoadBalancer addresses, the CVE-2020-8554
// pattern), and the Pod Security Standard of namespaces without labels.
// It is set by the node's flags or its node policy file, never by Git;
// `berth plan --node-policy FILE` checks a repository against it ahead
// of time. Check is pure: the plan and the objects in, diagnostics out.
package nodepolicy

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/podsecurity"
)

// Policy is a node's policy. The zero value is the most restrictive on
// privileged containers and lets everything else through; Default is what
// a node gets without flags or file.
type Policy struct {
	// AllowPrivileged lets containers run privileged (default false).
	AllowPrivileged bool
	// AllowedHostPaths, when not nil, are the only host paths pods may
	// use; an empty non-nil list allows none.
	AllowedHostPaths []HostPath
	// DenyExternalIPs refuses every Service address besides the cluster
	// IP: externalIPs and LoadBalancer addresses.
	DenyExternalIPs bool
	// AllowedExternalIPs, when not nil, are the only ranges those
	// addresses may come from.
	AllowedExternalIPs []netip.Prefix
	// PodSecurity is the policy of namespaces without pod-security labels.
	PodSecurity podsecurity.Policy
	// AllowedUnsafeSysctls are the sysctls (names, or prefixes ending in
	// '*') pods may set beyond the kubelet's safe set (SafeSysctls), as
	// the kubelet's --allowed-unsafe-sysctls.
	AllowedUnsafeSysctls []string
}

// HostPath is an allowed host path prefix; ReadOnly requires every
// mount of a volume under it to be readOnly.
type HostPath struct {
	Prefix   string
	ReadOnly bool
}

// Default is a node's policy without flags or file: no privileged
// container, Kubernetes' defaults for the rest.
func Default() Policy {
	return Policy{PodSecurity: podsecurity.DefaultPolicy}
}

// String renders a host path rule as the flag takes it.
func (h HostPath) String() string {
	if h.ReadOnly {
		return h.Prefix
	}
	return h.Prefix + ":rw"
}

// Covers reports whether path is the prefix or below it, by whole path
// elements (/data covers /data/x, not /database).
func (h HostPath) Covers(path string) bool {
	p, prefix := filepath.Clean(path), filepath.Clean(h.Prefix)
	return p == prefix || prefix == "/" || strings.HasPrefix(p, prefix+"/")
}

// ParseHostPaths reads --allowed-host-paths: comma-separated absolute
// prefixes, read-only unless suffixed ":rw" (":ro" is the default, said
// out loud). An empty string is an empty list: no host path allowed.
func ParseHostPaths(s string) ([]HostPath, error) {
	out := []HostPath{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		h := HostPath{ReadOnly: true}
		switch {
		case strings.HasSuffix(f, ":rw"):
			h.ReadOnly, f = false, strings.TrimSuffix(f, ":rw")
		case strings.HasSuffix(f, ":ro"):
			f = strings.TrimSuffix(f, ":ro")
		}
		if !filepath.IsAbs(f) {
			return nil, fmt.Errorf("host path %q must be absolute (PREFIX or PREFIX:rw)", f)
		}
		h.Prefix = filepath.Clean(f)
		out = append(out, h)
	}
	return out, nil
}

// ParseCIDRs reads comma-separated CIDRs or single addresses.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	out := []netip.Prefix{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// File is the node policy file (YAML), as `--node-policy FILE` reads it:
//
//	apiVersion: berth.dev/v1
//	kind: NodePolicy
//	allowPrivileged: false
//	allowedHostPaths:
//	  - pathPrefix: /var/log        # readOnly: true is the default
//	  - pathPrefix: /srv/data
//	    readOnly: false
//	externalIPs:
//	  deny: false
//	  allowedCIDRs: [192.0.2.0/24]
//	podSecurityDefaults:            # PodSecurityConfiguration's defaults
//	  enforce: baseline
//	  enforce-version: latest
//	  warn: restricted
//	allowedUnsafeSysctls: [kernel.msg*, net.core.somaxconn]
type File struct {
	APIVersion       string `yaml:"apiVersion"`
	Kind             string `yaml:"kind"`
	AllowPrivileged  *bool  `yaml:"allowPrivileged"`
	AllowedHostPaths *[]struct {
		PathPrefix string `yaml:"pathPrefix"`
		ReadOnly   *bool  `yaml:"readOnly"`
	} `yaml:"allowedHostPaths"`
	ExternalIPs *struct {
		Deny         bool      `yaml:"deny"`
		AllowedCIDRs *[]string `yaml:"allowedCIDRs"`
	} `yaml:"externalIPs"`
	PodSecurityDefaults  map[string]string `yaml:"podSecurityDefaults"`
	AllowedUnsafeSysctls []string          `yaml:"allowedUnsafeSysctls"`
}

// maxFileSize bounds the policy file: it is a few lines.
const maxFileSize = 1 << 20

// Load reads a node policy file over Default.
func Load(path string) (Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, fmt.Errorf("node policy: %w", err)
	}
	p, err := Parse(b)
	if err != nil {
		return Policy{}, fmt.Errorf("node policy %s: %w", path, err)
	}
	return p, nil
}

// Parse reads a node policy file's content over Default. Unknown fields
// are errors: a misspelt restriction must not silently allow.
func Parse(b []byte) (Policy, error) {
	p := Default()
	if len(b) > maxFileSize {
		return p, fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return p, fmt.Errorf("%w (want apiVersion berth.dev/v1, kind NodePolicy, and allowPrivileged, allowedHostPaths, externalIPs, podSecurityDefaults, allowedUnsafeSysctls)", err)
	}
	if f.APIVersion != "berth.dev/v1" || f.Kind != "NodePolicy" {
		return p, fmt.Errorf("apiVersion %q, kind %q: want berth.dev/v1 NodePolicy", f.APIVersion, f.Kind)
	}
	if f.AllowPrivileged != nil {
		p.AllowPrivileged = *f.AllowPrivileged
	}
	if f.AllowedHostPaths != nil {
		p.AllowedHostPaths = []HostPath{}
		for i, h := range *f.AllowedHostPaths {
			if !filepath.IsAbs(h.PathPrefix) {
				return p, fmt.Errorf("allowedHostPaths[%d].pathPrefix %q must be an absolute path", i, h.PathPrefix)
			}
			ro := h.ReadOnly == nil || *h.ReadOnly
			p.AllowedHostPaths = append(p.AllowedHostPaths, HostPath{Prefix: filepath.Clean(h.PathPrefix), ReadOnly: ro})
		}
	}
	if e := f.ExternalIPs; e != nil {
		p.DenyExternalIPs = e.Deny
		if e.AllowedCIDRs != nil {
			cidrs, err := ParseCIDRs(strings.Join(*e.AllowedCIDRs, ","))
			if err != nil {
				return p, fmt.Errorf("externalIPs.allowedCIDRs: %w", err)
			}
			p.AllowedExternalIPs = cidrs
		}
	}
	if f.AllowedUnsafeSysctls != nil {
		sysctls, err := ParseSysctls(strings.Join(f.AllowedUnsafeSysctls, ","))
		if err != nil {
			return p, fmt.Errorf("allowedUnsafeSysctls: %w", err)
		}
		p.AllowedUnsafeSysctls = sysctls
	}
	ps, err := podSecurityDefaults(f.PodSecurityDefaults)
	if err != nil {
		return p, fmt.Errorf("podSecurityDefaults: %w", err)
	}
	p.PodSecurity = ps
	return p, nil
}

// podSecurityDefaults reads PodSecurityConfiguration's defaults block:
// enforce, enforce-version, audit, audit-version, warn, warn-version.
func podSecurityDefaults(m map[string]string) (podsecurity.Policy, error) {
	p := podsecurity.DefaultPolicy
	var errs []error
	for k, v := range m {
		var err error
		switch k {
		case "enforce":
			p.Enforce.Level, err = podsecurity.ParseLevel(v)
		case "audit":
			p.Audit.Level, err = podsecurity.ParseLevel(v)
		case "warn":
			p.Warn.Level, err = podsecurity.ParseLevel(v)
		case "enforce-version":
			p.Enforce.Version, err = podsecurity.ParseVersion(v)
		case "audit-version":
			p.Audit.Version, err = podsecurity.ParseVersion(v)
		case "warn-version":
			p.Warn.Version, err = podsecurity.ParseVersion(v)
		default:
			err = errors.New("unknown key (want enforce, enforce-version, audit, audit-version, warn, warn-version)")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q: %w", k, v, err))
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return p, errors.Join(errs...)
}

// PodSecurityDefault is the policy --pod-security-default LEVEL[:VERSION]
// sets: that standard in every mode.
func PodSecurityDefault(s string) (podsecurity.Policy, error) {
	lv, err := podsecurity.ParseLevelVersion(s)
	if err != nil {
		return podsecurity.Policy{}, err
	}
	return podsecurity.Policy{Enforce: lv, Audit: lv, Warn: lv}, nil
}
