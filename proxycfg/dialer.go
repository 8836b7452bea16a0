package proxycfg

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"

	"golang.org/x/net/proxy"
)

// defaultForward is the dialer used to reach proxies and bypassed targets
// when the caller passes a nil forward dialer.
func defaultForward() proxy.ContextDialer {
	return &net.Dialer{Timeout: dialTimeout, KeepAlive: dialTimeout}
}

// Dialer returns the dialer for raw TCP (SMTP, IMAP, ...): through the SOCKS
// proxy if it is set, else through an HTTP CONNECT tunnel, else direct.
// Targets matching Bypass are dialled directly with forward. forward (nil:
// a net.Dialer with a 30 s connect timeout) also reaches the proxy.
func (c Config) Dialer(forward proxy.ContextDialer) (proxy.ContextDialer, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	switch {
	case c.SOCKS.Enabled():
		return c.SOCKSDialer(forward)
	case c.HTTP.Enabled():
		return c.HTTPProxyDialer(forward)
	}
	if forward == nil {
		forward = defaultForward()
	}
	return forward, nil
}

// HTTPProxyDialer returns a dialer that tunnels through the HTTP proxy with
// CONNECT, dialling Bypass targets directly. It fails with ErrNotConfigured
// when the HTTP proxy has no address.
func (c Config) HTTPProxyDialer(forward proxy.ContextDialer) (proxy.ContextDialer, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !c.HTTP.Enabled() {
		return nil, fmt.Errorf("%w: http.address is empty", ErrNotConfigured)
	}
	d, err := c.HTTP.connectDialer(forward)
	if err != nil {
		return nil, err
	}
	return c.withBypass(d, forward)
}

// SOCKSDialer returns a dialer through the SOCKS proxy (SOCKS4/4a or SOCKS5
// per SOCKS.Version), dialling Bypass targets directly. It fails with
// ErrNotConfigured when the SOCKS proxy has no address.
func (c Config) SOCKSDialer(forward proxy.ContextDialer) (proxy.ContextDialer, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !c.SOCKS.Enabled() {
		return nil, fmt.Errorf("%w: socks.address is empty", ErrNotConfigured)
	}
	return c.withBypass(c.SOCKS.dialer(forward), forward)
}

func (c Config) withBypass(d proxy.ContextDialer, forward proxy.ContextDialer) (proxy.ContextDialer, error) {
	if len(c.Bypass) == 0 {
		return d, nil
	}
	b, err := NewBypass(c.Bypass)
	if err != nil {
		return nil, err
	}
	if forward == nil {
		forward = defaultForward()
	}
	return &BypassDialer{Bypass: b, Proxy: d, Direct: forward}, nil
}

// connectDialer builds the CONNECT dialer of p (loading CAFile).
func (p HTTPProxy) connectDialer(forward proxy.ContextDialer) (*ConnectDialer, error) {
	if forward == nil {
		forward = defaultForward()
	}
	d := &ConnectDialer{ProxyAddr: p.HostPort(), Username: p.Username, Password: p.Password, Forward: forward}
	if p.TLS {
		cfg, err := p.tlsConfig()
		if err != nil {
			return nil, err
		}
		d.TLSConfig = cfg
	}
	return d, nil
}

// tlsConfig is the client TLS configuration for the proxy itself.
func (p HTTPProxy) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: p.ServerName, RootCAs: p.RootCAs}
	if cfg.ServerName == "" {
		cfg.ServerName = p.Address
	}
	if p.CAFile != "" {
		pem, err := os.ReadFile(p.CAFile)
		if err != nil {
			return nil, &FieldError{Field: "http.ca_file", Problem: fmt.Sprintf("cannot read: %v", err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &FieldError{Field: "http.ca_file", Problem: "holds no PEM certificate"}
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// dialer builds the SOCKS4 or SOCKS5 dialer of p.
func (p SOCKSProxy) dialer(forward proxy.ContextDialer) proxy.ContextDialer {
	if forward == nil {
		forward = defaultForward()
	}
	if p.version() == 4 {
		return &SOCKS4Dialer{ProxyAddr: p.HostPort(), UserID: p.Username, ResolveLocally: p.ResolvesLocally(), Forward: forward}
	}
	return &SOCKS5Dialer{ProxyAddr: p.HostPort(), Username: p.Username, Password: p.Password, ResolveLocally: p.ResolvesLocally(), Forward: forward}
}

var _ proxy.ContextDialer = (*BypassDialer)(nil)
var _ proxy.Dialer = (*BypassDialer)(nil)

// BypassDialer sends targets that match Bypass to Direct and the others to
// Proxy. It is safe for concurrent use when its dialers are.
type BypassDialer struct {
	// Bypass selects the targets dialled directly; nil selects none.
	Bypass *Bypass
	// Proxy dials every other target.
	Proxy proxy.ContextDialer
	// Direct dials bypassed targets; nil means a plain net.Dialer.
	Direct proxy.ContextDialer
}

// Dial is DialContext with a background context.
func (d *BypassDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

// DialContext dials addr directly when it matches Bypass, else through Proxy.
func (d *BypassDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.Bypass.Match(addr) {
		return forwardOrDirect(d.Direct).DialContext(ctx, network, addr)
	}
	return d.Proxy.DialContext(ctx, network, addr)
}
