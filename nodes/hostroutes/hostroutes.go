// Package hostroutes is the driver of a node's host-gw routes: a route
// to every other node's pod CIDR via that node's address, so pods reach
// pods on other nodes by IP. The daemon says which routes it wants; this
// package adds them with netlink, marked as berth's, and removes only
// those it added.
package hostroutes

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/vishvananda/netlink"
)

// Protocol marks the routes berth adds (rtnetlink protocol numbers
// above 4 are free for routing daemons), so that it never touches a route
// it did not add.
const Protocol = netlink.RouteProtocol(0xbe)

// routesFile is, in the state directory, the routes this instance added.
// Several berth instances can share a host (other --state-dir and
// --chain-prefix, as the tests and the demo run them) and all mark their
// routes with Protocol: each one removes only those on its own list.
const routesFile = "routes.json"

// Routes keeps the host routes of one berth instance, listed in its
// state directory.
type Routes struct {
	mu   sync.Mutex
	file string
}

// New returns the routes of the instance whose state directory is
// stateDir. It changes nothing until Sync.
func New(stateDir string) *Routes {
	return &Routes{file: filepath.Join(stateDir, routesFile)}
}

// Sync makes the instance's routes exactly want (pod CIDR -> gateway):
// it adds or replaces those of want, and removes the others it added.
func (h *Routes) Sync(want map[string]string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	owned, err := readOwnedRoutes(h.file)
	if err != nil {
		return err
	}
	// Write ahead: a route is on the list before it exists.
	all := map[string]string{}
	for _, m := range []map[string]string{owned, want} {
		for k, v := range m {
			all[k] = v
		}
	}
	if err := writeOwnedRoutes(h.file, all); err != nil {
		return err
	}
	existing, err := ownRoutes(owned)
	if err != nil {
		return err
	}
	for _, r := range existing {
		if want[r.Dst.String()] != r.Gw.String() {
			if err := netlink.RouteDel(&r); err != nil {
				return fmt.Errorf("remove route %s: %w", r.Dst, err)
			}
		}
	}
	for cidr, gw := range want {
		_, dst, err := net.ParseCIDR(cidr)
		if err != nil {
			return fmt.Errorf("pod CIDR %q: %w", cidr, err)
		}
		if err := netlink.RouteReplace(&netlink.Route{Dst: dst, Gw: net.ParseIP(gw), Protocol: Protocol}); err != nil {
			return fmt.Errorf("route %s via %s: %w (is %s on a directly connected network?)", cidr, gw, err, gw)
		}
	}
	return writeOwnedRoutes(h.file, want)
}

// ownRoutes lists the routes with berth's protocol that are on owned.
func ownRoutes(owned map[string]string) ([]netlink.Route, error) {
	existing, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: Protocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	var out []netlink.Route
	for _, r := range existing {
		if r.Dst != nil && r.Gw != nil && owned[r.Dst.String()] == r.Gw.String() {
			out = append(out, r)
		}
	}
	return out, nil
}

// Remove deletes the routes the instance whose state directory is
// stateDir added (berth cleanup), and its list.
func Remove(stateDir string) error {
	file := filepath.Join(stateDir, routesFile)
	owned, err := readOwnedRoutes(file)
	if err != nil {
		return err
	}
	existing, err := ownRoutes(owned)
	if err != nil {
		return err
	}
	for _, r := range existing {
		if err := netlink.RouteDel(&r); err != nil {
			return fmt.Errorf("remove route %s: %w", r.Dst, err)
		}
	}
	if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func readOwnedRoutes(file string) (map[string]string, error) {
	owned := map[string]string{}
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return owned, nil
	}
	if err != nil {
		return nil, fmt.Errorf("routes this node added: %w", err)
	}
	if err := json.Unmarshal(b, &owned); err != nil {
		return nil, fmt.Errorf("routes this node added: %s: %w (delete the file and the routes of protocol %d that are yours)", file, err, Protocol)
	}
	return owned, nil
}

func writeOwnedRoutes(file string, owned map[string]string) error {
	b, err := json.MarshalIndent(owned, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("routes this node added: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return fmt.Errorf("routes this node added: %w", err)
	}
	return nil
}
