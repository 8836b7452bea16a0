package proxycfg

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConnectRequestBytes(t *testing.T) {
	const pw = "p@ss:w/o?r#d %é"
	want := "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n" +
		"Proxy-Authorization: Basic dXNAZXI6cEBzczp3L28/ciNkICXDqQ==\r\n\r\n"
	p := fakeProxy(t, step{len(want), []byte("HTTP/1.1 200 Connection established\r\n\r\n")})
	d := &ConnectDialer{ProxyAddr: p.addr, Username: "us@er", Password: NewSecret(pw)}
	c, err := d.DialContext(context.Background(), "tcp", "[2001:db8::1]:443")
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, want, string(p.next(t)))
	// Without early data the tunnel is the proxy connection itself: no
	// wrapper sits in the data path.
	require.IsType(t, &net.TCPConn{}, c)
}

func TestConnectEarlyDataKept(t *testing.T) {
	want := "CONNECT smtp.office365.com:587 HTTP/1.1\r\nHost: smtp.office365.com:587\r\n\r\n"
	p := fakeProxy(t, step{len(want), []byte("HTTP/1.1 200 Connection established\r\n\r\n220 smtp.office365.com ESMTP ready\r\n")})
	c, err := (&ConnectDialer{ProxyAddr: p.addr}).DialContext(context.Background(), "tcp", "smtp.office365.com:587")
	require.NoError(t, err)
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "220 smtp.office365.com ESMTP ready\r\n", line)
	// The tunnel carries both directions after the early bytes.
	peer := p.peer(t)
	_, err = c.Write([]byte("EHLO x\r\n"))
	require.NoError(t, err)
	buf := make([]byte, 8)
	_, err = io.ReadFull(peer, buf)
	require.NoError(t, err)
	require.Equal(t, "EHLO x\r\n", string(buf))
}

func TestConnectAnswers(t *testing.T) {
	const req = "CONNECT example.com:25 HTTP/1.1\r\nHost: example.com:25\r\n\r\n"
	const reqAuth = "CONNECT example.com:25 HTTP/1.1\r\nHost: example.com:25\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
	tests := []struct {
		name   string
		user   string
		answer string
		ok     bool
		is     error
		status int
		body   string
		msg    string
	}{
		{name: "200", answer: "HTTP/1.1 200 OK\r\n\r\n", ok: true},
		{name: "204 is success", answer: "HTTP/1.1 204 No Content\r\n\r\n", ok: true},
		{name: "HTTP/1.0 200", answer: "HTTP/1.0 200 Connection established\r\nProxy-agent: x\r\n\r\n", ok: true},
		{name: "100 then 200", answer: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", ok: true},
		{name: "403 squid", answer: "HTTP/1.1 403 Forbidden\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\nContent-Length: 11\r\n\r\naccess deny",
			status: 403, body: "access deny", msg: "proxycfg: proxy PROXY refused CONNECT example.com:25: 403 Forbidden (X-Squid-Error: ERR_ACCESS_DENIED 0)"},
		{name: "502 chunked", answer: "HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nno r\r\n5\r\noute!\r\n0\r\n\r\n",
			status: 502, body: "no route!"},
		{name: "body capped at 4 KiB", answer: "HTTP/1.1 503 Busy\r\nContent-Length: 5000\r\n\r\n" + strings.Repeat("x", 5000),
			status: 503, body: strings.Repeat("x", 4096)},
		{name: "407 without credentials", answer: "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n",
			status: 407, is: ErrProxyAuthRequired},
		{name: "407 with credentials", user: "u", answer: "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n",
			status: 407, is: ErrProxyAuthFailed},
		{name: "407 NTLM only", user: "u", answer: "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: NTLM\r\nProxy-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n",
			status: 407, is: ErrProxyAuthUnsupported,
			msg: "proxycfg: proxy PROXY refused CONNECT example.com:25: 407 Proxy Authentication Required: proxy offers only NTLM, Negotiate authentication; only Basic is supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := req
			if tc.user != "" {
				r = reqAuth
			}
			p := fakeProxy(t, step{len(r), []byte(tc.answer)})
			d := &ConnectDialer{ProxyAddr: p.addr, Username: tc.user, Password: NewSecret("p")}
			c, err := d.DialContext(context.Background(), "tcp", "example.com:25")
			require.Equal(t, r, string(p.next(t)))
			if tc.ok {
				require.NoError(t, err)
				c.Close()
				return
			}
			require.Error(t, err)
			var ce *ConnectError
			require.True(t, errors.As(err, &ce), "%v", err)
			require.Equal(t, tc.status, ce.StatusCode)
			require.Equal(t, tc.body, string(ce.Body))
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			if tc.msg != "" {
				require.Equal(t, strings.ReplaceAll(tc.msg, "PROXY", p.addr), err.Error())
			}
		})
	}
}

