package source

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// DirRevision returns the revision of a plain directory (--watch): its ID
// is a content hash of every file under it, so saving a file without
// changing it is no new revision.
func DirRevision(dir string) (Revision, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return Revision{}, fmt.Errorf("read %s: %w", dir, err)
	}
	sort.Strings(files)
	h := sha256.New()
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
		f, err := os.Open(p)
		if err != nil {
			return Revision{}, fmt.Errorf("read %s: %w", p, err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return Revision{}, fmt.Errorf("read %s: %w", p, err)
		}
		h.Write([]byte{0})
	}
	return Revision{ID: "dir-" + hex.EncodeToString(h.Sum(nil))[:16], Dir: dir}, nil
}
