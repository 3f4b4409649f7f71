package admit

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/object"
)

// computeField maps a quota key on compute resources to the container
// field it constrains: "requests.cpu" and plain "cpu" mean requests,
// "limits.cpu" limits. requests.storage is about claims, not containers.
func computeField(key string) (kind, res string, ok bool) {
	switch {
	case key == "cpu" || key == "memory" || key == "ephemeral-storage":
		return "requests", key, true
	case key == "requests.storage":
		return "", "", false
	case strings.HasPrefix(key, "requests."):
		return "requests", strings.TrimPrefix(key, "requests."), true
	case strings.HasPrefix(key, "limits."):
		return "limits", strings.TrimPrefix(key, "limits."), true
	}
	return "", "", false
}

// objectCounts maps the object-count quota keys to the kind they count.
// count/replicasets.apps also counts one ReplicaSet per Deployment and
// count/jobs.batch one Job per CronJob: the objects their controllers
// create.
var objectCounts = map[string][]string{
	"services":                                {"Service"},
	"configmaps":                              {"ConfigMap"},
	"secrets":                                 {"Secret"},
	"persistentvolumeclaims":                  {"PersistentVolumeClaim"},
	"resourcequotas":                          {"ResourceQuota"},
	"count/services":                          {"Service"},
	"count/configmaps":                        {"ConfigMap"},
	"count/secrets":                           {"Secret"},
	"count/persistentvolumeclaims":            {"PersistentVolumeClaim"},
	"count/resourcequotas":                    {"ResourceQuota"},
	"count/limitranges":                       {"LimitRange"},
	"count/deployments.apps":                  {"Deployment"},
	"count/replicasets.apps":                  {"ReplicaSet", "Deployment"},
	"count/daemonsets.apps":                   {"DaemonSet"},
	"count/statefulsets.apps":                 {"StatefulSet"},
	"count/jobs.batch":                        {"Job", "CronJob"},
	"count/cronjobs.batch":                    {"CronJob"},
	"count/rollouts.argoproj.io":              {"Rollout"},
	"count/replicationcontrollers":            {"ReplicationController"},
	"count/networkpolicies.networking.k8s.io": {"NetworkPolicy"},
}

// quotaState is one ResourceQuota and the usage of its keys, tallied as
// the pods of its namespace are admitted, judged at the end.
type quotaState struct {
	q    object.Of[api.ResourceQuota]
	keys []quotaKey // sorted; only keys whose hard value parses
}

// quotaKey is one key of a quota's spec.hard and what counts against it.
type quotaKey struct {
	key       string
	hard      int64
	compute   bool
	kind, res string // for compute keys: the container field it constrains
	// missing are the containers that do not declare a compute key's
	// resource, in template order.
	missing []diag.Diagnostic
	used    int64
	parts   []contribution
}

func (a *admission) prepareQuota(q object.Of[api.ResourceQuota]) *quotaState {
	qs := &quotaState{q: q}
	for _, key := range slices.Sorted(maps.Keys(q.V.Spec.Hard)) {
		p, err := a.parse(q.V.Spec.Hard[key])
		if err != nil {
			continue // the schema reports the syntax
		}
		k := quotaKey{key: key, hard: p.milli}
		k.kind, k.res, k.compute = computeField(key)
		qs.keys = append(qs.keys, k)
	}
	return qs
}

// tally counts one admitted pod template (Count pods) against a quota of
// its namespace, and notes the containers that do not declare what a
// compute key constrains, as Kubernetes' quota admission rejects them.
func (a *admission) tally(qs *quotaState, t *Template, cs []containerRef) {
	for i := range qs.keys {
		k := &qs.keys[i]
		switch {
		case k.compute:
			for _, c := range cs {
				if _, ok := resourcesOf(c.c, k.kind)[k.res]; !ok {
					k.missing = append(k.missing, t.Object.Diag(diag.Error, RuleResourceQuota, c.path+".resources",
						"must specify %s (ResourceQuota %s): add resources.%s.%s to container %q, or a LimitRange default in namespace %s",
						k.key, qs.q.Name, k.kind, k.res, c.c.Name, qs.q.Namespace))
				}
			}
			if per, ok := a.podMilli(cs, k.kind, k.res); ok && per != 0 {
				k.used = satAdd(k.used, satMul(per, int64(t.Count)))
				k.parts = append(k.parts, contribution{t: t, per: per})
			}
		case k.key == "pods" || k.key == "count/pods":
			k.used += int64(t.Count) * 1000
			k.parts = append(k.parts, contribution{t: t})
		}
	}
}

// judgeQuotas reports, quota by quota in set order and key by key, the
// undeclared resources and the usage over the hard limits.
func (a *admission) judgeQuotas(set *object.Set) []diag.Diagnostic {
	var ds []diag.Diagnostic
	for _, qs := range a.quotaOrder {
		for i := range qs.keys {
			k := &qs.keys[i]
			used, parts, known := k.used, k.parts, true
			if k.compute {
				ds = append(ds, k.missing...)
			} else if k.key != "pods" && k.key != "count/pods" {
				used, parts, known = a.countUsage(set, qs.q.Namespace, k.key)
			}
			if known && used > k.hard {
				ds = append(ds, overQuota(qs.q, k.key, used, parts))
			}
		}
	}
	return ds
}

// contribution is one workload's (or claim's) share of a quota's usage,
// rendered only when the quota is exceeded.
type contribution struct {
	t    *Template
	per  int64  // per pod, in thousandths; 0 when counting pods
	text string // preset text (claims)
}

