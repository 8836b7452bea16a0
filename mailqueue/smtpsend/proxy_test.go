package smtpsend_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
	"github.com/ucxkit/ucxkit/proxycfg"
	"github.com/ucxkit/ucxkit/proxycfg/proxytest"
)

// coalescingProxy is a CONNECT or SOCKS5 proxy that waits for the target's
// first bytes (the SMTP greeting) and sends them in the same write as its
// own success reply, as real proxies sometimes do: the dialer must hand
// those bytes to the SMTP client, not swallow them with its reply.
func coalescingProxy(t *testing.T, kind string, wantAuth string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				br := bufio.NewReader(c)
				var target string
				switch kind {
				case "connect":
					req, err := http.ReadRequest(br)
					if err != nil || req.Method != http.MethodConnect {
						return
					}
					if req.Header.Get("Proxy-Authorization") != wantAuth {
						io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n")
						return
					}
					target = req.Host
				case "socks5":
					hdr := make([]byte, 2)
					if _, err := io.ReadFull(br, hdr); err != nil {
						return
					}
					methods := make([]byte, hdr[1])
					if _, err := io.ReadFull(br, methods); err != nil {
						return
					}
					io.WriteString(c, "\x05\x00")
					req := make([]byte, 4)
					if _, err := io.ReadFull(br, req); err != nil || req[3] != 1 {
						return
					}
					addr := make([]byte, 6)
					if _, err := io.ReadFull(br, addr); err != nil {
						return
					}
					target = fmt.Sprintf("%s:%d", net.IP(addr[:4]), int(addr[4])<<8|int(addr[5]))
				}
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				greeting := make([]byte, 512)
				n, err := up.Read(greeting)
				if err != nil {
					return
				}
				reply := "HTTP/1.1 200 Connection established\r\n\r\n"
				if kind == "socks5" {
					reply = "\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x19"
				}
				if _, err := c.Write(append([]byte(reply), greeting[:n]...)); err != nil {
					return
				}
				done := make(chan struct{})
				go func() { io.Copy(up, br); up.(*net.TCPConn).CloseWrite(); close(done) }()
				io.Copy(c, up)
				<-done
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// TestSendThroughProxies sends real mail (STARTTLS, AUTH) through the
// dialers of package proxycfg to an in-process go-smtp server: a proxy
// that sends the greeting in the same packet as its reply, and the
// proxies of proxycfg/proxytest with credentials full of URL syntax.
func TestSendThroughProxies(t *testing.T) {
	const user, pass = "alice", "p@ss:w/o?r#d %é"
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	for _, tc := range []struct {
		name  string
		proxy func(t *testing.T) proxycfg.Config
	}{
		{"CONNECT, greeting in the reply packet", func(t *testing.T) proxycfg.Config {
			h, p, _ := net.SplitHostPort(coalescingProxy(t, "connect", auth))
			var c proxycfg.Config
			c.HTTP.Address, c.HTTP.Username, c.HTTP.Password = h, user, proxycfg.NewSecret(pass)
			fmt.Sscan(p, &c.HTTP.Port)
			return c
		}},
		{"SOCKS5, greeting in the reply packet", func(t *testing.T) proxycfg.Config {
			h, p, _ := net.SplitHostPort(coalescingProxy(t, "socks5", ""))
			var c proxycfg.Config
			c.SOCKS.Address, c.SOCKS.Resolve = h, proxycfg.ResolveLocal
			fmt.Sscan(p, &c.SOCKS.Port)
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := &backend{authOK: func(string, string, string) error { return nil }}
			port := startServer(t, be, withTLS(t))
			d, err := tc.proxy(t).Dialer(nil)
			require.NoError(t, err)
			cfg := baseConfig(t, port)
			cfg.Dialer = d
			cfg.Username, cfg.Password = "u", smtpsend.NewSecret("p")
			s := newSender(t, cfg)
			for i := 0; i < 2; i++ {
				require.NoError(t, s.Send(context.Background(), env(), []byte(testMsg)))
			}
			require.Len(t, be.messages(), 2)
			require.True(t, be.messages()[0].TLS)
			rep, err := s.TestConnection(context.Background())
			require.NoError(t, err)
			require.True(t, rep.OK())
		})
	}
	for _, kind := range []proxytest.Kind{proxytest.HTTP, proxytest.SOCKS5, proxytest.SOCKS4} {
		t.Run("proxytest "+kind.String(), func(t *testing.T) {
			opts := proxytest.Options{Username: user, Password: pass}
			if kind == proxytest.SOCKS4 {
				opts.Password = ""
			}
			p, err := proxytest.NewServer(kind, opts)
			require.NoError(t, err)
			t.Cleanup(func() { p.Close() })
			pc, err := proxycfg.FromURL(p.URL())
			require.NoError(t, err)
			d, err := pc.Dialer(nil)
			require.NoError(t, err)
			be := &backend{authOK: func(string, string, string) error { return nil }}
			port := startServer(t, be, withTLS(t))
			cfg := baseConfig(t, port)
			cfg.Host = "localhost" // resolved by the proxy for socks5h and socks4a
			cfg.TLSServerName = "127.0.0.1"
			cfg.Dialer = d
			cfg.Username, cfg.Password = "u", smtpsend.NewSecret("p")
			require.NoError(t, newSender(t, cfg).Send(context.Background(), env(), []byte(testMsg)))
			require.Len(t, be.messages(), 1)
			require.Equal(t, []string{fmt.Sprintf("localhost:%d", port)}, p.Targets())
			require.True(t, strings.HasPrefix(p.URL(), kind.String()+"://"))
		})
	}
}
