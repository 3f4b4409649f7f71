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
	"runtime"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
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

// Detach releases the pod's IP and removes its veth and port mappings. It
// tolerates a namespace that is already gone.
func (n *Network) Detach(ctx context.Context, id, nsPath string, ports []PortMapping) error {
	if _, err := os.Stat(nsPath); err != nil {
		nsPath = ""
	}
	if err := n.cni.DelNetworkList(ctx, n.list, n.runtimeConf(id, nsPath, ports)); err != nil {
		return fmt.Errorf("CNI del %s: %w", id, err)
	}
	return nil
}

func (n *Network) runtimeConf(id, nsPath string, ports []PortMapping) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: nsPath, IfName: "eth0"}
	if len(ports) > 0 {
		rt.CapabilityArgs = map[string]any{"portMappings": ports}
	}
	return rt
}

// Namespaces are the bind-mounted namespaces of one pod.
type Namespaces struct {
	Net, UTS, IPC string
}

// Paths returns where the namespaces of the pod called id live.
func Paths(netnsDir, nsDir, id string) Namespaces {
	return Namespaces{
		Net: filepath.Join(netnsDir, id),
		UTS: filepath.Join(nsDir, id+"-uts"),
		IPC: filepath.Join(nsDir, id+"-ipc"),
	}
}

// Create makes the pod's network, UTS and IPC namespaces (idempotently),
// with loopback up and the hostname set.
func Create(ns Namespaces, hostname string) error {
	if mounted(ns.Net) && mounted(ns.UTS) && mounted(ns.IPC) {
		return nil
	}
	for _, p := range []string{ns.Net, ns.UTS, ns.IPC} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		_ = unix.Unmount(p, unix.MNT_DETACH)
		f, err := os.OpenFile(p, os.O_CREATE|os.O_RDONLY, 0o444)
		if err != nil {
			return fmt.Errorf("namespace file: %w", err)
		}
		f.Close()
	}
	errc := make(chan error, 1)
	// The thread that unshares is never returned to the Go scheduler: it
	// leaves the goroutine locked and exits with it, so no other goroutine
	// ever runs in the pod's namespaces.
	go func() {
		runtime.LockOSThread()
		errc <- createOnThread(ns, hostname)
	}()
	if err := <-errc; err != nil {
		Remove(ns)
		return err
	}
	return nil
}

func createOnThread(ns Namespaces, hostname string) error {
	if err := unix.Unshare(unix.CLONE_NEWNET | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	if err := unix.Sethostname([]byte(hostname)); err != nil {
		return fmt.Errorf("sethostname %q: %w", hostname, err)
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	tid := unix.Gettid()
	for kind, p := range map[string]string{"net": ns.Net, "uts": ns.UTS, "ipc": ns.IPC} {
		src := fmt.Sprintf("/proc/self/task/%d/ns/%s", tid, kind)
		if err := unix.Mount(src, p, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s namespace to %s: %w", kind, p, err)
		}
	}
	return nil
}

// Remove unmounts and deletes the namespaces; missing ones are fine.
func Remove(ns Namespaces) error {
	var first error
	for _, p := range []string{ns.Net, ns.UTS, ns.IPC} {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT && first == nil {
			first = fmt.Errorf("unmount %s: %w", p, err)
		}
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) && first == nil {
			first = err
		}
	}
	return first
}

// mounted reports whether p is a namespace bind mount (an nsfs inode).
func mounted(p string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}

// Exists reports whether any of the namespaces is present.
func Exists(ns Namespaces) bool {
	for _, p := range []string{ns.Net, ns.UTS, ns.IPC} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}
