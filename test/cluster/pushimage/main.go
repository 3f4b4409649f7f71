// Command pushimage publishes the busybox test image (nodes/testimage) to
// $BERTH_TEST_REGISTRY through $BERTH_TEST_CONTAINERD and prints its
// reference; scripts/cluster.sh runs it.
package main

import (
	"context"
	"fmt"
	"os"

	"berth.dev/berth/nodes/testimage"
)

func main() {
	ref, missing, err := testimage.FromEnv(context.Background())
	if err == nil && missing != "" {
		err = fmt.Errorf("%s", missing)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pushimage: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(ref)
}
