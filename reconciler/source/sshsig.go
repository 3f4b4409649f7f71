package source

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"
)

// verifyCommit checks c's signature against keyring: an armored OpenPGP key
// ring, or SSH public keys one a line (authorized_keys or git's
// allowed_signers format), as Flux accepts both.
func verifyCommit(c *object.Commit, keyring string) error {
	if strings.Contains(keyring, "BEGIN PGP PUBLIC KEY BLOCK") {
		_, err := c.Verify(keyring)
		return err
	}
	keys, err := parseSSHKeys(keyring)
	if err != nil {
		return err
	}
	return verifySSH(c, keys)
}

// parseSSHKeys reads authorized_keys lines, or allowed_signers lines
// (a principal list before the key).
func parseSSHKeys(text string) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			if _, rest, ok := strings.Cut(line, " "); ok {
				k, _, _, _, err = ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(rest)))
			}
		}
		if err != nil {
			return nil, fmt.Errorf("keyring line %d: not an OpenPGP key ring nor an SSH public key: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("keyring has no keys")
	}
	return keys, nil
}

// sshsig is the blob of an SSH signature (OpenSSH PROTOCOL.sshsig).
type sshsig struct {
	Version       uint32
	PublicKey     []byte
	Namespace     string
	Reserved      string
	HashAlgorithm string
	Signature     []byte
}

func verifySSH(c *object.Commit, keys []ssh.PublicKey) error {
	armored := strings.TrimSpace(c.PGPSignature)
	if armored == "" {
		return errors.New("the commit is not signed")
	}
	body, ok := strings.CutPrefix(armored, "-----BEGIN SSH SIGNATURE-----")
	if !ok {
		return errors.New("the commit has no SSH signature")
	}
	body, _, _ = strings.Cut(body, "-----END SSH SIGNATURE-----")
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil {
		return fmt.Errorf("SSH signature: %w", err)
	}
	rest, ok := bytes.CutPrefix(raw, []byte("SSHSIG"))
	if !ok {
		return errors.New("SSH signature: bad magic")
	}
	var sig sshsig
	if err := ssh.Unmarshal(rest, &sig); err != nil {
		return fmt.Errorf("SSH signature: %w", err)
	}
	if sig.Version != 1 || sig.Namespace != "git" {
		return fmt.Errorf("SSH signature: version %d namespace %q, want 1 and git", sig.Version, sig.Namespace)
	}
	signer, err := ssh.ParsePublicKey(sig.PublicKey)
	if err != nil {
		return fmt.Errorf("SSH signature: %w", err)
	}
	trusted := false
	for _, k := range keys {
		if bytes.Equal(k.Marshal(), signer.Marshal()) {
			trusted = true
		}
	}
	if !trusted {
		return fmt.Errorf("signed by %s, which is not in the keyring", ssh.FingerprintSHA256(signer))
	}
	var h hash.Hash
	switch sig.HashAlgorithm {
	case "sha512":
		h = sha512.New()
	case "sha256":
		h = sha256.New()
	default:
		return fmt.Errorf("SSH signature: hash %q", sig.HashAlgorithm)
	}
	msg := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(msg); err != nil {
		return err
	}
	r, err := msg.Reader()
	if err != nil {
		return err
	}
	if _, err := io.Copy(h, r); err != nil {
		return err
	}
	signed := ssh.Marshal(struct {
		Namespace, Reserved, HashAlgorithm string
		Hash                               []byte
	}{sig.Namespace, sig.Reserved, sig.HashAlgorithm, h.Sum(nil)})
	var s ssh.Signature
	if err := ssh.Unmarshal(sig.Signature, &s); err != nil {
		return fmt.Errorf("SSH signature: %w", err)
	}
	if err := signer.Verify(append([]byte("SSHSIG"), signed...), &s); err != nil {
		return fmt.Errorf("SSH signature does not verify: %w", err)
	}
	return nil
}
