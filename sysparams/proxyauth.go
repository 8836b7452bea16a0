package sysparams

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/proxycfg"
)

// StepProxy is the DeliveryError.Step (and EmailTest.FailedStep) of a mail
// proxy that refuses to authenticate the server.
const StepProxy = "proxy"

// proxyAuthError returns the ClassConfig DeliveryError for err when the
// mail proxy refused to authenticate (HTTP 407 on CONNECT, SOCKS5 method
// or RFC 1929 refusal), and nil otherwise. The senders (smtpsend, o365)
// know nothing of proxycfg and report such a refusal as an unreachable
// server (ClassTransport), which the queue would retry forever without an
// alarm; a refused credential is a configuration problem and must pause
// the queue with a hint instead.
func proxyAuthError(choice ProxyChoice, err error) *mailqueue.DeliveryError {
	if err == nil {
		return nil
	}
	section := "proxy"
	switch choice {
	case ProxyHTTP:
		section = "proxy.http"
	case ProxySOCKS:
		section = "proxy.socks"
	}
	var hint string
	switch {
	case errors.Is(err, proxycfg.ErrProxyAuthFailed):
		hint = fmt.Sprintf("the mail proxy refused the credentials: check %s.username and %s.password", section, section)
	case errors.Is(err, proxycfg.ErrProxyAuthRequired):
		hint = fmt.Sprintf("the mail proxy requires authentication: set %s.username and %s.password, or allow this server without authentication", section, section)
	case errors.Is(err, proxycfg.ErrProxyAuthUnsupported):
		hint = "the mail proxy offers no authentication scheme ucxkit speaks (HTTP: Basic; SOCKS5: username/password): enable one for this server, or exempt it from authentication"
	default:
		return nil
	}
	// The cause, not the sender's transport DeliveryError around it: the
	// text would otherwise say "mailqueue: ... failure" twice.
	cause := err
	var de *mailqueue.DeliveryError
	if errors.As(err, &de) && de.Err != nil {
		cause = de.Err
	}
	return &mailqueue.DeliveryError{Class: mailqueue.ClassConfig, Step: StepProxy, Hint: hint, Err: cause}
}

// proxyAuthSender is the MailSender that reports a mail proxy's
// authentication refusal as a configuration failure (see proxyAuthError).
type proxyAuthSender struct {
	choice ProxyChoice // email.proxy when the sender was built
	next   MailSender
}

// Send implements mailqueue.Sender.
func (s *proxyAuthSender) Send(ctx context.Context, env mailqueue.Envelope, msg []byte) error {
	err := s.next.Send(ctx, env, msg)
	if de := proxyAuthError(s.choice, err); de != nil {
		return de
	}
	return err
}

// CloseIdle implements mailqueue.IdleCloser.
func (s *proxyAuthSender) CloseIdle() error {
	if c, ok := s.next.(mailqueue.IdleCloser); ok {
		return c.CloseIdle()
	}
	return nil
}

// Close implements io.Closer.
func (s *proxyAuthSender) Close() error { return s.next.Close() }

// String describes the wrapped sender (never its credentials).
func (s *proxyAuthSender) String() string { return fmt.Sprint(s.next) }

// Format prints String for every verb, so no verb reaches the fields.
func (s *proxyAuthSender) Format(f fmt.State, verb rune) { io.WriteString(f, s.String()) }

var (
	_ MailSender           = (*proxyAuthSender)(nil)
	_ mailqueue.IdleCloser = (*proxyAuthSender)(nil)
)
