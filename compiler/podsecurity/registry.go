package podsecurity

import (
	"slices"
	"strings"
)

// Result is one check a pod fails.
type Result struct {
	Check  string // PSA's check id, e.g. "privileged"
	Reason string // PSA's forbidden reason, e.g. "privileged"
	Detail string // PSA's forbidden detail
	Field  string // the path of the first field at fault, for its position
}

// finding is a failed check's reason, detail and first field.
type finding struct{ reason, detail, field string }

type checkFn func(p *Pod) *finding

// versioned is a check's rule from policy version v1.min on; overrides
// names the baseline checks it replaces in the restricted standard.
type versioned struct {
	min       int
	fn        checkFn
	overrides []string
}

type check struct {
	id       string
	level    Level
	versions []versioned // by increasing min
}

// maxMinor is the newest policy version the checks know: "latest" and any
// later version evaluate as v1.37 (k8s.io/pod-security-admission v0.37).
const maxMinor = 37

// checks are PSA's, in its order: baseline ids sorted, then restricted
// ids sorted (byte order, as PSA sorts them).
var checks = sortChecks([]check{
	{"appArmorProfile", Baseline, []versioned{{0, appArmorProfile, nil}}},
	{"capabilities_baseline", Baseline, []versioned{{0, capabilitiesBaseline, nil}}},
	{"hostNamespaces", Baseline, []versioned{{0, hostNamespaces, nil}}},
	{"hostPathVolumes", Baseline, []versioned{{0, hostPathVolumes, nil}}},
	{"hostPorts", Baseline, []versioned{{0, hostPorts, nil}}},
	{"hostProbesAndHostLifecycle", Baseline, []versioned{{34, hostProbesAndHostLifecycle, nil}}},
	{"privileged", Baseline, []versioned{{0, privileged, nil}}},
	{"procMount", Baseline, []versioned{{0, procMount, nil}, {35, relaxForUserNamespace(procMount), nil}}},
	{"seLinuxOptions", Baseline, []versioned{{0, seLinuxOptions(selinuxTypes1_0), nil}, {31, seLinuxOptions(selinuxTypes1_31), nil}}},
	{"seccompProfile_baseline", Baseline, []versioned{{0, seccompAnnotations, nil}, {19, seccompBaseline, nil}}},
	{"sysctls", Baseline, []versioned{
		{0, sysctls(sysctls1_0), nil}, {27, sysctls(sysctls1_27), nil}, {29, sysctls(sysctls1_29), nil},
		{32, sysctls(sysctls1_32), nil}, {37, sysctls(sysctls1_37), nil},
	}},
	{"windowsHostProcess", Baseline, []versioned{{0, windowsHostProcess, nil}}},

	{"allowPrivilegeEscalation", Restricted, []versioned{{8, allowPrivilegeEscalation, nil}, {25, exceptWindows(allowPrivilegeEscalation), nil}}},
	{"capabilities_restricted", Restricted, []versioned{
		{22, capabilitiesRestricted, []string{"capabilities_baseline"}},
		{25, exceptWindows(capabilitiesRestricted), []string{"capabilities_baseline"}},
	}},
	{"procMount_restricted", Restricted, []versioned{{35, procMount, []string{"procMount"}}}},
	{"restrictedVolumes", Restricted, []versioned{{0, restrictedVolumes, []string{"hostPathVolumes"}}}},
	{"runAsNonRoot", Restricted, []versioned{{0, runAsNonRoot, nil}, {35, relaxForUserNamespace(runAsNonRoot), nil}}},
	{"runAsUser", Restricted, []versioned{{23, runAsUser, nil}, {35, relaxForUserNamespace(runAsUser), nil}}},
	{"seccompProfile_restricted", Restricted, []versioned{
		{19, seccompRestricted, []string{"seccompProfile_baseline"}},
		{25, exceptWindows(seccompRestricted), []string{"seccompProfile_baseline"}},
	}},
})

func sortChecks(cs []check) []check {
	slices.SortStableFunc(cs, func(a, b check) int {
		if a.level != b.level {
			return compare(a.level, b.level)
		}
		return strings.Compare(a.id, b.id)
	})
	return cs
}

// at is the rule of c at version minor, if c applies there.
func (c check) at(minor int) (versioned, bool) {
	for i := len(c.versions) - 1; i >= 0; i-- {
		if c.versions[i].min <= minor {
			return c.versions[i], true
		}
	}
	return versioned{}, false
}

// Evaluate runs the checks of lv on p and returns those p fails, in PSA's
// order. The privileged standard checks nothing.
func Evaluate(lv LevelVersion, p *Pod) []Result {
	if lv.Level == Privileged {
		return nil
	}
	minor := maxMinor
	if !lv.Version.latest && lv.Version.minor < maxMinor {
		minor = lv.Version.minor
	}
	overridden := map[string]bool{}
	if lv.Level == Restricted {
		for _, c := range checks {
			if v, ok := c.at(minor); ok && c.level == Restricted {
				for _, id := range v.overrides {
					overridden[id] = true
				}
			}
		}
	}
	var out []Result
	for _, c := range checks {
		if compare(c.level, lv.Level) > 0 || overridden[c.id] {
			continue
		}
		v, ok := c.at(minor)
		if !ok {
			continue
		}
		if f := v.fn(p); f != nil {
			out = append(out, Result{Check: c.id, Reason: f.reason, Detail: f.detail, Field: f.field})
		}
	}
	return out
}

// Message is PSA's aggregate detail of results: "reason (detail), ...".
func Message(rs []Result) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.Reason)
		if r.Detail != "" {
			b.WriteString(" (" + r.Detail + ")")
		}
	}
	return b.String()
}

// exceptWindows skips a check for a pod with spec.os.name windows (1.25+).
func exceptWindows(fn checkFn) checkFn {
	return func(p *Pod) *finding {
		if p.OS == "windows" {
			return nil
		}
		return fn(p)
	}
}

// relaxForUserNamespace skips a check for a pod with hostUsers: false
// (1.35+: a user namespace makes root in the pod unprivileged).
func relaxForUserNamespace(fn checkFn) checkFn {
	return func(p *Pod) *finding {
		if p.HostUsers != nil && !*p.HostUsers {
			return nil
		}
		return fn(p)
	}
}

func joinQuote(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return `"` + strings.Join(items, `", "`) + `"`
}

func pluralize(singular, plural string, n int) string {
	if n == 1 {
		return singular
	}
	return plural
}

// set is a sorted set of strings (PSA's sets.String).
type set map[string]bool

func (s set) list() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// firstOf returns the first non-empty path.
func firstOf(paths ...string) string {
	for _, p := range paths {
		if p != "" {
			return p
		}
	}
	return ""
}
