package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	clog "github.com/containerd/log"

	"berth.dev/berth/nodes/containerd"
	"berth.dev/berth/nodes/gossip"
	"berth.dev/berth/reconciler/daemon"
)

// nodeFlags are the flags of every command that acts on this node.
type nodeFlags struct {
	cfg       daemon.Config
	insecure  string
	nodeIPs   string
	logFormat string
	logLevel  string
	lbPool    string
	policy    policyFlags
}

func (n *nodeFlags) register(fs *flag.FlagSet) {
	c := &n.cfg
	fs.StringVar(&c.Node, "node", "", "this node's name in the inventory (default: the host name)")
	fs.StringVar(&c.StateDir, "state-dir", daemon.DefaultStateDir, "berth's state directory")
	fs.StringVar(&c.RunDir, "run-dir", daemon.DefaultRunDir, "runtime directory (pod namespaces, the API socket)")
	fs.StringVar(&c.ContainerdAddress, "containerd-address", "", "containerd socket (default: the system one, or berth starts its own)")
	fs.StringVar(&c.ContainerdNamespace, "containerd-namespace", daemon.DefaultContainerdNamespace, "containerd namespace of berth's containers")
	fs.StringVar(&n.insecure, "insecure-registries", "127.0.0.1:5000,localhost:5000", "comma-separated registries reached over plain HTTP")
	fs.StringVar(&c.Bridge, "bridge", daemon.DefaultBridge, "pod network bridge")
	fs.StringVar(&c.PodCIDR, "pod-cidr", daemon.DefaultPodCIDR, "pod CIDR without a Node inventory")
	fs.StringVar(&c.ServiceCIDR, "service-cidr", daemon.DefaultServiceCIDR, "ClusterIP range")
	fs.StringVar(&n.lbPool, "load-balancer-pool", "", "comma-separated CIDRs for LoadBalancer Services without loadBalancerIP (with the Nodes' spec.loadBalancerPool)")
	fs.StringVar(&c.IPTables, "iptables", "", "iptables binary: iptables, iptables-nft or iptables-legacy")
	fs.StringVar(&c.ChainPrefix, "chain-prefix", daemon.DefaultChainPrefix, "prefix of berth's iptables chains")
	fs.StringVar(&n.nodeIPs, "node-ips", "", "comma-separated addresses that answer NodePorts (default: all)")
	fs.IntVar(&c.PeerPort, "peer-port", 10260, "UDP and TCP port where the nodes of an inventory gossip their ready pods, on their inventory addresses (0: off; traffic to other nodes then follows the schedule only)")
	fs.StringVar(&c.PeerKeyFile, "peer-key-file", "", "the nodes' shared gossip keys, one base64 key per line, the first one encrypting (required with an inventory; docs/multinode.md)")
	fs.DurationVar(&c.PeerInterval, "peer-interval", gossip.LAN().ProbeInterval, "how often a node probes another one (SWIM failure detection: a node that stops answering is declared failed after a few intervals)")
	fs.IntVar(&c.ImageGC.HighPercent, "image-gc-high-threshold", containerd.DefaultImageGC.HighPercent, "disk usage (percent) of the image filesystem above which unused images are removed (100: never)")
	fs.IntVar(&c.ImageGC.LowPercent, "image-gc-low-threshold", containerd.DefaultImageGC.LowPercent, "disk usage (percent) the image GC brings it down to")
	fs.DurationVar(&c.ImageGC.MinAge, "minimum-image-ttl-duration", containerd.DefaultImageGC.MinAge, "an image pulled or used more recently than this is never removed")
	fs.StringVar(&c.SeccompProfileRoot, "seccomp-profile-root", "", "directory of the seccomp profiles that securityContext.seccompProfile type Localhost names (default <state-dir>/seccomp)")
	fs.StringVar(&n.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&n.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	n.policy.register(fs)
}

// config is the daemon's Config from the flags; a --log-level or --log-format
// it does not know is an error, never a silent fallback.
func (n *nodeFlags) config() (daemon.Config, error) {
	c := n.cfg
	c.InsecureRegistries = splitList(n.insecure)
	c.NodeIPs = splitList(n.nodeIPs)
	c.LoadBalancerPool = splitList(n.lbPool)
	// The containerd client logs every failed pull attempt at info level
	// through its own logger; berth reports pulls itself.
	_ = clog.SetLevel("warn")
	var level slog.Level
	if err := level.UnmarshalText([]byte(n.logLevel)); err != nil {
		return c, fmt.Errorf("--log-level %q: use debug, info, warn or error", n.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch n.logFormat {
	case "json":
		c.Logger = slog.New(slog.NewJSONHandler(os.Stderr, opts))
	case "text":
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, opts))
	default:
		return c, fmt.Errorf("--log-format %q: use text or json", n.logFormat)
	}
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// apiFlag is the node API address flag of the client commands.
func apiFlag(fs *flag.FlagSet) (*string, *string) {
	addr := fs.String("api", daemon.DefaultAPISocket, "the daemon's API: its unix socket, or http://host:port")
	token := fs.String("token-file", "", "file with the bearer token for a TCP API")
	return addr, token
}

// readToken reads --token-file; a file that cannot be read is an error,
// never an empty token that the daemon would refuse without saying why.
func readToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
