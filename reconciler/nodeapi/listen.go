package nodeapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
)

// TCPOptions configure the API on TCP (`berth daemon --api-addr`).
type TCPOptions struct {
	Addr string
	// Token is the bearer token (see ReadToken); it is required on a
	// non-loopback address for anything but the webhook and the probes.
	Token string
	// TLSCert and TLSKey serve HTTPS; TLSClientCA also requires a client
	// certificate signed by one of its certificates.
	TLSCert, TLSKey, TLSClientCA string
	Logger                       *slog.Logger
}

// TCPListener is the API's TCP listener with the authentication its
// address needs.
type TCPListener struct {
	net.Listener
	wrap func(http.Handler) http.Handler
}

// ListenTCP checks the TLS files and opens the TCP listener, so
// that a mistake stops the daemon before it touches the node. The
// authentication then depends on the address:
//   - with a token, every path but the public ones needs it (bearer, or
//     the UI's session cookie);
//   - without one, on a loopback address, the API is served as on the
//     socket;
//   - without one, on any other address, only the webhook and the probes
//     are served: the API would otherwise hand status, logs, promote and
//     abort to anyone on the network.
func ListenTCP(o TCPOptions) (*TCPListener, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	token := o.Token
	tlsCfg, err := serverTLS(o.TLSCert, o.TLSKey, o.TLSClientCA)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("--api-addr: %w", err)
	}
	t := &TCPListener{Listener: l, wrap: func(h http.Handler) http.Handler { return h }}
	switch {
	case token != "":
		if len(token) < 16 {
			log.Warn("the API token is shorter than 16 characters; make a long random one (openssl rand -hex 32)")
		}
		auth := &Auth{Token: token, Secure: tlsCfg != nil}
		t.wrap = auth.Wrap
	case !isLoopback(l.Addr()):
		log.Warn("the TCP API is on a non-loopback address without --api-token-file: it serves only /hooks/git, /healthz and /readyz",
			"addr", l.Addr().String())
		t.wrap = PublicOnly
	}
	if tlsCfg != nil {
		t.Listener = tls.NewListener(l, tlsCfg)
	}
	return t, nil
}

// Serve serves h, behind the listener's authentication, until ctx ends.
func (t *TCPListener) Serve(ctx context.Context, h http.Handler) error {
	return Serve(ctx, t.Listener, t.wrap(h))
}

// ReadToken reads a token file ("" when path is ""). An empty file is an
// error: it would otherwise turn authentication off without a word.
func ReadToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--api-token-file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("--api-token-file %s is empty: put a long random token in it (openssl rand -hex 32 > %s)", path, path)
	}
	return tok, nil
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// serverTLS loads the certificate pair, and the client CA when given (nil,
// nil: plain HTTP).
func serverTLS(cert, key, clientCA string) (*tls.Config, error) {
	switch {
	case cert == "" && key == "" && clientCA == "":
		return nil, nil
	case cert == "" || key == "":
		return nil, errors.New("--api-tls-cert and --api-tls-key go together (and --api-tls-client-ca needs both)")
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("--api-tls-cert/--api-tls-key: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if clientCA != "" {
		pem, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, fmt.Errorf("--api-tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--api-tls-client-ca %s: no PEM certificate in it", clientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}
