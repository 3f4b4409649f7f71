package iptables

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"time"

	goipt "github.com/coreos/go-iptables/iptables"
	"github.com/vishvananda/netlink"

	"berth.dev/berth/nodes"
)

// ExecFunc runs a program with stdin and returns its stdout. The Router
// runs iptables-restore and iptables-save through it (tests count calls
// or run them in another network namespace).
type ExecFunc func(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)

// Options configure a Router. The zero value (plus a prefix) routes for
// every local address with the system's default iptables backend.
type Options struct {
	// IPTables is the iptables binary: "iptables" (default: the system's
	// backend), "iptables-nft" or "iptables-legacy", or a path. Its
	// -restore and -save siblings are used for the chains.
	IPTables string
	// NodeIPs answer NodePorts; empty means every local address.
	NodeIPs []string
	// LocalhostNodePorts answers NodePorts on 127.0.0.1 too; the Router
	// then sets net.ipv4.conf.all.route_localnet=1, without which the
	// kernel drops DNATed packets with a loopback source.
	LocalhostNodePorts bool
	// ChainPrefix names the chains (default DefaultChainPrefix); see
	// ValidPrefix.
	ChainPrefix string
	// PodCIDR is this node's pod subnet: forwarding from and to it is
	// accepted (BERTH-FORWARD), so pods work on hosts whose FORWARD
	// policy is DROP, as a CNI network plugin such as flannel does.
	PodCIDR string
	// MasqueradeMark is the mark bit asking for masquerade (default 0x4000,
	// kube-proxy's).
	MasqueradeMark uint32
	// AllowMark is the mark bit NetworkPolicy chains use within one
	// packet's check (default 0x40000).
	AllowMark uint32
	// NoSysctls leaves net.* sysctls alone (route_localnet,
	// bridge-nf-call-iptables); the caller manages them.
	NoSysctls bool
	// Logger receives warnings and sync summaries (default: discard).
	Logger *slog.Logger
	// Exec runs iptables-restore and iptables-save (default: os/exec).
	Exec ExecFunc
	// OnSync, when set, is called after every Sync that did work (metrics).
	OnSync func(SyncStats)
}

// SyncStats describes one sync, for metrics and benchmarks.
type SyncStats struct {
	Full           bool          // read the live rules first (start, after a failure or drift)
	Chains, Rules  int           // size of the whole desired ruleset
	Written        int           // chains rewritten
	Deleted        int           // chains removed
	Bytes          int           // size of the iptables-restore input
	Render         time.Duration // routes → ruleset
	Restore        time.Duration // the iptables-restore exec
	Total          time.Duration
	RestoreSkipped bool // nothing changed: no exec
	Restores       int  // iptables-restore execs (more than one only for a large first sync)
	// ConntrackDeleted counts stale UDP flows removed after the sync.
	ConntrackDeleted int
	// PolicyRules counts the NetworkPolicy rules (included in Rules).
	PolicyRules int
}

// nftRestoreRules bounds one iptables-nft-restore transaction; see
// RestoreTexts. Partial syncs stay far below it, and so stay atomic.
// iptables-legacy-restore replaces the whole table per transaction, so
// there one transaction of any size is cheapest.
var nftRestoreRules = 5000

// DefaultChainPrefix names berth's chains when Options.ChainPrefix is
// empty (berth's --chain-prefix default).
const DefaultChainPrefix = "BERTH"

// Router programs service routes into iptables. It is safe for concurrent
// use; calls are serialized.
type Router struct {
	cfg        Config
	names      names
	ipt        *goipt.IPTables
	restoreBin string
	saveBin    string
	exec       ExecFunc
	log        *slog.Logger
	onSync     func(SyncStats)
	sysctls    bool
	nft        bool // nf_tables backend
	maxRules   int  // per iptables-restore transaction

	rr *renderer
	// conntrack deletes stale UDP flows (nil: never; unit tests).
	conntrack func([]*netlink.ConntrackFilter) (uint, error)

	mu sync.Mutex
	// The last rendered state: services' fragments (by key and in key
	// order) and the shared chains. synced says whether it is also what
	// iptables holds; when not (start, failure, drift) the next write
	// starts from the live rules.
	order    []*fragment
	shared   Ruleset
	synced   bool
	lastWarn string
	// fw is the firewall of the last SyncAll, which Sync keeps.
	fw nodes.Firewall
}

