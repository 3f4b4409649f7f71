package source

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"berth.dev/berth/reconciler/redact"
)

// Auth holds where the credentials are; files, never values on the
// command line, so they stay out of process listings and shell history.
type Auth struct {
	// TokenFile holds an HTTPS token (sent as basic auth, as GitHub,
	// GitLab and Gitea accept).
	TokenFile string
	// UsernameFile and PasswordFile hold HTTPS basic auth.
	UsernameFile string
	PasswordFile string
	// SSHKeyFile is a private key for ssh:// and scp-style URLs.
	SSHKeyFile string
	// KnownHostsFile checks the server's host key; host key checking is
	// always on (default files: ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts).
	KnownHostsFile string
}

// method builds the transport's credentials, adding every secret it reads
// to secrets.
func (a Auth) method(url string, secrets *redact.Secrets) (transport.AuthMethod, error) {
	switch {
	case isSSH(url):
		if a.SSHKeyFile == "" {
			return nil, nil // the ssh agent, as git does
		}
		user := "git"
		if at := strings.Index(strings.TrimPrefix(url, "ssh://"), "@"); at > 0 {
			user = strings.TrimPrefix(url, "ssh://")[:at]
		}
		keys, err := gitssh.NewPublicKeysFromFile(user, a.SSHKeyFile, "")
		if err != nil {
			return nil, fmt.Errorf("ssh key %s: %w", a.SSHKeyFile, err)
		}
		var files []string
		if a.KnownHostsFile != "" {
			files = append(files, a.KnownHostsFile)
		}
		cb, err := gitssh.NewKnownHostsCallback(files...)
		if err != nil {
			return nil, fmt.Errorf("known_hosts: %w (add the server's key with ssh-keyscan, or pass --known-hosts)", err)
		}
		keys.HostKeyCallback = cb
		return keys, nil
	case a.TokenFile != "":
		tok, err := readSecretFile(a.TokenFile)
		if err != nil {
			return nil, err
		}
		secrets.AddBasicAuth("berth", tok)
		return &githttp.BasicAuth{Username: "berth", Password: tok}, nil
	case a.UsernameFile != "" || a.PasswordFile != "":
		user, err := readSecretFile(a.UsernameFile)
		if err != nil {
			return nil, err
		}
		pass, err := readSecretFile(a.PasswordFile)
		if err != nil {
			return nil, err
		}
		secrets.AddBasicAuth(user, pass)
		return &githttp.BasicAuth{Username: user, Password: pass}, nil
	}
	return nil, nil
}

func isSSH(url string) bool {
	if strings.HasPrefix(url, "ssh://") {
		return true
	}
	// scp-style: user@host:path, with no scheme.
	return !strings.Contains(url, "://") && strings.Contains(url, "@") && strings.Contains(url, ":")
}

func readSecretFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read credentials from %s: %w", path, unwrapPath(err))
	}
	return strings.TrimSpace(string(b)), nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
