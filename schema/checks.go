package schema

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // timeZone checks must not depend on the machine's zoneinfo

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"berth.dev/berth/compiler/api"
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

// The expressions of meta.cue and podtemplate.cue, by source text.
var knownPatterns = map[string]knownPattern{
	`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`: {isDNSLabelChars,
		"a valid DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)", ""},
	`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`: {isDNSSubdomainChars,
		"a valid DNS-1123 subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)", ""},
	`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`: {isLabelKey,
		"a valid label key (an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit)", ""},
	`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`: {isLabelValue,
		"a valid label value (letters, digits, '-', '_' and '.', starting and ending with a letter or digit)", ""},
	`^([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][-+]?[0-9]+)?$`: {isQuantity,
		"a valid quantity (examples: 100m, 0.5, 128Mi, 1G)", ""},
	`^[0-9]+%$`:                     {isPercent, "a percentage such as \"25%\"", ""},
	`[a-z]`:                         {hasLower, "a valid port name (it needs at least one letter)", ""},
	`--`:                            {func(s string) bool { return strings.Contains(s, "--") }, "", "a valid port name (it contains \"--\")"},
	`^[-._a-zA-Z][-._a-zA-Z0-9]*$`:  {isEnvName, "a valid environment variable name (letters, digits, '-', '_' and '.', not starting with a digit)", ""},
	`^[-._a-zA-Z0-9]+$`:             {isConfigKey, "a valid key (letters, digits, '-', '_' and '.')", ""},
	`^/`:                            {func(s string) bool { return strings.HasPrefix(s, "/") }, "an absolute path", "a relative path"},
	`(^|/)\.\.(/|$)`:                {hasDotDot, "", "a path without '..'"},
	`^[A-Z_]+$`:                     {isCapability, "a capability name such as NET_ADMIN", ""},
	`^[0-9]+[smh]?$`:                {isDuration, "a duration such as 30s, 5m or 1h", ""},
	`^count/[a-z]+(\.[a-z0-9.]+)?$`: {isCountKey, "a count/<resource> quota name", ""},
}

func isAlnumLower(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
func isAlnum(c byte) bool      { return isAlnumLower(c) || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

func isDNSLabelChars(s string) bool {
	if s == "" || !isAlnumLower(s[0]) || !isAlnumLower(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnumLower(c) && c != '-' {
			return false
		}
	}
	return true
}

func isDNSSubdomainChars(s string) bool {
	for {
		i := strings.IndexByte(s, '.')
		if i < 0 {
			return isDNSLabelChars(s)
		}
		if !isDNSLabelChars(s[:i]) {
			return false
		}
		s = s[i+1:]
	}
}

func isLabelName(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func isLabelKey(s string) bool {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return isDNSSubdomainChars(s[:i]) && isLabelName(s[i+1:], 63)
	}
	return isLabelName(s, 63)
}

func isLabelValue(s string) bool { return s == "" || isLabelName(s, len(s)) }

func isQuantity(s string) bool {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intDigits := i
	frac := 0
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			frac++
		}
	}
	if intDigits == 0 && frac == 0 {
		return false
	}
	rest := s[i:]
	switch {
	case rest == "":
		return true
	case len(rest) == 2 && rest[1] == 'i':
		return strings.IndexByte("KMGTPE", rest[0]) >= 0
	case len(rest) == 1 && strings.IndexByte("numkMGTPE", rest[0]) >= 0:
		return true
	case rest[0] == 'e' || rest[0] == 'E':
		rest = rest[1:]
		if rest != "" && (rest[0] == '+' || rest[0] == '-') {
			rest = rest[1:]
		}
		return rest != "" && allDigits(rest)
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isPercent(s string) bool {
	return len(s) >= 2 && s[len(s)-1] == '%' && allDigits(s[:len(s)-1])
}

func hasLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'a' && s[i] <= 'z' {
			return true
		}
	}
	return false
}

func isEnvName(s string) bool {
	if s == "" || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func isConfigKey(s string) bool { return s != "" && isEnvName("a"+s) }

func hasDotDot(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '.' && s[i+1] == '.' && (i == 0 || s[i-1] == '/') && (i+2 == len(s) || s[i+2] == '/') {
			return true
		}
	}
	return false
}

func isCapability(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && c != '_' {
			return false
		}
	}
	return true
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
}

// goChecks are the checks of the @berth attributes, by name.
var goChecks = map[string]*goCheck{
	"ip":       {"ip", checkIP},
	"cidr":     {"cidr", checkCIDR},
	"base64":   {"base64", checkBase64},
	"cron":     {"cron", checkCron},
	"timezone": {"timezone", checkTimeZone},
	"secret":   {"secret", checkSecret},
}

func checkIP(c *checkCtx, n *yaml.Node) string {
	if _, err := netip.ParseAddr(n.Value); err != nil {
		return strconv.Quote(n.Value) + " is not an IP address"
	}
	return ""
}

func checkCIDR(c *checkCtx, n *yaml.Node) string {
	if _, err := netip.ParsePrefix(n.Value); err != nil {
		return strconv.Quote(n.Value) + " is not a CIDR prefix such as 10.244.1.0/24"
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

// maxSecretSize is Kubernetes' limit on a Secret's data.
const maxSecretSize = 1 << 20

// checkSecret enforces the total size of a Secret and what its type
// requires of its content. It runs on the Secret mapping after its fields
// were checked.
func checkSecret(c *checkCtx, n *yaml.Node) string {
	data, stringData := mapValue(n, "data"), mapValue(n, "stringData")
	typ := "Opaque"
	if t := mapValue(n, "type"); t != nil && t.Kind == yaml.ScalarNode {
		typ = t.Value
	}
	size := 0
	if data != nil && data.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(data.Content); i += 2 {
			k, v := data.Content[i], resolve(data.Content[i+1])
			if mapValue(stringData, k.Value) != nil {
				continue // stringData wins, as in Kubernetes
			}
			size += len(k.Value) + base64.StdEncoding.DecodedLen(len(v.Value))
		}
	}
	if stringData != nil && stringData.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(stringData.Content); i += 2 {
			size += len(stringData.Content[i].Value) + len(resolve(stringData.Content[i+1]).Value)
		}
	}
	if size > maxSecretSize {
		return fmt.Sprintf("Secret is too large: %d bytes of data, at most %d (1 MiB) allowed", size, maxSecretSize)
	}
	// The content rules are lint's and plan's alike (compiler/api).
	return api.CheckSecretContent(typ, secretValues(data, stringData))
}

// secretValues decodes a Secret's data and stringData (which wins, as in
// Kubernetes); a value that is not base64 is left out (its own check
// reports it).
func secretValues(data, stringData *yaml.Node) map[string]string {
	out := map[string]string{}
	if data != nil && data.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(data.Content); i += 2 {
			if b, err := base64.StdEncoding.DecodeString(resolve(data.Content[i+1]).Value); err == nil {
				out[data.Content[i].Value] = string(b)
			}
		}
	}
	if stringData != nil && stringData.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(stringData.Content); i += 2 {
			out[stringData.Content[i].Value] = resolve(stringData.Content[i+1]).Value
		}
	}
	return out
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
