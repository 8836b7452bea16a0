package proxycfg

import (
	"bufio"
	"context"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// evilProxy runs handle on every accepted connection until the test ends.
func evilProxy(t *testing.T, handle func(c net.Conn)) string {
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
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// readRequest consumes a CONNECT request up to its blank line.
func readRequest(c net.Conn) *bufio.Reader {
	r := bufio.NewReader(c)
	for {
		l, err := r.ReadString('\n')
		if err != nil || l == "\r\n" {
			return r
		}
	}
}

// forever writes chunk until the peer goes away (at most ~2 GB).
func forever(c net.Conn, chunk string) {
	b := []byte(strings.Repeat(chunk, max(1, 32<<10/len(chunk))))
	for i := 0; i < 1<<16; i++ {
		if _, err := c.Write(b); err != nil {
			return
		}
	}
}

// TestConnectHostileAnswers: endless headers, endless interim answers and
// endless error bodies end the dial quickly with a protocol error or a
// bounded ConnectError, long before the context deadline.
func TestConnectHostileAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(c net.Conn)
		check  func(t *testing.T, err error)
	}{
		{"endless header line", func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Evil: ")
			forever(c, "a")
		}, func(t *testing.T, err error) { require.ErrorIs(t, err, ErrProxyProtocol) }},
		{"endless header fields", func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			forever(c, "X-Evil: a\r\n")
		}, func(t *testing.T, err error) { require.ErrorIs(t, err, ErrProxyProtocol) }},
		{"endless status line", func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 ")
			forever(c, "O")
		}, func(t *testing.T, err error) { require.ErrorIs(t, err, ErrProxyProtocol) }},
		{"endless interim answers", func(c net.Conn) {
			forever(c, "HTTP/1.1 100 Continue\r\n\r\n")
		}, func(t *testing.T, err error) { require.ErrorIs(t, err, ErrProxyProtocol) }},
		{"endless error body", func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 403 Forbidden\r\n\r\n")
			forever(c, "<p>denied</p>")
		}, func(t *testing.T, err error) {
			var ce *ConnectError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, 403, ce.StatusCode)
			require.Len(t, ce.Body, maxErrorBody)
		}},
		{"endless chunk size", func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nTransfer-Encoding: chunked\r\nProxy-Authenticate: Basic\r\n\r\n")
			forever(c, "f")
		}, func(t *testing.T, err error) {
			require.ErrorIs(t, err, ErrProxyAuthRequired)
			var ce *ConnectError
			require.ErrorAs(t, err, &ce)
			require.Empty(t, ce.Body)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := evilProxy(t, func(c net.Conn) {
				readRequest(c)
				tc.answer(c)
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := (&ConnectDialer{ProxyAddr: addr}).DialContext(ctx, "tcp", "mail.example.com:25")
			require.Error(t, err)
			require.NoError(t, ctx.Err(), "the dial ran until the test's deadline: %v", err)
			tc.check(t, err)
		})
	}
}

