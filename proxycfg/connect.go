package proxycfg

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/proxy"
)

var _ proxy.ContextDialer = (*ConnectDialer)(nil)
var _ proxy.Dialer = (*ConnectDialer)(nil)

// maxErrorBody is how much of a refusal's body ConnectError keeps.
const maxErrorBody = 4 << 10

// ConnectDialer opens TCP tunnels through an HTTP proxy with the CONNECT
// method (RFC 9110 §9.3.6), over plain TCP or TLS to the proxy.
//
// Credentials are sent up front as Basic Proxy-Authorization (RFC 7617); a
// 407 answer is never retried. Any 2xx answer opens the tunnel, and bytes
// the proxy sent after its answer (a server greeting in the same packet) are
// returned by the first Reads of the tunnel. A non-2xx answer is a
// *ConnectError. The handshake honours the context's deadline and
// cancellation.
//
// The fields must not change after the first DialContext; a ConnectDialer is
// safe for concurrent use.
type ConnectDialer struct {
	// ProxyAddr is the proxy's "host:port".
	ProxyAddr string
	// Username and Password are sent as Basic credentials when Username is
	// set.
	Username string
	Password Secret
	// TLSConfig, when non-nil, makes the connection to the proxy TLS; an
	// empty ServerName means the host of ProxyAddr.
	TLSConfig *tls.Config
	// Header holds extra CONNECT request headers (User-Agent, ...).
	Header http.Header
	// Forward dials the proxy; nil means a plain net.Dialer.
	Forward proxy.ContextDialer
	// HandshakeTimeout bounds the handshake with the proxy when the
	// context has no deadline; 0 means DefaultHandshakeTimeout. A context
	// deadline always wins.
	HandshakeTimeout time.Duration
	// Logger receives one record per dial (debug on success, info on
	// failure), never with credentials; nil means silent.
	Logger *slog.Logger
}

// Dial is DialContext with a background context.
func (d *ConnectDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

// DialContext connects to the proxy and asks it to CONNECT to addr.
func (d *ConnectDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var start time.Time
	if d.Logger != nil {
		start = time.Now()
	}
	c, err := d.dial(ctx, network, addr)
	kind := "http"
	if d.TLSConfig != nil {
		kind = "https"
	}
	logDial(ctx, d.Logger, kind, d.ProxyAddr, addr, start, err)
	return c, err
}

func (d *ConnectDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := checkNetwork("connect", network); err != nil {
		return nil, err
	}
	host, port, err := splitTarget(addr)
	if err != nil {
		return nil, err
	}
	target := net.JoinHostPort(host, strconv.Itoa(port))
	c, err := forwardOrDirect(d.Forward).DialContext(ctx, "tcp", d.ProxyAddr)
	if err != nil {
		return nil, fmt.Errorf("proxycfg: dial http proxy %s: %w", d.ProxyAddr, err)
	}
	done := guard(ctx, c, d.HandshakeTimeout)
	conn, err := d.handshake(ctx, c, target)
	if err = done(err); err != nil {
		c.Close()
		if isTyped(err) {
			return nil, err
		}
		return nil, fmt.Errorf("proxycfg: http proxy %s: CONNECT %s: %w", d.ProxyAddr, target, err)
	}
	return conn, nil
}

func (d *ConnectDialer) handshake(ctx context.Context, c net.Conn, target string) (net.Conn, error) {
	if d.TLSConfig != nil {
		cfg := d.TLSConfig.Clone()
		if cfg.ServerName == "" {
			h, _, _ := net.SplitHostPort(d.ProxyAddr)
			cfg.ServerName = h
		}
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("tls handshake with proxy: %w", err)
		}
		c = tc
	}
	var req bytes.Buffer
	req.Grow(256)
	req.WriteString("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n")
	if d.Username != "" {
		req.WriteString("Proxy-Authorization: Basic ")
		req.WriteString(basicAuth(d.Username, d.Password.Reveal()))
		req.WriteString("\r\n")
	}
	for k, vs := range d.Header {
		for _, v := range vs {
			if hasCtl(k) || hasCtl(v) {
				return nil, fmt.Errorf("header %q contains CR, LF or NUL", k)
			}
			req.WriteString(k + ": " + v + "\r\n")
		}
	}
	req.WriteString("\r\n")
	if _, err := c.Write(req.Bytes()); err != nil {
		return nil, fmt.Errorf("write request: %w", err)
	}
	// The answer's status lines and headers (interim 1xx answers
	// included) may take maxResponseHeader bytes: a proxy sending one
	// endless header must not make us buffer it.
	lim := &readLimit{r: c, n: maxResponseHeader}
	br := bufio.NewReaderSize(lim, 1024)
	tp := textproto.NewReader(br)
	var code int
	var reason string
	var hdr textproto.MIMEHeader
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return nil, fmt.Errorf("read response: %w", err)
		}
		code, reason, err = parseStatusLine(line)
		if err != nil {
			return nil, err
		}
		hdr, err = tp.ReadMIMEHeader()
		if err != nil {
			var pe textproto.ProtocolError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%w: headers: %v", ErrProxyProtocol, err)
			}
			return nil, fmt.Errorf("read response headers: %w", err)
		}
		if code >= 200 || code == 101 {
			break
		}
		// 1xx interim answer: the final one follows.
	}
	if code >= 200 && code <= 299 {
		if n := br.Buffered(); n > 0 {
			early, _ := br.Peek(n)
			return &prefixConn{Conn: c, pending: bytes.Clone(early)}, nil
		}
		return c, nil
	}
	ce := &ConnectError{Proxy: d.ProxyAddr, Target: target, StatusCode: code, Status: reason, Header: http.Header(hdr)}
	// The kept body is 4 KiB; allow for chunk framing around it.
	lim.n = 4 * maxErrorBody
	ce.Body = readErrorBody(ctx, c, br, hdr)
	if code == http.StatusProxyAuthRequired {
		ce.AuthSchemes = authSchemes(hdr.Values("Proxy-Authenticate"))
		basic := len(ce.AuthSchemes) == 0
		for _, s := range ce.AuthSchemes {
			if strings.EqualFold(s, "Basic") {
				basic = true
			}
		}
		switch {
		case !basic:
			ce.err = ErrProxyAuthUnsupported
		case d.Username != "":
			ce.err = ErrProxyAuthFailed
		default:
			ce.err = ErrProxyAuthRequired
		}
	}
	return nil, ce
}

