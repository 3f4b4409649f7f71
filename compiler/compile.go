package compiler

import (
	"errors"
	"fmt"
	"slices"

	"berth.dev/berth/compiler/address"
	"berth.dev/berth/compiler/assemble"
	"berth.dev/berth/compiler/diag"
	"berth.dev/berth/compiler/immutable"
	"berth.dev/berth/compiler/load"
	"berth.dev/berth/compiler/nodepolicy"
	"berth.dev/berth/compiler/object"
	"berth.dev/berth/compiler/plan"
	"berth.dev/berth/compiler/render"
	"berth.dev/berth/compiler/schedule"
	"berth.dev/berth/schema"
)

// LocalNode is the implicit node of a repository without a berth.dev/v1
// Node inventory: its name and capacity (zero fields are unlimited).
type LocalNode = schedule.Local

// CompileOptions tune Compile. The embedded Options tune the front end.
type CompileOptions struct {
	Options
	// Revision names the plan (a commit hash); "" names it by content.
	Revision string
	// LocalNode is used when the repository has no Node inventory.
	LocalNode LocalNode
	// ServiceCIDR is where ClusterIPs come from (default 10.96.0.0/12).
	ServiceCIDR string
	// PodCIDR is split among the nodes (default 10.88.0.0/16).
	PodCIDR string
	// LoadBalancerPool adds to the Nodes' spec.loadBalancerPool: where
	// LoadBalancer Services without spec.loadBalancerIP get an address.
	LoadBalancerPool []string
	// NodePolicy, when set, is the policy of PolicyNode ("" every node):
	// a plan that breaks it is refused, and its Pod Security default
	// applies to namespaces without labels.
	NodePolicy *nodepolicy.Policy
	PolicyNode string
	// SecretKey keys the digests that stand for Secret values in the plan
	// and its hashes (--secret-key-file); nil is plan.DefaultSecretKey.
	SecretKey plan.SecretKey
	// OnLoad, when set, sees the documents CompilePaths loaded (plan
	// diffs name the chart or overlay each object came from).
	OnLoad func([]load.Document)
	// Cordoned are the nodes drained (berth node drain, plan --cordon):
	// no pod but a DaemonSet's is placed there. The plan is a function of
	// the commit and of them.
	Cordoned []string
	// Previous is the plan of the revision applied before (the daemon's
	// last, plan --base's base), when known: the immutable ConfigMaps and
	// Secrets it lists may not change (compiler/immutable).
	Previous *plan.Plan
}

// Compile turns one revision's documents into its plan: the front end
// (schemas, checks and admission: LimitRange defaults, quotas), then
// addresses, controller expansion, scheduling and endpoints. It refuses
// to return a plan when any diagnostic is an error (DESIGN.md, invariant
// 3: bad input never reaches a node); warnings come back with the plan.
func Compile(docs []load.Document, opts CompileOptions) (*plan.Plan, []diag.Diagnostic) {
	if opts.NodePolicy != nil && opts.PodSecurity == nil {
		opts.PodSecurity = &opts.NodePolicy.PodSecurity
	}
	set, diags := Front(docs, opts.Options)
	if opts.Previous != nil {
		diags = append(diags, immutable.Check(opts.Previous, set, opts.SecretKey)...)
		diag.Sort(diags)
	}
	if hasErrors(diags) {
		return nil, diags
	}
	p, more := assemble.Plan(set, assemble.Options{
		Revision:         opts.Revision,
		Local:            opts.LocalNode,
		ServiceCIDR:      opts.ServiceCIDR,
		PodCIDR:          opts.PodCIDR,
		LoadBalancerPool: opts.LoadBalancerPool,
		SecretKey:        opts.SecretKey,
		Cordoned:         opts.Cordoned,
	})
	diags = append(diags, more...)
	diag.Sort(diags)
	if hasErrors(diags) {
		return nil, diags
	}
	if immutable.HasImmutableSecret(p) {
		p.SecretKeyID = immutable.KeyID(opts.SecretKey)
	}
	if opts.NodePolicy != nil {
		diags = append(diags, nodepolicy.Check(set, p, opts.PolicyNode, *opts.NodePolicy)...)
		diag.Sort(diags)
		if hasErrors(diags) {
			return nil, diags
		}
	}
	return p, diags
}

