package sysparams

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/net/proxy"

	"github.com/ucxkit/ucxkit/authchain"
	"github.com/ucxkit/ucxkit/certgen"
	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/internal/secret"
	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/o365"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
	"github.com/ucxkit/ucxkit/numplan"
	"github.com/ucxkit/ucxkit/proxycfg"
)

// Normalizer compiles the numbering plan into a numplan.Plan (the
// normalizer for caller numbers, TAPI called numbers and dial strings).
// A subscriber rebuilds it when Change.Has("numbering_plan").
func (p *Params) Normalizer(opts numplan.Options) (*numplan.Plan, error) {
	plan, err := numplan.CompileWith(p.NumberingPlan, opts)
	if err != nil {
		return nil, wrap("sysparams: numbering_plan", err)
	}
	return plan, nil
}

// ProxyDialer returns the dialer for raw TCP to the Internet (SOCKS proxy
// if set, else HTTP CONNECT, else direct; bypass entries direct), per
// proxycfg.Config.Dialer.
func (p *Params) ProxyDialer() (proxy.ContextDialer, error) {
	d, err := p.Proxy.Dialer(nil)
	if err != nil {
		return nil, wrap("sysparams: proxy", err)
	}
	return d, nil
}

// HTTPClient returns the *http.Client for cloud calls (license activation,
// cloud services, OAuth2): through the HTTP proxy if set, else SOCKS, else
// direct, per proxycfg.Config.HTTPClient. It never reads HTTP_PROXY from
// the environment unless proxy.use_environment is set. A subscriber
// rebuilds it when Change.Has("proxy") and closes the old one's idle
// connections.
func (p *Params) HTTPClient() (*http.Client, error) {
	c, err := p.Proxy.HTTPClient()
	if err != nil {
		return nil, wrap("sysparams: proxy", err)
	}
	return c, nil
}

// mailProxy returns the proxy settings that email.proxy selects: only the
// HTTP proxy, only the SOCKS proxy, or none.
func (p *Params) mailProxy() proxycfg.Config {
	c := proxycfg.Config{Bypass: p.Proxy.Bypass}
	switch p.Email.Proxy {
	case ProxyHTTP:
		c.HTTP = p.Proxy.HTTP
	case ProxySOCKS:
		c.SOCKS = p.Proxy.SOCKS
	}
	return c
}

// MailDialer returns the TCP dialer for SMTP that email.proxy selects:
// direct ("none"), an HTTP CONNECT tunnel ("http") or the SOCKS proxy
// ("socks").
func (p *Params) MailDialer() (proxy.ContextDialer, error) {
	c := p.mailProxy()
	var (
		d   proxy.ContextDialer
		err error
	)
	switch p.Email.Proxy {
	case ProxyHTTP:
		d, err = c.HTTPProxyDialer(nil)
	case ProxySOCKS:
		d, err = c.SOCKSDialer(nil)
	default:
		d, err = c.Dialer(nil)
	}
	if err != nil {
		return nil, wrap("sysparams: email.proxy", err)
	}
	return d, nil
}

// MailHTTPClient returns the HTTP client for the Office 365 token, Graph
// and EWS calls through the proxy that email.proxy selects. Each exchange
// is bounded by o365.DefaultHTTPTimeout, as o365's own default client is,
// so a service that accepts a request and never answers cannot hold a
// Send whose context has no deadline.
func (p *Params) MailHTTPClient() (*http.Client, error) {
	c, err := p.mailProxy().HTTPClient()
	if err != nil {
		return nil, wrap("sysparams: email.proxy", err)
	}
	c.Timeout = o365.DefaultHTTPTimeout
	return c, nil
}

// MailOptions are the host-side settings of MailSender and TestEmailWith
// that are not parameters. The zero value is ready to use.
type MailOptions struct {
	// Logger receives sender events (never credentials). Nil is silent.
	Logger *slog.Logger
	// Dialer replaces the SMTP dialer that email.proxy selects. Nil means
	// MailDialer.
	Dialer proxy.ContextDialer
	// HTTPClient replaces the Office 365 HTTP client that email.proxy
	// selects. Nil means MailHTTPClient.
	HTTPClient *http.Client
	// TLSConfig is the base TLS configuration of SMTP connections (a
	// private CA in RootCAs, a client certificate). Nil means system roots
	// and TLS 1.2 minimum. Verification stays on unless it disables it.
	TLSConfig *tls.Config
	// DebugWriter receives the SMTP protocol trace, with AUTH exchanges
	// replaced by a placeholder. Nil means none.
	DebugWriter io.Writer
	// LocalName is the EHLO name. Empty means the smtpsend default.
	LocalName string
}

