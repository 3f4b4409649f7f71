package check

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
)

// Rule ids of the checks of ServiceAccounts, RBAC and priorities.
const (
	// RuleNoEffect is the note that says, once per repository, which of
	// its objects berth checks but does not act on.
	RuleNoEffect = "no-effect"
	// RulePriority is a pod's priority or preemptionPolicy that differs
	// from its PriorityClass's, which the Priority admission plugin
	// refuses.
	RulePriority = "priority"
)

// noEffectKinds are the kinds that exist for an API server's
// authorization and scheduler: berth checks them and acts on none of
// them (a ServiceAccount's imagePullSecrets aside).
var noEffectKinds = []string{"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "PriorityClass"}

// builtinClusterRoles are the ClusterRoles every cluster has besides the
// system: ones, which bindings in charts refer to.
var builtinClusterRoles = map[string]bool{"cluster-admin": true, "admin": true, "edit": true, "view": true}

// checkAccounts checks what pods and bindings refer to: a pod's
// ServiceAccount (every namespace has "default") and PriorityClass (the
// system-... classes are built in), the priority it may write, one
// globalDefault class, the role a binding grants, and the pull secrets a
// ServiceAccount gives its pods. It ends with the repository's note.
func checkAccounts(set *object.Set, pods []pod, opts Options) []diag.Diagnostic {
	var ds []diag.Diagnostic
	classes := object.Typed[api.PriorityClass](set, "PriorityClass")
	var dflt *object.Of[api.PriorityClass]
	for i := range classes {
		pc := &classes[i]
		if !pc.V.GlobalDefault || set.Get(pc.Kind, pc.Namespace, pc.Name) != pc.Object {
			continue
		}
		if dflt != nil {
			// The Priority admission plugin's words.
			ds = append(ds, pc.Diag(diag.Error, RulePriority, "globalDefault",
				"PriorityClass %s is already marked as default. Only one default can exist (it is at %s)", dflt.Name, dflt.Pos("globalDefault")))
			continue
		}
		dflt = pc
	}
	inherits := map[*object.Object]bool{} // ServiceAccounts whose pull secrets a pod takes
	for _, p := range pods {
		ds = append(ds, checkPodAccount(set, p, opts, inherits)...)
		ds = append(ds, checkPodPriority(set, p, opts, dflt)...)
	}
	for _, sa := range object.Typed[api.ServiceAccount](set, "ServiceAccount") {
		if inherits[sa.Object] {
			ds = append(ds, checkPullSecretList(set, sa.Object, sa.V.ImagePullSecrets, "imagePullSecrets", opts)...)
		}
	}
	ds = append(ds, checkRoleRefs(set, opts)...)
	if d, ok := noEffect(set, pods); ok {
		ds = append(ds, d)
	}
	return ds
}

// checkPodAccount reports a pod whose ServiceAccount is not in its
// namespace, as the ServiceAccount admission plugin refuses it, and notes
// the ServiceAccounts whose imagePullSecrets a pod takes.
func checkPodAccount(set *object.Set, p pod, opts Options, inherits map[*object.Object]bool) []diag.Diagnostic {
	name := p.spec.ServiceAccount()
	sa := set.Get("ServiceAccount", p.obj.Namespace, name)
	if sa != nil {
		if len(p.spec.ImagePullSecrets) == 0 && len(sa.Value.(*api.ServiceAccount).ImagePullSecrets) > 0 {
			inherits[sa] = true
		}
		return nil
	}
	if name == api.DefaultServiceAccount || len(validation.IsDNS1123Subdomain(name)) > 0 {
		return nil // every namespace has it; an invalid name is the validation's finding
	}
	path := p.path + ".serviceAccountName"
	if p.spec.ServiceAccountName == "" {
		path = p.path + ".serviceAccount"
	}
	d, ok := missing(p.obj, opts, "ServiceAccount", name, path,
		"ServiceAccount %q does not exist in namespace %s: add it to the repository, fix the name, or leave serviceAccountName out to run as \"default\"", name, p.obj.Namespace)
	if !ok {
		return nil
	}
	return []diag.Diagnostic{d}
}

// checkPodPriority reports a PriorityClass that does not exist, and a
// priority or preemptionPolicy written in the pod that differs from the
// class's: the Priority admission plugin refuses both.
func checkPodPriority(set *object.Set, p pod, opts Options, dflt *object.Of[api.PriorityClass]) []diag.Diagnostic {
	name := p.spec.PriorityClassName
	value, policy := int32(0), "PreemptLowerPriority"
	switch {
	case name == "" && dflt != nil:
		value, policy = dflt.V.Value, preemption(dflt.V.PreemptionPolicy)
	case name == "":
	default:
		if v, ok := api.SystemPriorityClasses[name]; ok {
			value = v
			break
		}
		o := set.Get("PriorityClass", "", name)
		if o == nil {
			d, ok := missing(p.obj, opts, "PriorityClass", name, p.path+".priorityClassName",
				"no PriorityClass with name %s was found: add it to the repository, fix the name, or use %s or %s", name, api.SystemClusterCritical, api.SystemNodeCritical)
			if !ok {
				return nil
			}
			return []diag.Diagnostic{d}
		}
		pc := o.Value.(*api.PriorityClass)
		value, policy = pc.Value, preemption(pc.PreemptionPolicy)
	}
	var ds []diag.Diagnostic
	if pr := p.spec.Priority; pr != nil && *pr != value {
		ds = append(ds, p.obj.Diag(diag.Error, RulePriority, p.path+".priority",
			"the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name: remove priority", *pr, value))
	}
	if pp := p.spec.PreemptionPolicy; pp != "" && pp != policy {
		ds = append(ds, p.obj.Diag(diag.Error, RulePriority, p.path+".preemptionPolicy",
			"the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name: remove preemptionPolicy", pp, policy))
	}
	return ds
}

func preemption(p string) string {
	if p == "" {
		return "PreemptLowerPriority"
	}
	return p
}

// checkRoleRefs warns about a binding to a role that is neither in the
// repository nor built into Kubernetes: the API server accepts it (the
// binding waits for the role), so it is not an error.
func checkRoleRefs(set *object.Set, opts Options) []diag.Diagnostic {
	var ds []diag.Diagnostic
	check := func(o *object.Object, ref api.RoleRef) {
		ns := o.Namespace
		if ref.Kind == "ClusterRole" {
			ns = ""
			if builtinClusterRoles[ref.Name] || strings.HasPrefix(ref.Name, "system:") {
				return
			}
		}
		if set.Get(ref.Kind, ns, ref.Name) != nil || opts.Rejected.Has(ref.Kind, ns, ref.Name) {
			return
		}
		where := "in the repository"
		if ref.Kind == "Role" {
			where = "in namespace " + o.Namespace
		}
		if opts.Standalone {
			ds = append(ds, o.Diag(diag.Warning, RuleMissingReference, "roleRef.name",
				"%s %q is not in the files checked; --standalone assumes it is made elsewhere", ref.Kind, ref.Name))
			return
		}
		ds = append(ds, o.Diag(diag.Warning, RuleMissingReference, "roleRef.name",
			"%s %q is not %s nor built into Kubernetes: the binding refers to nothing until it exists (and grants nothing on a berth node)", ref.Kind, ref.Name, where))
	}
	for _, b := range object.Typed[api.RoleBinding](set, "RoleBinding") {
		check(b.Object, b.V.RoleRef)
	}
	for _, b := range object.Typed[api.ClusterRoleBinding](set, "ClusterRoleBinding") {
		check(b.Object, b.V.RoleRef)
	}
	return ds
}

// noEffect is the repository's one note on what berth checks and does
// not act on: the objects of an API server's authorization and
// scheduling, and the service account token. It sits at the first such
// object, or at the first pod that asks for a token.
func noEffect(set *object.Set, pods []pod) (diag.Diagnostic, bool) {
	var first *object.Object
	var parts []string
	for _, k := range noEffectKinds {
		objs := set.ByKind(k)
		if len(objs) == 0 {
			continue
		}
		for _, o := range objs {
			if first == nil || before(o, first) {
				first = o
			}
		}
		parts = append(parts, plural(len(objs), k))
	}
	path := "metadata.name"
	for _, p := range pods {
		if a := p.spec.AutomountServiceAccountToken; a != nil && *a && (first == nil || before(p.obj, first)) {
			first, path = p.obj, p.path+".automountServiceAccountToken"
		}
	}
	if first == nil {
		return diag.Diagnostic{}, false
	}
	msg := "berth has no API server: no service account token is mounted in any pod (automountServiceAccountToken has no effect on a berth node)"
	if len(parts) > 0 {
		msg = fmt.Sprintf("berth has no API server, so these objects are checked (names, rules, references) and have no effect on a berth node: %s. A ServiceAccount's imagePullSecrets are used by its pods; no pod gets a service account token", strings.Join(parts, ", "))
	}
	return first.Diag(diag.Note, RuleNoEffect, path, "%s", msg), true
}

// before orders objects by file and line, as a reader meets them.
func before(a, b *object.Object) bool {
	pa, pb := a.Pos("metadata"), b.Pos("metadata")
	return pa.File < pb.File || pa.File == pb.File && pa.Line < pb.Line
}

func plural(n int, kind string) string {
	if n == 1 {
		return "1 " + kind
	}
	if strings.HasSuffix(kind, "s") {
		return fmt.Sprintf("%d %ses", n, kind)
	}
	return fmt.Sprintf("%d %ss", n, kind)
}
