package dns

import (
	"fmt"
	"net"
	"strings"

	"github.com/miekg/dns"
)

// The kubelet's limits on a pod's search path (validation.MaxDNSSearchPaths
// and MaxDNSSearchListChars).
const (
	maxSearchPaths = 32
	maxSearchChars = 2048
)

// HostResolvers reads a resolv.conf (the host's /etc/resolv.conf): its
// nameservers as host:port, the upstreams of the cluster DNS, and its
// search domains, which pods search after the cluster's.
func HostResolvers(path string) (upstreams, search []string, err error) {
	cfg, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read the host's resolvers from %s: %w", path, err)
	}
	for _, s := range cfg.Servers {
		upstreams = append(upstreams, net.JoinHostPort(s, cfg.Port))
	}
	if len(upstreams) == 0 {
		return nil, nil, fmt.Errorf("%s lists no nameserver: cluster DNS has nowhere to send other names", path)
	}
	return upstreams, cfg.Search, nil
}

// validLine refuses a search domain that could break the file's lines.
func validLine(s string) bool { return !strings.ContainsAny(s, " \t\r\n#;\x00") }
