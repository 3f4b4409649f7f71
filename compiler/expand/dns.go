package expand

import (
	"slices"

	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/plan"
)

// podDNS copies the pod's DNS and naming fields into its plan: they are
// the node's to apply (nodes/dns writes resolv.conf, nodes/volumes
// /etc/hosts). ClusterFirst, the default, is left out of the plan.
func podDNS(out *plan.PodSpec, spec *api.PodSpec) {
	if spec.DNSPolicy != api.DNSClusterFirst {
		out.DNSPolicy = spec.DNSPolicy
	}
	if c := spec.DNSConfig; c != nil {
		cp := &plan.PodDNSConfig{Nameservers: slices.Clone(c.Nameservers), Searches: slices.Clone(c.Searches)}
		for _, o := range c.Options {
			if o.Value != nil {
				v := *o.Value
				o.Value = &v
			}
			cp.Options = append(cp.Options, plan.PodDNSConfigOption(o))
		}
		out.DNSConfig = cp
	}
	for _, h := range spec.HostAliases {
		out.HostAliases = append(out.HostAliases, plan.HostAlias{IP: h.IP, Hostnames: slices.Clone(h.Hostnames)})
	}
	out.Hostname = spec.Hostname
	out.Subdomain = spec.Subdomain
}
