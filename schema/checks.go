package schema

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // timeZone checks must not depend on the machine's zoneinfo

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// pattern is a compiled =~ or !~ constraint. Well-known expressions have a
// hand-written matcher (fast) and a human description; TestFastMatchers
// proves each matcher equal to its expression.
type pattern struct {
	src    string
	negate bool
	re     *regexp.Regexp
	fast   func(string) bool
	desc   string // "a valid DNS-1123 label (...)"; "" for unknown patterns
}

func newPattern(src string, negate bool) (*pattern, error) {
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("regular expression %q: %w", src, err)
	}
	p := &pattern{src: src, negate: negate, re: re}
	if k, ok := knownPatterns[src]; ok {
		p.fast, p.desc = k.match, k.desc
		if negate {
			p.desc = k.negDesc
		}
	}
	return p, nil
}

func (p *pattern) match(s string) bool {
	var ok bool
	if p.fast != nil {
		ok = p.fast(s)
	} else {
		ok = p.re.MatchString(s)
	}
	return ok != p.negate
}

// message explains a failed match of the value shown as v.
func (p *pattern) message(v string) string {
	switch {
	case p.desc != "":
		return v + " is not " + p.desc
	case p.negate:
		return fmt.Sprintf("%s must not match %s", v, p.src)
	}
	return fmt.Sprintf("%s does not match %s", v, p.src)
}

type knownPattern struct {
	match   func(string) bool
	desc    string // completes "VALUE is not ..." when the value must match
	negDesc string // the same when the value must not match
}

// The expressions of the schema files, by source text. Names, labels,
// keys and quantities are not here: they are checked by apimachinery
// (formats.go), not by a regular expression.
var knownPatterns = map[string]knownPattern{
	`^/`:                            {func(s string) bool { return strings.HasPrefix(s, "/") }, "an absolute path", "a relative path"},
	`(^|/)\.\.(/|$)`:                {hasDotDot, "", "a path without '..'"},
	`^\.\.`:                         {func(s string) bool { return strings.HasPrefix(s, "..") }, "", "a path that does not start with '..'"},
	`^[0-9]+[smh]?$`:                {isDuration, "a duration such as 30s, 5m or 1h", ""},
	`^count/[a-z]+(\.[a-z0-9.]+)?$`: {isCountKey, "a count/<resource> quota name", ""},
}

