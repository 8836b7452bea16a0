package smtpsend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// Sender delivers messages to one SMTP server. It keeps connections open
// between calls and reuses them (NOOP before reusing an idle connection,
// RSET after an aborted transaction, a transparent reconnect when a kept
// connection turns out to be dropped). It is safe for concurrent use: each
// concurrent Send uses its own connection; at most MaxIdleConns are kept.
type Sender struct {
	set   *settings
	log   *slog.Logger
	trace io.Writer

	mu     sync.Mutex // guards idle and closed
	idle   []*session // guarded by mu; most recently used last
	closed bool       // guarded by mu
}

var (
	_ mailqueue.Sender     = (*Sender)(nil)
	_ mailqueue.IdleCloser = (*Sender)(nil)
	_ io.Closer            = (*Sender)(nil)
)

// New validates cfg, fills defaults and returns a Sender. No connection is
// opened until the first Send or TestConnection.
func New(cfg Config) (*Sender, error) {
	set, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	log := set.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var trace io.Writer
	if set.DebugWriter != nil {
		trace = &lockedWriter{w: set.DebugWriter}
	}
	return &Sender{set: set, log: log.With("smtp_server", set.addr), trace: trace}, nil
}

// Addr returns the "host:port" the Sender connects to.
func (s *Sender) Addr() string { return s.set.addr }

// Send delivers msg (RFC 5322 bytes with CRLF line endings) to env.To with
// reverse path env.From. Failures are *mailqueue.DeliveryError values whose
// Class tells the queue what to do; see the package documentation for the
// table.
func (s *Sender) Send(ctx context.Context, env mailqueue.Envelope, msg []byte) error {
	if err := checkEnvelope(env); err != nil {
		return err
	}
	sess, err := s.take()
	if err != nil {
		return err
	}
	reused := sess != nil
	for {
		if sess == nil {
			sess, err = connect(ctx, s.set, s.trace, nil)
			if err != nil {
				sess = nil
				s.logFailure(err)
				return err
			}
			s.log.Debug("smtpsend: connected", "tls", sess.tlsDetail(), "auth", sess.auth)
		}
		err = s.attempt(ctx, sess, env, msg, reused)
		if err == errStale {
			// The kept connection was dropped while idle (421, reset,
			// timeout): not a failure, connect again.
			s.log.Debug("smtpsend: kept connection was dropped, reconnecting")
			sess.quit()
			sess, reused = nil, false
			continue
		}
		s.put(sess)
		if err != nil {
			s.logFailure(err)
		}
		return err
	}
}

// errStale marks a reused connection that failed before any command of
// the new transaction was accepted.
var errStale = errors.New("smtpsend: stale connection")

func (s *Sender) attempt(ctx context.Context, sess *session, env mailqueue.Envelope, msg []byte, reused bool) error {
	unbind := sess.dc.bind(ctx)
	defer unbind()
	if reused {
		if err := sess.probe(); err != nil {
			if ctx.Err() != nil {
				sess.broken = true
				return classifyIO(StepReset, ctxErr(ctx, err))
			}
			sess.broken = true
			return errStale
		}
	}
	err := sess.transaction(ctx, env, msg)
	if err == nil {
		sess.used = s.set.Now()
		return nil
	}
	var de *mailqueue.DeliveryError
	if reused && ctx.Err() == nil && errors.As(err, &de) && de.Step == StepMail && (de.Code == 421 || de.Code == 0) {
		// Dropped between the probe and MAIL: nothing was accepted.
		sess.broken = true
		return errStale
	}
	sess.used = s.set.Now()
	return err
}

func (s *Sender) logFailure(err error) {
	var de *mailqueue.DeliveryError
	if errors.As(err, &de) {
		s.log.Warn("smtpsend: delivery attempt failed", "class", de.Class.String(), "step", de.Step, "code", de.Code, "enhanced", de.Enhanced, "error", de.Error())
		return
	}
	s.log.Warn("smtpsend: delivery attempt failed", "error", err.Error())
}

// take returns a reusable idle session or nil; expired ones are closed.
func (s *Sender) take() (*session, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, &mailqueue.DeliveryError{Class: mailqueue.ClassTransport, Step: StepDial, Err: ErrClosed}
	}
	var stale []*session
	var found *session
	now := s.set.Now()
	for len(s.idle) > 0 {
		sess := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if now.Sub(sess.used) > s.set.IdleTimeout || now.Sub(sess.created) > s.set.MaxConnAge {
			stale = append(stale, sess)
			continue
		}
		found = sess
		break
	}
	s.mu.Unlock()
	for _, sess := range stale {
		sess.quit()
	}
	return found, nil
}

// put keeps a healthy session for reuse or closes it.
func (s *Sender) put(sess *session) {
	if sess == nil {
		return
	}
	if sess.broken || sess.dc.isDead() || s.set.IdleTimeout < 0 {
		sess.quit()
		return
	}
	s.mu.Lock()
	if s.closed || len(s.idle) >= s.set.MaxIdleConns {
		s.mu.Unlock()
		sess.quit()
		return
	}
	s.idle = append(s.idle, sess)
	s.mu.Unlock()
}

// CloseIdle sends QUIT on every connection kept for reuse and closes it,
// like http.Transport.CloseIdleConnections. Connections in use by a Send
// in progress are not touched (they are kept or closed when that Send
// ends). The Sender stays usable: the next Send connects again. The queue
// calls it (mailqueue.IdleCloser) after Config.IdleClose without work, so
// the server does not hold a connection open for an idle client. It
// always returns nil.
func (s *Sender) CloseIdle() error {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, sess := range idle {
		sess.quit()
	}
	return nil
}

// Close sends QUIT on every kept connection and closes them. Later Sends
// fail with ErrClosed. Close is idempotent.
func (s *Sender) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.closed = true
	s.mu.Unlock()
	for _, sess := range idle {
		sess.quit()
	}
	return nil
}

// checkEnvelope refuses envelopes that cannot be sent.
func checkEnvelope(env mailqueue.Envelope) error {
	bad := func(format string, args ...any) error {
		return &mailqueue.DeliveryError{Class: mailqueue.ClassPermanent, Step: StepEnvelope,
			Err: fmt.Errorf("%w: "+format, append([]any{ErrBadEnvelope}, args...)...)}
	}
	if len(env.To) == 0 {
		return bad("no recipient")
	}
	check := func(a string) bool {
		return !strings.ContainsAny(a, "\r\n\x00<> \t") && len(a) <= 254
	}
	if !check(env.From) {
		return bad("reverse path %q", env.From)
	}
	for _, to := range env.To {
		if to == "" || !check(to) || !strings.Contains(to, "@") {
			return bad("recipient %q", to)
		}
	}
	return nil
}

// lockedWriter serializes trace writes of concurrent sessions.
type lockedWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

// Write writes b under the lock.
func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
