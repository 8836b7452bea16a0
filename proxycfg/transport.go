package proxycfg

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/net/proxy"
)

// Transport returns a clone of http.DefaultTransport that sends requests
// through the configured proxy, for HTTP(S) cloud calls:
//
//   - HTTP proxy set, plain: http:// requests in absolute form with Basic
//     Proxy-Authorization; https:// requests through a CONNECT tunnel of this
//     package (so refusals are a *ConnectError, any 2xx opens the tunnel).
//   - HTTP proxy set with TLS: every request through a CONNECT tunnel over
//     TLS to the proxy (the proxy's CA settings do not leak into the target's
//     TLS configuration).
//   - else SOCKS proxy set: every request through the SOCKS dialer.
//   - else: direct, reading HTTP_PROXY/HTTPS_PROXY/NO_PROXY only when
//     UseEnvironment is set.
//
// Targets matching Bypass are reached directly. The transport never reads the
// environment otherwise. Target TLS uses the transport's TLSClientConfig
// (nil: system roots) and HTTP/2 is negotiated as usual. Build a new
// transport when the settings change and call CloseIdleConnections on the
// old one.
func (c Config) Transport() (*http.Transport, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	bypass, err := NewBypass(c.Bypass)
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	direct := &net.Dialer{Timeout: dialTimeout, KeepAlive: dialTimeout}
	t.DialContext = direct.DialContext
	switch {
	case c.HTTP.Enabled():
		cd, err := c.HTTP.connectDialer(direct)
		if err != nil {
			return nil, err
		}
		tunnel := &BypassDialer{Bypass: bypass, Proxy: cd, Direct: direct}
		if c.HTTP.TLS {
			t.DialContext = tunnel.DialContext
			break
		}
		proxyURL := &url.URL{Scheme: "http", Host: c.HTTP.HostPort()}
		if c.HTTP.Username != "" {
			proxyURL.User = url.UserPassword(c.HTTP.Username, c.HTTP.Password.Reveal())
		}
		t.Proxy = func(req *http.Request) (*url.URL, error) {
			if req.URL.Scheme != "http" || bypass.Match(canonicalAddr(req.URL)) {
				return nil, nil
			}
			return proxyURL, nil
		}
		t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialTLS(ctx, t, tunnel, network, addr)
		}
	case c.SOCKS.Enabled():
		t.DialContext = (&BypassDialer{Bypass: bypass, Proxy: c.SOCKS.dialer(direct), Direct: direct}).DialContext
	case c.UseEnvironment:
		t.Proxy = http.ProxyFromEnvironment
	}
	return t, nil
}

// HTTPClient returns an *http.Client over Transport(), without an overall
// timeout (give each request a context deadline). Pass it to x/oauth2 with
// context.WithValue(ctx, oauth2.HTTPClient, client) and to go-oidc with
// oidc.ClientContext, or token and key fetches bypass the proxy.
func (c Config) HTTPClient() (*http.Client, error) {
	t, err := c.Transport()
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t}, nil
}

// dialTimeout bounds TCP connects and sets the keep-alive period, as
// http.DefaultTransport does.
const dialTimeout = 30 * time.Second

// dialTLS opens a tunnel with d and runs the target's TLS handshake on it,
// with t's TLSClientConfig and HTTP/2 offered when t attempts it.
func dialTLS(ctx context.Context, t *http.Transport, d proxy.ContextDialer, network, addr string) (net.Conn, error) {
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	var cfg *tls.Config
	if t.TLSClientConfig != nil {
		cfg = t.TLSClientConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w %q", ErrBadTarget, addr)
		}
		cfg.ServerName = host
	}
	if len(cfg.NextProtos) == 0 && t.ForceAttemptHTTP2 {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("proxycfg: tls handshake with %s through proxy: %w", addr, err)
	}
	return tc, nil
}

// canonicalAddr returns "host:port" of u, with the scheme's default port.
func canonicalAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
