package smtpsend

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// session is one SMTP connection, authenticated and ready for MAIL.
type session struct {
	set     *settings
	dc      *deadlineConn
	c       *smtp.Client
	tls     *tls.ConnectionState // nil for a clear connection
	greet   string               // greeting text
	exts    []string             // EHLO keywords after TLS, as sent
	auth    string               // mechanism used, "" without AUTH
	maxSize int                  // SIZE, 0 when unknown/unlimited
	created time.Time
	used    time.Time
	dirty   bool // a transaction was aborted: RSET before the next
	broken  bool // the connection is unusable
}

// progress records how far a connection got, for TestConnection.
type progress struct {
	steps    []Step
	resolved []string
}

func (p *progress) ok(name string, start time.Time, detail string) {
	if p != nil {
		p.steps = append(p.steps, Step{Name: name, OK: true, Duration: time.Since(start), Detail: detail})
	}
}

func (p *progress) fail(de *mailqueue.DeliveryError, start time.Time) *mailqueue.DeliveryError {
	if p != nil {
		p.steps = append(p.steps, Step{Name: de.Step, OK: false, Duration: time.Since(start), Detail: de.Error()})
	}
	return de
}

// connect dials, reads the greeting, secures the connection as configured,
// says EHLO and authenticates. ctx bounds the whole connect. On failure
// the returned session (nil when the dial failed) is closed and only tells
// how far the handshake got.
func connect(ctx context.Context, set *settings, trace io.Writer, p *progress) (*session, error) {
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, set.Timeouts.Dial)
	raw, err := set.Dialer.DialContext(dctx, "tcp", set.addr)
	cancel()
	if err != nil {
		return nil, p.fail(classifyIO(StepDial, ctxErr(ctx, err)), start)
	}
	p.ok(StepDial, start, "connected to "+set.addr)
	dc := &deadlineConn{Conn: raw}
	unbind := dc.bind(ctx)
	defer unbind()
	s := &session{set: set, dc: dc, created: set.Now()}
	s.used = s.created
	if err := s.handshake(ctx, trace, p); err != nil {
		_ = raw.Close()
		s.broken = true
		return s, err
	}
	return s, nil
}

