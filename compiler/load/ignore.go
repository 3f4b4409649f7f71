package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"berth.dev/berth/compiler/budget"
)

// IgnoreFile names the file whose gitignore-syntax patterns remove paths
// from the walk of its directory and everything below it.
const IgnoreFile = ".berthignore"

// ignorer accumulates the patterns of the .berthignore files met during
// a walk. WalkDir visits a directory before its contents, and patterns
// carry their directory as domain, so one growing list is enough.
type ignorer struct {
	patterns []gitignore.Pattern
}

// read adds the patterns of dir's ignore file. A link that leads out of
// realRoot is not followed.
func (ig *ignorer) read(dir string, domain []string, realRoot string) error {
	path := filepath.Join(dir, IgnoreFile)
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if target, err := realPath(path); err != nil || !within(realRoot, target) {
			return nil
		}
	}
	data, err := readFileLimited(path, path, budget.Limits{})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", IgnoreFile, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ig.patterns = append(ig.patterns, gitignore.ParsePattern(line, domain))
	}
	return nil
}

// match follows git: the last matching pattern decides, and a negated
// pattern ("!keep.yaml") re-includes.
func (ig *ignorer) match(parts []string, isDir bool) bool {
	for i := len(ig.patterns) - 1; i >= 0; i-- {
		switch ig.patterns[i].Match(parts, isDir) {
		case gitignore.Exclude:
			return true
		case gitignore.Include:
			return false
		}
	}
	return false
}
