package containerd

import (
	"context"
	"fmt"
	"slices"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/defaults"
	"golang.org/x/sys/unix"
)

// ImageGC is the kubelet's image garbage collection: when the filesystem
// holding the images is fuller than HighPercent, images no container uses
// are removed, least recently used first, until it is below LowPercent.
// An image pulled or used less than MinAge ago stays.
type ImageGC struct {
	HighPercent, LowPercent int
	MinAge                  time.Duration
}

// DefaultImageGC is the kubelet's default policy.
var DefaultImageGC = ImageGC{HighPercent: 85, LowPercent: 80, MinAge: 2 * time.Minute}

// imageInfo is what the choice needs of one image.
type imageInfo struct {
	name     string
	size     int64
	lastUsed time.Time
	inUse    bool
}

// gcVictims chooses the images to remove so that used bytes (of total)
// fall to the low threshold: unused ones older than MinAge, least
// recently used first. Pure, for tests.
func (p ImageGC) gcVictims(imgs []imageInfo, used, total int64, now time.Time) []string {
	if total <= 0 || used*100 < int64(p.HighPercent)*total {
		return nil
	}
	free := used - int64(p.LowPercent)*total/100
	cands := slices.Clone(imgs)
	slices.SortStableFunc(cands, func(a, b imageInfo) int { return a.lastUsed.Compare(b.lastUsed) })
	var out []string
	for _, im := range cands {
		if free <= 0 {
			break
		}
		if im.inUse || now.Sub(im.lastUsed) < p.MinAge {
			continue
		}
		out = append(out, im.name)
		free -= im.size
	}
	return out
}

// noteUsed records that a pod uses the image now (the least recently used
// order of the GC).
func (r *Runtime) noteUsed(name string) {
	r.usedMu.Lock()
	defer r.usedMu.Unlock()
	if r.used == nil {
		r.used = map[string]time.Time{}
	}
	r.used[name] = r.opts.Clock()
}

// GCImages runs the image GC once and returns the images it removed.
func (r *Runtime) GCImages(ctx context.Context, p ImageGC) ([]string, error) {
	ctx = r.nsCtx(ctx)
	root, err := r.imageRoot(ctx)
	if err != nil {
		return nil, err
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(root, &fs); err != nil {
		return nil, fmt.Errorf("image GC: statfs %s: %w", root, err)
	}
	// Blocks count in fragment size; what is reserved for root counts as
	// used, as the kubelet sees it (Bavail).
	total := int64(fs.Blocks) * int64(fs.Frsize)
	used := total - int64(fs.Bavail)*int64(fs.Frsize)
	if total <= 0 || used*100 < int64(p.HighPercent)*total {
		return nil, nil
	}
	inUse := map[string]bool{}
	ctrs, err := r.client.Containers(ctx)
	if err != nil {
		return nil, fmt.Errorf("image GC: list containers: %w", err)
	}
	for _, c := range ctrs {
		info, err := c.Info(ctx)
		if err == nil {
			inUse[info.Image] = true
		}
	}
	list, err := r.client.ImageService().List(ctx)
	if err != nil {
		return nil, fmt.Errorf("image GC: list images: %w", err)
	}
	r.usedMu.Lock()
	infos := make([]imageInfo, 0, len(list))
	for _, im := range list {
		last := im.CreatedAt
		if t, ok := r.used[im.Name]; ok && t.After(last) {
			last = t
		}
		size, _ := containerd.NewImage(r.client, im).Size(ctx)
		infos = append(infos, imageInfo{name: im.Name, size: size, lastUsed: last, inUse: inUse[im.Name]})
	}
	r.usedMu.Unlock()
	start := r.opts.Clock()
	victims := p.gcVictims(infos, used, total, start)
	var removed []string
	for _, name := range victims {
		if r.deleteUnused(ctx, name, start) {
			removed = append(removed, name)
		}
	}
	if len(removed) > 0 {
		r.log.Info("image GC: removed unused images", "images", removed, "disk_used_percent", used*100/total)
	}
	return removed, nil
}

// deleteUnused deletes an image unless a pod started using it since the
// GC chose it (noteUsed waits for the delete: after it, the image is
// either kept or gone, and then pulled again).
func (r *Runtime) deleteUnused(ctx context.Context, name string, since time.Time) bool {
	r.usedMu.Lock()
	defer r.usedMu.Unlock()
	if t, ok := r.used[name]; ok && !t.Before(since) {
		return false
	}
	// Synchronous: containerd's own GC removes the image's content and
	// snapshots before the next one is chosen.
	if err := r.client.ImageService().Delete(ctx, name, images.SynchronousDelete()); err != nil {
		r.log.Warn("image GC: remove image", "image", name, "err", err)
		return false
	}
	return true
}

// imageRoot is where the snapshotter keeps the unpacked images: the
// filesystem whose usage the GC watches.
func (r *Runtime) imageRoot(ctx context.Context) (string, error) {
	resp, err := r.client.IntrospectionService().Plugins(ctx, "type==io.containerd.snapshotter.v1,id=="+defaults.DefaultSnapshotter)
	if err != nil {
		return "", fmt.Errorf("image GC: containerd plugins: %w", err)
	}
	for _, p := range resp.Plugins {
		if root := p.Exports["root"]; root != "" {
			return root, nil
		}
	}
	return "", fmt.Errorf("image GC: the %s snapshotter does not say where it keeps images", defaults.DefaultSnapshotter)
}

// RunImageGC runs the image GC every interval until ctx ends (never with
// HighPercent 100, as the kubelet).
func (r *Runtime) RunImageGC(ctx context.Context, p ImageGC, interval time.Duration) {
	if p.HighPercent >= 100 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := r.GCImages(ctx, p); err != nil && ctx.Err() == nil {
			r.log.Warn("image GC", "err", err)
		}
	}
}