func (s *session) handshake(ctx context.Context, trace io.Writer, p *progress) error {
	set := s.set
	var conn net.Conn = s.dc
	secured := false
	replayed := 0 // greeting bytes replayed to the client library
	if set.implicitTLS() {
		start := time.Now()
		tc, err := s.tlsHandshake(ctx, s.dc)
		if err != nil {
			return p.fail(classifyIO(StepTLS, ctxErr(ctx, err)), start)
		}
		p.ok(StepTLS, start, s.tlsDetail())
		traceNote(trace, "TLS established: "+s.tlsDetail())
		secured = true
		// Read the greeting ourselves (for the report and an exact
		// greeting timeout), then replay it to the client library.
		br := bufio.NewReader(tc)
		start = time.Now()
		s.dc.setStage(set.Timeouts.Greeting)
		g, err := readReply(br, trace)
		if err != nil {
			return p.fail(classifyIO(StepGreeting, ctxErr(ctx, err)), start)
		}
		if g.code != 220 {
			return p.fail(classifySMTP(StepGreeting, &smtp.SMTPError{Code: g.code, Message: g.text()}), start)
		}
		s.greet = g.text()
		p.ok(StepGreeting, start, g.text())
		conn = &replayConn{Conn: tc, r: io.MultiReader(strings.NewReader(g.raw), br)}
		replayed = len(g.raw)
	} else {
		// Clear start: read the greeting and EHLO ourselves so that
		// STARTTLS can be decided, and done with our own TLS settings,
		// before the client library sees the connection.
		br := bufio.NewReader(s.dc)
		start := time.Now()
		s.dc.setStage(set.Timeouts.Greeting)
		g, err := readReply(br, trace)
		if err != nil {
			return p.fail(classifyIO(StepGreeting, ctxErr(ctx, err)), start)
		}
		if g.code != 220 {
			return p.fail(classifySMTP(StepGreeting, &smtp.SMTPError{Code: g.code, Message: g.text()}), start)
		}
		s.greet = g.text()
		p.ok(StepGreeting, start, g.text())
		if set.security == SecurityNone {
			conn = &replayConn{Conn: s.dc, r: io.MultiReader(strings.NewReader(g.raw), br)}
			replayed = len(g.raw)
		} else {
			start = time.Now()
			s.dc.setStage(set.Timeouts.Command)
			if err := s.writeLine(trace, "EHLO "+set.LocalName); err != nil {
				return p.fail(classifyIO(StepEHLO, ctxErr(ctx, err)), start)
			}
			e, err := readReply(br, trace)
			if err != nil {
				return p.fail(classifyIO(StepEHLO, ctxErr(ctx, err)), start)
			}
			starttls := false
			if e.code == 250 {
				for _, l := range e.lines[1:] {
					if strings.EqualFold(strings.Fields(l + " x")[0], "STARTTLS") {
						starttls = true
					}
				}
			} else if e.code != 500 && e.code != 502 {
				// 500/502: EHLO unknown, HELO only (no STARTTLS possible).
				return p.fail(classifySMTP(StepEHLO, &smtp.SMTPError{Code: e.code, Message: e.text()}), start)
			}
			switch {
			case starttls:
				p.ok(StepEHLO, start, "STARTTLS offered")
				start = time.Now()
				if err := s.writeLine(trace, "STARTTLS"); err != nil {
					return p.fail(classifyIO(StepSTARTTLS, ctxErr(ctx, err)), start)
				}
				r, err := readReply(br, trace)
				if err != nil {
					return p.fail(classifyIO(StepSTARTTLS, ctxErr(ctx, err)), start)
				}
				if r.code != 220 {
					return p.fail(classifySMTP(StepSTARTTLS, &smtp.SMTPError{Code: r.code, Message: r.text()}), start)
				}
				if br.Buffered() > 0 {
					return p.fail(&mailqueue.DeliveryError{Class: mailqueue.ClassTransport, Step: StepSTARTTLS, Err: ErrTLSInjection,
						Hint: "something between client and server tampers with the session"}, start)
				}
				start = time.Now()
				tc, err := s.tlsHandshake(ctx, s.dc)
				if err != nil {
					return p.fail(classifyIO(StepTLS, ctxErr(ctx, err)), start)
				}
				p.ok(StepTLS, start, s.tlsDetail())
				// The client library expects a greeting first: replay
				// the real one, then everything comes from the TLS
				// connection. RFC 3207 §4.2: all pre-TLS knowledge is
				// discarded; the library sends a fresh EHLO.
				conn = &replayConn{Conn: tc, r: io.MultiReader(strings.NewReader(g.raw), tc)}
				replayed = len(g.raw)
				secured = true
				traceNote(trace, "TLS established: "+s.tlsDetail())
			case set.security == SecurityStartTLS || set.RequireTLS || set.hasCredentials():
				why := "security is starttls"
				if set.hasCredentials() && set.security == SecurityAuto {
					why = "credentials are configured and are never sent in clear"
				} else if set.RequireTLS {
					why = "require_tls is set"
				}
				return p.fail(&mailqueue.DeliveryError{Class: mailqueue.ClassConfig, Step: StepSTARTTLS, Err: ErrNoSTARTTLS,
					Hint: "the server offers no STARTTLS but " + why + ": use port 465 with security tls, enable STARTTLS on the server, or check for a middlebox stripping it"}, start)
			default:
				p.ok(StepEHLO, start, "no STARTTLS offered; continuing in clear (no credentials)")
				// Continue in clear: replay the greeting, the library
				// says EHLO again.
				conn = &replayConn{Conn: s.dc, r: io.MultiReader(strings.NewReader(g.raw), br)}
				replayed = len(g.raw)
			}
		}
	}

	c := smtp.NewClient(&replyLimitConn{Conn: conn})
	c.CommandTimeout = set.Timeouts.Command
	c.SubmissionTimeout = set.Timeouts.Final
	c.DebugWriter = trace
	if trace != nil && replayed > 0 {
		// The replayed greeting is already in the trace.
		c.DebugWriter = &skipWriter{w: trace, skip: replayed}
	}
	s.c = c
	start := time.Now()
	s.dc.setStage(set.Timeouts.Command)
	if err := c.Hello(set.LocalName); err != nil {
		return p.fail(classify(StepEHLO, ctxErr(ctx, err)), start)
	}
	s.dc.setStage(0)
	s.readCaps()
	p.ok(StepEHLO, start, strings.Join(s.exts, " "))
	if !secured && set.hasCredentials() {
		// Unreachable by construction (handshake refuses above); kept as
		// the last line of defence against AUTH in clear.
		return p.fail(&mailqueue.DeliveryError{Class: mailqueue.ClassConfig, Step: StepAuth, Err: ErrNoSTARTTLS}, start)
	}
	if set.hasCredentials() {
		start = time.Now()
		if de := s.authenticate(ctx, trace); de != nil {
			return p.fail(de, start)
		}
		p.ok(StepAuth, start, s.auth)
	}
	return nil
}

func (s *session) writeLine(trace io.Writer, line string) error {
	b := []byte(line + "\r\n")
	if trace != nil {
		_, _ = trace.Write(b)
	}
	_, err := s.dc.Write(b)
	return err
}

