package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/proxycfg/proxytest"
)

// lineServer answers "220 ready", then echoes each line upper-cased until
// QUIT, like a tiny SMTP server.
func lineServer(t *testing.T) string {
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
				io.WriteString(c, "220 ready\r\n")
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if sc.Text() == "QUIT" {
						io.WriteString(c, "221 bye\r\n")
						return
					}
					io.WriteString(c, strings.ToUpper(sc.Text())+"\r\n")
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func proxy(t *testing.T, kind proxytest.Kind, user, pw string) *proxytest.Server {
	s, err := proxytest.NewServer(kind, proxytest.Options{Username: user, Password: pw})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func runCLI(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestNetcat(t *testing.T) {
	target := lineServer(t)
	const pw = "p@ss:w/o?r#d %é"
	for _, p := range []*proxytest.Server{
		proxy(t, proxytest.HTTP, "us@er", pw),
		proxy(t, proxytest.SOCKS5, "alice", pw),
		proxy(t, proxytest.SOCKS4, "alice", ""),
	} {
		t.Run(p.Kind.String(), func(t *testing.T) {
			code, out, errs := runCLI("hello\r\nQUIT\r\n", "-proxy", p.URL(), target)
			require.Equal(t, 0, code, errs)
			require.Equal(t, "220 ready\r\nHELLO\r\n221 bye\r\n", out)
			require.Empty(t, errs)
			require.Equal(t, []string{target}, p.Targets())
		})
	}
}

func TestFlagsAfterTarget(t *testing.T) {
	target := lineServer(t)
	p := proxy(t, proxytest.SOCKS5, "", "")
	code, out, errs := runCLI("QUIT\r\n", target, "-proxy", p.URL())
	require.Equal(t, 0, code, errs)
	require.Equal(t, "220 ready\r\n221 bye\r\n", out)
}

func TestNetcatBypass(t *testing.T) {
	target := lineServer(t)
	p := proxy(t, proxytest.SOCKS5, "", "")
	code, out, errs := runCLI("QUIT\r\n", "-proxy", p.URL(), "-bypass", "localhost,127.0.0.0/8", target)
	require.Equal(t, 0, code, errs)
	require.Equal(t, "220 ready\r\n221 bye\r\n", out)
	require.Empty(t, p.Targets())
}

func TestProxyFailures(t *testing.T) {
	target := lineServer(t)
	hp := proxy(t, proxytest.HTTP, "u", "right")
	sp := proxy(t, proxytest.SOCKS5, "u", "right")
	tests := []struct {
		name  string
		proxy string
		want  string
	}{
		{"connect 407", "http://u:wrong@" + hp.Addr, "407 Proxy Authentication Required: the proxy refused the configured credentials"},
		{"connect no creds", "http://" + hp.Addr, "the proxy requires authentication and no credentials are configured"},
		{"socks5 auth", "socks5h://u:wrong@" + sp.Addr, "proxy refused the credentials"},
		{"proxy down", "socks5://127.0.0.1:1", "dial socks5 proxy 127.0.0.1:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI("", "-proxy", tc.proxy, target)
			require.Equal(t, 1, code)
			require.Empty(t, out)
			require.Contains(t, errs, tc.want)
			require.True(t, strings.HasPrefix(errs, "proxydial: proxycfg: "), errs)
			require.NotContains(t, errs, "wrong")
		})
	}
}

func TestGet(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "hello over "+r.Proto)
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain") }))
	defer plain.Close()

	hp := proxy(t, proxytest.HTTP, "u", "p@ss")
	sp := proxy(t, proxytest.SOCKS5, "", "")
	for _, p := range []string{hp.URL(), sp.URL()} {
		code, out, errs := runCLI("", "-proxy", p, "-cacert", caFile, "-get", srv.URL+"/x")
		require.Equal(t, 0, code, errs)
		require.Equal(t, "hello over HTTP/1.1", out)
		code, out, errs = runCLI("", "-proxy", p, "-get", plain.URL)
		require.Equal(t, 0, code, errs)
		require.Equal(t, "plain", out)
	}
	code, out, errs := runCLI("", "-proxy", hp.URL(), "-cacert", caFile, "-get", srv.URL+"/missing")
	require.Equal(t, 0, code)
	require.Contains(t, out, "404 page not found")
	require.Contains(t, errs, "404 Not Found")

	// Refusals exit 1 with the typed error's message.
	code, _, errs = runCLI("", "-proxy", "http://u:bad@"+hp.Addr, "-cacert", caFile, "-get", srv.URL)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "refused CONNECT")
	code, _, errs = runCLI("", "-proxy", "http://u:bad@"+hp.Addr, "-get", plain.URL)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "407")
	// The target's certificate is verified.
	code, _, errs = runCLI("", "-proxy", sp.URL(), "-get", srv.URL)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "certificate")
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"host:25"},
		{"-proxy", "ftp://p:1", "host:25"},
		{"-proxy", "proxy:3128", "host:25"},
		{"-proxy", "http://p:99999", "host:25"},
		{"-proxy", "socks4://u:pw@p", "host:25"},
		{"-proxy", "http://p:3128"},
		{"-proxy", "http://p:3128", "host"},
		{"-proxy", "http://p:3128", "host:0"},
		{"-proxy", "http://p:3128", "a:1", "b:2"},
		{"-proxy", "http://p:3128", "-get", "https://x/", "host:25"},
		{"-proxy", "http://p:3128", "-get", "ftp://x/"},
		{"-proxy", "http://p:3128", "-bypass", "10.0.0.0/99", "host:25"},
		{"-proxy", "http://p:3128", "-nosuchflag", "host:25"},
		{"-proxy", "http://p:3128", "-timeout", "0s", "host:25"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errs := runCLI("", args...)
			require.Equal(t, 2, code, errs)
			require.Empty(t, out)
			require.Contains(t, errs, "usage: proxydial")
		})
	}
	code, _, _ := runCLI("", "-h")
	require.Equal(t, 0, code)
}

// TestHalfClose: with -N the end of standard input reaches the peer as EOF.
func TestHalfClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c) // until the client's half-close
		io.WriteString(c, "got "+string(b))
	}()
	p := proxy(t, proxytest.SOCKS5, "", "")
	code, out, errs := runCLI("data", "-proxy", p.URL(), "-N", ln.Addr().String())
	require.Equal(t, 0, code, errs)
	require.Equal(t, "got data", out)
}
