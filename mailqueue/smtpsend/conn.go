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

// replyLimitConn checks the replies the client library reads. The
// library limits the length of a line but not the number of lines of a
// reply, and it takes a line with another code, or without the space or
// hyphen after the code, as more text of a multi-line reply and waits for
// its end: a server sending "250-" lines forever, or "250-ok" followed by
// "550 no", would keep it reading until the command timeout (5 minutes by
// default). replyLimitConn fails the read instead, after maxReplyLines
// lines or at the first malformed continuation line.
type replyLimitConn struct {
	net.Conn
	col   int     // bytes of the current line seen so far
	code  [3]byte // first bytes of the current line
	first [3]byte // code of the first line of the current reply
	multi bool    // the previous line was "ddd-": the reply continues
	lines int     // lines of the current reply
	err   error
}

// Read passes data through, failing once a reply is malformed or too long.
func (c *replyLimitConn) Read(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.Conn.Read(b)
	for _, ch := range b[:n] {
		if ch == '\n' {
			if c.multi && c.col < 4 {
				return 0, c.fail("short line in a multi-line reply")
			}
			c.col = 0
			continue
		}
		switch {
		case c.col < 3:
			c.code[c.col] = ch
		case c.col == 3:
			if !c.multi {
				c.first, c.lines = c.code, 0
			} else if c.code != c.first || ch != ' ' && ch != '-' {
				return 0, c.fail(fmt.Sprintf("line %q does not continue the %s reply", string(c.code[:])+string(ch), string(c.first[:])))
			}
			c.multi = ch == '-'
			c.lines++
			if c.lines > maxReplyLines {
				return 0, c.fail(fmt.Sprintf("more than %d lines", maxReplyLines))
			}
		}
		c.col++
	}
	return n, err
}

func (c *replyLimitConn) fail(why string) error {
	c.err = fmt.Errorf("%w: %s", errBadReply, why)
	return c.err
}

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
