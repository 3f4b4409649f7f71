// Package schema holds berth's CUE schemas, one file per API group (cue/),
// embedded in the binary, and a fast native validator compiled from them.
//
// # The CUE is the source of truth
//
// Every supported kind is a closed definition (#Pod, #Deployment, ...)
// with apiVersion and kind literals. Required fields are marked `name!`,
// optional ones `name?`; a regular field carries a default (`*1 | int32`),
// a literal, or a struct whose own defaults apply. `berth schema KIND`
// prints these definitions (Set.Source); the README's field table is
// generated from them (Set.FieldTable).
//
// # Why a native validator
//
// Unifying every document with its definition in CUE costs milliseconds per
// object; berth lint must check 10,000 objects in well under a second. So
// Load compiles each definition once into a tree of Go validator nodes
// (node.go) and Validate walks the yaml.Node tree against it, allocating
// nothing for a valid object but the defaults it inserts.
//
// The compiler reads the definitions' syntax rather than CUE's evaluated
// values: evaluation rewrites constraints (int32 & >=0 becomes
// uint & <=2147483647), drops defaults subsumed by another disjunct and
// does not expose pattern-constraint keys ([#LabelKey]: ...), all of which
// the validator and its messages need. The syntax is restricted to this
// subset, and Load fails on anything else:
//
//   - top-level definitions only; references to definitions (#Name);
//   - string, int, float, number, bool, null, _, sized ints (int32, ...);
//   - literals; bounds >= > <= <; != literal; =~ and !~ regular expressions;
//     strings.MaxRunes(n);
//   - a & b of scalars, of structs with disjoint fields (and embedding of
//     a struct definition), distributed over disjunctions;
//   - disjunctions a | *b | c with at most one default; a default may name
//     a sibling field (targetPort: *port | ...), copied when absent;
//   - closed structs with regular, required (!) and optional (?) fields
//     and pattern constraints [K]: V;
//   - open lists [...T] and non-empty lists [T, ...T].
//
// The validator follows CUE's semantics for disjunctions: an alternative
// is ruled out by a real error (a conflict, an unknown field), not by a
// missing required field; when several remain, the default wins. The keys
// of a mapping rule most alternatives out at once (node.keyAlts), so an
// alternative is rarely tried twice. Null means absent, as in Kubernetes:
// a null optional field is ignored, a null field with a default gets it.
// Values are typed by their YAML tag: "8000" quoted is a string, 8000 an
// integer, and JSON read as YAML gets the same tags; aliases and merge
// keys (<<) are followed.
//
// The differential test (diff_test.go) checks that the validator accepts
// and rejects exactly what CUE's own Unify + Validate(cue.Concrete(true))
// does on a corpus of valid objects and thousands of mutations of them,
// and that the defaults it writes are the ones CUE fills in. CUE is not
// evaluated at run time: Load only parses and compiles (a few ms).
//
// # Checks CUE cannot express
//
// These are named definitions carrying a @berth(name) attribute; to CUE
// they are plain strings, and Go runs the check (checks.go, formats.go):
//
//   - names, labels, keys and quantities, with the API server's own
//     functions from k8s.io/apimachinery, never a copy of their grammar:
//     @berth(dns1123label), @berth(dns1123subdomain), @berth(dns1035label),
//     @berth(qualifiedName) (label keys), @berth(labelValue),
//     @berth(annotationKey), @berth(configKey), @berth(envVarName),
//     @berth(portName), @berth(percent), and @berth(quantity)
//     (resource.ParseQuantity, never negative);
//   - @berth(ip), @berth(cidr): apimachinery's IsValidIP and IsValidCIDR;
//   - @berth(base64): standard base64 as Kubernetes decodes it (#Base64);
//   - @berth(cron): five-field cron syntax or @hourly-style macros (#Cron);
//   - @berth(timezone): an IANA time zone name (#TimeZone).
//
// Rules that relate several fields of one object (a Secret's keys by
// type, maxSurge and maxUnavailable, duplicate mount paths) are the
// object validation's, in compiler/validate; rules across objects are
// compiler/check's.
//
// Four field attributes steer the walk (two more, node= and default=,
// only describe fields for the table): @berth(sensitive) keeps values
// out of messages (Secret data and stringData); @berth(pullPolicy)
// computes the default imagePullPolicy from the image as Kubernetes does
// (Always for an untagged or :latest image, else IfNotPresent; CUE's own
// default is IfNotPresent); @berth(omitempty) marks a field that is not a
// pointer in Kubernetes' Go types, whose zero value (0, "") the API
// server defaults like an absent one (periodSeconds: 0 is 10);
// @berth(unsupported="Indexed,...") lists values Kubernetes accepts that
// berth does not implement, refused with a message that says so.
//
// # Messages
//
// A violation names the offending node (the key of an unknown field, the
// mapping that lacks a required one) and says what is wrong in the API
// server's terms where it has them: `Invalid value: "Foo": a lowercase RFC
// 1123 label must consist of ...`, `Unsupported value: "Sometimes":
// supported values: "Always", "OnFailure", "Never"`, `value "Indexed" is
// valid Kubernetes but not supported by berth (supported: "NonIndexed")`;
// else in the user's: `70000 is out of range (1..65535)`, `field
// "containerPorts" is not supported by berth (did you mean
// "containerPort"?)`, `fields "emptyDir" and "hostPath" cannot both be
// set`, `field "rollingUpdate" is not allowed when type is "Recreate"`.
// Messages are only formatted for values that are reported; trying an
// alternative formats nothing.
//
// The few remaining regular expressions (paths, durations) are matched by
// hand-written code, proven equal to the expression by a test.
//
// # Adding a field
//
//  1. Declare it in the CUE file of its group with the Kubernetes name
//     and type: `name?:` when optional, a default (`*"X" | ...`) when the
//     API server defaults it, @berth(omitempty) when its Go type in
//     k8s.io/api is not a pointer (0 or "" then means the default), a
//     format definition (#DNS1123Label, #Quantity, #LabelKey, ...) for
//     names and quantities, @berth(unsupported="A,B") for values
//     Kubernetes accepts that berth does not implement.
//  2. Add it to the Go type in compiler/api.
//  3. If the API server has a rule that relates it to other fields of
//     the object, port that function into compiler/validate (the file of
//     its kind), with its field.Error and message, and a ruleCase in
//     compiler/validate's tests (the refused manifest and the nearest
//     accepted one).
//  4. Say what it does on a node with @berth(node="...") when its name
//     does not say it all: the field table's "On a berth node" column.
//     @berth(default="...") describes a default that Go fills in because
//     it depends on other fields (a Job's backoffLimit).
//  5. UPDATE_GOLDEN=1 go test . -run TestREADME; list the rule in the
//     README's "What lint checks".
//
// A field Kubernetes has and berth leaves out by design (not work yet to
// do) is refused with its reason from unsupportedWhy (validate.go): a
// projected volume's serviceAccountToken source says that berth has no
// API server to issue a token, wherever the schema reaches it.
package schema
