package containerd

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/images"
)

func TestGCVictims(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	p := ImageGC{HighPercent: 85, LowPercent: 80, MinAge: 2 * time.Minute}
	img := func(name string, size int64, ago time.Duration, inUse bool) imageInfo {
		return imageInfo{name: name, size: size, lastUsed: now.Add(-ago), inUse: inUse}
	}
	imgs := []imageInfo{
		img("new-unused", 10, time.Minute, false), // younger than MinAge
		img("old-used", 10, 10*time.Hour, true),
		img("oldest", 3, 9*time.Hour, false),
		img("older", 3, 8*time.Hour, false),
		img("old", 3, 7*time.Hour, false),
	}
	for _, tc := range []struct {
		name        string
		used, total int64
		want        []string
	}{
		{"below the high mark", 84, 100, nil},
		{"at the high mark: down to the low one, oldest first", 85, 100, []string{"oldest", "older"}},
		{"full: every unused image old enough", 100, 100, []string{"oldest", "older", "old"}},
		{"no filesystem", 0, 0, nil},
	} {
		if got := p.gcVictims(imgs, tc.used, tc.total, now); !slices.Equal(got, tc.want) {
			t.Errorf("%s: victims %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestGCImages: with the thresholds at 0 (always over), the GC removes an
// image no container uses and keeps the one a pod runs; once the pod is
// gone, that one goes too.
func TestGCImages(t *testing.T) {
	opts := testOptions(t)
	if testMissing == "" {
		dir := t.TempDir()
		opts.Namespace, opts.StateDir, opts.RunDir = "berthtest-imagegc", dir, dir+"/run"
		opts.Bridge, opts.PodCIDR = "berthtest9", "10.99.9.0/24"
	}
	rt := newRuntimeWith(t, opts)
	ctx := context.Background()
	p := testPod("gc", container("app", "sleep", "3600"))
	cleanup(t, rt, p.Key())
	if err := rt.CreatePod(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitPod(t, rt, p.Key(), 60*time.Second, "running", running)
	name, err := normalize(testImage)
	if err != nil {
		t.Fatal(err)
	}
	nctx := rt.nsCtx(ctx)
	used, err := rt.client.ImageService().Get(nctx, name)
	if err != nil {
		t.Fatal(err)
	}
	// Another name for the same content, which no container uses (a
	// failed run may have left it).
	_ = rt.client.ImageService().Delete(nctx, "example.com/berth/unused:1")
	if _, err := rt.client.ImageService().Create(nctx, images.Image{Name: "example.com/berth/unused:1", Target: used.Target}); err != nil {
		t.Fatal(err)
	}
	always := ImageGC{}
	removed, err := rt.GCImages(ctx, always)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{"example.com/berth/unused:1"}) {
		t.Errorf("removed %v, want only the unused image", removed)
	}
	if _, err := rt.client.ImageService().Get(nctx, name); err != nil {
		t.Errorf("the image a pod runs is gone: %v", err)
	}
	waitPod(t, rt, p.Key(), 5*time.Second, "still running", running)

	if err := rt.RemovePod(ctx, p.Key(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if removed, err := rt.GCImages(ctx, always); err != nil || !slices.Equal(removed, []string{name}) {
		t.Errorf("after the pod: removed %v, %v; want %s", removed, err, name)
	}
}
