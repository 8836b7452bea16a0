package smtpsend

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// Protocol steps named in DeliveryError.Step and Report.FailedStep.
const (
	StepEnvelope = "envelope" // the envelope itself is unusable
	StepDNS      = "dns"
	StepDial     = "dial" // TCP or proxy connect
	StepTLS      = "tls"
	StepGreeting = "greeting"
	StepEHLO     = "ehlo"
	StepSTARTTLS = "starttls"
	StepAuth     = "auth"
	StepSize     = "size" // message larger than the server's SIZE
	StepMail     = "mail"
	StepRcpt     = "rcpt"
	StepData     = "data" // DATA command and body upload
	StepFinal    = "final"
	StepReset    = "rset"
)

// Sentinel errors, wrapped inside *mailqueue.DeliveryError values.
var (
	// ErrClosed is returned by Send after Close.
	ErrClosed = errors.New("smtpsend: sender closed")
	// ErrNoSTARTTLS means TLS was required (security starttls, credentials
	// configured, or RequireTLS) but the server did not offer STARTTLS.
	ErrNoSTARTTLS = errors.New("smtpsend: server does not offer STARTTLS")
	// ErrNoAuth means credentials are configured but the server offers no
	// AUTH (or not the configured mechanism) after TLS.
	ErrNoAuth = errors.New("smtpsend: server offers no usable AUTH mechanism")
	// ErrTooLarge means the message exceeds the server's SIZE limit; it was
	// not sent.
	ErrTooLarge = errors.New("smtpsend: message exceeds the server's SIZE limit")
	// ErrBadEnvelope means the envelope has no recipient or an address that
	// cannot be sent.
	ErrBadEnvelope = errors.New("smtpsend: invalid envelope")
	// ErrTLSInjection means the server sent data after its STARTTLS reply
	// and before the handshake (CVE-2011-0411 style command injection).
	ErrTLSInjection = errors.New("smtpsend: data received after STARTTLS reply before TLS handshake")
)