func (s *session) tlsHandshake(ctx context.Context, conn net.Conn) (*tls.Conn, error) {
	cfg := s.set.tlsBase.Clone()
	tc := tls.Client(conn, cfg)
	s.dc.setStage(s.set.Timeouts.TLS)
	hctx, cancel := context.WithTimeout(ctx, s.set.Timeouts.TLS)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, err
	}
	s.dc.setStage(0)
	st := tc.ConnectionState()
	s.tls = &st
	return tc, nil
}

func (s *session) tlsDetail() string {
	if s.tls == nil {
		return ""
	}
	return tlsVersionName(s.tls.Version) + " " + tls.CipherSuiteName(s.tls.CipherSuite)
}

// readCaps records the extensions of the (post-TLS) EHLO reply.
func (s *session) readCaps() {
	s.exts = s.exts[:0]
	for _, ext := range []string{"PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "STARTTLS", "AUTH", "ENHANCEDSTATUSCODES", "DSN", "CHUNKING", "REQUIRETLS"} {
		if ok, param := s.c.Extension(ext); ok {
			if param != "" {
				s.exts = append(s.exts, ext+" "+param)
			} else {
				s.exts = append(s.exts, ext)
			}
		}
	}
	if n, ok := s.c.MaxMessageSize(); ok {
		s.maxSize = n
	}
}

// authMechanisms returns the AUTH list of the post-TLS EHLO.
func (s *session) authMechanisms() []string {
	ok, param := s.c.Extension("AUTH")
	if !ok {
		return nil
	}
	return strings.Fields(param)
}

// traceNote writes a marked note into the protocol trace.
func traceNote(trace io.Writer, note string) {
	if trace != nil {
		_, _ = io.WriteString(trace, "[smtpsend: "+note+"]\r\n")
	}
}

