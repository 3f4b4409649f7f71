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
	"slices"
	"strings"
	"time"

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

// trustedKey is one key of an SSH keyring, with the restrictions of its
// allowed_signers line.
type trustedKey struct {
	key ssh.PublicKey
	// namespaces, when set, lists the signature namespaces the key may
	// sign for (a commit's is "git").
	namespaces []string
	// validAfter and validBefore bound the commit time (the committer
	// date, as git checks it); zero is unbounded.
	validAfter, validBefore time.Time
}

// parseSSHKeys reads authorized_keys lines, or allowed_signers lines (a
// principal list before the key), honouring the options git honours:
// namespaces, valid-after and valid-before. cert-authority lines are
// refused: berth verifies plain keys, not certificates.
func parseSSHKeys(text string) ([]trustedKey, error) {
	var keys []trustedKey
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			if _, rest, ok := strings.Cut(line, " "); ok {
				k, _, opts, _, err = ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(rest)))
			}
		}
		if err != nil {
			return nil, fmt.Errorf("keyring line %d: not an OpenPGP key ring nor an SSH public key: %w", i+1, err)
		}
		tk := trustedKey{key: k}
		for _, o := range opts {
			name, value, _ := strings.Cut(o, "=")
			value = strings.Trim(value, `"`)
			switch strings.ToLower(name) {
			case "namespaces":
				tk.namespaces = strings.Split(value, ",")
			case "valid-after":
				tk.validAfter, err = parseSSHTime(value)
			case "valid-before":
				tk.validBefore, err = parseSSHTime(value)
			case "cert-authority":
				err = errors.New("cert-authority is not supported by berth (list the signers' own keys)")
			}
			if err != nil {
				return nil, fmt.Errorf("keyring line %d: %s: %w", i+1, name, err)
			}
		}
		keys = append(keys, tk)
	}
	if len(keys) == 0 {
		return nil, errors.New("keyring has no keys")
	}
	return keys, nil
}

// parseSSHTime reads ssh-keygen's YYYYMMDD[HHMM[SS]][Z] (local time unless
// Z, as ssh-keygen reads it).
func parseSSHTime(v string) (time.Time, error) {
	loc := time.Local
	if z, ok := strings.CutSuffix(v, "Z"); ok {
		v, loc = z, time.UTC
	}
	for _, layout := range []string{"20060102150405", "200601021504", "20060102"} {
		if len(v) == len(layout) {
			return time.ParseInLocation(layout, v, loc)
		}
	}
	return time.Time{}, fmt.Errorf("%q is not YYYYMMDD[HHMM[SS]][Z]", v)
}

// allows says whether k may sign a commit of time at in namespace.
func (k trustedKey) allows(namespace string, at time.Time) error {
	if k.namespaces != nil && !slices.Contains(k.namespaces, namespace) {
		return fmt.Errorf("the key may sign for namespaces %s only, not %q", strings.Join(k.namespaces, ","), namespace)
	}
	if !k.validAfter.IsZero() && at.Before(k.validAfter) {
		return fmt.Errorf("the commit (%s) predates the key's valid-after (%s)", at.UTC().Format(time.RFC3339), k.validAfter.UTC().Format(time.RFC3339))
	}
	if !k.validBefore.IsZero() && !at.Before(k.validBefore) {
		return fmt.Errorf("the commit (%s) is past the key's valid-before (%s)", at.UTC().Format(time.RFC3339), k.validBefore.UTC().Format(time.RFC3339))
	}
	return nil
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

func verifySSH(c *object.Commit, keys []trustedKey) error {
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
	// A key may be listed on several lines; one that allows the commit
	// is enough.
	var refusal error
	trusted := false
	for _, k := range keys {
		if !bytes.Equal(k.key.Marshal(), signer.Marshal()) {
			continue
		}
		if refusal = k.allows(sig.Namespace, c.Committer.When); refusal == nil {
			trusted = true
			break
		}
	}
	switch {
	case refusal != nil && !trusted:
		return fmt.Errorf("signed by %s: %w", ssh.FingerprintSHA256(signer), refusal)
	case !trusted:
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
	if s.Format == ssh.KeyAlgoRSA {
		// ssh-rsa signs a SHA-1 digest, which can be forged; OpenSSH and
		// git refuse it too.
		return errors.New("SSH signature uses ssh-rsa (SHA-1), which is refused: sign with rsa-sha2-512 (ssh-keygen's default), Ed25519 or ECDSA")
	}
	if err := signer.Verify(append([]byte("SSHSIG"), signed...), &s); err != nil {
		return fmt.Errorf("SSH signature does not verify: %w", err)
	}
	return nil
}
