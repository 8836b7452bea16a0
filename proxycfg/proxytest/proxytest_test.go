package proxytest_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/proxycfg"
	"github.com/ucxkit/ucxkit/proxycfg/proxytest"
)

func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func TestServers(t *testing.T) {
	target := echo(t)
	for _, kind := range []proxytest.Kind{proxytest.HTTP, proxytest.SOCKS4, proxytest.SOCKS5} {
		t.Run(kind.String(), func(t *testing.T) {
			pw := "p@ss word"
			if kind == proxytest.SOCKS4 {
				pw = ""
			}
			s, err := proxytest.NewServer(kind, proxytest.Options{Username: "alice", Password: pw})
			require.NoError(t, err)
			defer s.Close()
			cfg, err := proxycfg.FromURL(s.URL())
			require.NoError(t, err)
			d, err := cfg.Dialer(nil)
			require.NoError(t, err)
			c, err := d.DialContext(context.Background(), "tcp", target)
			require.NoError(t, err)
			_, err = io.WriteString(c, "ping\n")
			require.NoError(t, err)
			line, err := bufio.NewReader(c).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "ping\n", line)
			require.Equal(t, []string{target}, s.Targets())

			// Close ends open tunnels too.
			require.NoError(t, s.Close())
			_, err = c.Read(make([]byte, 1))
			require.Error(t, err)
			c.Close()
		})
	}
}

func TestAuthEnforced(t *testing.T) {
	target := echo(t)
	h, err := proxytest.NewServer(proxytest.HTTP, proxytest.Options{Username: "alice", Password: "right"})
	require.NoError(t, err)
	defer h.Close()
	_, err = (&proxycfg.ConnectDialer{ProxyAddr: h.Addr, Username: "alice", Password: proxycfg.NewSecret("wrong")}).DialContext(context.Background(), "tcp", target)
	require.ErrorIs(t, err, proxycfg.ErrProxyAuthFailed)

	s5, err := proxytest.NewServer(proxytest.SOCKS5, proxytest.Options{Username: "alice", Password: "right"})
	require.NoError(t, err)
	defer s5.Close()
	_, err = (&proxycfg.SOCKS5Dialer{ProxyAddr: s5.Addr}).DialContext(context.Background(), "tcp", target)
	require.ErrorIs(t, err, proxycfg.ErrProxyAuthRequired)

	s4, err := proxytest.NewServer(proxytest.SOCKS4, proxytest.Options{Username: "alice"})
	require.NoError(t, err)
	defer s4.Close()
	_, err = (&proxycfg.SOCKS4Dialer{ProxyAddr: s4.Addr, UserID: "bob"}).DialContext(context.Background(), "tcp", target)
	var se *proxycfg.SOCKS4Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, proxycfg.SOCKS4IdentdMismatch, se.Code)

	// Absolute-form requests need the credentials as well.
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(nil)}}).Get("http://" + h.Addr + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusProxyAuthRequired, resp.StatusCode)
}
