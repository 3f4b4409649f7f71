// Command gencorpus writes the corpus of the lint benchmark (see package
// berth.dev/berth/bench/corpus).
//
//	go run ./bench/gencorpus -n 10000 -o /tmp/corpus
package main

import (
	"flag"
	"fmt"
	"os"

	"berth.dev/berth/bench/corpus"
)

func main() {
	n := flag.Int("n", 10000, "number of objects")
	out := flag.String("o", "corpus", "output directory (created; existing files are overwritten)")
	perNS := flag.Int("apps-per-namespace", 40, "apps in each namespace (shape repo)")
	shape := flag.String("shape", corpus.Repo, "corpus shape: "+corpus.Repo+" (every kind, many namespaces) or "+corpus.OneNamespace+" (Deployments, Services, ConfigMaps, Secrets, Jobs, CronJobs in one namespace)")
	flag.Parse()
	if err := corpus.WriteShape(*out, *shape, *n, *perNS); err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
}
