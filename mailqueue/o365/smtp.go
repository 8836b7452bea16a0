package o365

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

// smtpMode submits through Exchange Online SMTP with STARTTLS and AUTH
// XOAUTH2, reusing the SMTP sender of package smtpsend. The XOAUTH2
// initial response is
//
//	base64("user=" + sender + "\x01auth=Bearer " + token + "\x01\x01")
//
// sent on the AUTH line when it fits in 512 octets, else after the
// server's empty "334 " challenge (RFC 4954 §4); real Entra tokens take
// the second form.
type smtpMode struct {
	cfg    resolved
	tokens *tokenSource
	smtp   *smtpsend.Sender
	limit  *limiter
}

// throttleRetry is the pause suggested after "432 4.3.2": Exchange counts
// submissions per minute and connections per mailbox.
const throttleRetry = time.Minute

func newSMTPMode(r resolved, ts *tokenSource) (*smtpMode, error) {
	host, portStr, _ := net.SplitHostPort(r.SMTPAddr)
	port, _ := strconv.Atoi(portStr)
	sc := smtpsend.Config{
		Host:     host,
		Port:     port,
		Security: smtpsend.SecurityStartTLS,
		Username: r.Sender,
		Auth:     smtpsend.AuthXOAUTH2,
		Tokens: smtpsend.TokenFunc(func(ctx context.Context, refresh bool) (string, error) {
			if refresh {
				// The server refused the cached token: drop it once.
				ts.dropCurrent(ctx)
			}
			return ts.Token(ctx)
		}),
		// Exchange Online refuses TLS 1.0/1.1 (421 4.7.66).
		MinTLS:    smtpsend.TLS12,
		TLSConfig: r.TLSConfig,
		From:      r.Sender,
		Dialer:    r.Dialer,
		Logger:    r.Logger,
		Now:       r.Now,
	}
	s, err := smtpsend.New(sc)
	if err != nil {
		return nil, fmt.Errorf("o365: smtp mode: %w", err)
	}
	m := &smtpMode{cfg: r, tokens: ts, smtp: s}
	if r.SMTPRateLimit > 0 {
		m.limit = newLimiter(r.SMTPRateLimit, time.Minute, r.Now)
	}
	return m, nil
}

// send paces the submission, makes sure a token can be had (so a refused
// client secret is reported as the configuration error it is) and hands
// the message to the SMTP sender with the mailbox as reverse path:
// Exchange Online accepts only the authenticated mailbox (or one it may
// send as) in MAIL FROM.
func (m *smtpMode) send(ctx context.Context, env mailqueue.Envelope, msg []byte) error {
	if _, err := m.tokens.Token(ctx); err != nil {
		return err
	}
	if err := m.limit.Wait(ctx); err != nil {
		return deliveryErr(mailqueue.ClassTemporary, "ratelimit", 0, "", 0,
			fmt.Errorf("o365: waiting for the 30 messages/minute limit: %w", err))
	}
	env.From = m.cfg.Sender
	return m.adapt(m.smtp.Send(ctx, env, msg))
}

// adapt surfaces the token source's own classification and adds the
// Office 365 meaning of the SMTP replies that have one.
func (m *smtpMode) adapt(err error) error {
	if err == nil {
		return nil
	}
	var outer *mailqueue.DeliveryError
	if !errors.As(err, &outer) {
		return err
	}
	// A token failure is wrapped by smtpsend as a transport error; the
	// token source already classified it (invalid_client is config).
	for e := outer.Err; e != nil; e = errors.Unwrap(e) {
		if inner, ok := e.(*mailqueue.DeliveryError); ok {
			return inner
		}
	}
	de := *outer
	switch {
	case de.Code == 432 || de.Enhanced == "4.3.2":
		de.Class = mailqueue.ClassTemporary
		if de.RetryAfter == 0 {
			de.RetryAfter = throttleRetry
		}
		de.Hint = "Exchange Online throttling: at most 30 messages per minute and 3 connections per mailbox"
	case de.Step == smtpsend.StepAuth && de.Code == 535 && de.Enhanced != "5.7.139" && de.Enhanced != "5.7.30":
		de.Hint = hintSMTP
	default:
		return err
	}
	return &de
}

func (m *smtpMode) close() error { return m.smtp.Close() }

// test runs smtpsend's connection test (connect, STARTTLS, AUTH XOAUTH2,
// MAIL FROM probe) and reports its stages.
func (m *smtpMode) test(ctx context.Context) ([]Step, error) {
	rep, err := m.smtp.TestConnection(ctx)
	steps := make([]Step, 0, len(rep.Steps))
	for _, st := range rep.Steps {
		status := StepOK
		if !st.OK {
			status = StepFailed
		}
		detail := st.Detail
		if st.Name == smtpsend.StepTLS && rep.TLSVersion != "" && status == StepOK {
			detail = rep.TLSVersion + " " + detail
		}
		steps = append(steps, Step{Name: st.Name, Status: status, Detail: detail, Elapsed: st.Duration})
	}
	return steps, m.adapt(err)
}
