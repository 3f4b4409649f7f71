package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"berth.dev/berth/compiler"
	"berth.dev/berth/compiler/api"
	"berth.dev/berth/compiler/budget"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/nodepolicy"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/plandiff"
	"berth.dev/berth/compiler/render"
	"berth.dev/berth/reconciler/daemon"
	"berth.dev/berth/reconciler/source"
)

func init() {
	register(&command{
		name:    "plan",
		usage:   "[flags] [PATH]",
		summary: "compile manifests into the execution plan, or preview what a change does",
		run:     runPlan,
	})
}

// exitChanges is --detailed-exitcode's "the plan differs from the base".
const exitChanges = 2

func runPlan(e *env, args []string) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	host, _ := os.Hostname()
	var (
		output      = fs.String("o", "text", "output format: "+strings.Join(plandiff.Formats, ", ")+" (json without a base: the full plan)")
		node        = fs.String("node", "", "show only this node's part; also the name of the implicit node when the repository has no Node inventory (default: the host name)")
		base        = fs.String("base", "", "compare with this Git revision of the repository containing PATH (read with go-git; the work tree is not touched)")
		baseDir     = fs.String("base-dir", "", "compare with the manifests in this directory")
		detailed    = fs.Bool("detailed-exitcode", false, "exit 0 when nothing changes, 1 on error, 2 when the plan changes")
		revision    = fs.String("revision", "", "name of the plan (default: the content hash)")
		serviceCIDR = fs.String("service-cidr", "", "ClusterIP range (default 10.96.0.0/12)")
		podCIDR     = fs.String("pod-cidr", "", "pod address range split among nodes (default 10.88.0.0/16)")
		lbPool      = fs.String("load-balancer-pool", "", "comma-separated CIDRs for LoadBalancer Services without loadBalancerIP (with the Nodes' spec.loadBalancerPool)")
		capacity    = fs.String("capacity", "", "capacity of the implicit node, e.g. cpu=4,memory=8Gi,pods=110 (default: this machine's)")
		workers     = fs.Int("j", 0, "parallel workers (0: one per CPU); the output does not depend on it")
		keyFile     = fs.String("secret-key-file", "", "the repository's key for the digests of Secret values (as the nodes use; default: a public key)")
		policyFile  = fs.String("node-policy", "", "check the plan against this node policy file (as `berth daemon --node-policy` reads it), for the --node node or every node")
		cordon      = fs.String("cordon", "", "comma-separated nodes drained (berth node drain): no pod but a DaemonSet's is placed there, as the nodes plan while they are drained")
		baseCordon  = fs.String("base-cordon", "", "the nodes drained in the base (with --base or --base-dir); compare with --cordon to preview a drain")
		cache       = chartCacheFlag(fs)
		limits      budget.Limits
	)
	budgetFlags(fs, &limits)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: berth plan [flags] [PATH]\n\n"+
			"Compiles the manifests in PATH (default: the current directory) into the\n"+
			"execution plan and prints it. With --base or --base-dir, prints what\n"+
			"changes from that revision instead: per object and per node, + create,\n"+
			"~ update, - delete, how rollouts proceed, and a summary line.\n"+
			"Secret values never appear in any format.\n"+
			"Exit status: 0 success, 1 errors in the input, 2 usage or IO error;\n"+
			"with --detailed-exitcode: 0 no changes, 1 error, 2 changes.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(e.stderr, "berth plan: "+format+"\n", args...)
		if *detailed && code != exitOK {
			return exitFindings
		}
		return code
	}
	if fs.NArg() > 1 {
		return fail(exitUsage, "takes at most one PATH, got %d", fs.NArg())
	}
	if *base != "" && *baseDir != "" {
		return fail(exitUsage, "--base and --base-dir are exclusive")
	}
	if _, err := plandiff.RendererFor(*output); err != nil {
		return fail(exitUsage, "%v", err)
	}
	path := "."
	if fs.NArg() == 1 {
		path = fs.Arg(0)
	}
	local := compiler.LocalNode{Name: *node}
	if local.Name == "" {
		local.Name = host
	}
	var err error
	if *capacity != "" {
		local.Capacity, err = parseCapacity(*capacity)
		if err != nil {
			return fail(exitUsage, "--capacity: %v", err)
		}
	} else {
		local.Capacity = daemon.MachineCapacity()
	}
	opts := compiler.CompileOptions{
		Options:          compiler.Options{Workers: *workers, Stdin: e.stdin, Limits: limits, Render: render.Options{ChartCache: *cache}},
		Revision:         *revision,
		LocalNode:        local,
		ServiceCIDR:      *serviceCIDR,
		PodCIDR:          *podCIDR,
		LoadBalancerPool: splitList(*lbPool),
		Cordoned:         splitList(*baseCordon),
	}

	if *keyFile != "" {
		if opts.SecretKey, err = plan.ReadSecretKey(*keyFile); err != nil {
			return fail(exitUsage, "--secret-key-file: %v", err)
		}
	}
	if *policyFile != "" {
		pol, err := nodepolicy.Load(*policyFile)
		if err != nil {
			return fail(exitUsage, "--node-policy: %v", err)
		}
		opts.NodePolicy, opts.PolicyNode = &pol, *node
	}

	sources := map[string]string{}
	opts.OnLoad = func(docs []load.Document) {
		for k, v := range render.Origins(docs) {
			sources[k] = v
		}
	}
	headOpts := opts
	headOpts.Cordoned = splitList(*cordon)
	if *base == "" && *baseDir == "" {
		head, code := compilePath(e, []string{path}, headOpts, "")
		if head == nil {
			return fail(code, "%s has errors; nothing is planned", path)
		}
		return writePlan(e, head, *output, *node, *workers, fail)
	}

	// The base is compiled first: the head must keep its immutable
	// ConfigMaps and Secrets as they are (compiler/immutable).
	var old *plan.Plan
	var code int
	if *baseDir != "" {
		opts.Revision = ""
		old, code = compilePath(e, []string{*baseDir}, opts, "base "+*baseDir+": ")
	} else {
		var dir, sub, display, commit string
		dir, sub, display, commit, err = checkout(path, *base, limits)
		if err != nil {
			return fail(exitUsage, "--base %s: %v", *base, err)
		}
		defer os.RemoveAll(dir)
		opts.Revision = commit
		// The whole tree is there, so overlays and HelmReleases reach
		// bases and charts outside PATH, as they do in the work tree.
		opts.Render.Root = dir
		// The head names what rendered an object; the base adds the
		// objects it alone has, with its paths shown as the head's.
		opts.OnLoad = func(docs []load.Document) {
			for k, v := range render.Origins(docs) {
				if _, ok := sources[k]; !ok {
					sources[k] = strings.ReplaceAll(v, sub+string(filepath.Separator), display+string(filepath.Separator))
				}
			}
		}
		old, code = compileTree(e, []string{sub}, display, opts, "base "+*base+": ")
	}
	if old == nil {
		return fail(code, "the base has errors; nothing to compare with")
	}
	headOpts.Previous = old
	head, code := compilePath(e, []string{path}, headOpts, "")
	if head == nil {
		return fail(code, "%s has errors; nothing is planned", path)
	}
	d := plandiff.Compare(old, head)
	d.SetSources(sources)
	if *node != "" {
		d = onlyNode(d, *node)
	}
	r, _ := plandiff.RendererFor(*output)
	if err := r.Render(e.stdout, d); err != nil {
		return fail(exitUsage, "write: %v", err)
	}
	if *detailed && !d.Empty() {
		return exitChanges
	}
	return exitOK
}

