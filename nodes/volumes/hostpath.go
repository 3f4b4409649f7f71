package volumes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// hostPath types, as in Kubernetes' HostPathType.
const (
	HostPathUnset             = ""
	HostPathDirectoryOrCreate = "DirectoryOrCreate"
	HostPathDirectory         = "Directory"
	HostPathFileOrCreate      = "FileOrCreate"
	HostPathFile              = "File"
	HostPathSocket            = "Socket"
	HostPathCharDevice        = "CharDevice"
	HostPathBlockDevice       = "BlockDevice"
)

// checkHostPath applies the Kubernetes hostPath type check to p, creating
// it for the *OrCreate types. Like the kubelet it follows symlinks.
func checkHostPath(p, typ string) error {
	fi, err := os.Stat(p)
	missing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !missing {
		return fmt.Errorf("hostPath %s: %w", p, err)
	}
	want := func(kind string, ok func(fs.FileMode) bool) error {
		if missing {
			return fmt.Errorf("hostPath %s: type %s: nothing exists at this path; create a %s there or use type %q", p, typ, kind, HostPathUnset)
		}
		if !ok(fi.Mode()) {
			return fmt.Errorf("hostPath %s: type %s: is a %s, not a %s", p, typ, describe(fi.Mode()), kind)
		}
		return nil
	}
	switch typ {
	case HostPathUnset:
		return nil
	case HostPathDirectoryOrCreate:
		if missing {
			// The kubelet creates it 0755 with parents.
			if err := os.MkdirAll(p, 0o755); err != nil {
				return fmt.Errorf("hostPath %s: type %s: %w", p, typ, err)
			}
			return os.Chmod(p, 0o755)
		}
		return want("directory", fs.FileMode.IsDir)
	case HostPathDirectory:
		return want("directory", fs.FileMode.IsDir)
	case HostPathFileOrCreate:
		if missing {
			// Like the kubelet, the parent directory is not created.
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("hostPath %s: type %s: parent directory does not exist; create it first", p, typ)
			}
			if err != nil {
				return fmt.Errorf("hostPath %s: type %s: %w", p, typ, err)
			}
			if err := f.Close(); err != nil {
				return err
			}
			return os.Chmod(p, 0o644)
		}
		return want("regular file", fs.FileMode.IsRegular)
	case HostPathFile:
		return want("regular file", fs.FileMode.IsRegular)
	case HostPathSocket:
		return want("socket", func(m fs.FileMode) bool { return m.Type() == fs.ModeSocket })
	case HostPathCharDevice:
		return want("character device", func(m fs.FileMode) bool { return m.Type() == fs.ModeDevice|fs.ModeCharDevice })
	case HostPathBlockDevice:
		return want("block device", func(m fs.FileMode) bool { return m.Type() == fs.ModeDevice })
	default:
		return fmt.Errorf("hostPath %s: unknown type %q (use \"\", DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice or BlockDevice)", p, typ)
	}
}

// describe names a file type for error messages.
func describe(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "regular file"
	case m.Type() == fs.ModeSocket:
		return "socket"
	case m.Type() == fs.ModeDevice|fs.ModeCharDevice:
		return "character device"
	case m.Type() == fs.ModeDevice:
		return "block device"
	case m.Type() == fs.ModeSymlink:
		return "symlink"
	case m.Type() == fs.ModeNamedPipe:
		return "named pipe"
	default:
		return "special file"
	}
}