// MailSender is the sender built from the email section: an SMTP sender
// (smtpsend) or an Office 365 sender (o365). Close releases its
// connections.
type MailSender interface {
	mailqueue.Sender
	io.Closer
}

// MailSender builds the mail sender the email section describes, reaching
// the server through the proxy email.proxy selects. A proxy that refuses
// to authenticate (HTTP 407 on CONNECT, a SOCKS5 authentication refusal)
// makes Send fail with a *mailqueue.DeliveryError of ClassConfig at step
// StepProxy with a hint, so that the queue pauses and raises an alarm
// instead of retrying an unreachable server forever. It fails with
// ErrEmailDisabled when email is not enabled, and with the field problems
// of the email section when they are invalid. A subscriber rebuilds it when
// Change.Has("email") or Change.Has("proxy").
func (p *Params) MailSender(opts MailOptions) (MailSender, error) {
	if !p.Email.Enabled {
		return nil, ErrEmailDisabled
	}
	s, err := p.buildSender(opts)
	if err != nil {
		return nil, err
	}
	return &proxyAuthSender{choice: p.Email.Proxy, next: s}, nil
}

func (p *Params) buildSender(opts MailOptions) (MailSender, error) {
	if err := p.validateEmail(); err != nil {
		return nil, err
	}
	switch p.Email.Protocol {
	case ProtocolO365:
		cfg := p.Email.O365.config()
		cfg.Logger = opts.Logger
		cfg.HTTPClient = opts.HTTPClient
		if cfg.HTTPClient == nil {
			c, err := p.MailHTTPClient()
			if err != nil {
				return nil, err
			}
			cfg.HTTPClient = c
		}
		cfg.Dialer = opts.Dialer
		if cfg.Dialer == nil {
			d, err := p.MailDialer()
			if err != nil {
				return nil, err
			}
			cfg.Dialer = d
		}
		cfg.TLSConfig = opts.TLSConfig
		s, err := o365.New(cfg)
		if err != nil {
			return nil, wrap("sysparams: email.o365", err)
		}
		return s, nil
	default:
		d := opts.Dialer
		if d == nil {
			md, err := p.MailDialer()
			if err != nil {
				return nil, err
			}
			d = md
		}
		cfg := p.Email.smtpConfig(d, opts.Logger)
		cfg.TLSConfig = opts.TLSConfig
		cfg.DebugWriter = opts.DebugWriter
		cfg.LocalName = opts.LocalName
		s, err := smtpsend.New(cfg)
		if err != nil {
			return nil, wrap("sysparams: email", err)
		}
		return s, nil
	}
}

// validateEmail checks the email section as if it were enabled, with the
// mail proxy, reporting problems with their full paths.
func (p *Params) validateEmail() error {
	q := *p
	q.Email.Enabled = true
	var problems []error
	for _, e := range fielderr.Flatten(q.Validate()) {
		var fe *FieldError
		if errors.As(e, &fe) && (strings.HasPrefix(fe.Field, "email.") || strings.HasPrefix(fe.Field, "proxy.")) {
			problems = append(problems, e)
		}
	}
	if len(problems) > 0 {
		return &ValidationError{Err: errors.Join(problems...)}
	}
	return nil
}

// EmailTestStep is one step of TestEmail, for either protocol.
type EmailTestStep struct {
	// Name is the step ("dns", "dial", "tls", "ehlo", "auth", "mail" for
	// SMTP; "token", "permission", "mailbox", ... for Office 365).
	Name string `json:"name"`
	// Status is "ok", "failed", "warning" or "skipped".
	Status string `json:"status"`
	// Detail says what was learnt, free of secrets.
	Detail string `json:"detail,omitempty"`
	// Elapsed is how long the step took.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// EmailTest is the result of TestEmail: the seed's "Test connection"
// button, step by step. It never contains credentials.
type EmailTest struct {
	// Protocol is "smtp" or "o365".
	Protocol Protocol `json:"protocol"`
	// Target is the SMTP "host:port" or the Office 365 mode and token URL.
	Target string `json:"target"`
	// Proxy is the email.proxy choice used.
	Proxy ProxyChoice `json:"proxy"`
	// OK is true when every step succeeded.
	OK bool `json:"ok"`
	// FailedStep names the step that failed, empty on success.
	FailedStep string `json:"failed_step,omitempty"`
	// Hint is advice for the administrator, when the sender gave one.
	Hint string `json:"hint,omitempty"`
	// Steps lists the steps in order.
	Steps []EmailTestStep `json:"steps"`
}

// String renders one line per step and the result.
func (t EmailTest) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (proxy %s)\n", t.Protocol, t.Target, t.Proxy)
	for _, s := range t.Steps {
		fmt.Fprintf(&b, "  %-10s %-7s %s\n", s.Name, s.Status, s.Detail)
	}
	if t.OK {
		b.WriteString("result: ok\n")
	} else {
		fmt.Fprintf(&b, "result: failed at %s\n", t.FailedStep)
		if t.Hint != "" {
			fmt.Fprintf(&b, "hint: %s\n", t.Hint)
		}
	}
	return b.String()
}