// nodeRules are the rules of the plan's findings that depend on what
// only a node knows: the addresses it allocates from --service-cidr,
// --pod-cidr and --load-balancer-pool.
var nodeRules = []string{address.RuleClusterIP, address.RuleLoadBalancer, schedule.RulePodCIDR}

// lintPlan runs the plan's passes on the set the front end admitted, as
// Compile does, so that lint refuses what every node would refuse
// (DESIGN.md, invariant 8): controller expansion, volume binding, and
// placing the pods on the Node inventory. Without an inventory it does
// nothing: the one node is the machine that plans, whose name and size
// lint cannot know, and the front end has found the rest. The findings
// on addresses allocated from the node's flags are left to the plan.
func lintPlan(set *object.Set) []diag.Diagnostic {
	if len(set.ByKind("Node")) == 0 {
		return nil
	}
	_, ds := assemble.Plan(set, assemble.Options{Revision: "lint"})
	return slices.DeleteFunc(ds, func(d diag.Diagnostic) bool { return slices.Contains(nodeRules, d.Rule) })
}

// CompilePaths loads paths (files, directory trees, "-") and compiles
// them. The error is for what stops the run (a path that cannot be read);
// findings in the manifests are diagnostics.
func CompilePaths(paths []string, opts CompileOptions) (*plan.Plan, []diag.Diagnostic, error) {
	docs, diags, err := loadPaths(paths, &opts.Options)
	if err != nil {
		return nil, diags, err
	}
	if opts.OnLoad != nil {
		opts.OnLoad(docs)
	}
	if hasErrors(diags) {
		return nil, diags, nil
	}
	p, more := Compile(docs, opts)
	diags = append(diags, more...)
	diag.Sort(diags)
	return p, diags, nil
}

// Load reads paths (files, directory trees, "-") as lint and plan do,
// rendering kustomizations, charts and HelmReleases: the documents berth
// checks, for `berth render`. The error is for what stops the run.
func Load(paths []string, opts Options) ([]load.Document, []diag.Diagnostic, error) {
	docs, diags, err := loadPaths(paths, &opts)
	diag.Sort(diags)
	return docs, diags, err
}

// loadPaths loads paths (files, directory trees, "-") with opts, setting
// the built-in schemas when it has none. The error is for what stops the
// run: the schemas, or a path that cannot be read.
func loadPaths(paths []string, opts *Options) ([]load.Document, []diag.Diagnostic, error) {
	if opts.Schemas == nil {
		s, err := schema.Load()
		if err != nil {
			return nil, nil, fmt.Errorf("load the built-in schemas: %w", err)
		}
		opts.Schemas = s
	}
	docs, diags := load.Load(paths, load.Options{Workers: opts.Workers, Exclude: opts.Exclude, Stdin: opts.Stdin,
		Limits: opts.Limits, Context: opts.Context, Renderer: render.New(renderOptions(*opts))})
	var ioErrs []error
	for _, d := range diags {
		if d.Rule == load.RuleIO {
			ioErrs = append(ioErrs, fmt.Errorf("%s: %s", d.File, d.Message))
		}
	}
	if len(ioErrs) > 0 {
		return nil, diags, errors.Join(ioErrs...)
	}
	return docs, diags, nil
}

// renderOptions are opts.Render under the run's input budgets.
func renderOptions(opts Options) render.Options {
	ro := opts.Render
	ro.Budget = opts.Limits
	if ro.Context == nil {
		ro.Context = opts.Context
	}
	return ro
}

func hasErrors(ds []diag.Diagnostic) bool {
	errs, _ := diag.Count(ds)
	return errs > 0
}
