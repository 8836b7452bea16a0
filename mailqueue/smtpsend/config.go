package smtpsend

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/net/proxy"

	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/internal/secret"
)

// Secret is the string type used for passwords; it never prints its value.
type Secret = secret.Secret

// NewSecret returns a Secret holding v (the empty string gives the unset
// Secret). Secrets of every ucxkit package are the same type.
func NewSecret(v string) Secret { return secret.New(v) }

// FieldError is one validation problem of one configuration field.
type FieldError = fielderr.Error

// Security selects how the connection is protected.
type Security string

// Security modes. The JSON form is the lower-case name.
const (
	// SecurityAuto uses implicit TLS on port 465; on any other port it
	// upgrades with STARTTLS when the server offers it and continues in
	// clear only when no credentials are configured and RequireTLS is off.
	SecurityAuto Security = "auto"
	// SecurityStartTLS requires STARTTLS (RFC 3207); a server that does not
	// offer it is a configuration error.
	SecurityStartTLS Security = "starttls"
	// SecurityTLS is implicit TLS from the first byte (RFC 8314, port 465).
	SecurityTLS Security = "tls"
	// SecurityNone never encrypts. Credentials are refused in this mode.
	SecurityNone Security = "none"
)

// SASL mechanism names accepted in Config.Auth.
const (
	AuthPlain   = "PLAIN"    // RFC 4616
	AuthLogin   = "LOGIN"    // draft-murchison-sasl-login, obsolete but common
	AuthCRAMMD5 = "CRAM-MD5" // RFC 2195
	AuthXOAUTH2 = "XOAUTH2"  // Google/Microsoft bearer-token mechanism
)

// TLS versions accepted in Config.MinTLS. Go has no SSL 3.0 (removed in
// Go 1.14), so the seed's "SSL 3.0" choice cannot be offered; TLS 1.0 is the
// oldest protocol the standard library speaks and is a legacy opt-in.
const (
	TLS10 = "1.0"
	TLS11 = "1.1"
	TLS12 = "1.2"
	TLS13 = "1.3"
)

// Default values filled in by New for zero fields.
const (
	DefaultDialTimeout     = 30 * time.Second
	DefaultGreetingTimeout = time.Minute // RFC 5321 §4.5.3.2.1 allows 5 min; a submission server that takes a minute is down
	DefaultTLSTimeout      = 30 * time.Second
	DefaultCommandTimeout  = 5 * time.Minute  // RFC 5321 §4.5.3.2.2-4 (MAIL, RCPT)
	DefaultDataTimeout     = 10 * time.Minute // whole body upload; RFC 5321 gives 3 min per block
	DefaultFinalTimeout    = 10 * time.Minute // RFC 5321 §4.5.3.2.6: reply to the final dot
	DefaultIdleTimeout     = 60 * time.Second // close reused connections idle longer than this
	DefaultMaxConnAge      = 5 * time.Minute  // Postfix smtp_connection_reuse_time_limit
	DefaultMaxIdleConns    = 2
	DefaultLocalName       = "localhost"
)

// Timeouts bounds each stage of a session. Zero fields take the defaults
// above. Every stage is additionally bounded by the ctx of the call. The JSON
// form uses Go duration strings ("30s", "5m").
type Timeouts struct {
	// Dial bounds DNS resolution and the TCP (or proxy) connect.
	Dial time.Duration `json:"dial"`
	// Greeting bounds the wait for the 220 greeting and the first EHLO.
	Greeting time.Duration `json:"greeting"`
	// TLS bounds the TLS handshake (implicit or after STARTTLS).
	TLS time.Duration `json:"tls"`
	// Command bounds each command's reply (EHLO after TLS, AUTH, MAIL,
	// RCPT, DATA, RSET, NOOP).
	Command time.Duration `json:"command"`
	// Data bounds the upload of the message body.
	Data time.Duration `json:"data"`
	// Final bounds the wait for the reply to the final dot.
	Final time.Duration `json:"final"`
}