// TestEmail is TestEmailWith with zero MailOptions.
func (p *Params) TestEmail(ctx context.Context) (EmailTest, error) {
	return p.TestEmailWith(ctx, MailOptions{})
}

// TestEmailWith tests the email settings without sending a message, as the
// seed's "Test connection" button does: for SMTP the DNS lookup,
// connection, TLS, EHLO, authentication and MAIL FROM; for Office 365 the
// token, permissions and mailbox. It works whether or not email is enabled
// (an admin tests before saving). The error is a *ValidationError for
// invalid settings, else the sender's *mailqueue.DeliveryError naming the
// failed step; the EmailTest describes every step up to it.
//
// Step details quote the server's replies; a server that echoes what it was
// sent could quote a credential, so every text of the result and the
// error's message pass through RedactEmailSecrets.
func (p *Params) TestEmailWith(ctx context.Context, opts MailOptions) (EmailTest, error) {
	t, err := p.testEmail(ctx, opts)
	r := p.emailSecretRedactor()
	for i := range t.Steps {
		t.Steps[i].Detail = r.Replace(t.Steps[i].Detail)
	}
	t.Hint, t.Target = r.Replace(t.Hint), r.Replace(t.Target)
	if err != nil {
		if msg := err.Error(); r.Replace(msg) != msg {
			err = &redactedError{msg: r.Replace(msg), err: err}
		}
	}
	return t, err
}

// redactedError shows a redacted message and keeps the cause for errors.Is
// and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// RedactEmailSecrets replaces the email secrets of p (the SMTP password and
// the Office 365 client secret) in s with "[REDACTED]": as typed,
// URL-encoded (as posted to a token endpoint), base64-encoded, and inside a
// base64 AUTH PLAIN string. Use it on any text that quotes a mail server.
func (p *Params) RedactEmailSecrets(s string) string {
	return p.emailSecretRedactor().Replace(s)
}

func (p *Params) emailSecretRedactor() *strings.Replacer {
	var pairs []string
	add := func(s string) {
		if len(s) >= 3 {
			pairs = append(pairs, s, secret.Redacted)
		}
	}
	user := p.Email.Username
	for _, sec := range []Secret{p.Email.Password, p.Email.O365.ClientSecret} {
		v := sec.Reveal()
		if v == "" {
			continue
		}
		add(v)
		add(url.QueryEscape(v))
		add(base64.StdEncoding.EncodeToString([]byte(v)))
		add(base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + v)))
		add(base64.StdEncoding.EncodeToString([]byte(user + "\x00" + user + "\x00" + v)))
	}
	return strings.NewReplacer(pairs...)
}

func (p *Params) testEmail(ctx context.Context, opts MailOptions) (EmailTest, error) {
	t := EmailTest{Protocol: p.Email.Protocol, Proxy: p.Email.Proxy}
	s, err := p.buildSender(opts)
	if err != nil {
		t.FailedStep = "config"
		t.Steps = []EmailTestStep{{Name: "config", Status: "failed", Detail: err.Error()}}
		return t, err
	}
	defer s.Close()
	switch snd := s.(type) {
	case *smtpsend.Sender:
		rep, err := snd.TestConnection(ctx)
		t.Target = rep.Addr
		for _, st := range rep.Steps {
			status := "ok"
			if !st.OK {
				status = "failed"
			}
			t.Steps = append(t.Steps, EmailTestStep{Name: st.Name, Status: status, Detail: st.Detail, Elapsed: st.Duration})
		}
		t.OK, t.FailedStep, t.Hint = rep.OK() && err == nil, rep.FailedStep, rep.Hint
		if err != nil && t.FailedStep == "" {
			t.FailedStep = "unknown"
		}
		return t.proxyAuth(p.Email.Proxy, err)
	case *o365.Sender:
		rep, err := snd.TestConnection(ctx)
		t.Target = string(rep.Mode) + " " + rep.TokenURL
		for _, st := range rep.Steps {
			t.Steps = append(t.Steps, EmailTestStep{Name: st.Name, Status: string(st.Status), Detail: st.Detail, Elapsed: st.Elapsed})
			if st.Status == o365.StepFailed && t.FailedStep == "" {
				t.FailedStep = st.Name
			}
		}
		t.OK = rep.OK && err == nil
		if err != nil {
			var de *mailqueue.DeliveryError
			if errors.As(err, &de) {
				t.Hint = de.Hint
				if t.FailedStep == "" {
					t.FailedStep = de.Step
				}
			}
			if t.FailedStep == "" {
				t.FailedStep = "unknown"
			}
		}
		return t.proxyAuth(p.Email.Proxy, err)
	}
	return t, fmt.Errorf("sysparams: no connection test for %T", s)
}

