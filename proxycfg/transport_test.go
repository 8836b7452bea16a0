package proxycfg_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/proxycfg"
	"github.com/ucxkit/ucxkit/proxycfg/proxytest"
)

const specialPassword = "p@ss:w/o?r#d %é"

func startProxy(t *testing.T, kind proxytest.Kind, user, pw string) *proxytest.Server {
	t.Helper()
	s, err := proxytest.NewServer(kind, proxytest.Options{Username: user, Password: pw})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func hostPort(t *testing.T, addr string) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return h, n
}

func httpProxyConfig(t *testing.T, s *proxytest.Server, user, pw string) proxycfg.Config {
	h, p := hostPort(t, s.Addr)
	return proxycfg.Config{HTTP: proxycfg.HTTPProxy{Address: h, Port: p, Username: user, Password: proxycfg.NewSecret(pw)}}
}

func socksConfig(t *testing.T, s *proxytest.Server, version int, user, pw string) proxycfg.Config {
	h, p := hostPort(t, s.Addr)
	return proxycfg.Config{SOCKS: proxycfg.SOCKSProxy{Version: version, Address: h, Port: p, Username: user, Password: proxycfg.NewSecret(pw)}}
}

func get(t *testing.T, c *http.Client, url string) (string, *http.Response) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b), resp
}

func TestHTTPClientThroughHTTPProxy(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tls:"+r.Proto) }))
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain") }))
	defer plain.Close()

	p := startProxy(t, proxytest.HTTP, "us@er", specialPassword)
	cfg := httpProxyConfig(t, p, "us@er", specialPassword)
	tr, err := cfg.Transport()
	require.NoError(t, err)
	tr.TLSClientConfig = &tls.Config{RootCAs: tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	c := &http.Client{Transport: tr}

	body, _ := get(t, c, tlsSrv.URL)
	require.Equal(t, "tls:HTTP/2.0", body, "HTTP/2 is negotiated through the tunnel")
	body, _ = get(t, c, plain.URL)
	require.Equal(t, "plain", body)
	require.Equal(t, []string{tlsSrv.Listener.Addr().String(), plain.Listener.Addr().String()}, p.Targets())

	// Wrong password: https targets report the typed CONNECT refusal.
	bad := httpProxyConfig(t, p, "us@er", "wrong")
	bc, err := bad.HTTPClient()
	require.NoError(t, err)
	_, err = bc.Get(tlsSrv.URL)
	var ce *proxycfg.ConnectError
	require.True(t, errors.As(err, &ce), "%v", err)
	require.Equal(t, 407, ce.StatusCode)
	require.ErrorIs(t, err, proxycfg.ErrProxyAuthFailed)
	resp, err := bc.Get(plain.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 407, resp.StatusCode)
}

func TestHTTPClientThroughSOCKS(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") }))
	defer srv.Close()
	for _, tc := range []struct {
		name    string
		kind    proxytest.Kind
		version int
		user    string
		pw      string
	}{
		{"socks5 auth", proxytest.SOCKS5, 5, "alice", specialPassword},
		{"socks5 open", proxytest.SOCKS5, 5, "", ""},
		{"socks4 user-id", proxytest.SOCKS4, 4, "alice", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, tc.kind, tc.user, tc.pw)
			c, err := socksConfig(t, p, tc.version, tc.user, tc.pw).HTTPClient()
			require.NoError(t, err)
			body, _ := get(t, c, srv.URL)
			require.Equal(t, "hi", body)
			require.Equal(t, []string{srv.Listener.Addr().String()}, p.Targets())
		})
	}
}

func TestBypassAppliesToBoth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") }))
	defer srv.Close()
	hp := startProxy(t, proxytest.HTTP, "", "")
	sp := startProxy(t, proxytest.SOCKS5, "", "")
	cfg := httpProxyConfig(t, hp, "", "")
	cfg.SOCKS = socksConfig(t, sp, 5, "", "").SOCKS
	cfg.Bypass = []string{"127.0.0.0/8"}

	c, err := cfg.HTTPClient()
	require.NoError(t, err)
	body, _ := get(t, c, srv.URL)
	require.Equal(t, "hi", body)
	d, err := cfg.Dialer(nil)
	require.NoError(t, err)
	conn, err := d.DialContext(context.Background(), "tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	conn.Close()
	require.Empty(t, hp.Targets())
	require.Empty(t, sp.Targets())
}

