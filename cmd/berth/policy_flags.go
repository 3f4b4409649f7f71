package main

import (
	"flag"
	"fmt"

	"berth.dev/berth/compiler/nodepolicy"
)

// policyFlags are the node policy flags of `berth daemon` and `berth
// apply`: a node policy file, and flags that override its fields.
type policyFlags struct {
	fs              *flag.FlagSet
	file            string
	allowPrivileged bool
	hostPaths       string
	denyExternalIPs bool
	allowedExternal string
	podSecurity     string
	secretKeyFile   string
	unsafeSysctls   string
}

func (p *policyFlags) register(fs *flag.FlagSet) {
	p.fs = fs
	fs.StringVar(&p.file, "node-policy", "", "node policy file (kind: NodePolicy); the flags below override its fields")
	fs.BoolVar(&p.allowPrivileged, "allow-privileged", false, "let containers run privileged (default false: a revision with a privileged container is refused on this node)")
	fs.StringVar(&p.hostPaths, "allowed-host-paths", "", "comma-separated host path prefixes pods may use (hostPath volumes, PersistentVolume paths), read-only unless suffixed :rw (default: any path)")
	fs.BoolVar(&p.denyExternalIPs, "deny-external-ips", false, "refuse Services with externalIPs or LoadBalancer addresses (CVE-2020-8554)")
	fs.StringVar(&p.allowedExternal, "allowed-external-ips", "", "comma-separated CIDRs that Services' externalIPs and LoadBalancer addresses must come from (default: any)")
	fs.StringVar(&p.secretKeyFile, "secret-key-file", "", "the repository's key for the digests that stand for Secret values in plans and pod hashes (the same file on every node and in CI; default: a public key, so a printed digest can confirm a guess)")
	fs.StringVar(&p.unsafeSysctls, "allowed-unsafe-sysctls", "", "comma-separated namespaced sysctls (or prefixes ending in *) pods may set beyond the kubelet's safe set, as the kubelet's flag (default none)")
	fs.StringVar(&p.podSecurity, "pod-security-default", "", "Pod Security Standard of namespaces without pod-security labels: privileged, baseline or restricted[:v1.N] (default privileged, as Kubernetes)")
}

// resolve is the node's policy: the file's (or the default), then every
// flag given on the command line.
func (p *policyFlags) resolve() (nodepolicy.Policy, error) {
	pol := nodepolicy.Default()
	if p.file != "" {
		var err error
		if pol, err = nodepolicy.Load(p.file); err != nil {
			return pol, err
		}
	}
	var err error
	p.fs.Visit(func(f *flag.Flag) {
		if err != nil {
			return
		}
		switch f.Name {
		case "allow-privileged":
			pol.AllowPrivileged = p.allowPrivileged
		case "allowed-host-paths":
			pol.AllowedHostPaths, err = nodepolicy.ParseHostPaths(p.hostPaths)
		case "deny-external-ips":
			pol.DenyExternalIPs = p.denyExternalIPs
		case "allowed-external-ips":
			pol.AllowedExternalIPs, err = nodepolicy.ParseCIDRs(p.allowedExternal)
		case "allowed-unsafe-sysctls":
			pol.AllowedUnsafeSysctls, err = nodepolicy.ParseSysctls(p.unsafeSysctls)
		case "pod-security-default":
			pol.PodSecurity, err = nodepolicy.PodSecurityDefault(p.podSecurity)
		}
		if err != nil {
			err = fmt.Errorf("--%s: %w", f.Name, err)
		}
	})
	return pol, err
}