type timeoutsJSON struct {
	Dial     string `json:"dial,omitempty"`
	Greeting string `json:"greeting,omitempty"`
	TLS      string `json:"tls,omitempty"`
	Command  string `json:"command,omitempty"`
	Data     string `json:"data,omitempty"`
	Final    string `json:"final,omitempty"`
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// MarshalJSON writes durations as Go duration strings.
func (t Timeouts) MarshalJSON() ([]byte, error) {
	return json.Marshal(timeoutsJSON{
		Dial: durString(t.Dial), Greeting: durString(t.Greeting), TLS: durString(t.TLS),
		Command: durString(t.Command), Data: durString(t.Data), Final: durString(t.Final),
	})
}

// UnmarshalJSON reads Go duration strings ("90s"); bad values are reported
// with their field name.
func (t *Timeouts) UnmarshalJSON(b []byte) error {
	var j timeoutsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("smtpsend: timeouts: %w", err)
	}
	var l fielderr.List
	parse := func(name, s string, dst *time.Duration) {
		if s == "" {
			*dst = 0
			return
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			l.Add("timeouts."+name, "must be a duration such as \"30s\", got %q", s)
			return
		}
		*dst = d
	}
	parse("dial", j.Dial, &t.Dial)
	parse("greeting", j.Greeting, &t.Greeting)
	parse("tls", j.TLS, &t.TLS)
	parse("command", j.Command, &t.Command)
	parse("data", j.Data, &t.Data)
	parse("final", j.Final, &t.Final)
	return l.Err()
}

// Config describes one SMTP submission server. The zero value of every field
// is documented; New fills defaults and validates. A Config is copied by New;
// changing it afterwards has no effect on the Sender.
type Config struct {
	// Host is the server's DNS name or IP address. Required.
	Host string `json:"host"`
	// Port is the TCP port. 0 means 465 for SecurityTLS, 25 for
	// SecurityNone and 587 otherwise.
	Port int `json:"port"`
	// Security is auto (default when empty), starttls, tls or none.
	Security Security `json:"security"`
	// RequireTLS makes SecurityAuto refuse to continue in clear when the
	// server offers no STARTTLS, even without credentials.
	RequireTLS bool `json:"require_tls,omitempty"`

	// Username and Password enable authentication. Credentials are only
	// ever sent over TLS.
	Username string `json:"username,omitempty"`
	Password Secret `json:"password,omitzero"`
	// Auth picks the SASL mechanism: PLAIN, LOGIN, CRAM-MD5 or XOAUTH2.
	// Empty means XOAUTH2 when Tokens is set, otherwise the first of PLAIN,
	// LOGIN, CRAM-MD5 that the server offers.
	Auth string `json:"auth,omitempty"`
	// Tokens supplies bearer tokens for XOAUTH2 (Office 365, Gmail).
	// Username is then the mailbox address. Nil unless XOAUTH2 is used.
	Tokens TokenSource `json:"-"`

	// MinTLS is the oldest TLS version accepted: "1.2" when empty; "1.3";
	// "1.1" or "1.0" only for legacy servers. Go has no SSL 3.0.
	MinTLS string `json:"min_tls,omitempty"`
	// CAFile is a PEM bundle of extra trusted roots, added to RootCAs (or to
	// the system pool when RootCAs is nil). Empty means system roots only.
	CAFile string `json:"ca_file,omitempty"`
	// TLSServerName overrides the name the server certificate is verified
	// against; empty means Host. Set it when Host is an IP address.
	TLSServerName string `json:"tls_server_name,omitempty"`
	// RootCAs replaces the system roots when non-nil.
	RootCAs *x509.CertPool `json:"-"`
	// TLSConfig, when non-nil, is cloned as the base of every handshake
	// (client certificates, cipher suites). MinTLS, RootCAs and ServerName
	// from this Config are applied on top when set. Certificate
	// verification stays on unless TLSConfig itself disables it.
	TLSConfig *tls.Config `json:"-"`

	// LocalName is the name sent with EHLO; "localhost" when empty.
	LocalName string `json:"local_name,omitempty"`
	// From is the application's sender address (the seed's "Email From
	// Address"). TestConnection probes it with MAIL FROM; Send uses the
	// envelope of each message. Empty means TestConnection probes the null
	// reverse path.
	From string `json:"from,omitempty"`

	// Dialer opens TCP connections, for example through a proxy
	// (golang.org/x/net/proxy). Nil means a net.Dialer.
	Dialer proxy.ContextDialer `json:"-"`
	// Timeouts bounds each stage; zero fields take defaults.
	Timeouts Timeouts `json:"timeouts,omitzero"`
	// IdleTimeout closes a kept connection idle longer than this instead of
	// reusing it. 0 means DefaultIdleTimeout; negative disables reuse.
	IdleTimeout time.Duration `json:"-"`
	// MaxConnAge stops reusing a connection older than this. 0 means
	// DefaultMaxConnAge.
	MaxConnAge time.Duration `json:"-"`
	// MaxIdleConns caps the connections kept for reuse. 0 means
	// DefaultMaxIdleConns.
	MaxIdleConns int `json:"-"`

	// Logger receives connection events (never credentials). Nil is silent.
	Logger *slog.Logger `json:"-"`
	// DebugWriter receives the protocol trace, with AUTH exchanges
	// replaced by a placeholder. Nil means no trace.
	DebugWriter io.Writer `json:"-"`
	// Now returns the current time; nil means time.Now.
	Now func() time.Time `json:"-"`
}