// New checks the iptables binaries and returns a Router. It changes
// nothing on the node until the first Sync.
func New(opts Options) (*Router, error) {
	prefix := opts.ChainPrefix
	if prefix == "" {
		prefix = DefaultChainPrefix
	}
	if !ValidPrefix(prefix) {
		return nil, fmt.Errorf("iptables: chain prefix %q: use 1-10 upper-case letters and digits, starting with a letter", prefix)
	}
	bin := opts.IPTables
	if bin == "" {
		bin = "iptables"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("iptables: %s not found (install the iptables package): %w", bin, err)
	}
	restore, err := exec.LookPath(bin + "-restore")
	if err != nil {
		return nil, fmt.Errorf("iptables: %s-restore not found (install the iptables package): %w", bin, err)
	}
	save, err := exec.LookPath(bin + "-save")
	if err != nil {
		return nil, fmt.Errorf("iptables: %s-save not found (install the iptables package): %w", bin, err)
	}
	ipt, err := goipt.New(goipt.Path(path), goipt.Timeout(5))
	if err != nil {
		return nil, fmt.Errorf("iptables: %s: %w", path, err)
	}
	version, err := exec.Command(path, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("iptables: %s --version: %w", path, err)
	}
	nft := strings.Contains(string(version), "nf_tables")
	cfg := Config{Prefix: prefix, LocalhostNodePorts: opts.LocalhostNodePorts, MasqMark: opts.MasqueradeMark, AllowMark: opts.AllowMark}
	if opts.PodCIDR != "" {
		p, err := netip.ParsePrefix(opts.PodCIDR)
		if err != nil || !p.Addr().Is4() {
			return nil, fmt.Errorf("iptables: pod CIDR %q is not an IPv4 prefix", opts.PodCIDR)
		}
		cfg.PodCIDR = p.Masked()
	}
	if cfg.MasqMark == 0 {
		cfg.MasqMark = 0x4000
	}
	if cfg.AllowMark == 0 {
		cfg.AllowMark = 0x40000
	}
	if cfg.AllowMark == cfg.MasqMark {
		return nil, fmt.Errorf("iptables: the allow mark and the masquerade mark are both %#x", cfg.AllowMark)
	}
	for _, s := range opts.NodeIPs {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("iptables: node IP %q is not an IPv4 address", s)
		}
		if a.IsLoopback() {
			cfg.LocalhostNodePorts = true
			continue
		}
		cfg.NodeIPs = append(cfg.NodeIPs, a)
	}
	if len(cfg.NodeIPs) == 0 && len(opts.NodeIPs) > 0 {
		// Only loopback was given: answer on 127.0.0.1 alone, not on
		// every local address.
		cfg.NodeIPs = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	}
	r := &Router{
		cfg: cfg, names: newNames(prefix), ipt: ipt, rr: newRenderer(cfg),
		restoreBin: restore, saveBin: save,
		exec: opts.Exec, log: opts.Logger, onSync: opts.OnSync,
		sysctls:   !opts.NoSysctls,
		nft:       nft,
		conntrack: clearConntrack,
		maxRules:  math.MaxInt,
	}
	if nft {
		r.maxRules = nftRestoreRules
	}
	if r.exec == nil {
		r.exec = runCommand
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

func runCommand(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Sync makes the node route exactly routes. It re-renders only services
// whose route changed and rewrites only the chains whose rules changed
// (plus their dispatch chains) in one iptables-restore; when nothing
// changed it execs nothing. The first sync, a sync after a failure and a
// sync after Check found drift start from the live rules instead.
func (r *Router) Sync(ctx context.Context, routes []nodes.ServiceRoute) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sync(ctx, routes, r.fw)
}

// SyncAll is Sync with the NetworkPolicies this node enforces, rendered
// into the same iptables-restore as the services (policy.go): a policy
// change writes only the chains that changed.
func (r *Router) SyncAll(ctx context.Context, routes []nodes.ServiceRoute, fw nodes.Firewall) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.sync(ctx, routes, fw)
	if err == nil && len(fw.Pods) > 0 {
		err = bridgeFiltered()
	}
	return err
}

