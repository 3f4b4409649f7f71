package testimage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/pkg/namespaces"
)

// Namespace is the containerd namespace the helper imports into before
// pushing, so the namespaces under test still pull through the registry.
const Namespace = "berth-testimage"

// Repository is the image's path in the registry.
const Repository = "berth/busybox:test"

// Ref is the image reference in registry (host:port).
func Ref(registry string) string { return registry + "/" + Repository }

// Publish builds the image, imports it into containerd (namespace
// Namespace) and pushes it to the plain-HTTP registry, so tests exercise
// the real pull path. It returns the reference to pull.
func Publish(ctx context.Context, address, registry string) (string, error) {
	ref := Ref(registry)
	a, err := Build(BusyboxPath, ref)
	if err != nil {
		return "", err
	}
	return ref, PublishArchive(ctx, address, registry, a)
}

// PublishArchive imports a built archive into containerd and pushes it to
// the plain-HTTP registry.
func PublishArchive(ctx context.Context, address, registry string, a *Archive) error {
	ref := a.Ref
	c, err := containerd.New(address)
	if err != nil {
		return fmt.Errorf("connect containerd %s: %w", address, err)
	}
	defer c.Close()
	ctx = namespaces.WithNamespace(ctx, Namespace)
	if err := Import(ctx, c, a); err != nil {
		return err
	}
	img, err := c.GetImage(ctx, ref)
	if err != nil {
		return fmt.Errorf("imported image %s: %w", ref, err)
	}
	resolver := docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(func(h string) (bool, error) {
			return h == registry || strings.HasPrefix(h, "127.0.0.1:") || strings.HasPrefix(h, "localhost:"), nil
		})),
	})
	if err := c.Push(ctx, ref, img.Target(), containerd.WithResolver(resolver)); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}

// Import loads the archive into containerd in the namespace of ctx.
func Import(ctx context.Context, c *containerd.Client, a *Archive) error {
	if _, err := c.Import(ctx, bytes.NewReader(a.Data)); err != nil {
		return fmt.Errorf("import %s: %w", a.Ref, err)
	}
	return nil
}

// FromEnv publishes the image to the test environment of scripts/testenv.sh
// ($BERTH_TEST_CONTAINERD, $BERTH_TEST_REGISTRY). It returns "" and a
// reason when the environment is absent.
func FromEnv(ctx context.Context) (ref, missing string, err error) {
	address, registry := os.Getenv("BERTH_TEST_CONTAINERD"), os.Getenv("BERTH_TEST_REGISTRY")
	if address == "" || registry == "" {
		return "", "BERTH_TEST_CONTAINERD/BERTH_TEST_REGISTRY unset (eval \"$(scripts/testenv.sh)\")", nil
	}
	if _, err := os.Stat(address); err != nil {
		return "", "no containerd socket at " + address, nil
	}
	ref, err = Publish(ctx, address, registry)
	return ref, "", err
}