func (s *session) authenticate(ctx context.Context, trace io.Writer) *mailqueue.DeliveryError {
	set := s.set
	mechs := s.authMechanisms()
	if len(mechs) == 0 {
		return &mailqueue.DeliveryError{Class: mailqueue.ClassConfig, Step: StepAuth, Err: ErrNoAuth,
			Hint: "credentials are configured but the server offers no AUTH after TLS: use the submission port (587/465) or remove the credentials"}
	}
	mech, err := chooseMechanism(set.auth, mechs)
	if err != nil {
		return &mailqueue.DeliveryError{Class: mailqueue.ClassConfig, Step: StepAuth, Err: fmt.Errorf("%w: %w", ErrNoAuth, err),
			Hint: "choose an authentication mechanism the server offers"}
	}
	s.auth = mech
	// The AUTH exchange carries credentials: keep it out of the trace.
	s.c.DebugWriter = nil
	defer func() { s.c.DebugWriter = trace }() // the replayed greeting is long past
	traceNote(trace, "AUTH "+mech+" exchange not traced")

	run := func(refresh bool) error {
		var client sasl.Client
		switch mech {
		case AuthPlain:
			client = plainClient(set.Username, set.Password.Reveal())
		case AuthLogin:
			client = &loginClient{user: set.Username, pass: set.Password.Reveal()}
		case AuthCRAMMD5:
			client = &cramMD5Client{user: set.Username, pass: set.Password.Reveal()}
		case AuthXOAUTH2:
			tctx, cancel := context.WithTimeout(ctx, set.Timeouts.Command)
			tok, err := set.Tokens.Token(tctx, refresh)
			cancel()
			if err != nil {
				return &mailqueue.DeliveryError{Class: mailqueue.ClassTransport, Step: "token", Err: fmt.Errorf("smtpsend: token source: %w", err),
					Hint: "could not obtain an OAuth access token"}
			}
			if strings.ContainsAny(tok, "\x01\r\n") {
				return &mailqueue.DeliveryError{Class: mailqueue.ClassConfig, Step: "token", Err: errors.New("smtpsend: access token contains control characters")}
			}
			client = &xoauth2Client{user: set.Username, token: tok, initial: true}
		}
		// One timeout bounds the whole exchange, not each challenge.
		s.dc.setStage(set.Timeouts.Command)
		defer s.dc.setStage(0)
		return s.c.Auth(&roundLimit{Client: client})
	}
	err = run(false)
	var se *smtp.SMTPError
	if err != nil && mech == AuthXOAUTH2 && errors.As(err, &se) && se.Code == 535 {
		// The token may have been revoked or expired early: fetch a new
		// one and try once more (the session stays in the
		// not-authenticated state after a failed AUTH).
		traceNote(trace, "AUTH XOAUTH2 refused; retrying once with a refreshed token")
		err = run(true)
	}
	if err != nil {
		var de *mailqueue.DeliveryError
		if errors.As(err, &de) {
			return de
		}
		if errors.As(err, &se) {
			return classifySMTP(StepAuth, se)
		}
		if errors.Is(err, sasl.ErrUnexpectedServerChallenge) {
			return &mailqueue.DeliveryError{Class: mailqueue.ClassConfig, Step: StepAuth, Err: err, Hint: "the server's AUTH " + mech + " dialogue is not understood; choose another mechanism"}
		}
		s.broken = true
		return classifyIO(StepAuth, ctxErr(ctx, err))
	}
	traceNote(trace, "AUTH "+mech+" succeeded")
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// transaction sends one message: MAIL, RCPT..., DATA, body, final dot.
func (s *session) transaction(ctx context.Context, env mailqueue.Envelope, msg []byte) error {
	set := s.set
	if s.maxSize > 0 && len(msg) > s.maxSize {
		return &mailqueue.DeliveryError{Class: mailqueue.ClassPermanent, Step: StepSize, Code: 552, Enhanced: "5.3.4",
			Err:  fmt.Errorf("%w: %d bytes, server limit %d", ErrTooLarge, len(msg), s.maxSize),
			Hint: "the message is larger than the server accepts"}
	}
	opts := &smtp.MailOptions{Size: int64(len(msg))}
	utf8 := !isASCII(env.From)
	for _, to := range env.To {
		utf8 = utf8 || !isASCII(to)
	}
	if utf8 {
		if ok, _ := s.c.Extension("SMTPUTF8"); !ok {
			return &mailqueue.DeliveryError{Class: mailqueue.ClassPermanent, Step: StepMail,
				Err: fmt.Errorf("%w: non-ASCII address but the server lacks SMTPUTF8", ErrBadEnvelope)}
		}
		opts.UTF8 = true
	}
	fail := func(step string, err error) error {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			s.dirty = true
			if se.Code == 421 {
				s.broken = true
			}
		} else {
			s.broken = true
		}
		return classify(step, ctxErr(ctx, err))
	}
	if err := s.c.Mail(env.From, opts); err != nil {
		return fail(StepMail, err)
	}
	for _, to := range env.To {
		if err := s.c.Rcpt(to, nil); err != nil {
			// Any refused recipient aborts the whole message: the queue
			// keeps per-message state (see package doc).
			de := fail(StepRcpt, err).(*mailqueue.DeliveryError)
			de.Err = fmt.Errorf("recipient <%s>: %w", to, de.Err)
			return de
		}
	}
	w, err := s.c.Data()
	if err != nil {
		return fail(StepData, err)
	}
	s.dc.setStage(set.Timeouts.Data)
	if _, err := w.Write(msg); err != nil {
		s.broken = true
		return classifyIO(StepData, ctxErr(ctx, err))
	}
	// The final dot (still buffered) and the server's verdict share the
	// final-reply timeout.
	s.dc.setStage(set.Timeouts.Final)
	defer s.dc.setStage(0)
	if _, err := w.CloseWithResponse(); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			if se.Code == 421 {
				s.broken = true
			}
			de := classifySMTP(StepFinal, se)
			if se.Code == 421 {
				// A definite refusal: the message was not accepted.
				de.Class = mailqueue.ClassTransport
			}
			return de
		}
		s.broken = true
		return classifyIO(StepFinal, ctxErr(ctx, err))
	}
	return nil
}

// probe checks a reused connection: RSET after an aborted transaction,
// NOOP otherwise.
func (s *session) probe() error {
	s.dc.setStage(s.set.Timeouts.Command)
	defer s.dc.setStage(0)
	if s.dirty {
		if err := s.c.Reset(); err != nil {
			return err
		}
		s.dirty = false
		return nil
	}
	return s.c.Noop()
}

// quit ends the session politely, bounded by a short timeout.
func (s *session) quit() {
	if s.broken || s.dc.isDead() {
		_ = s.c.Close()
		return
	}
	s.dc.setStage(5 * time.Second)
	if err := s.c.Quit(); err != nil {
		_ = s.c.Close()
	}
}

// skipWriter drops the first skip bytes written to it (the replayed
// greeting, which the client library reads and traces again).
type skipWriter struct {
	w    io.Writer
	skip int
}

// Write forwards b after the skipped prefix.
func (s *skipWriter) Write(b []byte) (int, error) {
	n := len(b)
	if s.skip > 0 {
		k := min(s.skip, len(b))
		s.skip -= k
		b = b[k:]
	}
	if len(b) > 0 {
		if _, err := s.w.Write(b); err != nil {
			return 0, err
		}
	}
	return n, nil
}
