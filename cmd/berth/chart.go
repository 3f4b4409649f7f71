package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"berth.dev/berth/compiler"
	"berth.dev/berth/compiler/render"
	"berth.dev/berth/reconciler/charts"
)

func init() {
	register(&command{
		name:    "chart",
		usage:   "pull [flags] [PATH...]",
		summary: "fetch the charts HelmReleases name from outside the repository into the chart cache",
		run:     runChart,
	})
}

func runChart(e *env, args []string) int {
	if len(args) == 0 || args[0] != "pull" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			args = []string{"pull", "-h"}
		} else {
			fmt.Fprintf(e.stderr, "usage: berth chart pull [flags] [PATH...]\n")
			return exitUsage
		}
	}
	fs := flag.NewFlagSet("chart pull", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var (
		cache    = chartCacheFlag(fs)
		insecure = fs.String("insecure-registries", "127.0.0.1:5000", "comma-separated OCI registries spoken to over plain HTTP")
		regConf  string
	)
	registryConfigFlag(fs, &regConf, " (default $HELM_REGISTRY_CONFIG, else Helm's ~/.config/helm/registry/config.json when it exists)")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: berth chart pull [flags] [PATH...]\n\n"+
			"Fetches every chart that a berth.dev/v1 HelmRelease under PATH (default: the\n"+
			"current directory) names from a Helm repository or an OCI registry, checks it\n"+
			"against the digest the HelmRelease pins, and keeps it in the chart cache, so\n"+
			"that lint, plan and render work offline. The daemon fetches charts itself.\n"+
			"Exit status: 0 success, 1 a chart could not be fetched or the input has errors,\n"+
			"2 usage or IO error.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	paths, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *cache == "" {
		fmt.Fprintf(e.stderr, "berth chart pull: no chart cache: pass --chart-cache DIR\n")
		return exitUsage
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	creds, err := chartCredentials(e, regConf)
	if err != nil {
		fmt.Fprintf(e.stderr, "berth chart pull: --registry-config: %v\n", err)
		return exitUsage
	}
	ro := render.Options{ChartCache: *cache, Fetcher: &charts.Fetcher{PlainHTTP: splitList(*insecure), Credentials: creds}}
	docs, diags, err := compiler.Load(paths, compiler.Options{Stdin: e.stdin, Render: ro})
	printDiags(e.stderr, diags, "")
	if err != nil {
		fmt.Fprintf(e.stderr, "berth chart pull: %v\n", err)
		return exitUsage
	}
	n := 0
	for i := range docs {
		if ref, ok := render.RemoteChart(&docs[i]); ok {
			if file, cached := (render.Cache{Dir: *cache}).Path(ref); cached {
				fmt.Fprintf(e.stdout, "%s: chart %s is cached (%s)\n", docs[i].File, ref, file)
				n++
			}
		}
	}
	fmt.Fprintf(e.stdout, "%d charts in %s\n", n, *cache)
	if hasErrors(diags) {
		return exitFindings
	}
	return exitOK
}

// registryConfigFlag adds --registry-config, the Docker config.json that
// holds the credentials of private chart registries and repositories.
func registryConfigFlag(fs *flag.FlagSet, file *string, dflt string) {
	fs.StringVar(file, "registry-config", "", "a Docker config.json `FILE` with the credentials of the OCI registries and Helm repositories charts come from, as helm registry login and docker login write it (mode 0600)"+dflt)
}

// chartCredentials reads the file --registry-config names, else Helm's
// own when there is one; warnings go to stderr.
func chartCredentials(e *env, file string) (*charts.Credentials, error) {
	if file == "" {
		file = charts.DefaultRegistryConfig()
		if _, err := os.Stat(file); err != nil {
			return nil, nil // no file of Helm's: public charts only
		}
	}
	creds, warnings, err := charts.LoadCredentials(file)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "berth chart pull: warning: %s\n", w)
	}
	return creds, nil
}