func isAlnumLower(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
func isAlnum(c byte) bool      { return isAlnumLower(c) || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func hasDotDot(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '.' && s[i+1] == '.' && (i == 0 || s[i-1] == '/') && (i+2 == len(s) || s[i+2] == '/') {
			return true
		}
	}
	return false
}

func isDuration(s string) bool {
	if s == "" {
		return false
	}
	if c := s[len(s)-1]; c == 's' || c == 'm' || c == 'h' {
		s = s[:len(s)-1]
	}
	return s != "" && allDigits(s)
}

func isCountKey(s string) bool {
	r, ok := strings.CutPrefix(s, "count/")
	if !ok {
		return false
	}
	i := 0
	for i < len(r) && r[i] >= 'a' && r[i] <= 'z' {
		i++
	}
	if i == 0 {
		return false
	}
	r = r[i:]
	if r == "" {
		return true
	}
	if r[0] != '.' || len(r) == 1 {
		return false
	}
	for j := 1; j < len(r); j++ {
		if c := r[j]; !isAlnumLower(c) && c != '.' || c >= 'A' && c <= 'Z' {
			return false
		}
	}
	return true
}

// goCheck is a check CUE cannot express, named by a @berth(name) attribute.
// It returns "" when the value is fine, else the message.
type goCheck struct {
	name string
	fn   func(c *checkCtx, n *yaml.Node) string
}

// checkCtx is what a check may use besides the value.
type checkCtx struct {
	set     *Set
	redact  bool
	scratch []byte // reusable buffer, e.g. for decoding base64
	// cache holds the results of format checks (per walker, bounded).
	cache map[cacheKey]string
}

// goChecks are the checks of the @berth attributes, by name.
var goChecks = func() map[string]*goCheck {
	m := map[string]*goCheck{
		"ip":       {"ip", checkIP},
		"cidr":     {"cidr", checkCIDR},
		"base64":   {"base64", checkBase64},
		"cron":     {"cron", checkCron},
		"timezone": {"timezone", checkTimeZone},
		"quantity": {"quantity", checkQuantity},
	}
	for name, fn := range formatChecks {
		m[name] = formatCheck(name, fn)
	}
	return m
}()

// checkIP is apimachinery's IsValidIP, as the API server checks a
// Service's clusterIP and externalIPs.
func checkIP(c *checkCtx, n *yaml.Node) string {
	if errs := validation.IsValidIP(nil, n.Value); len(errs) > 0 {
		return invalidValue(c, n.Value, errs[0].Detail)
	}
	return ""
}

// checkCIDR is apimachinery's IsValidCIDR, as the API server checks a
// Node's podCIDRs.
func checkCIDR(c *checkCtx, n *yaml.Node) string {
	if errs := validation.IsValidCIDR(nil, n.Value); len(errs) > 0 {
		return invalidValue(c, n.Value, errs[0].Detail)
	}
	return ""
}

func checkBase64(c *checkCtx, n *yaml.Node) string {
	// Kubernetes decodes with the standard encoding, which skips newlines.
	c.scratch = slices.Grow(c.scratch[:0], base64.StdEncoding.DecodedLen(len(n.Value)))
	if _, err := base64.StdEncoding.Decode(c.scratch[:cap(c.scratch)], []byte(n.Value)); err != nil {
		msg := err.Error()
		if ce, ok := err.(base64.CorruptInputError); ok {
			msg = fmt.Sprintf("illegal data at byte %d", int64(ce))
		}
		if c.redact {
			return "value is not valid base64 (" + msg + ")"
		}
		return strconv.Quote(n.Value) + " is not valid base64 (" + msg + ")"
	}
	return ""
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

var cronCache sync.Map // schedule -> message; a pure function of the text

func checkCron(c *checkCtx, n *yaml.Node) string {
	if msg, ok := cronCache.Load(n.Value); ok {
		return msg.(string)
	}
	msg := cronMessage(n.Value)
	cronCache.Store(n.Value, msg)
	return msg
}

func cronMessage(s string) string {
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return strconv.Quote(s) + " is not a valid cron schedule: set spec.timeZone instead of a TZ= prefix"
	}
	if _, err := cronParser.Parse(s); err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i > 0 {
			msg = msg[:i] // robfig/cron repeats the schedule
		}
		return strconv.Quote(s) + " is not a valid cron schedule (" + msg + "); use 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly"
	}
	return ""
}

var zoneCache sync.Map // string -> bool; a pure function of the embedded tzdata

func checkTimeZone(c *checkCtx, n *yaml.Node) string {
	ok, seen := zoneCache.Load(n.Value)
	if !seen {
		_, err := time.LoadLocation(n.Value)
		ok = err == nil && n.Value != "Local"
		zoneCache.Store(n.Value, ok)
	}
	if !ok.(bool) {
		return strconv.Quote(n.Value) + " is not a time zone (use an IANA name such as Europe/Paris or UTC)"
	}
	return ""
}

// mapValue is the value of key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return resolve(m.Content[i+1])
		}
	}
	return nil
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// defaultPullPolicy is Kubernetes' default imagePullPolicy for an image:
// Always when it has no tag or the tag latest, IfNotPresent otherwise.
func defaultPullPolicy(image string) string {
	if strings.Contains(image, "@") {
		return "IfNotPresent"
	}
	name := image[strings.LastIndexByte(image, '/')+1:]
	i := strings.LastIndexByte(name, ':')
	if i < 0 || name[i+1:] == "latest" {
		return "Always"
	}
	return "IfNotPresent"
}