func (c contribution) render(key string) string {
	if c.text != "" {
		return c.text
	}
	s := fmt.Sprintf("%s %s: %d", c.t.Object.Kind, c.t.Object.Name, c.t.Count)
	if c.per != 0 {
		s = fmt.Sprintf("%s %s: %s x %s", c.t.Object.Kind, c.t.Object.Name, pods(c.t.Count), formatMilli(key, c.per))
	}
	if c.t.why != "" {
		s += " (" + c.t.why + ")"
	}
	return s
}

// countUsage counts the objects of namespace ns for a count quota key
// other than pods (tally counts those); known is false for keys berth
// does not evaluate (the schema limits which exist).
func (a *admission) countUsage(set *object.Set, ns, key string) (used int64, parts []contribution, known bool) {
	switch key {
	case "requests.storage":
		for _, pvc := range object.Typed[api.PersistentVolumeClaim](set, "PersistentVolumeClaim") {
			if pvc.Namespace != ns {
				continue
			}
			if s, err := a.parse(pvc.V.Spec.Resources.Requests["storage"]); err == nil {
				used = satAdd(used, s.milli)
				parts = append(parts, contribution{text: "PersistentVolumeClaim " + pvc.Name + ": " + pvc.V.Spec.Resources.Requests["storage"]})
			}
		}
		return used, parts, true
	case "services.nodeports", "services.loadbalancers":
		for _, svc := range object.Typed[api.Service](set, "Service") {
			if svc.Namespace != ns {
				continue
			}
			switch {
			case key == "services.loadbalancers" && svc.V.Spec.Type == "LoadBalancer":
				used++
			case key == "services.nodeports" && (svc.V.Spec.Type == "NodePort" || svc.V.Spec.Type == "LoadBalancer"):
				used += int64(len(svc.V.Spec.Ports))
			}
		}
		return used * 1000, nil, true
	}
	kinds, ok := objectCounts[key]
	if !ok {
		return 0, nil, false
	}
	for _, kind := range kinds {
		for _, o := range set.ByKind(kind) {
			if o.Namespace == ns {
				used++
			}
		}
	}
	return used * 1000, nil, true
}

// podMilli is one pod's request or limit of res in thousandths: the sum
// over containers, or the largest init container if that is more, as
// Kubernetes' quota evaluator computes it.
func (a *admission) podMilli(cs []containerRef, kind, res string) (int64, bool) {
	var sum, initMax int64
	present := false
	for _, c := range cs {
		v, ok := resourcesOf(c.c, kind)[res]
		if !ok {
			continue
		}
		p, err := a.parse(v)
		if err != nil {
			continue
		}
		present = true
		if c.init {
			initMax = max(initMax, p.milli)
		} else {
			sum = satAdd(sum, p.milli)
		}
	}
	return max(sum, initMax), present
}

func overQuota(q object.Of[api.ResourceQuota], key string, used int64, parts []contribution) diag.Diagnostic {
	const maxParts = 5
	detail := ""
	if len(parts) > 0 {
		var shown []string
		for _, p := range parts[:min(len(parts), maxParts)] {
			shown = append(shown, p.render(key))
		}
		detail = " (" + strings.Join(shown, "; ")
		if len(parts) > maxParts {
			detail += fmt.Sprintf("; and %d more", len(parts)-maxParts)
		}
		detail += ")"
	}
	d := q.Diag(diag.Error, RuleResourceQuota, "spec.hard."+key,
		"%s used %s exceeds hard %s of ResourceQuota %s in namespace %s%s: %s",
		key, formatMilli(key, used), q.V.Spec.Hard[key], q.Name, q.Namespace, detail, remedy(key))
	// Quota keys contain dots ("requests.cpu"), which a field path cannot
	// spell; point at the key's value directly.
	hard := object.Find(q.Doc.Node, "spec.hard")
	for i := 0; i+1 < len(hard.Content); i += 2 {
		if hard.Content[i].Value == key {
			d.Line, d.Col = hard.Content[i+1].Line, hard.Content[i+1].Column
		}
	}
	return d
}

// remedy says what to change for an exceeded quota key.
func remedy(key string) string {
	if key == "pods" || key == "count/pods" {
		return "lower replicas (a rolling update's surge counts too) or raise the quota"
	}
	if key == "requests.storage" {
		return "shrink the claims or raise the quota"
	}
	if _, _, ok := computeField(key); ok {
		return "lower the containers' " + key + " or the replicas, or raise the quota"
	}
	return "remove some or raise the quota"
}

// formatMilli renders an amount in thousandths the way a user writes it
// for that resource: cpu in cores or millicores, memory and storage in
// bytes with the largest exact binary suffix, counts as integers.
func formatMilli(key string, milli int64) string {
	switch {
	case strings.Contains(key, "cpu"):
		if milli%1000 == 0 {
			return strconv.FormatInt(milli/1000, 10)
		}
		return strconv.FormatInt(milli, 10) + "m"
	case strings.Contains(key, "memory") || strings.Contains(key, "storage"):
		v := (milli + 999) / 1000
		for _, s := range []struct {
			suffix string
			unit   int64
		}{{"Ei", 1 << 60}, {"Pi", 1 << 50}, {"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}} {
			if v >= s.unit && v%s.unit == 0 {
				return strconv.FormatInt(v/s.unit, 10) + s.suffix
			}
		}
		return strconv.FormatInt(v, 10)
	}
	return strconv.FormatInt((milli+999)/1000, 10)
}
