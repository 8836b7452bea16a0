package proxycfg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/proxy"
)

// aLongTimeAgo is a deadline in the past: setting it makes every blocked
// Read and Write on the connection return at once.
var aLongTimeAgo = time.Unix(1, 0)

// DefaultHandshakeTimeout bounds a proxy handshake whose context has no
// deadline (Dial, or DialContext with a context without one), as net/http
// bounds its own CONNECT: a proxy that accepts TCP and then answers nothing,
// or one byte a minute, must not hold the caller forever.
const DefaultHandshakeTimeout = time.Minute

// guard ties a handshake on c to ctx: the context deadline (or, without
// one, timeout from now; DefaultHandshakeTimeout when timeout is 0) becomes
// the connection deadline, and cancellation unblocks any pending I/O. The
// returned done must be called when the handshake ends; it clears the
// deadline and returns err, or ctx's error if the context ended first, in
// which case the connection must be closed. No goroutine outlives done.
func guard(ctx context.Context, c net.Conn, timeout time.Duration) (done func(err error) error) {
	dl, hasDeadline := ctx.Deadline()
	if !hasDeadline {
		if timeout <= 0 {
			timeout = DefaultHandshakeTimeout
		}
		c.SetDeadline(time.Now().Add(timeout))
	}
	if !hasDeadline && ctx.Done() == nil {
		// A context that can never end: only the handshake timeout.
		return func(err error) error {
			if err != nil {
				if isTimeout(err) {
					return fmt.Errorf("%w after %v (%w)", ErrHandshakeTimeout, timeout, err)
				}
				return err
			}
			return c.SetDeadline(time.Time{})
		}
	}
	if hasDeadline {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(aLongTimeAgo) })
	return func(err error) error {
		if err != nil {
			// The connection deadline may fire a moment before the context
			// notices its own; report the deadline as the context's.
			if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
				stop()
				return fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
			}
		}
		if !stop() {
			// The context ended: report that, whatever I/O error it caused.
			if err == nil {
				err = ctx.Err()
			}
			return fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
		if err != nil && !hasDeadline && isTimeout(err) {
			return fmt.Errorf("%w after %v (%w)", ErrHandshakeTimeout, timeout, err)
		}
		if err == nil {
			if err = c.SetDeadline(time.Time{}); err != nil {
				return err
			}
		}
		return err
	}
}

// isTimeout reports whether err is a connection deadline expiring.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// forwardOrDirect returns f, or a plain net.Dialer when f is nil.
func forwardOrDirect(f proxy.ContextDialer) proxy.ContextDialer {
	if f == nil {
		return &net.Dialer{}
	}
	return f
}

// checkNetwork accepts the stream networks a proxy can tunnel.
func checkNetwork(kind, network string) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
		return nil
	}
	return fmt.Errorf("proxycfg: %s dialer supports only tcp, tcp4 and tcp6, got network %q", kind, network)
}

// splitTarget splits and checks a DialContext address.
func splitTarget(addr string) (host string, port int, err error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%w %q: %v", ErrBadTarget, addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		if n, err = net.LookupPort("tcp", p); err != nil || n < 1 {
			return "", 0, fmt.Errorf("%w %q: port must be 1-65535", ErrBadTarget, addr)
		}
	}
	if h == "" {
		return "", 0, fmt.Errorf("%w %q: empty host", ErrBadTarget, addr)
	}
	if strings.ContainsAny(h, "\r\n\x00 \t") {
		return "", 0, fmt.Errorf("%w %q: host contains whitespace, CR, LF or NUL", ErrBadTarget, addr)
	}
	return h, n, nil
}

// closeWriter is implemented by connections that support half-close.
type closeWriter interface{ CloseWrite() error }

// prefixConn is a tunnel whose first bytes were read together with the
// proxy's answer; Read returns them before reading the connection again.
type prefixConn struct {
	net.Conn
	pending []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		if len(c.pending) == 0 {
			c.pending = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes the tunnel when the underlying connection can.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(closeWriter); ok {
		return cw.CloseWrite()
	}
	return fmt.Errorf("proxycfg: connection does not support half-close")
}

// WriteTo lets io.Copy drain the buffered bytes first.
func (c *prefixConn) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if len(c.pending) > 0 {
		n, err := w.Write(c.pending)
		total += int64(n)
		c.pending = c.pending[n:]
		if err != nil {
			return total, err
		}
	}
	n, err := io.Copy(w, c.Conn)
	return total + n, err
}

// isTyped reports whether err already carries the proxy and target (a
// refusal), so that it need not be wrapped again.
func isTyped(err error) bool {
	var ce *ConnectError
	var s4 *SOCKS4Error
	var s5 *SOCKS5Error
	return errors.As(err, &ce) || errors.As(err, &s4) || errors.As(err, &s5)
}

// logDial reports one dial at debug level (failures at info) to l, which may
// be nil. It never logs credentials.
func logDial(ctx context.Context, l *slog.Logger, kind, proxyAddr, target string, start time.Time, err error) {
	if l == nil || !l.Enabled(ctx, slog.LevelDebug) && err == nil {
		return
	}
	if err != nil {
		l.LogAttrs(ctx, slog.LevelInfo, "proxycfg: tunnel failed", slog.String("proxy", kind+"://"+proxyAddr),
			slog.String("target", target), slog.Duration("elapsed", time.Since(start)), slog.String("error", err.Error()))
		return
	}
	l.LogAttrs(ctx, slog.LevelDebug, "proxycfg: tunnel open", slog.String("proxy", kind+"://"+proxyAddr),
		slog.String("target", target), slog.Duration("elapsed", time.Since(start)))
}
