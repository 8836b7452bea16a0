package o365

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// Sender delivers messages through Office 365 in the configured mode. It
// implements mailqueue.Sender and io.Closer and is safe for concurrent use
// (Graph allows 4 concurrent requests per mailbox; SMTP mode keeps at most
// a few connections and paces submissions).
type Sender struct {
	cfg    resolved
	tokens *tokenSource // Graph scope in ModeGraph, Exchange scope otherwise
	smtp   *smtpMode    // ModeSMTP only
	closed atomic.Bool
}

var (
	_ mailqueue.Sender     = (*Sender)(nil)
	_ io.Closer            = (*Sender)(nil)
	_ mailqueue.IdleCloser = (*Sender)(nil)
)

// New validates cfg, fills its defaults and returns a Sender. It does no
// I/O: the first token is fetched by the first Send or TestConnection.
func New(cfg Config) (*Sender, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	s := &Sender{cfg: r}
	switch r.Mode {
	case ModeGraph:
		s.tokens = newTokenSource(r, r.graphScope)
	case ModeEWS:
		s.tokens = newTokenSource(r, r.serverScope)
		if r.Now().After(ewsDisableStart) && isExchangeOnline(r.ServerURL) {
			r.Logger.Warn("o365: Exchange Online disables EWS from 1 October 2026 and removes it on 1 April 2027; use mode graph",
				slog.String("server_url", r.ServerURL))
		}
	case ModeSMTP:
		s.tokens = newTokenSource(r, r.serverScope)
		m, err := newSMTPMode(r, s.tokens)
		if err != nil {
			return nil, err
		}
		s.smtp = m
	}
	return s, nil
}

// ewsDisableStart is when Exchange Online starts turning EWS off
// (Microsoft message center MC1176266).
var ewsDisableStart = time.Date(2026, time.October, 1, 0, 0, 0, 0, time.UTC)

func isExchangeOnline(serverURL string) bool {
	for _, ep := range cloudEndpoints {
		if strings.EqualFold(ep.ServerURL, serverURL) {
			return true
		}
	}
	return false
}

// String describes the sender without credentials.
func (s *Sender) String() string {
	return fmt.Sprintf("o365.Sender{mode=%s sender=%s scope=%s}", s.cfg.Mode, s.cfg.Sender, s.tokens.scope)
}

// Format prints String for every verb, so no form of a Sender (%v, %+v,
// %#v, ...) can reach the client secret or a cached token.
func (s *Sender) Format(f fmt.State, verb rune) { io.WriteString(f, s.String()) }

// Mode returns the sending mode in use.
func (s *Sender) Mode() Mode { return s.cfg.Mode }

// Scope returns the OAuth scope the sender's tokens are requested for.
func (s *Sender) Scope() string { return s.tokens.scope }

// TokenURL returns the token endpoint in use.
func (s *Sender) TokenURL() string { return s.cfg.tokenURL }

// Send delivers msg (RFC 5322 bytes with CRLF line endings) to the
// envelope recipients. Failures are *mailqueue.DeliveryError values; see
// the package documentation for their classes.
func (s *Sender) Send(ctx context.Context, env mailqueue.Envelope, msg []byte) error {
	if s.closed.Load() {
		return deliveryErr(mailqueue.ClassTransport, "send", 0, "", 0, ErrClosed)
	}
	if err := checkEnvelope(env); err != nil {
		return err
	}
	start := time.Now()
	var err error
	switch s.cfg.Mode {
	case ModeSMTP:
		err = s.smtp.send(ctx, env, msg)
	case ModeEWS:
		err = s.sendEWS(ctx, env, msg)
	default:
		err = s.sendGraph(ctx, env, msg)
	}
	log := s.cfg.Logger
	if err != nil {
		log.LogAttrs(ctx, slog.LevelWarn, "o365: send failed", slog.String("mode", string(s.cfg.Mode)),
			slog.Int("recipients", len(env.To)), slog.String("class", mailqueue.ClassOf(err).String()),
			slog.String("error", err.Error()))
		return err
	}
	log.LogAttrs(ctx, slog.LevelDebug, "o365: message sent", slog.String("mode", string(s.cfg.Mode)),
		slog.Int("recipients", len(env.To)), slog.Int("bytes", len(msg)), slog.Duration("took", time.Since(start)))
	return nil
}

// checkEnvelope refuses recipients that could not be a mailbox address or
// that would break the header field they are copied into.
func checkEnvelope(env mailqueue.Envelope) error {
	if len(env.To) == 0 {
		return deliveryErr(mailqueue.ClassPermanent, "envelope", 0, "", 0, ErrNoRecipients)
	}
	for i, rcpt := range env.To {
		r := strings.TrimSpace(rcpt)
		if r == "" || strings.ContainsAny(r, "\r\n\t <>,;\"") || !strings.Contains(r, "@") || len(r) > 320 {
			return deliveryErr(mailqueue.ClassPermanent, "envelope", 0, "", 0,
				fmt.Errorf("%w: to[%d] = %q", ErrBadRecipient, i, rcpt))
		}
	}
	return nil
}

// CloseIdle closes the SMTP connections kept for reuse (SMTP mode, when
// the SMTP sender supports it); the queue calls it when it goes idle.
// Graph and EWS keep nothing but the HTTP client's pool, which belongs to
// the host.
func (s *Sender) CloseIdle() error {
	if s.smtp == nil {
		return nil
	}
	if ic, ok := any(s.smtp.smtp).(mailqueue.IdleCloser); ok {
		return ic.CloseIdle()
	}
	return nil
}

// Close releases the SMTP connections (SMTP mode) and makes later calls
// fail with ErrClosed. It is idempotent.
func (s *Sender) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.smtp != nil {
		return s.smtp.close()
	}
	return nil
}
