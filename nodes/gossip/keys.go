package gossip

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// ReadKeyFile reads the peer keyring: one base64 key per line (16, 24 or
// 32 bytes: AES-128, -192 or -256), blank lines and # comments ignored.
// The first key encrypts; every key decrypts, which is how a key is
// rotated without a partition (docs/multinode.md). The file must not be
// readable by group or others: the key is the cluster's membership.
func ReadKeyFile(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("peer key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("peer key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("peer key file %s: mode %04o lets others read the cluster key: chmod 600 it", path, st.Mode().Perm())
	}
	if st.Size() > 64<<10 {
		return nil, fmt.Errorf("peer key file %s: %d bytes is not a key ring (one base64 key per line)", path, st.Size())
	}
	var keys [][]byte
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: not a base64 key (make one with: head -c 32 /dev/urandom | base64)", path, n)
		}
		switch len(k) {
		case 16, 24, 32:
		default:
			return nil, fmt.Errorf("%s:%d: a key is 16, 24 or 32 bytes, this one %d", path, n, len(k))
		}
		for _, have := range keys {
			if bytes.Equal(have, k) {
				return nil, fmt.Errorf("%s:%d: the same key twice", path, n)
			}
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("peer key file: %w", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("peer key file %s has no key (make one with: head -c 32 /dev/urandom | base64 > %s)", path, path)
	}
	return keys, nil
}
