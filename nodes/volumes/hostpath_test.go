package volumes

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHostPathTypes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var blockDev string
	if ms, _ := filepath.Glob("/dev/*"); ms != nil {
		for _, p := range ms {
			if fi, err := os.Stat(p); err == nil && fi.Mode().Type() == fs.ModeDevice {
				blockDev = p
				break
			}
		}
	}
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		path, typ, want string // want: error substring, "" for ok
	}{
		{missing, HostPathUnset, ""},
		{dir, HostPathDirectory, ""},
		{missing, HostPathDirectory, "nothing exists"},
		{file, HostPathDirectory, "is a regular file, not a directory"},
		{file, HostPathDirectoryOrCreate, "is a regular file, not a directory"},
		{file, HostPathFile, ""},
		{dir, HostPathFile, "is a directory, not a regular file"},
		{missing, HostPathFile, "nothing exists"},
		{file, HostPathFileOrCreate, ""},
		{dir, HostPathFileOrCreate, "is a directory"},
		{filepath.Join(dir, "no/parent"), HostPathFileOrCreate, "parent directory does not exist"},
		{sock, HostPathSocket, ""},
		{file, HostPathSocket, "not a socket"},
		{"/dev/null", HostPathCharDevice, ""},
		{file, HostPathCharDevice, "not a character device"},
		{"/dev/null", HostPathBlockDevice, "is a character device, not a block device"},
		{file, "Fifo", "unknown type"},
	}
	if blockDev != "" {
		tests = append(tests, struct{ path, typ, want string }{blockDev, HostPathBlockDevice, ""})
	}
	for _, tt := range tests {
		t.Run(tt.typ+":"+filepath.Base(tt.path), func(t *testing.T) {
			err := checkHostPath(tt.path, tt.typ)
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
	// FileOrCreate made a 0644 file.
	created := filepath.Join(dir, "created")
	if err := checkHostPath(created, HostPathFileOrCreate); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(created); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Errorf("FileOrCreate: %v %v", fi, err)
	}
}
