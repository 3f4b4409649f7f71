package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"berth.dev/berth/reconciler/daemon"
	"berth.dev/berth/reconciler/store"
)

// exitStateDamaged is the exit code of a daemon that refuses a damaged
// state store.
const exitStateDamaged = 3

func init() {
	register(&command{
		name:    "daemon",
		usage:   "[flags] (--repo URL | --watch DIR)",
		summary: "follow a Git repository (or a directory) and keep this node equal to its plan",
		run:     runDaemon,
	})
}

func runDaemon(e *env, args []string) int {
	fs := flag.NewFlagSet("daemon", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var nf nodeFlags
	nf.register(fs)
	c := &nf.cfg
	fs.StringVar(&c.Repo, "repo", "", "Git repository to follow: a path, file://, https://, ssh:// or user@host:path (no credentials in it: use --token-file)")
	fs.StringVar(&c.Branch, "branch", daemon.DefaultBranch, "branch to follow")
	fs.StringVar(&c.Path, "path", "", "sub-folder of the repository with the manifests")
	fs.StringVar(&c.WatchDir, "watch", "", "follow a plain directory instead of Git (local development)")
	fs.DurationVar(&c.Poll, "poll", 0, "how often to ask the repository for a new commit (default 30s)")
	fs.DurationVar(&c.Resync, "resync", daemon.DefaultResync, "how often the node is checked against its plan without a new commit, repairing drift")
	fs.StringVar(&c.Auth.TokenFile, "token-file", "", "file with an HTTPS access token")
	fs.StringVar(&c.Auth.UsernameFile, "username-file", "", "file with an HTTPS user name")
	fs.StringVar(&c.Auth.PasswordFile, "password-file", "", "file with an HTTPS password")
	fs.StringVar(&c.Auth.SSHKeyFile, "ssh-key", "", "private key for ssh:// and scp-style URLs")
	fs.StringVar(&c.Auth.KnownHostsFile, "known-hosts", "", "known_hosts file (host keys are always checked)")
	fs.StringVar(&c.Keyring, "require-signed-commits", "", "armored OpenPGP key ring, or SSH keys (allowed_signers): refuse commits not signed by one of its keys, and heads that do not descend from the applied commit")
	fs.BoolVar(&c.AllowNonFastForward, "allow-non-fast-forward", false, "with --require-signed-commits, accept a head that does not descend from the applied commit (a rollback)")
	budgetFlags(fs, &c.Limits)
	fs.StringVar(&c.WebhookSecretFile, "webhook-secret-file", "", "enable POST /hooks/git, checking signatures against this secret")
	fs.DurationVar(&c.DrainDelay, "drain-delay", 10*time.Second, "how long a node removed from the inventory keeps serving before it stops its pods")
	fs.StringVar(&c.API, "api", "", "unix socket of the node API (default <run-dir>/berth.sock)")
	fs.StringVar(&c.APIAddr, "api-addr", "", "also serve the API (and the webhook, /metrics) on this TCP address")
	fs.StringVar(&c.APITokenFile, "api-token-file", "", "bearer token required on the TCP API (without it, a non-loopback --api-addr serves only /hooks/git, /healthz and /readyz)")
	fs.StringVar(&c.APITLSCert, "api-tls-cert", "", "serve the TCP API over HTTPS with this PEM certificate (chain)")
	fs.StringVar(&c.APITLSKey, "api-tls-key", "", "the PEM private key of --api-tls-cert")
	fs.StringVar(&c.APITLSClientCA, "api-tls-client-ca", "", "also require TCP clients to present a certificate signed by a CA in this PEM file")
	notifyFiles := operateFlags(fs, c)
	fs.BoolVar(&c.ClusterDNS, "cluster-dns", true, "serve cluster DNS (<svc>.<ns>.svc.<domain>) on the pod bridge's address and give pods a resolv.conf pointing at it; false: pods use the host's resolvers")
	fs.StringVar(&c.ClusterDomain, "cluster-domain", "cluster.local", "the cluster DNS domain")
	dnsUpstreams := fs.String("dns-upstream", "", "comma-separated resolvers (host:port) the cluster DNS asks for every other name (default: the nameservers of /etc/resolv.conf)")
	fs.BoolVar(&c.ResetState, "reset-state", false, "if the state store is damaged, move it aside (reconciler.db.corrupt-<time>) and start with an empty one; finished Jobs may run again")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: berth daemon [flags] (--repo URL | --watch DIR)\n\n"+
			"Follows a Git repository: every new commit on the branch is linted and\n"+
			"compiled; a good one is applied to this node, a bad one is refused and the\n"+
			"node keeps its last good revision. Pods and service rules keep running\n"+
			"while the daemon is stopped.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		// A flag missing its value stops flag parsing: say so rather than
		// run without the flags that followed.
		fmt.Fprintf(e.stderr, "berth daemon: unexpected argument %q (every setting is a flag; did a flag miss its value?)\n", fs.Arg(0))
		return exitUsage
	}
	pol, err := nf.policy.resolve()
	if err != nil {
		fmt.Fprintf(e.stderr, "berth daemon: %v\n", err)
		return exitUsage
	}
	nf.cfg.NodePolicy = &pol
	nf.cfg.SecretKeyFile = nf.policy.secretKeyFile
	if err := readNotifyFiles(&nf.cfg, *notifyFiles); err != nil {
		fmt.Fprintf(e.stderr, "berth daemon: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg, err := nf.config()
	if err != nil {
		fmt.Fprintf(e.stderr, "berth daemon: %v\n", err)
		return exitUsage
	}
	cfg.DNSUpstreams = splitList(*dnsUpstreams)
	if err := daemon.Run(ctx, cfg); err != nil {
		fmt.Fprintf(e.stderr, "berth daemon: %v\n", err)
		if errors.As(err, new(*store.CorruptError)) {
			// contrib/systemd/berth.service does not restart on it: a
			// person must choose (see the message).
			return exitStateDamaged
		}
		return 1
	}
	return exitOK
}
