// Command hello-image builds the demo's hello server, the seed's
// `node hellow.js` on port 8000, as a small OCI image from the node's
// busybox-static (no internet, no Node.js image needed), imports it into
// containerd and pushes it to a plain-HTTP registry.
//
//	hello-image -containerd /run/containerd/containerd.sock -registry 127.0.0.1:5000 -version v1
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"berth.dev/berth/nodes/testimage"
)

func main() {
	address := flag.String("containerd", os.Getenv("BERTH_TEST_CONTAINERD"), "containerd socket")
	registry := flag.String("registry", "127.0.0.1:5000", "registry to push to (plain HTTP)")
	version := flag.String("version", "v1", "the version the server reports, and the image tag")
	flag.Parse()
	ref := fmt.Sprintf("%s/berth/hello:%s", *registry, *version)
	// The server answers every request with its version and pod name;
	// $HOSTNAME is the pod name in berth, as in Kubernetes.
	// httpd runs as a child so the shell, PID 1, can act on SIGTERM: PID 1
	// ignores signals it has no handler for, and the pod would wait out its
	// whole grace period on every stop.
	script := `mkdir -p /tmp/www && echo "hello from $HOSTNAME ($HELLO_VERSION)" > /tmp/www/index.html && ` +
		`httpd -f -p 8000 -h /tmp/www & pid=$!; trap 'kill $pid; exit 0' TERM INT; wait $pid`
	a, err := testimage.BuildConfig(testimage.BusyboxPath, ref, testimage.ImageConfig{
		Cmd: []string{"sh", "-c", script},
		Env: []string{"HELLO_VERSION=" + *version},
	})
	if err == nil {
		err = testimage.PublishArchive(context.Background(), *address, *registry, a)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "hello-image: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(ref)
}
