package cni

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/containernetworking/cni/libcni"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// detachTimeout bounds one CNI DEL (three plugins, each a few iptables
// calls; seconds under load).
const detachTimeout = 30 * time.Second

// Detach releases the pod's IP and removes its veth, masquerade rules and
// port mappings. It tolerates a namespace that is gone, or hidden under a
// later mount (see Remove), with detachWithoutNamespace.
//
// A DEL is never cut short by the caller's cancellation (a daemon
// stopping, a test's cleanup): a plugin killed half-way has removed a
// masquerade chain's rules but not the chain, and a stopping daemon
// does not ask again.
// It has its own bound instead.
func (n *Network) Detach(ctx context.Context, id, nsPath string, ports []PortMapping) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), detachTimeout)
	defer cancel()
	rt := n.runtimeConf(id, nsPath, ports)
	if !mounted(nsPath) {
		done, err := n.detachWithoutNamespace(rt)
		if err != nil {
			return fmt.Errorf("CNI del %s: %w", id, err)
		}
		defer done()
	}
	if err := n.cni.DelNetworkList(ctx, n.list, rt); err != nil {
		return fmt.Errorf("CNI del %s: %w", id, err)
	}
	return nil
}

// detachWithoutNamespace prepares the DEL of a pod whose namespace cannot
// be entered. A hidden namespace lives on, and its eth0, still holding
// the pod's IP, would answer ARP for the next pod given that IP: the host
// end of the veth is deleted here (that deletes both ends). Given no
// namespace, the bridge plugin would release the IP but keep its
// masquerade chain, which it finds from the addresses on eth0; the chain
// is named after the pod's id, so the next DEL of that id would fail on
// it for ever. So the DEL gets a stand-in namespace whose eth0 holds the
// pod's addresses from libcni's cached result, and the plugins undo what
// they did with their own code. done removes the stand-in.
func (n *Network) detachWithoutNamespace(rt *libcni.RuntimeConf) (done func(), err error) {
	rt.NetNS = ""
	done = func() {}
	res, err := n.cni.GetNetworkListCachedResult(n.list, rt)
	if err != nil || res == nil {
		return done, nil // nothing cached: the last DEL finished
	}
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return done, nil
	}
	for _, itf := range r.Interfaces {
		if itf.Sandbox != "" {
			continue
		}
		l, err := netlink.LinkByName(itf.Name)
		if err != nil || l.Type() != "veth" { // the bridge is listed too
			continue
		}
		if err := netlink.LinkDel(l); err != nil {
			return done, fmt.Errorf("delete veth %s: %w", itf.Name, err)
		}
	}
	var addrs []*net.IPNet
	for _, ip := range r.IPs {
		a := ip.Address
		addrs = append(addrs, &a)
	}
	if len(addrs) == 0 {
		return done, nil
	}
	p := filepath.Join(n.cfg.StateDir, "standin-"+rt.ContainerID)
	remove := func() {
		_ = unix.Unmount(p, unix.MNT_DETACH)
		_ = os.Remove(p)
	}
	remove() // a stand-in an interrupted Detach left
	if err := standIn(p, addrs); err != nil {
		remove()
		return done, fmt.Errorf("stand-in namespace: %w", err)
	}
	rt.NetNS = p
	return remove, nil
}

// standIn makes a network namespace bind-mounted at p with an eth0 that
// holds addrs.
func standIn(p string, addrs []*net.IPNet) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDONLY, 0o444)
	if err != nil {
		return err
	}
	f.Close()
	return onUnsharedThread(unix.CLONE_NEWNET, func(tid int) error {
		// A veth pair (not a dummy link: its module may be missing), both
		// ends in the stand-in; deleting eth0 deletes both.
		eth0 := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "standin"}
		if err := netlink.LinkAdd(eth0); err != nil {
			return fmt.Errorf("add eth0: %w", err)
		}
		for _, a := range addrs {
			if err := netlink.AddrAdd(eth0, &netlink.Addr{IPNet: a}); err != nil {
				return fmt.Errorf("add %s to eth0: %w", a, err)
			}
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", tid)
		if err := unix.Mount(src, p, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind network namespace to %s: %w", p, err)
		}
		return nil
	})
}