func TestAuthSchemes(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
	}{
		{[]string{`Basic realm="proxy"`}, []string{"Basic"}},
		{[]string{`NTLM`, `Negotiate`}, []string{"NTLM", "Negotiate"}},
		{[]string{`Negotiate, NTLM`}, []string{"Negotiate", "NTLM"}},
		{[]string{`Basic realm="a,b", Digest realm="x, y", nonce="n", qop="auth"`}, []string{"Basic", "Digest"}},
		{[]string{`Basic realm="q\",x"`, `Negotiate abc==`}, []string{"Basic", "Negotiate"}},
		{nil, nil},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.in, "|"), func(t *testing.T) {
			require.Equal(t, tc.want, authSchemes(tc.in))
		})
	}
}

func TestConnectMalformed(t *testing.T) {
	const req = "CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n"
	for _, answer := range []string{"SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "\x05\x00"} {

		t.Run(answer, func(t *testing.T) {
			p := fakeProxy(t, step{len(req), []byte(answer)})
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := (&ConnectDialer{ProxyAddr: p.addr}).DialContext(ctx, "tcp", "h:1")
			if strings.HasPrefix(answer, "\x05") {
				// No line end ever comes: the deadline ends the wait.
				require.ErrorIs(t, err, context.DeadlineExceeded)
				return
			}
			require.ErrorIs(t, err, ErrProxyProtocol)
		})
	}
}

func TestDialBadArguments(t *testing.T) {
	dialers := map[string]interface {
		DialContext(context.Context, string, string) (net.Conn, error)
	}{
		"connect": &ConnectDialer{ProxyAddr: "127.0.0.1:1"},
		"socks4":  &SOCKS4Dialer{ProxyAddr: "127.0.0.1:1"},
		"socks5":  &SOCKS5Dialer{ProxyAddr: "127.0.0.1:1"},
	}
	for name, d := range dialers {
		t.Run(name, func(t *testing.T) {
			_, err := d.DialContext(context.Background(), "udp", "h:1")
			require.ErrorContains(t, err, "supports only tcp")
			for _, addr := range []string{"h", "h:0", "h:70000", ":25", "a\r\nb:25"} {
				_, err = d.DialContext(context.Background(), "tcp", addr)
				require.ErrorIs(t, err, ErrBadTarget, addr)
			}
		})
	}
}

// TestHandshakeDeadline: a proxy that accepts TCP and never answers fails
// every dialer at the context deadline, and cancellation works the same way;
// no goroutine is left behind.
func TestHandshakeDeadline(t *testing.T) {
	addr := silentProxy(t)
	dialers := map[string]interface {
		DialContext(context.Context, string, string) (net.Conn, error)
	}{
		"connect":     &ConnectDialer{ProxyAddr: addr},
		"connect-tls": &ConnectDialer{ProxyAddr: addr, TLSConfig: &tls.Config{}},
		"socks4":      &SOCKS4Dialer{ProxyAddr: addr},
		"socks5":      &SOCKS5Dialer{ProxyAddr: addr, Username: "u", Password: NewSecret("p")},
	}
	for name, d := range dialers {
		t.Run(name+"/deadline", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := d.DialContext(ctx, "tcp", "example.com:25")
			require.ErrorIs(t, err, context.DeadlineExceeded)
		})
		t.Run(name+"/cancel", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			_, err := d.DialContext(ctx, "tcp", "example.com:25")
			require.ErrorIs(t, err, context.Canceled)
		})
	}
	// No goroutine of the dialers (the context watch included) is left.
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

func TestConnectTLSToProxy(t *testing.T) {
	// An HTTPS server that answers CONNECT itself stands in for a TLS proxy.
	var gotAuth string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Proxy-Authorization")
		if r.Method != http.MethodConnect {
			http.Error(w, "no", 400)
			return
		}
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\n\r\nhello")
		brw.Flush()
	}))
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	d := &ConnectDialer{ProxyAddr: srv.Listener.Addr().String(), Username: "u", Password: NewSecret("p"),
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "example.com"}}
	c, err := d.DialContext(context.Background(), "tcp", "target:25")
	require.NoError(t, err)
	defer c.Close()
	b := make([]byte, 5)
	_, err = io.ReadFull(c, b)
	require.NoError(t, err)
	require.Equal(t, "hello", string(b))
	require.Equal(t, "Basic dTpw", gotAuth)

	// Without the CA the proxy's certificate is refused: TLS is verified.
	d.TLSConfig = &tls.Config{}
	_, err = d.DialContext(context.Background(), "tcp", "target:25")
	require.ErrorContains(t, err, "tls handshake with proxy")
	var uerr x509.UnknownAuthorityError
	require.True(t, errors.As(err, &uerr), "%v", err)
}
