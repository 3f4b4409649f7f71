package daemon

import (
	"berth.dev/berth/compiler/address"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/nodes/containerd"
	"berth.dev/berth/nodes/iptables"
	"berth.dev/berth/reconciler"
	"berth.dev/berth/reconciler/source"
)

// The defaults of Config, in one place (kube-proxy's defaults.go is the
// model): the CLI shows them as its flags' defaults, and Config.defaults
// fills them into a Config built without flags. Each value is declared
// once, by the package that uses it; these name them for the daemon.
const (
	DefaultStateDir            = containerd.DefaultStateDir
	DefaultRunDir              = containerd.DefaultRunDir
	DefaultAPISocket           = DefaultRunDir + "/berth.sock"
	DefaultBranch              = source.DefaultBranch
	DefaultContainerdNamespace = containerd.DefaultNamespace
	DefaultBridge              = containerd.DefaultBridge
	DefaultPodCIDR             = plan.DefaultPodCIDR
	DefaultServiceCIDR         = address.DefaultServiceCIDR
	DefaultChainPrefix         = iptables.DefaultChainPrefix
	DefaultResync              = reconciler.DefaultResync
)
