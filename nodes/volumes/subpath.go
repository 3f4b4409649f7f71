package volumes

import (
	"fmt"
	"path/filepath"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// ResolveSubPath returns the host path of a volumeMount's subPath inside the
// volume at volPath, resolving symlinks as if volPath were "/". A plain
// filepath.Join would follow a symlink a container planted in an emptyDir
// (ln -s / x; subPath: x) and bind-mount the node's root into the next
// container (CVE-2017-1002101). A configMap key (a symlink through ..data)
// resolves to its current payload file, which, as on the kubelet, is then
// not updated in place. The container must not run while this resolves: a
// component swapped between here and the bind mount is not caught.
func ResolveSubPath(volPath, subPath string) (string, error) {
	if !filepath.IsLocal(subPath) {
		return "", fmt.Errorf("subPath %q must be relative and stay inside the volume", subPath)
	}
	p, err := securejoin.SecureJoin(volPath, subPath)
	if err != nil {
		return "", fmt.Errorf("subPath %q: %w", subPath, err)
	}
	if !within(filepath.Clean(volPath), p) {
		return "", fmt.Errorf("subPath %q resolves outside the volume", subPath)
	}
	return p, nil
}
