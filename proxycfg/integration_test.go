package proxycfg_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/proxycfg"
)

// Integration tests against real proxies started by .ci/integration/proxy.sh:
//
//	UCXKIT_SQUID_ADDR, UCXKIT_SQUID_USER, UCXKIT_SQUID_PASSWORD           squid, Basic auth
//	UCXKIT_DANTE_ADDR, UCXKIT_DANTE_USER, UCXKIT_DANTE_PASSWORD           dante, SOCKS5 username, SOCKS4 user-id
//	UCXKIT_MICROSOCKS_ADDR, UCXKIT_MICROSOCKS_USER, UCXKIT_MICROSOCKS_PASSWORD  microsocks, SOCKS5
//
// Each test skips, naming its variable, when the variable is unset.

type realProxy struct{ host, user, password string }

func needProxy(t *testing.T, prefix string) realProxy {
	t.Helper()
	addr := os.Getenv("UCXKIT_" + prefix + "_ADDR")
	if addr == "" {
		t.Skipf("set UCXKIT_%s_ADDR (and UCXKIT_%s_USER, UCXKIT_%s_PASSWORD) to run against a real proxy; .ci/integration/proxy.sh does", prefix, prefix, prefix)
	}
	return realProxy{host: addr, user: os.Getenv("UCXKIT_" + prefix + "_USER"), password: os.Getenv("UCXKIT_" + prefix + "_PASSWORD")}
}

// greeter is an SMTP-like loopback server: it sends its greeting at once
// (so it often arrives with the proxy's answer), then echoes lines.
func greeter(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "220 greeter ESMTP\r\n")
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if sc.Text() == "QUIT" {
						io.WriteString(c, "221 bye\r\n")
						return
					}
					io.WriteString(c, "250 "+sc.Text()+"\r\n")
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func converse(t *testing.T, d interface {
	DialContext(context.Context, string, string) (net.Conn, error)
}, target string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", target)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "220 greeter ESMTP\r\n", line)
	_, err = io.WriteString(c, "EHLO x\r\nQUIT\r\n")
	require.NoError(t, err)
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, "250 EHLO x\r\n221 bye\r\n", string(rest))
}

func realConfig(t *testing.T, p realProxy, http bool, version int) proxycfg.Config {
	h, port := hostPort(t, p.host)
	if http {
		return proxycfg.Config{HTTP: proxycfg.HTTPProxy{Address: h, Port: port, Username: p.user, Password: proxycfg.NewSecret(p.password)}}
	}
	return proxycfg.Config{SOCKS: proxycfg.SOCKSProxy{Version: version, Address: h, Port: port, Username: p.user, Password: proxycfg.NewSecret(p.password)}}
}

func TestIntegrationSquid(t *testing.T) {
	p := needProxy(t, "SQUID")
	target := greeter(t)
	cfg := realConfig(t, p, true, 0)

	t.Run("connect to a loopback port", func(t *testing.T) {
		d, err := cfg.HTTPProxyDialer(nil)
		require.NoError(t, err)
		converse(t, d, target)
		d, err = cfg.Dialer(nil)
		require.NoError(t, err)
		converse(t, d, target)
	})
	t.Run("wrong password", func(t *testing.T) {
		bad := cfg
		bad.HTTP.Password = proxycfg.NewSecret("wrong")
		d, err := bad.HTTPProxyDialer(nil)
		require.NoError(t, err)
		_, err = d.DialContext(context.Background(), "tcp", target)
		require.ErrorIs(t, err, proxycfg.ErrProxyAuthFailed)
		var ce *proxycfg.ConnectError
		require.True(t, errors.As(err, &ce))
		require.Equal(t, 407, ce.StatusCode)
		require.Contains(t, ce.AuthSchemes, "Basic")
	})
	t.Run("no credentials", func(t *testing.T) {
		anon := cfg
		anon.HTTP.Username, anon.HTTP.Password = "", proxycfg.NewSecret("")
		d, err := anon.HTTPProxyDialer(nil)
		require.NoError(t, err)
		_, err = d.DialContext(context.Background(), "tcp", target)
		require.ErrorIs(t, err, proxycfg.ErrProxyAuthRequired)
	})
	t.Run("denied destination", func(t *testing.T) {
		d, err := cfg.HTTPProxyDialer(nil)
		require.NoError(t, err)
		_, err = d.DialContext(context.Background(), "tcp", "192.0.2.1:25")
		var ce *proxycfg.ConnectError
		require.True(t, errors.As(err, &ce), "%v", err)
		require.Equal(t, 403, ce.StatusCode)
		require.Contains(t, ce.Header.Get("X-Squid-Error"), "ERR_ACCESS_DENIED")
		require.NotEmpty(t, ce.Body)
	})
	t.Run("http client", func(t *testing.T) {
		testHTTPClient(t, cfg)
	})
}

