// Package podsecurity is Kubernetes' Pod Security Admission at compile
// time: the privileged, baseline and restricted Pod Security Standards,
// check by check as k8s.io/pod-security-admission v0.37 defines them
// (same check ids, versions, overrides and wording), chosen per namespace
// by the pod-security.kubernetes.io/enforce, warn and audit labels and
// their -version labels, with node defaults for what a namespace leaves
// unset. lint, plan and the daemon run it through the same call in
// compiler/check.
package podsecurity

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Level is a Pod Security Standard.
type Level string

// The three standards, least to most restrictive.
const (
	Privileged Level = "privileged"
	Baseline   Level = "baseline"
	Restricted Level = "restricted"
)

// ParseLevel reads a level label's value; an invalid one reads as
// restricted (PSA fails closed for enforce) with PSA's message.
func ParseLevel(s string) (Level, error) {
	switch l := Level(s); l {
	case Privileged, Baseline, Restricted:
		return l, nil
	}
	return Restricted, fmt.Errorf("must be one of privileged, baseline, restricted")
}

// compare orders levels: -1 if a is less restrictive than b.
func compare(a, b Level) int {
	rank := map[Level]int{Privileged: 0, Baseline: 1, Restricted: 2}
	return rank[a] - rank[b]
}

// Version is a policy version: v1.N or latest.
type Version struct {
	minor  int
	latest bool
}

// Latest is the newest policy version.
var Latest = Version{latest: true}

// V1 is version v1.minor.
func V1(minor int) Version { return Version{minor: minor} }

// String is "latest" or "v1.N".
func (v Version) String() string {
	if v.latest {
		return "latest"
	}
	return "v1." + strconv.Itoa(v.minor)
}

// older reports whether v comes before o; latest comes after every
// version, future ones included.
func (v Version) older(o Version) bool {
	switch {
	case v.latest:
		return false
	case o.latest:
		return true
	}
	return v.minor < o.minor
}

var versionRE = regexp.MustCompile(`^v1\.([0-9]|[1-9][0-9]*)$`)

// ParseVersion reads a -version label's value; an invalid one reads as
// latest, with PSA's message.
func ParseVersion(s string) (Version, error) {
	if s == "latest" {
		return Latest, nil
	}
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Latest, fmt.Errorf(`must be "latest" or "v1.x"`)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return Latest, fmt.Errorf(`must be "latest" or "v1.x"`)
	}
	return V1(n), nil
}

// LevelVersion is a standard at a version, "baseline:latest".
type LevelVersion struct {
	Level   Level
	Version Version
}

// String is level:version, as PSA prints it.
func (lv LevelVersion) String() string { return string(lv.Level) + ":" + lv.Version.String() }

// ParseLevelVersion reads LEVEL or LEVEL:VERSION (a flag's value).
func ParseLevelVersion(s string) (LevelVersion, error) {
	l, v, _ := strings.Cut(s, ":")
	level, err := ParseLevel(l)
	if err != nil {
		return LevelVersion{}, fmt.Errorf("level %q: %w", l, err)
	}
	lv := LevelVersion{Level: level, Version: Latest}
	if v != "" {
		if lv.Version, err = ParseVersion(v); err != nil {
			return LevelVersion{}, fmt.Errorf("version %q: %w", v, err)
		}
	}
	return lv, nil
}

// Policy is what a namespace enforces (refuses), warns about, and audits.
type Policy struct {
	Enforce, Audit, Warn LevelVersion
}

// DefaultPolicy is Kubernetes' default for a namespace without labels:
// privileged in every mode.
var DefaultPolicy = Policy{
	Enforce: LevelVersion{Privileged, Latest},
	Audit:   LevelVersion{Privileged, Latest},
	Warn:    LevelVersion{Privileged, Latest},
}

// The namespace labels that choose a policy.
const (
	labelPrefix         = "pod-security.kubernetes.io/"
	EnforceLabel        = labelPrefix + "enforce"
	EnforceVersionLabel = labelPrefix + "enforce-version"
	AuditLabel          = labelPrefix + "audit"
	AuditVersionLabel   = labelPrefix + "audit-version"
	WarnLabel           = labelPrefix + "warn"
	WarnVersionLabel    = labelPrefix + "warn-version"
)

// LabelError is an invalid pod-security label of a Namespace.
type LabelError struct {
	Label, Value string
	Err          error
}

// Error is the API server's wording for the Namespace it refuses.
func (e LabelError) Error() string {
	return fmt.Sprintf("metadata.labels[%s]: Invalid value: %q: %v", e.Label, e.Value, e.Err)
}

// PolicyFor is the policy of a namespace with these labels, starting
// from defaults, as PSA's PolicyToEvaluate: an invalid enforce level
// enforces restricted, an invalid audit or warn level is privileged, an
// invalid version is latest; a warn level left unset follows a stricter
// enforce level (and its version).
func PolicyFor(labels map[string]string, defaults Policy) (Policy, []LabelError) {
	p := defaults
	if len(labels) == 0 {
		return p, nil
	}
	var errs []LabelError
	fail := func(label, value string, err error) {
		if err != nil {
			errs = append(errs, LabelError{label, value, err})
		}
	}
	var err error
	hasEnforce, hasWarn, hasWarnVersion := false, false, false
	if v, ok := labels[EnforceLabel]; ok {
		p.Enforce.Level, err = ParseLevel(v)
		hasEnforce = err == nil
		fail(EnforceLabel, v, err)
	}
	if v, ok := labels[EnforceVersionLabel]; ok {
		p.Enforce.Version, err = ParseVersion(v)
		fail(EnforceVersionLabel, v, err)
	}
	if v, ok := labels[AuditLabel]; ok {
		if p.Audit.Level, err = ParseLevel(v); err != nil {
			p.Audit.Level = Privileged
		}
		fail(AuditLabel, v, err)
	}
	if v, ok := labels[AuditVersionLabel]; ok {
		p.Audit.Version, err = ParseVersion(v)
		fail(AuditVersionLabel, v, err)
	}
	if v, ok := labels[WarnLabel]; ok {
		hasWarn = true
		if p.Warn.Level, err = ParseLevel(v); err != nil {
			p.Warn.Level = Privileged
		}
		fail(WarnLabel, v, err)
	}
	if v, ok := labels[WarnVersionLabel]; ok {
		hasWarnVersion = true
		p.Warn.Version, err = ParseVersion(v)
		fail(WarnVersionLabel, v, err)
	}
	if !hasWarn && hasEnforce && compare(p.Enforce.Level, p.Warn.Level) > 0 {
		p.Warn.Level = p.Enforce.Level
		if !hasWarnVersion {
			p.Warn.Version = p.Enforce.Version
		}
	}
	return p, errs
}