func enhancedString(e smtp.EnhancedCode) string {
	if e == smtp.NoEnhancedCode || e == smtp.EnhancedCodeNotSet || e[0] <= 0 {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", e[0], e[1], e[2])
}

// configHint returns an administrator hint when an SMTP reply means the
// configuration (credentials, tenant settings, sender rights) is wrong.
func configHint(code int, enhanced, text string) (string, bool) {
	lt := strings.ToLower(text)
	switch {
	case enhanced == "5.7.139" || strings.Contains(lt, "smtpclientauthentication is disabled"):
		return "SMTP AUTH is disabled for this tenant or mailbox: enable authenticated SMTP (Set-CASMailbox -SmtpClientAuthenticationDisabled $false) or use the Graph sender", true
	case enhanced == "5.7.30" || strings.Contains(lt, "basic authentication is not supported"):
		return "the server refuses basic authentication: use OAuth (XOAUTH2) or the Graph sender", true
	case enhanced == "5.7.60" || strings.Contains(lt, "sendasdenied") || strings.Contains(lt, "send as this sender"):
		return "the account may not send as this From address: grant Send As rights or change the sender address", true
	case enhanced == "5.7.57" || (code == 530 && strings.Contains(lt, "not authenticated")):
		return "the server requires authentication: set a user name and password", true
	case code == 530 && strings.Contains(lt, "starttls"):
		return "the server requires STARTTLS before this command", true
	case code == 421 && (enhanced == "4.7.66" || strings.Contains(lt, "tls 1.0 and 1.1")):
		return "the server refuses this TLS version: set min_tls to 1.2", true
	case code == 530:
		return "the server requires authentication: set a user name and password", true
	case code == 538:
		return "the server requires an encrypted connection for this authentication mechanism", true
	case code == 535 || code == 534:
		return "authentication failed: check user name, password (or token) and mechanism", true
	}
	return "", false
}

// classifySMTP turns a server reply error at step into a DeliveryError
// following the failure table of package mailqueue.
func classifySMTP(step string, se *smtp.SMTPError) *mailqueue.DeliveryError {
	enh := enhancedString(se.EnhancedCode)
	de := &mailqueue.DeliveryError{Step: step, Code: se.Code, Enhanced: enh, Err: se}
	if hint, ok := configHint(se.Code, enh, se.Message); ok {
		// Authentication, tenant and sender-rights replies mean every
		// message would fail the same way: pause and alarm.
		de.Class = mailqueue.ClassConfig
		de.Hint = hint
		return de
	}
	switch {
	case se.Code == 421:
		// RFC 5321 §3.8: the service is closing the channel.
		de.Class = mailqueue.ClassTransport
		de.Hint = "the server closed the session (421)"
	case step == StepGreeting || step == StepEHLO || step == StepSTARTTLS:
		de.Class = mailqueue.ClassTransport
	case step == StepAuth && se.Code/100 == 4:
		// 454 4.7.0: temporary authentication failure (RFC 4954).
		de.Class = mailqueue.ClassTemporary
	case step == StepAuth:
		de.Class = mailqueue.ClassConfig
		de.Hint = "authentication refused: check user name, password and mechanism"
	case se.Code/100 == 4:
		de.Class = mailqueue.ClassTemporary
	case se.Code/100 == 5:
		de.Class = mailqueue.ClassPermanent
		if se.Code == 552 || enh == "5.3.4" {
			de.Hint = "the message is too large for the server"
		}
	default:
		de.Class = mailqueue.ClassTemporary
	}
	return de
}

// classifyIO classifies a non-SMTP error (network, TLS, timeout) at step.
func classifyIO(step string, err error) *mailqueue.DeliveryError {
	de := &mailqueue.DeliveryError{Step: step, Err: err}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && (step == StepDial || step == StepDNS) {
		de.Step = StepDNS
		de.Class = mailqueue.ClassTransport
		de.Hint = "the server name does not resolve: check the host name and DNS"
		return de
	}
	switch step {
	case StepFinal:
		// The whole message and the final dot may have reached the server;
		// only its reply was lost.
		de.Class = mailqueue.ClassAmbiguous
		de.Hint = "the connection was lost after the message was handed over; it will be retried and may arrive twice"
	case StepData:
		// Connection reset mid-upload: the server cannot have accepted it.
		de.Class = mailqueue.ClassTemporary
	default:
		de.Class = mailqueue.ClassTransport
	}
	if step == StepTLS {
		var uae x509.UnknownAuthorityError
		var he x509.HostnameError
		var cie x509.CertificateInvalidError
		var ve *tls.CertificateVerificationError
		switch {
		case errors.As(err, &he):
			de.Hint = "the server certificate does not match the host name: set tls_server_name or connect by the certificate's name"
		case errors.As(err, &uae), errors.As(err, &cie), errors.As(err, &ve):
			de.Hint = "the server certificate is not trusted: add its CA with ca_file"
		default:
			de.Hint = "TLS handshake failed: check the port's security mode (465 is implicit TLS, 587/25 use STARTTLS) and min_tls"
		}
	}
	if step == StepDial && de.Hint == "" {
		de.Hint = "cannot connect: check host, port, firewall and proxy"
	}
	if step == StepGreeting && de.Hint == "" {
		de.Hint = "the server accepted the connection but sent no greeting: check the port and security mode"
	}
	return de
}

// classify dispatches on the error type.
func classify(step string, err error) *mailqueue.DeliveryError {
	var de *mailqueue.DeliveryError
	if errors.As(err, &de) {
		return de
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return classifySMTP(step, se)
	}
	return classifyIO(step, err)
}

// ctxErr wraps err so that errors.Is(err, context.Canceled) (or
// DeadlineExceeded) holds when ctx ended the attempt.
func ctxErr(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if dl, ok := ctx.Deadline(); cerr == nil && ok && !time.Now().Before(dl) {
		// The connection deadline (set to ctx's) fired a moment before
		// the context's own timer.
		cerr = context.DeadlineExceeded
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}