func TestDialerSelection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "220 ready\r\n")
			c.Close()
		}
	}()
	target := ln.Addr().String()
	hp := startProxy(t, proxytest.HTTP, "u", "p")
	sp := startProxy(t, proxytest.SOCKS5, "u", "p")
	both := httpProxyConfig(t, hp, "u", "p")
	both.SOCKS = socksConfig(t, sp, 5, "u", "p").SOCKS

	dial := func(d interface {
		DialContext(context.Context, string, string) (net.Conn, error)
	}) {
		t.Helper()
		c, err := d.DialContext(context.Background(), "tcp", target)
		require.NoError(t, err)
		defer c.Close()
		b, err := io.ReadAll(c)
		require.NoError(t, err)
		require.Equal(t, "220 ready\r\n", string(b))
	}
	d, err := both.Dialer(nil)
	require.NoError(t, err)
	dial(d)
	require.Len(t, sp.Targets(), 1, "raw TCP prefers SOCKS")
	require.Empty(t, hp.Targets())

	d, err = both.HTTPProxyDialer(nil)
	require.NoError(t, err)
	dial(d)
	require.Len(t, hp.Targets(), 1)

	d, err = both.SOCKSDialer(nil)
	require.NoError(t, err)
	dial(d)
	require.Len(t, sp.Targets(), 2)

	onlyHTTP := httpProxyConfig(t, hp, "u", "p")
	d, err = onlyHTTP.Dialer(nil)
	require.NoError(t, err)
	dial(d)
	require.Len(t, hp.Targets(), 2, "raw TCP falls back to CONNECT")

	_, err = onlyHTTP.SOCKSDialer(nil)
	require.ErrorIs(t, err, proxycfg.ErrNotConfigured)
	_, err = proxycfg.Config{}.HTTPProxyDialer(nil)
	require.ErrorIs(t, err, proxycfg.ErrNotConfigured)
	d, err = proxycfg.Config{}.Dialer(nil)
	require.NoError(t, err)
	dial(d)

	_, err = proxycfg.Config{HTTP: proxycfg.HTTPProxy{Port: 70000}}.Dialer(nil)
	require.ErrorContains(t, err, "http.port: must be 1-65535, got 70000")
	_, err = proxycfg.Config{HTTP: proxycfg.HTTPProxy{Port: 70000}}.Transport()
	require.ErrorContains(t, err, "http.address: is mandatory")
}

func TestTransportEnvironment(t *testing.T) {
	tr, err := proxycfg.Config{}.Transport()
	require.NoError(t, err)
	require.Nil(t, tr.Proxy, "the environment is not read unless asked")
	tr, err = proxycfg.Config{UseEnvironment: true}.Transport()
	require.NoError(t, err)
	require.NotNil(t, tr.Proxy)
	// Settings win over the environment.
	hp := startProxy(t, proxytest.HTTP, "", "")
	cfg := httpProxyConfig(t, hp, "", "")
	cfg.UseEnvironment = true
	tr, err = cfg.Transport()
	require.NoError(t, err)
	req, _ := http.NewRequest("GET", "http://example.com/", nil)
	u, err := tr.Proxy(req)
	require.NoError(t, err)
	require.Equal(t, hp.Addr, u.Host)
}

// tlsProxy is an HTTPS proxy (TLS to the proxy itself) that tunnels CONNECT.
func tlsProxy(t *testing.T) (*httptest.Server, string) {
	var wg sync.WaitGroup
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		c, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			up.Close()
			return
		}
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		wg.Add(1)
		go func() { defer wg.Done(); io.Copy(up, c); up.Close() }()
		io.Copy(c, up)
		c.Close()
	}))
	srv.StartTLS()
	t.Cleanup(func() { srv.Close(); wg.Wait() })
	caFile := filepath.Join(t.TempDir(), "proxy-ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	return srv, caFile
}

func TestTransportTLSProxy(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "via tls proxy") }))
	defer target.Close()
	srv, caFile := tlsProxy(t)
	h, p := hostPort(t, srv.Listener.Addr().String())
	cfg := proxycfg.Config{HTTP: proxycfg.HTTPProxy{Address: h, Port: p, TLS: true, CAFile: caFile, ServerName: "example.com"}}
	c, err := cfg.HTTPClient()
	require.NoError(t, err)
	body, _ := get(t, c, target.URL)
	require.Equal(t, "via tls proxy", body)

	// The proxy's certificate is verified: without the CA it is refused.
	cfg.HTTP.CAFile = ""
	c, err = cfg.HTTPClient()
	require.NoError(t, err)
	_, err = c.Get(target.URL)
	var uerr x509.UnknownAuthorityError
	require.True(t, errors.As(err, &uerr), "%v", err)

	// An in-memory pool works like the file.
	cfg.HTTP.RootCAs = x509.NewCertPool()
	cfg.HTTP.RootCAs.AddCert(srv.Certificate())
	c, err = cfg.HTTPClient()
	require.NoError(t, err)
	body, _ = get(t, c, target.URL)
	require.Equal(t, "via tls proxy", body)
	cfg.HTTP.RootCAs = nil

	cfg.HTTP.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	_, err = cfg.Transport()
	require.ErrorContains(t, err, "http.ca_file: cannot read")
}

func TestLoggerAndErrorsHideSecrets(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()
	p := startProxy(t, proxytest.HTTP, "u", specialPassword)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := &proxycfg.ConnectDialer{ProxyAddr: p.Addr, Username: "u", Password: proxycfg.NewSecret(specialPassword), Logger: log}
	c, err := d.DialContext(context.Background(), "tcp", target.Listener.Addr().String())
	require.NoError(t, err)
	c.Close()
	d.Password = proxycfg.NewSecret("wrong-" + specialPassword)
	_, err = d.DialContext(context.Background(), "tcp", target.Listener.Addr().String())
	require.ErrorIs(t, err, proxycfg.ErrProxyAuthFailed)
	out := buf.String()
	require.Contains(t, out, "proxycfg: tunnel open")
	require.Contains(t, out, "proxycfg: tunnel failed")
	require.NotContains(t, out, specialPassword)

	// A proxy that is down: net/http's error does not carry the proxy URL's password.
	cfg := proxycfg.Config{HTTP: proxycfg.HTTPProxy{Address: "127.0.0.1", Port: 1, Username: "u", Password: proxycfg.NewSecret(specialPassword)}}
	cl, err := cfg.HTTPClient()
	require.NoError(t, err)
	for _, u := range []string{"http://example.invalid/", "https://example.invalid/"} {
		_, err = cl.Get(u)
		require.Error(t, err)
		require.NotContains(t, err.Error(), specialPassword)
		require.NotContains(t, err.Error(), "p%40ss")
	}
}
