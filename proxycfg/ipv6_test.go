package proxycfg

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestIPv6Proxy reaches a CONNECT proxy and a SOCKS5 proxy listening on
// [::1] through settings parsed from URLs with bracketed IPv6 hosts, with
// an IPv6 target, and prints them back bracketed.
func TestIPv6Proxy(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	ln.Close()
	const target = "[2001:db8::25]:25"
	for _, tc := range []struct {
		scheme string
		serve  func(c net.Conn) string // returns what the client asked for
	}{
		{"http", func(c net.Conn) string {
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err != nil {
				return ""
			}
			io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n220 v6 ready\r\n")
			return req.Method + " " + req.RequestURI + " " + req.Header.Get("Proxy-Authorization")
		}},
		{"socks5h", func(c net.Conn) string {
			buf := make([]byte, 4)
			if _, err := io.ReadFull(c, buf); err != nil { // 05 02 00 02
				return ""
			}
			io.WriteString(c, "\x05\x02")
			auth := make([]byte, 1+1+1+1+1)
			if _, err := io.ReadFull(c, auth); err != nil { // 01 01 u 01 p
				return ""
			}
			io.WriteString(c, "\x01\x00")
			req := make([]byte, 4+16+2)
			if _, err := io.ReadFull(c, req); err != nil {
				return ""
			}
			io.WriteString(c, "\x05\x00\x00\x04"+string(make([]byte, 16))+"\x00\x00"+"220 v6 ready\r\n")
			return string(req)
		}},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			ln, err := net.Listen("tcp6", "[::1]:0")
			require.NoError(t, err)
			defer ln.Close()
			got := make(chan string, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					got <- ""
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				got <- tc.serve(c)
				io.Copy(io.Discard, c)
			}()
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			cfg, err := FromURL(tc.scheme + "://u:p@[::1]:" + port)
			require.NoError(t, err)
			require.Contains(t, cfg.String(), "://u:xxxxx@[::1]:"+port)
			d, err := cfg.Dialer(nil)
			require.NoError(t, err)
			conn, err := d.(interface {
				DialContext(context.Context, string, string) (net.Conn, error)
			}).DialContext(context.Background(), "tcp", target)
			require.NoError(t, err)
			defer conn.Close()
			line, err := bufio.NewReader(conn).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "220 v6 ready\r\n", line)
			asked := <-got
			if tc.scheme == "http" {
				require.Equal(t, "CONNECT "+target+" Basic dTpw", asked)
			} else {
				ip := net.ParseIP("2001:db8::25")
				require.Equal(t, "\x05\x01\x00\x04"+string(ip)+"\x00\x19", asked)
			}
		})
	}
}
