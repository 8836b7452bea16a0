package main

import (
	"bufio"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/proxycfg/proxytest"
)

// lineServer6 is lineServer on [::1]; it skips the test without IPv6.
func lineServer6(t *testing.T) string {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "220 ready6\r\n")
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if sc.Text() == "QUIT" {
						io.WriteString(c, "221 bye\r\n")
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestUserCases runs the CLI as a user would: credentials written with
// every URL delimiter percent-encoded, IPv6 targets, and bypass lists with
// trailing dots, CIDRs and "*".
func TestUserCases(t *testing.T) {
	target := lineServer(t)
	_, port, _ := net.SplitHostPort(target)
	const user, pw = "dom\\us er", "p@ss:w/o?r#d %é"

	t.Run("credentials with URL syntax", func(t *testing.T) {
		for _, kind := range []proxytest.Kind{proxytest.HTTP, proxytest.SOCKS5} {
			u := user
			if kind == proxytest.HTTP {
				u = "us@er/x?y#z %"
			}
			p := proxy(t, kind, u, pw)
			// The URL as a user types it: every reserved byte encoded.
			raw := kind.String() + "://" + url.PathEscape(u) + ":" + strings.ReplaceAll(url.QueryEscape(pw), "+", "%20") + "@" + p.Addr
			code, out, errs := runCLI("QUIT\r\n", "-proxy", raw, target)
			require.Equal(t, 0, code, "%s: %s", raw, errs)
			require.Equal(t, "220 ready\r\n221 bye\r\n", out)
			// The wrong password is refused, and never printed.
			bad := kind.String() + "://" + url.PathEscape(u) + ":wr%40ng@" + p.Addr
			code, _, errs = runCLI("", "-proxy", bad, target)
			require.Equal(t, 1, code, errs)
			require.NotContains(t, errs, "wr@ng")
			require.NotContains(t, errs, "wr%40ng")
		}
	})

	t.Run("IPv6 target", func(t *testing.T) {
		target6 := lineServer6(t)
		for _, kind := range []proxytest.Kind{proxytest.HTTP, proxytest.SOCKS5} {
			p := proxy(t, kind, "", "")
			for _, scheme := range map[proxytest.Kind][]string{proxytest.HTTP: {"http"}, proxytest.SOCKS5: {"socks5", "socks5h"}}[kind] {
				code, out, errs := runCLI("QUIT\r\n", "-proxy", scheme+"://"+p.Addr, target6)
				require.Equal(t, 0, code, "%s: %s", scheme, errs)
				require.Equal(t, "220 ready6\r\n221 bye\r\n", out)
			}
			require.Contains(t, p.Targets(), target6)
		}
		p4 := proxy(t, proxytest.SOCKS4, "", "")
		code, _, errs := runCLI("", "-proxy", "socks4://"+p4.Addr, target6)
		require.Equal(t, 1, code)
		require.Contains(t, errs, "IPv6")
	})

	t.Run("bypass lists", func(t *testing.T) {
		for _, tc := range []struct {
			bypass, target string
			direct         bool
		}{
			{"localhost.", "localhost:" + port, true},
			{"LOCALHOST.", "localhost:" + port, true},
			{".localhost", "localhost:" + port, false},
			{"*", "localhost:" + port, true},
			{"127.0.0.0/8", "127.0.0.1:" + port, true},
			{"127.0.0.0/8", "localhost:" + port, false}, // names are never resolved
			{"::ffff:127.0.0.1", "127.0.0.1:" + port, true},
			{"localhost:1", "localhost:" + port, false},
			{"localhost:" + port, "localhost:" + port, true},
			{"example.com, 10.0.0.0/8 ,localhost", "localhost:" + port, true},
		} {
			p := proxy(t, proxytest.SOCKS5, "", "")
			code, out, errs := runCLI("QUIT\r\n", "-proxy", p.URL(), "-bypass", tc.bypass, tc.target)
			require.Equal(t, 0, code, "%s %s: %s", tc.bypass, tc.target, errs)
			require.Equal(t, "220 ready\r\n221 bye\r\n", out)
			require.Equal(t, tc.direct, len(p.Targets()) == 0, "bypass %q target %s: proxied %v", tc.bypass, tc.target, p.Targets())
		}
	})
}