// compilePath compiles paths, printing diagnostics (prefixed) as lint's
// text format does. It returns the plan, or nil and the exit code.
func compilePath(e *env, paths []string, opts compiler.CompileOptions, prefix string) (*plan.Plan, int) {
	return compileTree(e, paths, "", opts, prefix)
}

// compileTree compiles paths; with display, the files of the checked-out
// tree paths[0] show under the path the user named.
func compileTree(e *env, paths []string, display string, opts compiler.CompileOptions, prefix string) (*plan.Plan, int) {
	p, diags, err := compiler.CompilePaths(paths, opts)
	if display != "" {
		for i := range diags {
			if rel, rerr := filepath.Rel(paths[0], diags[i].File); rerr == nil && !strings.HasPrefix(rel, "..") {
				diags[i].File = filepath.Join(display, rel)
			}
		}
	}
	printDiags(e.stderr, diags, prefix)
	if err != nil {
		fmt.Fprintf(e.stderr, "berth plan: %s%v\n", prefix, err)
		return nil, exitUsage
	}
	if p == nil {
		return nil, exitFindings
	}
	return p, exitOK
}

func printDiags(w io.Writer, diags []diag.Diagnostic, prefix string) {
	bw := bufio.NewWriter(w)
	for _, d := range diags {
		fmt.Fprintf(bw, "%s%s\n", prefix, d)
	}
	if errs, warns := diag.Count(diags); errs+warns > 0 {
		fmt.Fprintf(bw, "%s%d errors, %d warnings\n", prefix, errs, warns)
	}
	bw.Flush()
}

