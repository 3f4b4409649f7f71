// Command synthgen writes a synthetic repository for benchmarking
// `berth plan`: synthgen -pods 10000 DIR.
package main

import (
	"flag"
	"fmt"
	"os"

	"berth.dev/berth/compiler/synth"
)

func main() {
	pods := flag.Int("pods", 10000, "pods the repository yields (services: pods/10, nodes: pods/100)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: synthgen [-pods N] DIR")
		os.Exit(2)
	}
	if err := synth.Write(flag.Arg(0), synth.For(*pods)); err != nil {
		fmt.Fprintln(os.Stderr, "synthgen:", err)
		os.Exit(1)
	}
}
