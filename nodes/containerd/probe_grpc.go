package containerd

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"berth.dev/berth/compiler/plan"
)

// grpcProbe is the kubelet's gRPC probe (pkg/probe/grpc): the standard
// grpc.health.v1.Health/Check for the probe's service over plaintext (a
// probe sends no credentials) to host:port, within ctx's timeout;
// SERVING passes, any other status or error fails.
func grpcProbe(ctx context.Context, host string, g *plan.GRPCAction) error {
	addr := net.JoinHostPort(host, strconv.Itoa(int(g.Port)))
	// passthrough: the address is an IP, never looked up in DNS.
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent("berth-probe/1"))
	if err != nil {
		return fmt.Errorf("error: failed to connect service at %q: %w", addr, err)
	}
	defer conn.Close()
	service := ""
	if g.Service != nil {
		service = *g.Service
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service}, grpc.WaitForReady(true))
	if err != nil {
		switch status.Code(err) {
		case codes.Unimplemented:
			return fmt.Errorf("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): %w", err)
		case codes.DeadlineExceeded:
			return fmt.Errorf("timeout: health rpc did not complete: %w", err)
		}
		return fmt.Errorf("error: health rpc probe failed: %w", err)
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("service unhealthy (responded with %q)", s.String())
	}
	return nil
}