// TestSlowlorisProxies: a proxy that answers one byte at a time never
// finishes; the context deadline ends the dial, and without a deadline the
// dialer's HandshakeTimeout does.
func TestSlowlorisProxies(t *testing.T) {
	drip := func(answer string) func(c net.Conn) {
		return func(c net.Conn) {
			buf := make([]byte, 512)
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			c.Read(buf)
			c.SetReadDeadline(time.Time{})
			for i := 0; i < len(answer); i++ {
				if _, err := c.Write([]byte{answer[i]}); err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			io.Copy(io.Discard, c) // then silence
		}
	}
	for _, tc := range []struct {
		name string
		mk   func(addr string, timeout time.Duration) interface {
			DialContext(context.Context, string, string) (net.Conn, error)
		}
		answer string
	}{
		{"connect", func(a string, to time.Duration) interface {
			DialContext(context.Context, string, string) (net.Conn, error)
		} {
			return &ConnectDialer{ProxyAddr: a, HandshakeTimeout: to}
		}, "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 1000)},
		{"socks5", func(a string, to time.Duration) interface {
			DialContext(context.Context, string, string) (net.Conn, error)
		} {
			return &SOCKS5Dialer{ProxyAddr: a, HandshakeTimeout: to}
		}, "\x05"},
		{"socks4", func(a string, to time.Duration) interface {
			DialContext(context.Context, string, string) (net.Conn, error)
		} {
			return &SOCKS4Dialer{ProxyAddr: a, HandshakeTimeout: to}
		}, "\x00"},
	} {
		t.Run(tc.name+"/context deadline", func(t *testing.T) {
			addr := evilProxy(t, drip(tc.answer))
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := tc.mk(addr, 0).DialContext(ctx, "tcp", "192.0.2.1:25")
			require.ErrorIs(t, err, context.DeadlineExceeded)
		})
		t.Run(tc.name+"/no deadline", func(t *testing.T) {
			addr := evilProxy(t, drip(tc.answer))
			_, err := tc.mk(addr, 300*time.Millisecond).DialContext(context.Background(), "tcp", "192.0.2.1:25")
			require.ErrorIs(t, err, ErrHandshakeTimeout)
			require.ErrorContains(t, err, "300ms")
			// A cancellable context without deadline too.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err = tc.mk(addr, 300*time.Millisecond).DialContext(ctx, "tcp", "192.0.2.1:25")
			require.ErrorIs(t, err, ErrHandshakeTimeout)
		})
	}
}

// TestTruncatedSOCKSReplies: a proxy that closes in the middle of any
// part of its answer yields an error, never a half-open tunnel.
func TestTruncatedSOCKSReplies(t *testing.T) {
	ok5 := "\x05\x00" + "\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x19"
	for i := 0; i < len(ok5); i++ {
		answer := ok5[:i]
		addr := evilProxy(t, func(c net.Conn) {
			go io.Copy(io.Discard, c)
			io.WriteString(c, answer)
		})
		_, err := (&SOCKS5Dialer{ProxyAddr: addr}).DialContext(context.Background(), "tcp", "192.0.2.1:25")
		require.Error(t, err, "socks5 answer cut after %d bytes", i)
	}
	// A domain BND.ADDR whose length byte promises more than is sent.
	addr := evilProxy(t, func(c net.Conn) {
		buf := make([]byte, 3)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		io.WriteString(c, "\x05\x00")
		buf = make([]byte, 8) // 05 01 00 03 01 'h' 00 19
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		io.WriteString(c, "\x05\x00\x00\x03\xffshort")
	})
	_, err := (&SOCKS5Dialer{ProxyAddr: addr}).DialContext(context.Background(), "tcp", "h:25")
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)

	ok4 := "\x00\x5a\x00\x19\x7f\x00\x00\x01"
	for i := 0; i < len(ok4); i++ {
		answer := ok4[:i]
		addr := evilProxy(t, func(c net.Conn) {
			go io.Copy(io.Discard, c)
			io.WriteString(c, answer)
		})
		_, err := (&SOCKS4Dialer{ProxyAddr: addr}).DialContext(context.Background(), "tcp", "192.0.2.1:25")
		require.Error(t, err, "socks4 answer cut after %d bytes", i)
	}
}

// TestEarlyDataAfterSOCKSReply: a server greeting sent in the same packet
// as the SOCKS reply is the first thing read from the tunnel.
func TestEarlyDataAfterSOCKSReply(t *testing.T) {
	const greeting = "220 mail.example.com ESMTP\r\n"
	for name, tc := range map[string]struct {
		request int
		answer  string
		d       interface {
			DialContext(context.Context, string, string) (net.Conn, error)
		}
	}{
		"socks5": {10, "\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x19", &SOCKS5Dialer{}},
		"socks4": {9, "\x00\x5a\x00\x19\x7f\x00\x00\x01", &SOCKS4Dialer{}},
	} {
		t.Run(name, func(t *testing.T) {
			addr := evilProxy(t, func(c net.Conn) {
				if name == "socks5" {
					greet := make([]byte, 3)
					if _, err := io.ReadFull(c, greet); err != nil {
						return
					}
					io.WriteString(c, "\x05\x00")
				}
				buf := make([]byte, tc.request)
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
				io.WriteString(c, tc.answer+greeting) // one write, one segment
				io.Copy(io.Discard, c)
			})
			switch d := tc.d.(type) {
			case *SOCKS5Dialer:
				d.ProxyAddr = addr
			case *SOCKS4Dialer:
				d.ProxyAddr = addr
			}
			conn, err := tc.d.DialContext(context.Background(), "tcp", "192.0.2.1:25")
			require.NoError(t, err)
			defer conn.Close()
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			line, err := bufio.NewReader(conn).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, greeting, line)
		})
	}
}

// TestNoGoroutineLeftAfterAttacks runs last in this file's order and checks
// that none of the hostile exchanges above left a dialer goroutine behind.
func TestNoGoroutineLeftAfterAttacks(t *testing.T) {
	leaked := func() string {
		buf := make([]byte, 1<<20)
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "proxycfg.guard") || strings.Contains(g, "proxycfg.(*") {
				return g
			}
		}
		return ""
	}
	if !assert.Eventually(t, func() bool { return leaked() == "" }, 10*time.Second, 10*time.Millisecond) {
		t.Logf("leaked goroutine:\n%s", leaked())
	}
}