func writePlan(e *env, p *plan.Plan, output, node string, workers int, fail func(int, string, ...any) int) int {
	if node != "" {
		np, err := p.NodePlan(node)
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		p.Nodes = []plan.NodePlan{*np}
	}
	var err error
	switch output {
	case "json":
		err = plan.WriteJSON(e.stdout, p, workers)
	case "markdown", "md":
		err = plandiff.Markdown{MaxFields: 20}.Render(e.stdout, plandiff.Compare(nil, p))
	default:
		err = plandiff.WritePlan(e.stdout, p, node)
	}
	if err != nil {
		return fail(exitUsage, "write: %v", err)
	}
	return exitOK
}

// onlyNode keeps the object changes and the pod line of one node.
func onlyNode(d *plandiff.Diff, node string) *plandiff.Diff {
	out := *d
	out.Nodes = nil
	for _, n := range d.Nodes {
		if n.Node == node {
			out.Nodes = append(out.Nodes, n)
		}
	}
	return &out
}

// checkout writes the files of the Git repository containing path, at
// revision rev, into a new temporary directory (source.ExtractCommit,
// the daemon's own extraction). It returns the directory, where path is
// in it (sub), the path to show files under, and the commit.
func checkout(path, rev string, limits budget.Limits) (dir, sub, display, commit string, err error) {
	dir, sub, commit, err = source.ExtractCommit(path, rev, limits)
	if err != nil {
		return "", "", "", "", err
	}
	display = path
	if info, serr := os.Stat(path); serr == nil && !info.IsDir() {
		display = filepath.Dir(path)
	}
	return dir, sub, filepath.Clean(display), commit, nil
}

// parseCapacity reads cpu=4,memory=8Gi,pods=110.
func parseCapacity(s string) (plan.Resources, error) {
	var r plan.Resources
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return r, fmt.Errorf("%q is not key=value (keys: cpu, memory, pods)", kv)
		}
		q, err := api.ParseQuantity(v)
		if err != nil {
			return r, fmt.Errorf("%s: %w", k, err)
		}
		switch k {
		case "cpu":
			r.MilliCPU = q.MilliValue()
		case "memory":
			r.Memory = q.Value()
		case "pods":
			r.Pods = q.Value()
		default:
			return r, fmt.Errorf("unknown resource %q (keys: cpu, memory, pods)", k)
		}
	}
	return r, nil
}