// testHTTPClient fetches a plain and a TLS loopback server through cfg.
func testHTTPClient(t *testing.T, cfg proxycfg.Config) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain ok") }))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tls ok") }))
	defer tlsSrv.Close()
	tr, err := cfg.Transport()
	require.NoError(t, err)
	defer tr.CloseIdleConnections()
	tr.TLSClientConfig = &tls.Config{RootCAs: tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	body, _ := get(t, c, plain.URL)
	require.Equal(t, "plain ok", body)
	body, _ = get(t, c, tlsSrv.URL)
	require.Equal(t, "tls ok", body)
}

func TestIntegrationDante(t *testing.T) {
	p := needProxy(t, "DANTE")
	target := greeter(t)
	t.Run("socks5 username", func(t *testing.T) {
		cfg := realConfig(t, p, false, 5)
		d, err := cfg.SOCKSDialer(nil)
		require.NoError(t, err)
		converse(t, d, target)
		testHTTPClient(t, cfg)
	})
	t.Run("socks5 wrong password", func(t *testing.T) {
		cfg := realConfig(t, p, false, 5)
		cfg.SOCKS.Password = proxycfg.NewSecret("wrong")
		d, err := cfg.SOCKSDialer(nil)
		require.NoError(t, err)
		_, err = d.DialContext(context.Background(), "tcp", target)
		require.ErrorIs(t, err, proxycfg.ErrProxyAuthFailed)
	})
	t.Run("socks4", func(t *testing.T) {
		cfg := realConfig(t, p, false, 4)
		cfg.SOCKS.Password = proxycfg.NewSecret("") // SOCKS4 default: names resolved here
		d, err := cfg.SOCKSDialer(nil)
		require.NoError(t, err)
		converse(t, d, target)
		_, port, _ := net.SplitHostPort(target)
		converse(t, d, "localhost:"+port) // resolved here, sent as an IPv4 address
	})
	t.Run("socks4a", func(t *testing.T) {
		// Dante 1.4 does not implement SOCKS4a: a name sent to it is
		// refused with 0x5b, which must surface as a typed error.
		cfg := realConfig(t, p, false, 4)
		cfg.SOCKS.Password = proxycfg.NewSecret("")
		cfg.SOCKS.Resolve = proxycfg.ResolveProxy
		d, err := cfg.SOCKSDialer(nil)
		require.NoError(t, err)
		_, port, _ := net.SplitHostPort(target)
		c, err := d.DialContext(context.Background(), "tcp", "localhost:"+port)
		if err == nil {
			c.Close()
			converse(t, d, "localhost:"+port)
			return
		}
		var se *proxycfg.SOCKS4Error
		require.True(t, errors.As(err, &se), "%v", err)
		require.Equal(t, proxycfg.SOCKS4Rejected, se.Code)
	})
	t.Run("socks4 refused", func(t *testing.T) {
		cfg := realConfig(t, p, false, 4)
		cfg.SOCKS.Password = proxycfg.NewSecret("")
		d, err := cfg.SOCKSDialer(nil)
		require.NoError(t, err)
		// Nothing listens on port 1: the proxy answers 0x5b.
		_, err = d.DialContext(context.Background(), "tcp", "127.0.0.1:1")
		var se *proxycfg.SOCKS4Error
		require.True(t, errors.As(err, &se), "%v", err)
		require.Equal(t, proxycfg.SOCKS4Rejected, se.Code)
	})
}

func TestIntegrationMicrosocks(t *testing.T) {
	p := needProxy(t, "MICROSOCKS")
	target := greeter(t)
	_, port, _ := net.SplitHostPort(target)
	cfg := realConfig(t, p, false, 5)
	t.Run("socks5h name resolved by the proxy", func(t *testing.T) {
		d, err := cfg.SOCKSDialer(nil)
		require.NoError(t, err)
		converse(t, d, "localhost:"+port)
		converse(t, d, target)
	})
	t.Run("socks5 local resolution", func(t *testing.T) {
		local := cfg
		local.SOCKS.Resolve = proxycfg.ResolveLocal
		d, err := local.Dialer(nil)
		require.NoError(t, err)
		converse(t, d, "localhost:"+port)
	})
	t.Run("wrong password", func(t *testing.T) {
		bad := cfg
		bad.SOCKS.Password = proxycfg.NewSecret("wrong")
		d, err := bad.Dialer(nil)
		require.NoError(t, err)
		_, err = d.DialContext(context.Background(), "tcp", target)
		require.Error(t, err)
		require.True(t, errors.Is(err, proxycfg.ErrProxyAuthFailed) || errors.Is(err, proxycfg.ErrProxyAuthUnsupported), "%v", err)
	})
	t.Run("refused target", func(t *testing.T) {
		d, err := cfg.Dialer(nil)
		require.NoError(t, err)
		_, err = d.DialContext(context.Background(), "tcp", "127.0.0.1:1")
		var se *proxycfg.SOCKS5Error
		require.True(t, errors.As(err, &se), "%v", err)
		require.NotZero(t, se.Code)
	})
	t.Run("http client", func(t *testing.T) { testHTTPClient(t, cfg) })
}
