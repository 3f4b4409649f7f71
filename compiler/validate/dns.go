package validate

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"berth.dev/berth/compiler/api"
)

// The API server's limits on dnsConfig (validation.MaxDNSNameservers,
// MaxDNSSearchPaths, MaxDNSSearchListChars), from libc's resolver.
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
)

// podDNS is validatePodDNSConfig (with RelaxedDNSSearchValidation, GA
// since Kubernetes 1.34: "." and underscores in search domains). The
// policy's values, the nameservers' and hostAliases' IPs and the
// hostname and subdomain labels are the schema's. berth adds one rule:
// an option a resolv.conf line cannot hold (blanks, '#', ';') is
// refused, where the kubelet would write a broken file.
func podDNS(s *api.PodSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	path := specPath.Child("dnsConfig")
	cfg := s.DNSConfig
	if s.DNSPolicy == api.DNSNone {
		if cfg == nil {
			return append(errs, field.Required(path, fmt.Sprintf("must provide `dnsConfig` when `dnsPolicy` is %s", api.DNSNone)))
		}
		if len(cfg.Nameservers) == 0 {
			return append(errs, field.Required(path.Child("nameservers"), fmt.Sprintf("must provide at least one DNS nameserver when `dnsPolicy` is %s", api.DNSNone)))
		}
	}
	if cfg == nil {
		return errs
	}
	if len(cfg.Nameservers) > maxDNSNameservers {
		errs = append(errs, field.Invalid(path.Child("nameservers"), cfg.Nameservers, fmt.Sprintf("must not have more than %v nameservers", maxDNSNameservers)))
	}
	if len(cfg.Searches) > maxDNSSearchPaths {
		errs = append(errs, field.Invalid(path.Child("searches"), cfg.Searches, fmt.Sprintf("must not have more than %v search paths", maxDNSSearchPaths)))
	}
	if len(strings.Join(cfg.Searches, " ")) > maxDNSSearchListChars {
		errs = append(errs, field.Invalid(path.Child("searches"), cfg.Searches, fmt.Sprintf("must not have more than %v characters (including spaces) in the search list", maxDNSSearchListChars)))
	}
	for i, search := range cfg.Searches {
		if search == "." {
			continue
		}
		search = strings.TrimSuffix(search, ".")
		for _, msg := range validation.IsDNS1123SubdomainWithUnderscore(search) {
			errs = append(errs, field.Invalid(path.Child("searches").Index(i), search, msg))
		}
	}
	for i, o := range cfg.Options {
		p := path.Child("options").Index(i)
		if o.Name == "" {
			errs = append(errs, field.Required(p, "must not be empty"))
		}
		if strings.ContainsAny(o.Name, resolvBreakers) {
			errs = append(errs, field.Invalid(p.Child("name"), o.Name, unsupportedOption))
		}
		if o.Value != nil && strings.ContainsAny(*o.Value, resolvBreakers) {
			errs = append(errs, field.Invalid(p.Child("value"), *o.Value, unsupportedOption))
		}
	}
	return errs
}

// resolvBreakers are what would end or comment out a resolv.conf option.
const resolvBreakers = " \t\r\n\v\f#;\x00"

const unsupportedOption = "valid Kubernetes but not supported by berth: blanks, '#' and ';' would break the pod's resolv.conf line; remove them"
