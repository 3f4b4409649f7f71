package volumes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/compiler/plan"
	"golang.org/x/sys/unix"
)

func TestValidatePath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"key", true},
		{"dir/key.txt", true},
		{"a/b/c", true},
		{".hidden", true},
		{"a/..b", true},
		{"a/.b", true},
		{"", false},
		{"/etc/passwd", false},
		{"..", false},
		{"../x", false},
		{"a/../../x", false},
		{"a/..", false},
		{".", false},
		{"./a", false},
		{"a/./b", false},
		{"a//b", false},
		{"a/", false},
		{"..data", false},
		{"..2026_01_01", false},
		{"..x/y", false},
		{"a\x00b", false},
		{strings.Repeat("a", 256), false},
		{strings.Repeat("a/", 2100) + "a", false},
	}
	for _, tt := range tests {
		err := ValidatePath(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("ValidatePath(%q) = %v, want ok=%v", tt.path, err, tt.ok)
		}
	}
}

func TestCheckPayload(t *testing.T) {
	f := func(p string, mode int32) plan.File { return plan.File{Path: p, Mode: mode, Data: plan.Plain("x")} }
	tests := []struct {
		name  string
		files []plan.File
		want  string // error substring, "" for ok
	}{
		{"ok", []plan.File{f("a", 0o644), f("b/c", 0o400), f("b/d", 0)}, ""},
		{"empty", nil, ""},
		{"duplicate", []plan.File{f("a", 0), f("a", 0)}, "listed twice"},
		{"file is dir", []plan.File{f("a", 0), f("a/b", 0)}, "cannot also be a directory"},
		{"file is deep dir", []plan.File{f("a/b/c", 0), f("a", 0)}, "cannot also be a directory"},
		{"mode too big", []plan.File{f("a", 0o4755)}, "outside 0..0777"},
		{"mode negative", []plan.File{f("a", -1)}, "outside 0..0777"},
		{"traversal", []plan.File{f("../a", 0)}, "must not contain"},
		{"absolute", []plan.File{f("/a", 0)}, "must be relative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPayload(tt.files)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func FuzzValidatePath(f *testing.F) {
	for _, s := range []string{"key", "a/b", "../x", "/abs", "a//b", "..data", ".", "a/..", "x/../../y", "\x00"} {
		f.Add(s)
	}
	const base = "/base/vol"
	f.Fuzz(func(t *testing.T, p string) {
		if ValidatePath(p) != nil {
			return
		}
		// An accepted path stays strictly inside the volume, and never names
		// the writer's own ..data or payload directories.
		j := filepath.Join(base, p)
		if !strings.HasPrefix(j, base+"/") {
			t.Fatalf("ValidatePath accepted %q, which joins to %q", p, j)
		}
		if filepath.Clean(p) != p {
			t.Fatalf("ValidatePath accepted unclean %q", p)
		}
		if strings.HasPrefix(p, "..") {
			t.Fatalf("ValidatePath accepted reserved %q", p)
		}
	})
}

func TestSplitKey(t *testing.T) {
	tests := []struct {
		key, ns, name string
		ok            bool
	}{
		{"default/web", "default", "web", true},
		{"default_web", "default", "web", true},
		{"default/web-0.x", "default", "web-0.x", true},
		{"a/b/c", "", "", false},
		{"../etc", "", "", false},
		{"default/..", "", "", false},
		{"default/", "", "", false},
		{"/web", "", "", false},
		{"web", "", "", false},
		{"", "", "", false},
		{"default/.x", "", "", false},
	}
	m := New(t.TempDir())
	for _, tt := range tests {
		ns, name, err := splitKey(tt.key)
		if err == nil {
			_, err = m.PodDir(ns, name)
		}
		if (err == nil) != tt.ok {
			t.Errorf("key %q: err = %v, want ok=%v", tt.key, err, tt.ok)
			continue
		}
		if tt.ok && (ns != tt.ns || name != tt.name) {
			t.Errorf("key %q = %q, %q; want %q, %q", tt.key, ns, name, tt.ns, tt.name)
		}
	}
}

func TestWriteAtRefusesSymlinks(t *testing.T) {
	base := t.TempDir()
	payload := filepath.Join(base, "payload")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{payload, outside} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Planted links: a directory element and a final element.
	if err := os.Symlink(outside, filepath.Join(payload, "sub")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "f"), filepath.Join(payload, "f")); err != nil {
		t.Fatal(err)
	}
	root, err := openDir(unix.AT_FDCWD, payload)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(root)
	for _, rel := range []string{"sub/x", "f"} {
		if err := writeAt(root, rel, []byte("evil"), 0o644); err == nil {
			t.Errorf("writeAt(%q) followed a symlink", rel)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("wrote outside: %v", entries)
	}
	// A normal nested write works and gets 0755 directories whatever the umask.
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	if err := writeAt(root, "a/b/c", []byte("ok"), 0o640); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{"a": 0o755, "a/b": 0o755, "a/b/c": 0o640} {
		fi, err := os.Stat(filepath.Join(payload, p))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (err %v), want %v", p, fi.Mode().Perm(), err, want)
		}
	}
}