// Validate reports every problem of c, each naming its JSON field.
func (c Config) Validate() error {
	_, err := c.normalize()
	return err
}

// settings is a validated, defaulted copy of Config. The copy is held by
// pointer: when fmt prints a Sender with a verb it cannot apply to a
// pointer (%s on the *settings field), it prints the pointed-to settings
// with every method off, and an embedded Config value would show the
// password; behind one more pointer it shows only an address.
type settings struct {
	*Config
	addr     string
	tlsBase  *tls.Config
	security Security
	auth     string
}

func (c *Config) normalize() (*settings, error) {
	var l fielderr.List
	cc := *c
	s := &settings{Config: &cc}
	if s.Host == "" {
		l.Add("host", "is required")
	} else if strings.ContainsAny(s.Host, " \t\r\n\x00/@") {
		l.Add("host", "must be a DNS name or IP address, got %q", s.Host)
	} else if strings.ContainsAny(s.Host, "[]") {
		l.Add("host", "must not have brackets; write an IPv6 address plain, got %q", s.Host)
	} else if _, err := netip.ParseAddr(s.Host); err != nil && strings.Contains(s.Host, ":") {
		l.Add("host", "must not include a port; use the port field, got %q", s.Host)
	}
	switch sec := Security(strings.ToLower(string(s.Security))); sec {
	case "":
		s.security = SecurityAuto
	case SecurityAuto, SecurityStartTLS, SecurityTLS, SecurityNone:
		s.security = sec
	default:
		l.Add("security", "must be one of auto, starttls, tls, none; got %q", s.Security)
	}
	s.Security = s.security
	if s.Port == 0 {
		switch s.security {
		case SecurityTLS:
			s.Port = 465
		case SecurityNone:
			s.Port = 25
		default:
			s.Port = 587
		}
	} else if s.Port < 1 || s.Port > 65535 {
		l.Add("port", "must be 1-65535, got %d", s.Port)
	}
	switch m := strings.ToUpper(s.Auth); m {
	case "", AuthPlain, AuthLogin, AuthCRAMMD5, AuthXOAUTH2:
		s.auth = m
	default:
		l.Add("auth", "must be one of PLAIN, LOGIN, CRAM-MD5, XOAUTH2; got %q", s.Auth)
	}
	if s.auth == "" && s.Tokens != nil {
		s.auth = AuthXOAUTH2
	}
	if s.auth == AuthXOAUTH2 {
		if s.Tokens == nil {
			l.Add("auth", "XOAUTH2 needs a token source")
		}
		if s.Username == "" {
			l.Add("username", "is required for XOAUTH2 (the mailbox address)")
		}
	} else if s.auth != "" && s.Username == "" {
		l.Add("username", "is required when auth is %s", s.auth)
	}
	if s.Password.IsSet() && s.Username == "" {
		l.Add("username", "is required when a password is set")
	}
	if s.Username != "" && s.auth != AuthXOAUTH2 && !s.Password.IsSet() {
		l.Add("password", "is required when a username is set")
	}
	if s.security == SecurityNone && s.RequireTLS {
		l.Add("require_tls", "conflicts with security none")
	}
	if s.security == SecurityNone && s.hasCredentials() {
		l.Add("security", "none would send credentials in clear; use auto, starttls or tls")
	}
	if strings.ContainsAny(s.Username, "\r\n\x00") {
		l.Add("username", "must not contain CR, LF or NUL")
	}
	if strings.ContainsAny(s.Password.Reveal(), "\r\n\x00") {
		l.Add("password", "must not contain CR, LF or NUL")
	}
	var minVer uint16
	switch strings.TrimPrefix(strings.ToLower(s.MinTLS), "tls") {
	case "", TLS12:
		minVer = tls.VersionTLS12
	case TLS13:
		minVer = tls.VersionTLS13
	case TLS11:
		minVer = tls.VersionTLS11
	case TLS10:
		minVer = tls.VersionTLS10
	default:
		if strings.Contains(strings.ToLower(s.MinTLS), "ssl") {
			l.Add("min_tls", "SSL 3.0 is not available in Go (removed in Go 1.14); the oldest is \"1.0\", got %q", s.MinTLS)
		} else {
			l.Add("min_tls", "must be one of 1.0, 1.1, 1.2, 1.3; got %q", s.MinTLS)
		}
	}
	if s.LocalName == "" {
		s.LocalName = DefaultLocalName
	} else if strings.ContainsAny(s.LocalName, " \t\r\n") {
		l.Add("local_name", "must be a host name without spaces, got %q", s.LocalName)
	}
	if strings.ContainsAny(s.From, "\r\n<> ") {
		l.Add("from", "must be a bare address, got %q", s.From)
	}
	for _, t := range []struct {
		name string
		d    *time.Duration
		def  time.Duration
	}{
		{"timeouts.dial", &s.Timeouts.Dial, DefaultDialTimeout},
		{"timeouts.greeting", &s.Timeouts.Greeting, DefaultGreetingTimeout},
		{"timeouts.tls", &s.Timeouts.TLS, DefaultTLSTimeout},
		{"timeouts.command", &s.Timeouts.Command, DefaultCommandTimeout},
		{"timeouts.data", &s.Timeouts.Data, DefaultDataTimeout},
		{"timeouts.final", &s.Timeouts.Final, DefaultFinalTimeout},
	} {
		switch {
		case *t.d == 0:
			*t.d = t.def
		case *t.d < 0:
			l.Add(t.name, "must not be negative, got %v", *t.d)
		}
	}
	if s.IdleTimeout == 0 {
		s.IdleTimeout = DefaultIdleTimeout
	}
	if s.MaxConnAge <= 0 {
		s.MaxConnAge = DefaultMaxConnAge
	}
	if s.MaxIdleConns <= 0 {
		s.MaxIdleConns = DefaultMaxIdleConns
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Dialer == nil {
		s.Dialer = &net.Dialer{}
	}

	base := &tls.Config{}
	if s.TLSConfig != nil {
		base = s.TLSConfig.Clone()
	}
	if base.MinVersion < minVer || s.MinTLS != "" {
		base.MinVersion = minVer
	}
	if s.RootCAs != nil {
		base.RootCAs = s.RootCAs
	}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			l.Add("ca_file", "cannot be read: %v", err)
		} else {
			pool := base.RootCAs
			if pool == nil {
				if sys, err := x509.SystemCertPool(); err == nil {
					pool = sys
				} else {
					pool = x509.NewCertPool()
				}
			} else {
				pool = pool.Clone()
			}
			if !pool.AppendCertsFromPEM(pem) {
				l.Add("ca_file", "holds no PEM certificate: %s", s.CAFile)
			}
			base.RootCAs = pool
		}
	}
	switch {
	case s.TLSServerName != "":
		base.ServerName = s.TLSServerName
	case base.ServerName == "":
		base.ServerName = s.Host
	}
	s.tlsBase = base
	if err := l.Err(); err != nil {
		return nil, err
	}
	s.addr = net.JoinHostPort(s.Host, fmt.Sprint(s.Port))
	return s, nil
}

func (s *settings) hasCredentials() bool {
	return s.Username != "" || s.Password.IsSet() || s.Tokens != nil
}

// implicitTLS reports whether the connection starts with a TLS handshake.
func (s *settings) implicitTLS() bool {
	return s.security == SecurityTLS || (s.security == SecurityAuto && s.Port == 465)
}
