// Package cni gives each pod its own network, UTS and IPC namespaces and
// connects the network namespace to the node's pod bridge through the CNI
// plugins (bridge with host-local IPAM, portmap). The namespaces are bind
// mounts, so they outlive the process that made them and every container of
// the pod joins them by path: no pause container is needed.
package cni

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
)

// Config is the pod network of one node.
type Config struct {
	// Name is the CNI network name (it keys host-local's allocations).
	Name string
	// Bridge is the Linux bridge the pods attach to.
	Bridge string
	// Subnet is the pod CIDR.
	Subnet string
	// BinDir holds the CNI plugin binaries.
	BinDir string
	// StateDir holds host-local allocations and libcni's result cache.
	StateDir string
	// IPMasq masquerades pod traffic leaving the node.
	IPMasq bool
}

// PortMapping is a hostPort of a pod.
type PortMapping struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

// Network attaches pods to the bridge.
type Network struct {
	cfg  Config
	cni  *libcni.CNIConfig
	list *libcni.NetworkConfigList
}

// New checks the plugins and renders the network configuration.
func New(cfg Config) (*Network, error) {
	for _, p := range []string{"bridge", "host-local", "portmap"} {
		if _, err := os.Stat(filepath.Join(cfg.BinDir, p)); err != nil {
			return nil, fmt.Errorf("CNI plugin %s missing in %s (install containernetworking-plugins): %w", p, cfg.BinDir, err)
		}
	}
	if _, _, err := net.ParseCIDR(cfg.Subnet); err != nil {
		return nil, fmt.Errorf("pod CIDR %q: %w", cfg.Subnet, err)
	}
	conf, err := json.Marshal(map[string]any{
		"cniVersion": "1.0.0",
		"name":       cfg.Name,
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": cfg.Bridge, "isGateway": true,
				"ipMasq": cfg.IPMasq, "hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": cfg.Subnet}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
					"dataDir": filepath.Join(cfg.StateDir, "networks"),
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	})
	if err != nil {
		return nil, err
	}
	list, err := libcni.ConfListFromBytes(conf)
	if err != nil {
		return nil, fmt.Errorf("CNI config: %w", err)
	}
	return &Network{
		cfg: cfg,
		// An explicit executor: with nil, libcni creates one lazily without
		// a lock, and two pods attached at once race on it.
		cni: libcni.NewCNIConfigWithCacheDir([]string{cfg.BinDir}, filepath.Join(cfg.StateDir, "cache"),
			&invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: os.Stderr}, PluginDecoder: version.PluginDecoder{}}),
		list: list,
	}, nil
}

// Attach connects the network namespace at nsPath to the bridge and
// returns the pod's IP. id must be stable for the pod: Detach uses it.
func (n *Network) Attach(ctx context.Context, id, nsPath string, ports []PortMapping) (string, error) {
	res, err := n.cni.AddNetworkList(ctx, n.list, n.runtimeConf(id, nsPath, ports))
	if err != nil {
		return "", fmt.Errorf("CNI add %s: %w", id, err)
	}
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return "", fmt.Errorf("CNI result %s: %w", id, err)
	}
	for _, ip := range r.IPs {
		if ip.Address.IP.To4() != nil || len(r.IPs) == 1 {
			return ip.Address.IP.String(), nil
		}
	}
	return "", fmt.Errorf("CNI add %s: no IP in result", id)
}

func (n *Network) runtimeConf(id, nsPath string, ports []PortMapping) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: nsPath, IfName: "eth0"}
	if len(ports) > 0 {
		rt.CapabilityArgs = map[string]any{"portMappings": ports}
	}
	return rt
}

// Attached reports whether an attachment of the pod id is on record in
// libcni's cache: one that no DEL has undone (a crash, or a DEL that
// failed).
func (n *Network) Attached(id string) bool {
	res, err := n.cni.GetNetworkListCachedResult(n.list, n.runtimeConf(id, "", nil))
	return err == nil && res != nil
}
