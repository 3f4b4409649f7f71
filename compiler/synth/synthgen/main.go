// Command synthgen writes a synthetic repository for benchmarking
// `berth plan`: synthgen -pods 10000 DIR (many namespaces of ten
// Services each), or synthgen -objects 10000 DIR (one namespace: a
// team's repository with 2,000 Services; see synth.Team).
package main

import (
	"flag"
	"fmt"
	"os"

	"berth.dev/berth/compiler/synth"
)

func main() {
	pods := flag.Int("pods", 10000, "many-namespaces shape: pods the repository yields (services: pods/10, nodes: pods/100)")
	objects := flag.Int("objects", 0, "one-namespace shape instead: about this many objects (services: objects/5, nodes: objects/100)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: synthgen [-pods N | -objects N] DIR")
		os.Exit(2)
	}
	files := synth.Files(synth.For(*pods))
	if *objects > 0 {
		files = synth.ForObjects(*objects).Files()
	}
	if err := synth.WriteFiles(flag.Arg(0), files); err != nil {
		fmt.Fprintln(os.Stderr, "synthgen:", err)
		os.Exit(1)
	}
}