// maxResponseHeader bounds the status lines and header fields of a CONNECT
// answer, interim answers included.
const maxResponseHeader = 64 << 10

// readLimit reads at most n more bytes from r, then fails with an
// ErrProxyProtocol error (not io.EOF, so that a cut header is never taken
// for a complete one).
type readLimit struct {
	r io.Reader
	n int64
}

func (l *readLimit) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("%w: answer headers longer than %d bytes", ErrProxyProtocol, maxResponseHeader)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// parseStatusLine parses "HTTP/1.1 200 Connection established".
func parseStatusLine(line string) (int, string, error) {
	proto, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.HasPrefix(proto, "HTTP/1.") {
		return 0, "", fmt.Errorf("%w: status line %.40q is not HTTP/1.x", ErrProxyProtocol, line)
	}
	codeStr, reason, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeStr)
	if err != nil || len(codeStr) != 3 || code < 100 {
		return 0, "", fmt.Errorf("%w: bad status code in %.40q", ErrProxyProtocol, line)
	}
	if reason == "" {
		reason = http.StatusText(code)
	}
	return code, reason, nil
}

// readErrorBody reads at most maxErrorBody bytes of a refusal's body. A body
// without Content-Length or chunked framing ends when the proxy closes; it
// is waited for at most a short time, as it only decorates the error.
func readErrorBody(ctx context.Context, c net.Conn, br *bufio.Reader, hdr textproto.MIMEHeader) []byte {
	var r io.Reader
	switch {
	case strings.EqualFold(hdr.Get("Transfer-Encoding"), "chunked"):
		r = newChunkedReader(br)
	case hdr.Get("Content-Length") != "":
		n, err := strconv.ParseInt(hdr.Get("Content-Length"), 10, 64)
		if err != nil || n <= 0 {
			return nil
		}
		r = io.LimitReader(br, n)
	default:
		r = br
	}
	dl := time.Now().Add(500 * time.Millisecond)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	c.SetReadDeadline(dl)
	body, _ := io.ReadAll(io.LimitReader(r, maxErrorBody))
	if len(body) == 0 {
		return nil
	}
	return body
}

// authSchemes returns the scheme names of Proxy-Authenticate values
// ("Basic realm=x", "NTLM", "Negotiate" -> Basic, NTLM, Negotiate).
func authSchemes(values []string) []string {
	var out []string
	for _, v := range values {
		// A header may hold several challenges separated by commas; a scheme
		// is a token not followed by '='.
		for _, part := range splitUnquoted(v) {
			f := strings.Fields(part)
			if len(f) == 0 || strings.Contains(f[0], "=") {
				continue
			}
			out = append(out, f[0])
		}
	}
	return out
}

// splitUnquoted splits a header value at commas outside quoted strings
// (RFC 9110 §5.6.4), so that realm="a,b" stays one piece.
func splitUnquoted(v string) []string {
	var parts []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			parts = append(parts, v[start:i])
			start = i + 1
		}
	}
	return append(parts, v[start:])
}

// basicAuth encodes "user:password" (UTF-8) for the Basic scheme.
func basicAuth(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}