// proxyAuth reports a mail proxy's authentication refusal as the failed
// step "proxy" with its hint, and returns err as MailSender's Send would.
func (t EmailTest) proxyAuth(choice ProxyChoice, err error) (EmailTest, error) {
	de := proxyAuthError(choice, err)
	if de == nil {
		return t, err
	}
	t.OK, t.FailedStep, t.Hint = false, StepProxy, de.Hint
	return t, de
}

// SessionConfig returns the authchain session settings of the
// authentication section.
func (p *Params) SessionConfig() authchain.SessionConfig { return p.Authentication.SessionConfig() }

// SessionManager returns an authchain session manager with the section's
// settings over store. A subscriber rebuilds it when
// Change.Has("authentication").
func (p *Params) SessionManager(store authchain.Store) (*authchain.Manager, error) {
	m, err := authchain.NewManager(p.SessionConfig(), store)
	if err != nil {
		return nil, wrap("sysparams: authentication", err)
	}
	return m, nil
}

// Chain returns an authentication chain with the section's order and the
// host's directory and authenticators (cfg.Order is overwritten).
func (p *Params) Chain(cfg authchain.ChainConfig) (*authchain.Chain, error) {
	cfg.Order = p.Authentication.Order
	c, err := authchain.NewChain(cfg)
	if err != nil {
		return nil, wrap("sysparams: authentication", err)
	}
	return c, nil
}

// CertificateOptions returns the certgen options for the computer name
// host (os.Hostname when empty): key type, validity and organization from
// the certificate section, extra names split into DNS names and IP
// addresses.
func (p *Params) CertificateOptions(host string) (certgen.Options, error) {
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			return certgen.Options{}, wrap("sysparams: computer name", err)
		}
		host = h
	}
	c := p.Certificate
	o := certgen.Options{
		Host:               strings.TrimSuffix(host, "."),
		KeyType:            c.KeyType,
		ValidityYears:      c.ValidityYears,
		Organization:       c.Organization,
		RegenerateOnRename: c.RegenerateOnRename,
	}
	if i := strings.IndexByte(o.Host, '.'); i > 0 {
		// A fully qualified computer name: CN and first SAN are the short
		// name, the FQDN is added as well.
		o.FQDN = o.Host
		o.Host = o.Host[:i]
	}
	for _, n := range c.ExtraNames {
		if _, err := netip.ParseAddr(n); err == nil {
			o.IPAddresses = append(o.IPAddresses, n)
		} else {
			o.DNSNames = append(o.DNSNames, n)
		}
	}
	return o, nil
}

// EnsureCertificate loads the certificate pair from the certificate folder
// (resolved against baseDir) or creates it, per certgen.Ensure, for the
// computer name host (os.Hostname when empty). The Status says whether it
// was created, whether it is expiring, and whether it still names the
// computer.
func (p *Params) EnsureCertificate(baseDir, host string, log *slog.Logger) (*certgen.Pair, certgen.Status, error) {
	o, err := p.CertificateOptions(host)
	if err != nil {
		return nil, certgen.Status{}, err
	}
	o.Logger = log
	pair, st, err := certgen.Ensure(p.Certificate.Dir(baseDir), o)
	if err != nil {
		return nil, st, wrap("sysparams: certificate", err)
	}
	return pair, st, nil
}

// WebBaseURL returns the web server's base URL: web_server.base_url, or
// https://<computer name> (os.Hostname when host is empty).
func (p *Params) WebBaseURL(host string) string {
	if host == "" && p.WebServer.BaseURL == "" {
		host, _ = os.Hostname()
	}
	return p.WebServer.EffectiveBaseURL(host)
}
