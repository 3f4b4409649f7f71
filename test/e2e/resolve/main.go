// Command resolve is the end-to-end tests' DNS client inside a pod: it
// resolves names the way a program linked against a libc resolver does
// (Go's resolver reads /etc/resolv.conf: nameserver, search, ndots), and
// prints a line whenever a name's answer changes:
//
//	resolve -every 50ms web web.default db srv:http.tcp.web
//
// A name srv:SERVICE.PROTO.NAME is looked up as an SRV record. First it
// prints how many Service variables (*_SERVICE_HOST) it was started with.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	every := flag.Duration("every", 100*time.Millisecond, "how often to resolve every name")
	flag.Parse()
	links := 0
	for _, e := range os.Environ() {
		if k, _, _ := strings.Cut(e, "="); strings.HasSuffix(k, "_SERVICE_HOST") {
			links++
		}
	}
	fmt.Printf("links %d\n", links)
	r := &net.Resolver{PreferGo: true}
	last := map[string]string{}
	for {
		for _, name := range flag.Args() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			got := lookup(ctx, r, name)
			cancel()
			if last[name] != got {
				last[name] = got
				fmt.Printf("%s %s %s\n", time.Now().Format(time.RFC3339Nano), name, got)
			}
		}
		time.Sleep(*every)
	}
}

func lookup(ctx context.Context, r *net.Resolver, name string) string {
	if spec, ok := strings.CutPrefix(name, "srv:"); ok {
		parts := strings.SplitN(spec, ".", 3)
		if len(parts) != 3 {
			return "error: want srv:SERVICE.PROTO.NAME"
		}
		_, srvs, err := r.LookupSRV(ctx, parts[0], parts[1], parts[2])
		if err != nil {
			return "error"
		}
		var out []string
		for _, s := range srvs {
			out = append(out, fmt.Sprintf("%s:%d", s.Target, s.Port))
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	addrs, err := r.LookupHost(ctx, name)
	if err != nil {
		return "error"
	}
	slices.Sort(addrs)
	return strings.Join(addrs, ",")
}
