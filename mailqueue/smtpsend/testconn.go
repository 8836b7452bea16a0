package smtpsend

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// Step is one stage of a connection test.
type Step struct {
	// Name is one of the Step* constants ("dns", "dial", "tls", ...).
	Name string `json:"name"`
	// OK is false for the step that failed (always the last one).
	OK bool `json:"ok"`
	// Duration is how long the step took.
	Duration time.Duration `json:"duration_ns"`
	// Detail is what was learnt (addresses, TLS version, extensions,
	// mechanism) or the error.
	Detail string `json:"detail,omitempty"`
}

// Report is the result of TestConnection: the seed's "Test connection"
// button. It never contains credentials.
type Report struct {
	// Addr is the "host:port" tested.
	Addr string `json:"addr"`
	// Resolved lists the addresses the host name resolved to (empty for an
	// IP address or when a custom Dialer resolves names itself).
	Resolved []string `json:"resolved,omitempty"`
	// Security is the protection actually used: "tls" (implicit),
	// "starttls" or "none".
	Security string `json:"security"`
	// TLSVersion is the negotiated version ("TLS 1.3"), empty in clear.
	TLSVersion string `json:"tls_version,omitempty"`
	// CipherSuite is the negotiated cipher suite name.
	CipherSuite string `json:"cipher_suite,omitempty"`
	// Greeting is the server's 220 text (for plain and STARTTLS starts).
	Greeting string `json:"greeting,omitempty"`
	// Extensions are the EHLO keywords after TLS.
	Extensions []string `json:"extensions,omitempty"`
	// Auth is the SASL mechanism that succeeded, empty without credentials.
	Auth string `json:"auth,omitempty"`
	// MaxSize is the server's SIZE limit in bytes, 0 when not announced.
	MaxSize int `json:"max_size,omitempty"`
	// Steps lists each stage in order; the failed stage is last.
	Steps []Step `json:"steps"`
	// FailedStep names the failed stage, empty on success.
	FailedStep string `json:"failed_step,omitempty"`
	// Class is the failure class, empty on success.
	Class string `json:"class,omitempty"`
	// Hint is advice for the administrator.
	Hint string `json:"hint,omitempty"`
}

// OK reports whether every step succeeded.
func (r Report) OK() bool { return r.FailedStep == "" }

// TestConnection connects as Send would — DNS, TCP, TLS (reporting the
// negotiated version), EHLO, AUTH — then probes MAIL FROM with Config.From
// (or the null reverse path), resets and quits. The error, when not nil, is
// a *mailqueue.DeliveryError naming the failed step; the Report describes
// every step up to it. No message is sent.
func (s *Sender) TestConnection(ctx context.Context) (Report, error) {
	set := s.set
	rep := Report{Addr: set.addr, Security: string(SecurityNone)}
	p := &progress{}
	finish := func(err error) (Report, error) {
		rep.Steps = p.steps
		if err != nil {
			var de *mailqueue.DeliveryError
			if errors.As(err, &de) {
				rep.FailedStep = de.Step
				rep.Class = de.Class.String()
				rep.Hint = de.Hint
			} else {
				rep.FailedStep = "unknown"
			}
		}
		return rep, err
	}
	// Resolve names ourselves only with the default dialer: a proxy
	// dialer (SOCKS5h, HTTP CONNECT) resolves on the far side.
	if _, plain := set.Dialer.(*net.Dialer); plain && net.ParseIP(set.Host) == nil {
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, set.Timeouts.Dial)
		addrs, err := net.DefaultResolver.LookupHost(rctx, set.Host)
		cancel()
		if err != nil {
			return finish(p.fail(classifyIO(StepDNS, ctxErr(ctx, err)), start))
		}
		rep.Resolved = addrs
		p.ok(StepDNS, start, joinComma(addrs))
	}
	sess, err := connect(ctx, set, s.trace, p)
	if sess != nil {
		rep.Greeting = sess.greet
		rep.Extensions = append([]string(nil), sess.exts...)
		rep.Auth = sess.auth
		rep.MaxSize = sess.maxSize
		if sess.tls != nil {
			rep.TLSVersion = tlsVersionName(sess.tls.Version)
			rep.CipherSuite = tls.CipherSuiteName(sess.tls.CipherSuite)
			if set.implicitTLS() {
				rep.Security = string(SecurityTLS)
			} else {
				rep.Security = string(SecurityStartTLS)
			}
		}
	}
	if err != nil {
		return finish(err)
	}
	defer sess.quit()

	unbind := sess.dc.bind(ctx)
	defer unbind()
	start := time.Now()
	sess.dc.setStage(set.Timeouts.Command)
	if err := sess.c.Mail(set.From, nil); err != nil {
		sess.broken = true
		return finish(p.fail(classify(StepMail, ctxErr(ctx, err)), start))
	}
	from := set.From
	if from == "" {
		from = "<>"
	}
	p.ok(StepMail, start, "sender "+from+" accepted")
	if err := sess.c.Reset(); err != nil {
		sess.broken = true
	}
	return finish(nil)
}

func joinComma(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}
