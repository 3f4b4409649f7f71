package source

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"
)

// sshSign signs c as `git commit -S` with an SSH key does (OpenSSH's
// PROTOCOL.sshsig), with the signature algorithm algo ("" for the key's
// default) and namespace.
func sshSign(t *testing.T, signer ssh.Signer, algo, namespace string, c *object.Commit) {
	t.Helper()
	c.PGPSignature = ""
	msg := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(msg); err != nil {
		t.Fatal(err)
	}
	r, _ := msg.Reader()
	data, _ := io.ReadAll(r)
	h := sha512.Sum512(data)
	signed := append([]byte("SSHSIG"), ssh.Marshal(struct {
		Namespace, Reserved, HashAlgorithm string
		Hash                               []byte
	}{namespace, "", "sha512", h[:]})...)
	var sig *ssh.Signature
	var err error
	if algo != "" {
		sig, err = signer.(ssh.AlgorithmSigner).SignWithAlgorithm(rand.Reader, signed, algo)
	} else {
		sig, err = signer.Sign(rand.Reader, signed)
	}
	if err != nil {
		t.Fatal(err)
	}
	blob := append([]byte("SSHSIG"), ssh.Marshal(sshsig{
		Version: 1, PublicKey: signer.PublicKey().Marshal(), Namespace: namespace,
		HashAlgorithm: "sha512", Signature: ssh.Marshal(sig),
	})...)
	c.PGPSignature = "-----BEGIN SSH SIGNATURE-----\n" + base64.StdEncoding.EncodeToString(blob) + "\n-----END SSH SIGNATURE-----\n"
}

func testCommit(when time.Time) *object.Commit {
	sig := object.Signature{Name: "t", Email: "t@example.com", When: when}
	return &object.Commit{Author: sig, Committer: sig, Message: "deploy\n", TreeHash: plumbing.NewHash("4b825dc642cb6eb9a060e54bf8d69288fbee4904")}
}

func TestVerifySSHAllowedSigners(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	when := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

	tests := []struct {
		name      string
		keyring   string
		namespace string
		want      string // "" verifies
	}{
		{"plain key", key, "git", ""},
		{"principal and namespaces", `t@example.com namespaces="git,file" ` + key, "git", ""},
		{"namespace not allowed", `t@example.com namespaces="file" ` + key, "git", "namespaces file only"},
		{"signed for another namespace", key, "file", "namespace"},
		{"valid window", `t@example.com valid-after="20260101",valid-before="20270101" ` + key, "git", ""},
		{"not yet valid", `t@example.com valid-after="20260401Z" ` + key, "git", "predates the key's valid-after"},
		{"expired", `t@example.com valid-before="202603151159Z" ` + key, "git", "past the key's valid-before"},
		{"expired line, valid line", "t@example.com valid-before=\"20250101Z\" " + key + "\nt@example.com " + key, "git", ""},
		{"cert authority", `t@example.com cert-authority ` + key, "git", "cert-authority is not supported"},
		{"bad time", `t@example.com valid-after="March" ` + key, "git", "YYYYMMDD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCommit(when)
			sshSign(t, signer, "", tt.namespace, c)
			err := verifyCommit(c, tt.keyring)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestVerifySSHRefusesSHA1: an RSA key may sign with rsa-sha2-512, never
// with ssh-rsa (SHA-1).
func TestVerifySSHRefusesSHA1(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.NewSignerFromKey(k)
	keyring := string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
	c := testCommit(time.Now())
	sshSign(t, signer, ssh.KeyAlgoRSASHA512, "git", c)
	if err := verifyCommit(c, keyring); err != nil {
		t.Fatalf("rsa-sha2-512: %v", err)
	}
	sshSign(t, signer, ssh.KeyAlgoRSA, "git", c)
	if err := verifyCommit(c, keyring); err == nil || !strings.Contains(err.Error(), "ssh-rsa (SHA-1)") {
		t.Fatalf("ssh-rsa: err = %v, want refused", err)
	}
	// A tampered commit does not verify.
	sshSign(t, signer, ssh.KeyAlgoRSASHA512, "git", c)
	c.Message = "deploy something else\n"
	if err := verifyCommit(c, keyring); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("tampered: err = %v", err)
	}
}
