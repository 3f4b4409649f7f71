package containerd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"

	"berth.dev/berth/compiler/plan"
)

// Image pull policies.
const (
	PullAlways       = "Always"
	PullIfNotPresent = "IfNotPresent"
	PullNever        = "Never"
)

// errNeverPull is a missing image with imagePullPolicy Never.
var errNeverPull = errors.New("image is not present and imagePullPolicy is Never (import it with `berth image import`)")

// normalize returns the fully qualified name containerd stores an image
// under ("busybox" → "docker.io/library/busybox:latest").
func normalize(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", ref, err)
	}
	return named.String(), nil
}

// ensureImage returns the image ref, pulling it as policy says.
func (r *Runtime) ensureImage(ctx context.Context, ref, policy string, auths []plan.RegistryAuth) (containerd.Image, error) {
	name, err := normalize(ref)
	if err != nil {
		return nil, err
	}
	if policy == "" {
		policy = PullIfNotPresent
		if strings.HasSuffix(name, ":latest") {
			policy = PullAlways
		}
	}
	if policy != PullAlways {
		img, err := r.client.GetImage(ctx, name)
		if err == nil {
			return img, nil
		}
		if !errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("image %s: %w", name, err)
		}
		if policy == PullNever {
			return nil, fmt.Errorf("image %s: %w", name, errNeverPull)
		}
	}
	// Pods share a pull only when they pull with the same credentials: a
	// pod without the secret must not get an image another pod's secret
	// fetched.
	return r.pulls.do(name+"\x00"+credKey(auths), func() (containerd.Image, error) {
		start := time.Now()
		img, err := r.client.Pull(ctx, name,
			containerd.WithPullUnpack,
			containerd.WithResolver(r.resolver(auths)),
			containerd.WithPullLabels(map[string]string{"berth.dev/managed": "true"}),
		)
		if r.opts.OnPull != nil {
			r.opts.OnPull(name, time.Since(start), err)
		}
		if err != nil {
			return nil, fmt.Errorf("pull %s: %w", name, err)
		}
		return img, nil
	})
}

// resolver reaches registries over HTTPS, or plain HTTP for the insecure
// ones, with the pod's imagePullSecrets as basic credentials.
func (r *Runtime) resolver(auths []plan.RegistryAuth) remotes.Resolver {
	insecure := r.opts.InsecureRegistries
	creds := func(host string) (string, string, error) {
		for _, a := range auths {
			if registryHost(a.Registry) == host {
				return a.Username.Data, a.Password.Data, nil
			}
		}
		return "", "", nil
	}
	return docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(
			// Like containerd's own default, a registry on the loopback
			// interface is reached over plain HTTP.
			docker.WithPlainHTTP(func(host string) (bool, error) {
				if slices.Contains(insecure, host) {
					return true, nil
				}
				return docker.MatchLocalhost(host)
			}),
			docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthCreds(creds))),
		),
	})
}

// registryHost turns a dockerconfigjson key ("https://index.docker.io/v1/",
// "127.0.0.1:5000") into the host containerd asks credentials for.
func registryHost(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	switch s {
	case "docker.io", "index.docker.io":
		return "registry-1.docker.io"
	}
	return s
}

// ImportImage loads an OCI or docker archive (`berth image import`) and
// returns the names of the images in it.
func (r *Runtime) ImportImage(ctx context.Context, rd io.Reader) ([]string, error) {
	ctx = r.nsCtx(ctx)
	imgs, err := r.client.Import(ctx, rd)
	if err != nil {
		return nil, fmt.Errorf("import image archive: %w", err)
	}
	var names []string
	for _, im := range imgs {
		img := containerd.NewImage(r.client, im)
		if err := img.Unpack(ctx, ""); err != nil {
			return nil, fmt.Errorf("unpack %s: %w", im.Name, err)
		}
		names = append(names, im.Name)
	}
	return names, nil
}

// credKey is a digest of the credentials, to key shared pulls.
func credKey(auths []plan.RegistryAuth) string {
	h := sha256.New()
	for _, a := range auths {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", a.Registry, a.Username.Data, a.Password.Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// pullGroup makes concurrent pulls of one image share a single pull.
type pullGroup struct {
	mu    sync.Mutex
	calls map[string]*pullCall
}

type pullCall struct {
	done chan struct{}
	img  containerd.Image
	err  error
}

func (g *pullGroup) do(name string, f func() (containerd.Image, error)) (containerd.Image, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*pullCall{}
	}
	if c, ok := g.calls[name]; ok {
		g.mu.Unlock()
		<-c.done
		return c.img, c.err
	}
	c := &pullCall{done: make(chan struct{})}
	g.calls[name] = c
	g.mu.Unlock()
	c.img, c.err = f()
	close(c.done)
	g.mu.Lock()
	delete(g.calls, name)
	g.mu.Unlock()
	return c.img, c.err
}
