package validate

import (
	"net"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"berth.dev/berth/compiler/api"
)

// networkPolicy is ValidateNetworkPolicy (pkg/apis/networking/validation)
// for what the schema cannot check: endPort against port, a peer's
// fields taken together, an ipBlock's except within its cidr, and the
// number of policyTypes. Names, selectors' keys and values, ports,
// protocols and CIDRs are the schema's.
func networkPolicy(np *api.NetworkPolicy) field.ErrorList {
	errs := objectMeta(&np.Metadata, metaPath)
	spec := &np.Spec
	errs = append(errs, labelSelector(&spec.PodSelector, specPath.Child("podSelector"))...)
	for i := range spec.Ingress {
		rule := &spec.Ingress[i]
		path := specPath.Child("ingress").Index(i)
		for j := range rule.Ports {
			errs = append(errs, networkPolicyPort(&rule.Ports[j], path.Child("ports").Index(j))...)
		}
		for j := range rule.From {
			errs = append(errs, networkPolicyPeer(&rule.From[j], path.Child("from").Index(j))...)
		}
	}
	for i := range spec.Egress {
		rule := &spec.Egress[i]
		path := specPath.Child("egress").Index(i)
		for j := range rule.Ports {
			errs = append(errs, networkPolicyPort(&rule.Ports[j], path.Child("ports").Index(j))...)
		}
		for j := range rule.To {
			errs = append(errs, networkPolicyPeer(&rule.To[j], path.Child("to").Index(j))...)
		}
	}
	if len(spec.PolicyTypes) > 2 {
		errs = append(errs, field.Invalid(specPath.Child("policyTypes"), spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	return errs
}

// networkPolicyPort is ValidateNetworkPolicyPort's endPort rules.
func networkPolicyPort(p *api.NetworkPolicyPort, path *field.Path) field.ErrorList {
	if p.EndPort == nil {
		return nil
	}
	end := path.Child("endPort")
	switch {
	case p.Port == nil:
		return field.ErrorList{field.Invalid(end, *p.EndPort, "may not be specified when `port` is not specified")}
	case p.Port.IsString:
		return field.ErrorList{field.Invalid(end, *p.EndPort, "may not be specified when `port` is non-numeric")}
	case *p.EndPort < p.Port.IntVal:
		return field.ErrorList{field.Invalid(end, *p.EndPort, "must be greater than or equal to `port`")}
	}
	return nil
}

// networkPolicyPeer is ValidateNetworkPolicyPeer: at least one of its
// fields, and an ipBlock alone.
func networkPolicyPeer(p *api.NetworkPolicyPeer, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	if p.PodSelector != nil {
		n++
		errs = append(errs, labelSelector(p.PodSelector, path.Child("podSelector"))...)
	}
	if p.NamespaceSelector != nil {
		n++
		errs = append(errs, labelSelector(p.NamespaceSelector, path.Child("namespaceSelector"))...)
	}
	if p.IPBlock != nil {
		n++
		errs = append(errs, ipBlock(p.IPBlock, path.Child("ipBlock"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(path, "must specify a peer"))
	case n > 1 && p.IPBlock != nil:
		errs = append(errs, field.Forbidden(path, "may not specify both ipBlock and another peer"))
	}
	return errs
}

// ipBlock is ValidateIPBlock's except rule: each except a strict subset
// of cidr (the schema checked that both are CIDRs).
func ipBlock(b *api.IPBlock, path *field.Path) field.ErrorList {
	_, cidr, err := net.ParseCIDR(b.CIDR)
	if err != nil {
		return nil
	}
	var errs field.ErrorList
	outer, _ := cidr.Mask.Size()
	for i, e := range b.Except {
		_, ex, err := net.ParseCIDR(e)
		if err != nil {
			continue
		}
		inner, _ := ex.Mask.Size()
		if !cidr.Contains(ex.IP) || outer >= inner {
			errs = append(errs, field.Invalid(path.Child("except").Index(i), e, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}
