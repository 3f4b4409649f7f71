package schema

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The formats of names, labels, keys and quantities are checked by the
// API server's own functions (k8s.io/apimachinery), never by a copy of
// their grammar: lint, plan and a cluster then cannot disagree, and the
// messages are the API server's ("Invalid value: "Foo": a lowercase RFC
// 1123 label must consist of ...").

// formatChecks are the @berth(name) checks backed by apimachinery, by
// name. Each returns the API server's messages for a value.
var formatChecks = map[string]func(string) []string{
	"dns1123label":     validation.IsDNS1123Label,
	"dns1123subdomain": validation.IsDNS1123Subdomain,
	"dns1035label":     validation.IsDNS1035Label,
	// A label key and any other "qualified name" (a resource name).
	"qualifiedName": validation.IsQualifiedName,
	"labelValue":    validation.IsValidLabelValue,
	// Annotation keys are qualified names, compared in lower case
	// (apimachinery's ValidateAnnotations).
	"annotationKey": func(s string) []string { return validation.IsQualifiedName(strings.ToLower(s)) },
	"configKey":     validation.IsConfigMapKey,
	// Environment variable names: any printable ASCII but '=' since
	// Kubernetes 1.34 (RelaxedEnvironmentVariableValidation is GA).
	"envVarName": validation.IsRelaxedEnvVarName,
	// A container port's name and a named targetPort: an IANA service
	// name, at most 15 characters. (A Service port's name is a DNS-1123
	// label: up to 63.)
	"portName": validation.IsValidPortName,
	"percent":  validation.IsValidPercent,
	// RBAC names (Role, ClusterRole and their bindings) are path
	// segments, as ValidateRBACName checks: "system:aggregate-to-view"
	// is valid, "a/b" and ".." are not.
	"pathSegmentName": path.IsValidPathSegmentName,
	// metadata.generateName: a DNS-1123 subdomain that may end in '-',
	// as ValidateObjectMeta checks it (nameFn with prefix true).
	"generateName": func(s string) []string { return apivalidation.NameIsDNSSubdomain(s, true) },
}

// formatCheck wraps an apimachinery format function as a goCheck. The
// results are cached per walker: names and label values repeat across
// the objects of a repository.
func formatCheck(name string, fn func(string) []string) *goCheck {
	return &goCheck{name: name, fn: func(c *checkCtx, n *yaml.Node) string {
		if c.cache != nil {
			if msg, ok := c.cache[cacheKey{name, n.Value}]; ok {
				return msg
			}
		}
		msg := ""
		if msgs := fn(n.Value); len(msgs) > 0 {
			msg = invalidValue(c, n.Value, strings.Join(msgs, "; "))
		}
		if c.cache != nil && !c.redact && len(c.cache) < maxCache {
			c.cache[cacheKey{name, n.Value}] = msg
		}
		return msg
	}}
}

// cacheKey is a format check's result for one value.
type cacheKey struct{ check, value string }

// maxCache bounds a walker's format cache: hostile input cannot grow it.
const maxCache = 1 << 14

// invalidValue is the API server's wording of an invalid value:
// `Invalid value: "Foo": detail`, the value hidden when it is a secret.
func invalidValue(c *checkCtx, v, detail string) string {
	if c.redact {
		return "Invalid value: <secret contents redacted>: " + detail
	}
	if len(v) > 80 {
		v = v[:77] + "..."
	}
	return "Invalid value: " + strconv.Quote(v) + ": " + detail
}

// checkQuantity parses a quantity with apimachinery's
// resource.ParseQuantity, the API server's grammar, and refuses a
// negative one as ValidateNonnegativeQuantity does. A YAML number is read
// from its text, as the decoder hands it to the plan: 0.5, 1, 1e3.
func checkQuantity(c *checkCtx, n *yaml.Node) string {
	q, err := resource.ParseQuantity(n.Value)
	if err != nil {
		return invalidValue(c, n.Value, err.Error()+" (examples: 100m, 0.5, 128Mi, 1G)")
	}
	if q.Sign() < 0 {
		return invalidValue(c, n.Value, "must be greater than or equal to 0")
	}
	return ""
}
