package source

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch sends on the returned channel when something under the given
// paths changes, coalescing bursts within debounce. Directories are
// watched recursively, and new sub-directories join the watch. It is used
// for a local repository's refs (a push into a bare repository on the node
// deploys at once) and for --watch DIR.
func Watch(ctx context.Context, debounce time.Duration, paths ...string) (<-chan struct{}, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		if err := addTree(w, p); err != nil {
			w.Close()
			return nil, err
		}
	}
	out := make(chan struct{}, 1)
	go func() {
		defer w.Close()
		var timer *time.Timer
		var fire <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Op&fsnotify.Create != 0 {
					if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
						_ = addTree(w, ev.Name)
					}
				}
				if timer == nil {
					timer = time.NewTimer(debounce)
				} else {
					timer.Reset(debounce)
				}
				fire = timer.C
			case <-w.Errors:
			case <-fire:
				fire = nil
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out, nil
}

func addTree(w *fsnotify.Watcher, root string) error {
	st, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return w.Add(root)
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if d.Name() == "objects" && p != root {
				return filepath.SkipDir // a repository's objects churn; refs say when it changed
			}
			return w.Add(p)
		}
		return nil
	})
}

// RefPaths are what to watch for a local repository at dir: its refs and
// packed-refs, bare or not.
func RefPaths(dir string) []string {
	gitDir := dir
	if st, err := os.Stat(filepath.Join(dir, ".git")); err == nil && st.IsDir() {
		gitDir = filepath.Join(dir, ".git")
	}
	// The whole git dir but objects: git updates refs and packed-refs by
	// renaming lock files, which a watch on refs/ alone misses for
	// packed-refs.
	return []string{gitDir}
}
