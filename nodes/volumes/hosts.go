package volumes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"berth.dev/berth/compiler/plan"
	"golang.org/x/sys/unix"
)

// hostsHeader are the fixed lines of every pod's /etc/hosts, as the
// kubelet writes them.
const hostsHeader = `# Kubernetes-managed hosts file (berth).
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
fe00::0	ip6-localnet
fe00::0	ip6-mcastprefix
fe00::1	ip6-allnodes
fe00::2	ip6-allrouters
`

// hostNetworkHeader starts a hostNetwork pod's /etc/hosts, which is the
// node's own, as the kubelet writes it (nodeHostsFileContent).
const hostNetworkHeader = "# Kubernetes-managed hosts file (host network).\n"

// maxHostHosts bounds the node's hosts file that a hostNetwork pod's
// /etc/hosts copies.
const maxHostHosts = 1 << 20

// Hosts is what a pod's /etc/hosts says beside the fixed lines.
type Hosts struct {
	// Node, when not nil, is the node's hosts file: a hostNetwork pod's
	// file is it, after the kubelet's header, instead of the fixed lines
	// and the pod's own line.
	Node []byte
	Name string // the pod's host name
	// Domain, when set, is <subdomain>.<ns>.svc.<cluster domain>: the
	// pod's line names <Name>.<Domain> first, then Name.
	Domain string
	IP     string // the pod's IP; "" leaves its line out (before CNI)
	// Aliases are the pod's hostAliases, each on one line after the
	// kubelet's "# Entries added by HostAliases." comment.
	Aliases []plan.HostAlias
}

// RenderHosts returns the /etc/hosts of a pod of host name name and IP
// podIP: RenderPodHosts without subdomain or aliases.
func RenderHosts(name, podIP string) ([]byte, error) {
	return RenderPodHosts(Hosts{Name: name, IP: podIP})
}

// RenderPodHosts returns the /etc/hosts of a pod as the kubelet writes it
// (managedHostsFileContent): the localhost lines, the pod's IP with its
// FQDN and host name (omitted when the IP is empty, e.g. before CNI),
// then its hostAliases. Services are not in it: pods find them through
// cluster DNS. It rejects anything that could break a line.
func RenderPodHosts(h Hosts) ([]byte, error) {
	var b bytes.Buffer
	if h.Node != nil {
		b.WriteString(hostNetworkHeader)
		b.Write(h.Node)
	} else {
		b.WriteString(hostsHeader)
	}
	if h.IP != "" && h.Node == nil {
		ip, err := parseIP(h.IP)
		if err != nil {
			return nil, fmt.Errorf("pod IP: %w", err)
		}
		if err := checkHostname(h.Name); err != nil {
			return nil, err
		}
		if h.Domain != "" {
			if err := checkHostname(h.Domain); err != nil {
				return nil, err
			}
			fmt.Fprintf(&b, "%s\t%s.%s\t%s\n", ip, h.Name, h.Domain, h.Name)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", ip, h.Name)
		}
	}
	if len(h.Aliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range h.Aliases {
			ip, err := parseIP(a.IP)
			if err != nil {
				return nil, fmt.Errorf("hostAliases: %w", err)
			}
			for _, n := range a.Hostnames {
				if err := checkHostname(n); err != nil {
					return nil, fmt.Errorf("hostAliases: %w", err)
				}
			}
			fmt.Fprintf(&b, "%s\t%s\n", ip, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.Bytes(), nil
}

// parseIP accepts an IPv4 or IPv6 address without a zone: a zone is free
// text and could break the line.
func parseIP(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return ip, fmt.Errorf("IP %q: %w", s, err)
	}
	if ip.Zone() != "" {
		return ip, fmt.Errorf("IP %q: a zone is not allowed", s)
	}
	return ip, nil
}

func checkHostname(n string) error {
	if n == "" || strings.ContainsAny(n, " \t\r\n#\x00") {
		return fmt.Errorf("host name %q: must be non-empty without blanks or '#'", n)
	}
	return nil
}

// WriteHosts writes the pod's /etc/hosts and returns its host path, which
// the driver bind-mounts read-only. The first write is atomic (a temporary
// file renamed into place). A later change is written into the same inode
// (new content first, then truncation), because a file bind mount pins the
// inode: a rename would leave running containers on the old file forever.
// Readers then never see a missing or empty file, but a read racing the
// write may see old and new lines mixed; the next read is whole.
//
// domain is the cluster domain, for a pod with a subdomain.
func (m *Manager) WriteHosts(pod *plan.Pod, podIP, domain string) (string, error) {
	h := Hosts{Name: pod.Hostname(), IP: podIP, Aliases: pod.Spec.HostAliases}
	if pod.Spec.Subdomain != "" {
		h.Domain = pod.Spec.Subdomain + "." + pod.Namespace + ".svc." + domain
	}
	if pod.Spec.HostNetwork {
		node, err := readHostHosts(m.hostHosts)
		if err != nil {
			return "", fmt.Errorf("pod %s: /etc/hosts of a hostNetwork pod: %w", pod.Key(), err)
		}
		h.Node = node
	}
	content, err := RenderPodHosts(h)
	if err != nil {
		return "", fmt.Errorf("pod %s: /etc/hosts: %w", pod.Key(), err)
	}
	return m.writePodFile(pod, hostsFile, "/etc/hosts", content)
}

// WriteResolvConf writes the pod's /etc/resolv.conf (content from
// nodes/dns.ResolvConf) the way WriteHosts writes /etc/hosts, and
// returns its host path.
func (m *Manager) WriteResolvConf(pod *plan.Pod, content []byte) (string, error) {
	return m.writePodFile(pod, resolvFile, "/etc/resolv.conf", content)
}

// writePodFile writes one of the pod's bind-mounted files (name in the
// pod's directory; what is the container's path, for errors).
func (m *Manager) writePodFile(pod *plan.Pod, name, what string, content []byte) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, dir, err := m.podPaths(pod)
	if err != nil {
		return "", err
	}
	if err := ensurePodDir(dir); err != nil {
		return "", fmt.Errorf("pod %s: %w", pod.Key(), err)
	}
	p := filepath.Join(dir, name)
	old, err := os.ReadFile(p)
	switch {
	case err == nil && bytes.Equal(old, content):
		return p, nil
	case err == nil:
		err = rewriteInPlace(p, content)
	case errors.Is(err, fs.ErrNotExist):
		err = writeRenamed(p, content, 0o644)
	}
	if err != nil {
		return "", fmt.Errorf("pod %s: write %s: %w", pod.Key(), what, err)
	}
	return p, nil
}

// rewriteInPlace overwrites p's content keeping its inode.
func rewriteInPlace(p string, content []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(content, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Truncate(int64(len(content))); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeRenamed writes p atomically through a temporary file.
func writeRenamed(p string, content []byte, mode fs.FileMode) error {
	tmp := p + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := writeFile(tmp, content, mode); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// readHostHosts reads the node's hosts file, at most maxHostHosts.
func readHostHosts(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxHostHosts+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxHostHosts {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxHostHosts)
	}
	return b, nil
}
