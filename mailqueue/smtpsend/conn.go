package smtpsend

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// expired is a deadline in the past, used to abort blocked I/O.
var expired = time.Unix(1, 0)

// deadlineConn wraps the raw connection so that every deadline the SMTP
// client library sets is clamped to the session's own limits: the stage
// timeout and the deadline of the current call's ctx. Cancelling ctx
// expires the connection at once, which unblocks any read or write. The
// mutex makes a cancellation racing with a library SetDeadline safe.
type deadlineConn struct {
	net.Conn

	mu    sync.Mutex // guards the fields below and the underlying SetDeadline calls
	req   time.Time  // deadline last requested by the client library
	stage time.Time  // current stage limit
	ctxDL time.Time  // deadline of the bound ctx
	dead  bool       // the bound ctx ended: every deadline is in the past
}

func minTime(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if !t.IsZero() && (m.IsZero() || t.Before(m)) {
			m = t
		}
	}
	return m
}

// apply sets the effective deadline; c.mu must be held.
func (c *deadlineConn) apply() error {
	if c.dead {
		return c.Conn.SetDeadline(expired)
	}
	return c.Conn.SetDeadline(minTime(c.req, c.stage, c.ctxDL))
}

// SetDeadline records the library's deadline and applies the clamped one.
func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.req = t
	return c.apply()
}

// SetReadDeadline is SetDeadline: the library never splits them.
func (c *deadlineConn) SetReadDeadline(t time.Time) error { return c.SetDeadline(t) }

// SetWriteDeadline is SetDeadline: the library never splits them.
func (c *deadlineConn) SetWriteDeadline(t time.Time) error { return c.SetDeadline(t) }

// setStage limits the current stage to d from now (0 clears the limit).
func (c *deadlineConn) setStage(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d <= 0 {
		c.stage = time.Time{}
	} else {
		c.stage = time.Now().Add(d)
	}
	_ = c.apply()
}

// bind ties the connection to ctx until the returned function is called.
func (c *deadlineConn) bind(ctx context.Context) (unbind func()) {
	dl, _ := ctx.Deadline()
	c.mu.Lock()
	c.ctxDL = dl
	_ = c.apply()
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.dead = true
		_ = c.apply()
		c.mu.Unlock()
	})
	return func() {
		stop()
		c.mu.Lock()
		c.ctxDL = time.Time{}
		c.stage = time.Time{}
		_ = c.apply()
		c.mu.Unlock()
	}
}

func (c *deadlineConn) isDead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

// replayConn returns bytes already read from the connection (a greeting
// read before the client library took over, or bytes a proxy dialer read
// together with its CONNECT reply) before reading from the connection.
type replayConn struct {
	net.Conn
	r io.Reader
}

// Read returns the replayed bytes first.
func (c *replayConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// reply is one parsed SMTP reply.
type reply struct {
	code  int
	lines []string // text after "ddd-" / "ddd "
	raw   string
}

func (r reply) text() string { return strings.Join(r.lines, "\n") }

// maxReplyLine is twice the RFC 5321 §4.5.3.1.5 reply-line limit of 512
// octets, as the client library uses; maxReplyLines bounds a multiline reply.
const (
	maxReplyLine  = 2000
	maxReplyLines = 200
)

var errBadReply = errors.New("smtpsend: malformed reply")

// readReply reads one (possibly multiline) reply.
func readReply(br *bufio.Reader, trace io.Writer) (reply, error) {
	var r reply
	var raw strings.Builder
	for i := 0; ; i++ {
		if i >= maxReplyLines {
			return r, fmt.Errorf("%w: more than %d lines", errBadReply, maxReplyLines)
		}
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull || len(line) > maxReplyLine {
			return r, fmt.Errorf("%w: line longer than %d octets", errBadReply, maxReplyLine)
		}
		if trace != nil && len(line) > 0 {
			_, _ = trace.Write(line)
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return r, err
		}
		raw.Write(line)
		s := strings.TrimRight(string(line), "\r\n")
		if len(s) < 3 {
			return r, fmt.Errorf("%w: %q", errBadReply, s)
		}
		code, err := strconv.Atoi(s[:3])
		if err != nil || code < 200 || code > 599 || (r.code != 0 && code != r.code) {
			return r, fmt.Errorf("%w: %q", errBadReply, s)
		}
		r.code = code
		more := len(s) > 3 && s[3] == '-'
		if len(s) > 3 && s[3] != '-' && s[3] != ' ' {
			return r, fmt.Errorf("%w: %q", errBadReply, s)
		}
		if len(s) > 4 {
			r.lines = append(r.lines, s[4:])
		} else {
			r.lines = append(r.lines, "")
		}
		if !more {
			r.raw = raw.String()
			return r, nil
		}
	}
}

// tlsVersionName returns "TLS 1.3" etc.
func tlsVersionName(v uint16) string {
	if v == 0 {
		return ""
	}
	return tls.VersionName(v)
}
