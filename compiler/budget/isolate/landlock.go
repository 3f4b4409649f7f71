package isolate

import (
	"bufio"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Confinement with Landlock (Linux 5.13 and later, unprivileged): the
// worker may read only beneath the directories Run names, opens no TCP
// connection and binds no port. A symbolic link planted in a repository
// cannot lead the evaluator to a file of the machine, because Landlock
// checks the file a path resolves to.
//
// Landlock restricts the calling thread and the threads and processes it
// starts later, and a Go program has threads running before its first
// line. So the parent restricts the thread that starts the worker, one
// locked to its goroutine for the worker's life and ended with it
// (session.go): every thread of the worker descends from it. The Go
// runtime never clones a locked thread into a thread of its own (it asks
// its template thread), so the restriction stays on that one thread of
// the parent. (Confining the worker from inside would take a second
// exec of the program, and its start-up again: some 40 ms.)

const (
	envConfined = "BERTH_ISOLATE_CONFINED"
)

// The access rights of each Landlock ABI version, as handled here.
// Executing is left unhandled: the worker executes itself once, and an
// evaluator runs no program.
const (
	fsRightsV1 = unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_FILE | unix.LANDLOCK_ACCESS_FS_MAKE_CHAR |
		unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
		unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK | unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	readDir  = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	readFile = unix.LANDLOCK_ACCESS_FS_READ_FILE
)

func abiRights(abi int) (fsRights, netRights, scoped uint64) {
	fsRights = fsRightsV1
	if abi >= 2 {
		fsRights |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		fsRights |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 4 {
		netRights = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
	}
	if abi >= 5 {
		fsRights |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	if abi >= 6 {
		scoped = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
	}
	return
}

// restrictThread restricts the calling thread (locked to its goroutine,
// and never unlocked) to reading beneath dirs, for the worker it starts
// next. It reports false when Landlock is unavailable, leaving the thread
// as it was.
func restrictThread(dirs []string) bool {
	abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 || abi < 1 {
		return false
	}
	fsRights, netRights, scoped := abiRights(int(abi))
	attr := unix.LandlockRulesetAttr{Handled_access_fs: fsRights, Handled_access_net: netRights, Scoped: scoped}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if errno != 0 {
		return false
	}
	ruleset := int(fd)
	defer unix.Close(ruleset)
	for _, d := range dirs {
		if !allow(ruleset, d, readDir&fsRights) {
			return false
		}
	}
	// The worker's image is read from this executable, and its dynamic
	// loader reads the libraries this one has mapped (a cgo build) and
	// its cache.
	for _, f := range append(mappedFiles(), "/etc/ld.so.cache") {
		allow(ruleset, f, readFile)
	}
	// Both are the calling thread's alone (and its children's).
	if _, _, errno := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); errno != 0 {
		return false
	}
	_, _, errno = unix.RawSyscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0)
	return errno == 0
}

// allow adds a rule: access beneath path (a directory, or one file).
func allow(ruleset int, path string, access uint64) bool {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		access &= readFile // a file rule takes file rights only
	}
	rule := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
	return errno == 0
}

// mappedFiles lists the files this process maps: the executable and its
// shared libraries.
func mappedFiles() []string {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || !strings.HasPrefix(fields[5], "/") {
			continue
		}
		p := fields[5]
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
