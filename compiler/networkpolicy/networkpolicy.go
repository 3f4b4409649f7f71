// Package networkpolicy turns the repository's NetworkPolicies into the
// plan's (plan.NetworkPolicy): the API server's defaults applied
// (policyTypes from the rules written, TCP for a port without protocol),
// selectors kept as written, and the labels of the repository's
// Namespaces, which namespaceSelectors read. Which pods a policy selects,
// and at which addresses, is the node's business: pod IPs are allocated
// on each node (see nodes/iptables/README.md, "NetworkPolicy").
package networkpolicy

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
)

// Resolve returns every NetworkPolicy of set in the plan's form, sorted
// by namespace and name, and the labels of every Namespace of set,
// sorted by name (none when there is no policy: only policies read them).
func Resolve(set *object.Set) ([]plan.NetworkPolicy, []plan.Namespace) {
	var out []plan.NetworkPolicy
	for _, o := range object.Typed[api.NetworkPolicy](set, "NetworkPolicy") {
		if set.Get(o.Kind, o.Namespace, o.Name) != o.Object {
			continue // a duplicate is the checks' finding
		}
		out = append(out, Policy(o.Namespace, o.Name, &o.V.Spec))
	}
	slices.SortFunc(out, func(a, b plan.NetworkPolicy) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	if len(out) == 0 {
		return nil, nil // the plan carries namespace labels for policies only
	}
	return out, Namespaces(set)
}

// Namespaces returns the labels of every Namespace of set, sorted by
// name: what NetworkPolicies' and pod affinity terms' namespaceSelectors
// read (plan.NamespaceLabels adds kubernetes.io/metadata.name).
func Namespaces(set *object.Set) []plan.Namespace {
	var nss []plan.Namespace
	for _, o := range object.Typed[api.Namespace](set, "Namespace") {
		if set.Get(o.Kind, "", o.Name) != o.Object {
			continue
		}
		nss = append(nss, plan.Namespace{Name: o.Name, Labels: maps.Clone(o.V.Metadata.Labels)})
	}
	slices.SortFunc(nss, func(a, b plan.Namespace) int { return strings.Compare(a.Name, b.Name) })
	return nss
}

// Policy is one NetworkPolicy of namespace ns in the plan's form.
func Policy(ns, name string, spec *api.NetworkPolicySpec) plan.NetworkPolicy {
	p := plan.NetworkPolicy{Namespace: ns, Name: name, PodSelector: cloneSelector(spec.PodSelector)}
	if len(spec.PolicyTypes) == 0 {
		// SetDefaults_NetworkPolicy: every policy isolates for ingress,
		// and for egress when it has egress rules.
		p.Ingress, p.Egress = true, len(spec.Egress) > 0
	}
	for _, t := range spec.PolicyTypes {
		switch t {
		case "Ingress":
			p.Ingress = true
		case "Egress":
			p.Egress = true
		}
	}
	// Rules of a type the policy does not isolate for allow nothing more:
	// the pod is open for that type unless another policy isolates it,
	// and then only that policy's rules count (as in Kubernetes).
	if p.Ingress {
		for i := range spec.Ingress {
			p.IngressRules = append(p.IngressRules, rule(spec.Ingress[i].Ports, spec.Ingress[i].From))
		}
	}
	if p.Egress {
		for i := range spec.Egress {
			p.EgressRules = append(p.EgressRules, rule(spec.Egress[i].Ports, spec.Egress[i].To))
		}
	}
	return p
}

func rule(ports []api.NetworkPolicyPort, peers []api.NetworkPolicyPeer) plan.PolicyRule {
	var r plan.PolicyRule
	for _, pp := range ports {
		port := plan.PolicyPort{Protocol: cmp.Or(pp.Protocol, "TCP")}
		if pp.Port != nil {
			if pp.Port.IsString {
				port.Name = pp.Port.StrVal
			} else {
				port.Port = pp.Port.IntVal
				if pp.EndPort != nil {
					port.EndPort = *pp.EndPort
				}
			}
		}
		r.Ports = append(r.Ports, port)
	}
	for _, pe := range peers {
		peer := plan.PolicyPeer{}
		if pe.PodSelector != nil {
			s := cloneSelector(*pe.PodSelector)
			peer.PodSelector = &s
		}
		if pe.NamespaceSelector != nil {
			s := cloneSelector(*pe.NamespaceSelector)
			peer.NamespaceSelector = &s
		}
		if pe.IPBlock != nil {
			peer.IPBlock = &plan.IPBlock{CIDR: pe.IPBlock.CIDR, Except: slices.Clone(pe.IPBlock.Except)}
		}
		r.Peers = append(r.Peers, peer)
	}
	return r
}

func cloneSelector(s api.LabelSelector) plan.LabelSelector {
	out := plan.LabelSelector{MatchLabels: maps.Clone(s.MatchLabels)}
	for _, e := range s.MatchExpressions {
		out.MatchExpressions = append(out.MatchExpressions, plan.LabelSelectorRequirement{Key: e.Key, Operator: e.Operator, Values: slices.Clone(e.Values)})
	}
	return out
}