func (r *Router) sync(ctx context.Context, routes []nodes.ServiceRoute, fw nodes.Firewall) error {
	r.fw = fw
	start := time.Now()
	order, warns := r.rr.fragments(routes, r.order)
	shared := r.rr.dispatch(order)
	warns = append(warns, r.rr.policy(&r.fw, shared)...)
	if w := strings.Join(warns, "\n"); w != r.lastWarn {
		for _, m := range warns {
			r.log.Warn("service route skipped", "reason", m)
		}
		r.lastWarn = w
	}
	st := SyncStats{Render: time.Since(start), Chains: shared.Chains()}
	for _, f := range order {
		st.Chains += len(f.chains)
		st.Rules += f.rules
	}
	st.Rules += shared.Rules()
	for name, rules := range shared[TableFilter] {
		if strings.Contains(name, "-NP") || name == r.names.netpol {
			st.PolicyRules += strings.Count(rules, "\n")
		}
	}

	// UDP flows to change once the rules did (not after a restart: the
	// flows are older than berth's memory, and still right).
	var stale []*netlink.ConntrackFilter
	if r.shared != nil && r.conntrack != nil {
		pairs(r.order, order, func(old, cur *fragment) { stale = append(stale, staleUDP(old, cur)...) })
	}

	var err error
	if r.synced {
		want, have := r.changed(order, shared)
		if err = r.write(ctx, want, have, &st); err != nil {
			r.log.Warn("partial iptables sync failed; retrying from the live rules", "err", err)
			r.synced = false
		}
	}
	r.order, r.shared = order, shared
	if !r.synced {
		err = r.full(ctx, &st)
	}
	if err == nil && len(stale) > 0 {
		if n, cerr := r.conntrack(stale); cerr != nil {
			r.log.Warn("clear stale UDP conntrack entries", "err", cerr)
		} else {
			st.ConntrackDeleted = int(n)
		}
	}
	st.Total = time.Since(start)
	if r.onSync != nil {
		r.onSync(st)
	}
	return err
}

// changed returns the chains of services whose fragment changed since the
// last sync (as rendered now, and as rendered then) plus the shared chains:
// everything a partial sync has to compare, and nothing else.
func (r *Router) changed(order []*fragment, shared Ruleset) (want, have Ruleset) {
	want = Ruleset{TableNAT: {}, TableFilter: shared[TableFilter]}
	have = Ruleset{TableNAT: {}, TableFilter: r.shared[TableFilter]}
	for name, rules := range shared[TableNAT] {
		want[TableNAT][name] = rules
	}
	for name, rules := range r.shared[TableNAT] {
		have[TableNAT][name] = rules
	}
	pairs(r.order, order, func(old, cur *fragment) {
		for _, c := range cur.chainsOrNil() {
			want[TableNAT][c.name] = c.rules
		}
		for _, c := range old.chainsOrNil() {
			have[TableNAT][c.name] = c.rules
		}
	})
	return want, have
}

// full writes the last rendered state against the live rules, then makes
// sure of the sysctls and the jump rules.
func (r *Router) full(ctx context.Context, st *SyncStats) error {
	st.Full = true
	live, err := r.readLive(ctx)
	if err != nil {
		return err
	}
	desired := r.rr.ruleset(r.order, r.shared)
	if !r.nft {
		// Every iptables-legacy command copies the whole table in and
		// out of the kernel: add the jump rules while the table is still
		// small, into the (empty, or live) target chains.
		if err := r.createTargets(ctx, live); err != nil {
			return err
		}
		if err := r.ensureJumps(); err != nil {
			return err
		}
	}
	if err := r.write(ctx, desired, live, st); err != nil {
		return err
	}
	if r.sysctls {
		r.ensureSysctls()
	}
	// On nf_tables, jumps added last keep the chains unreachable from the
	// hooks while they are written in several transactions, so the
	// kernel does not re-validate the growing graph at every commit.
	if r.nft {
		if err := r.ensureJumps(); err != nil {
			return err
		}
	}
	r.synced = true
	r.log.Info("iptables full sync", "chains", st.Chains, "rules", st.Rules, "written", st.Written, "deleted", st.Deleted)
	return nil
}

func (r *Router) write(ctx context.Context, desired, current Ruleset, st *SyncStats) error {
	d := Diff(desired, current)
	st.Written, st.Deleted, st.Bytes, st.Restores, st.RestoreSkipped = 0, 0, 0, 0, false
	for _, t := range tables {
		st.Written += len(d.Write[t])
		st.Deleted += len(d.Delete[t])
	}
	if d.Empty() {
		st.RestoreSkipped = true
		return nil
	}
	t0 := time.Now()
	defer func() { st.Restore = time.Since(t0) }()
	texts := RestoreTexts(d, desired, current, r.maxRules)
	for i, text := range texts {
		st.Bytes += len(text)
		st.Restores++
		if _, err := r.exec(ctx, text, r.restoreBin, "-w", "--noflush"); err != nil {
			return fmt.Errorf("iptables: restore %d chains, delete %d (step %d of %d): %w", st.Written, st.Deleted, i+1, len(texts), err)
		}
	}
	return nil
}

// readLive returns berth's chains as iptables-save shows them now.
func (r *Router) readLive(ctx context.Context) (Ruleset, error) {
	rs := Ruleset{}
	for _, t := range tables {
		out, err := r.exec(ctx, nil, r.saveBin, "-t", t)
		if err != nil {
			return nil, fmt.Errorf("iptables: read table %s: %w", t, err)
		}
		rs[t] = ParseSave(out, r.cfg.Prefix)
	}
	return rs, nil
}
