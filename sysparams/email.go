package sysparams

import (
	"log/slog"
	"net/mail"
	"strings"

	"golang.org/x/net/proxy"

	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/mailqueue/o365"
	"github.com/ucxkit/ucxkit/mailqueue/smtpsend"
)

// Protocol selects how outgoing mail is sent.
type Protocol string

// Protocols of the seed's "Protocol Type" menu.
const (
	ProtocolSMTP Protocol = "smtp" // an SMTP server (Exchange, Domino, Postfix, a relay)
	ProtocolO365 Protocol = "o365" // Office 365 with OAuth2 client credentials
)

// Security is the SMTP connection security mode (smtpsend.Security).
type Security = smtpsend.Security

// SMTP security modes. The seed auto-detects "the safest first"; auto does
// that: implicit TLS on port 465, else STARTTLS when offered, plain only
// without authentication.
const (
	SecurityAuto     = smtpsend.SecurityAuto
	SecurityStartTLS = smtpsend.SecurityStartTLS
	SecurityTLS      = smtpsend.SecurityTLS
	SecurityNone     = smtpsend.SecurityNone
)

// ProxyChoice selects which proxy of the proxy section carries mail.
type ProxyChoice string

// Proxy choices of the seed's "Proxy" menu.
const (
	ProxyNone  ProxyChoice = "none"  // connect directly
	ProxyHTTP  ProxyChoice = "http"  // HTTP CONNECT through proxy.http
	ProxySOCKS ProxyChoice = "socks" // through proxy.socks
)

// Email is the seed's "Outgoing Email Parameters" section.
type Email struct {
	// Enabled turns outgoing mail on. Default false: until it is set, no
	// mail is generated (the seed's behaviour) and the other fields are
	// only checked for well-formedness.
	Enabled bool `json:"enabled"`
	// Protocol is "smtp" (default) or "o365".
	Protocol Protocol `json:"protocol"`
	// From is the address in the From field of sent mail (SMTP protocol).
	// Mandatory when enabled with SMTP.
	From string `json:"from"`
	// Server is the FQDN or IP address of the SMTP server. Mandatory when
	// enabled with SMTP.
	Server string `json:"server"`
	// Port is the SMTP port, 1-65535. Default 25; 465 means implicit TLS in
	// auto mode, 587 is submission with STARTTLS.
	Port int `json:"port"`
	// Security is "auto" (default), "starttls", "tls" or "none".
	Security Security `json:"security"`
	// UseAuth turns SMTP authentication on. Default false.
	UseAuth bool `json:"use_auth"`
	// Username for SMTP authentication; mandatory with use_auth.
	Username string `json:"username"`
	// Password for SMTP authentication; mandatory with use_auth. Stored
	// encrypted.
	Password Secret `json:"password"`
	// Proxy is "none" (default), "http" or "socks": which proxy of the
	// proxy section the mail traffic goes through.
	Proxy ProxyChoice `json:"proxy"`
	// O365 holds the Office 365 settings, used when Protocol is "o365".
	O365 O365 `json:"o365"`
}

// O365 holds the Office 365 (Azure app registration) settings.
type O365 struct {
	// ClientID is the Application (client) ID. Mandatory with o365.
	ClientID string `json:"client_id"`
	// TenantID is the Directory (tenant) ID. Mandatory with o365.
	TenantID string `json:"tenant_id"`
	// ClientSecret is the app registration's client secret. Mandatory with
	// o365. Stored encrypted.
	ClientSecret Secret `json:"client_secret"`
	// Address is the dedicated sender mailbox. Mandatory with o365.
	Address string `json:"address"`
	// Mode is "graph" (default: Microsoft Graph sendMail), "smtp" (SMTP
	// AUTH XOAUTH2) or "ews" (Exchange Web Services, legacy).
	Mode o365.Mode `json:"mode"`
	// Cloud is "global" (default), "usgov", "usgov-dod" or "china"; it sets
	// the default login, Graph and Exchange URLs.
	Cloud o365.Cloud `json:"cloud"`
	// AuthURL overrides the login URL (seed variable
	// IMAGICLE_OUTGOING_O365_AUTHENTICATION_URL, default
	// https://login.microsoftonline.com). Empty means the cloud's default.
	AuthURL string `json:"auth_url"`
	// ServerURL overrides the Exchange URL used for SMTP/EWS and their token
	// scope (seed variable IMAGICLE_OUTGOING_O365_SERVER_URL, default
	// https://outlook.office365.com). Empty means the cloud's default.
	ServerURL string `json:"server_url"`
	// GraphURL overrides the Microsoft Graph URL (default
	// https://graph.microsoft.com). Empty means the cloud's default.
	GraphURL string `json:"graph_url,omitempty"`
}

// The seed's environment variables for custom Office 365 URLs. They are
// applied only by an explicit call to (*O365).ApplyEnv.
const (
	EnvO365AuthURL   = "IMAGICLE_OUTGOING_O365_AUTHENTICATION_URL"
	EnvO365ServerURL = "IMAGICLE_OUTGOING_O365_SERVER_URL"
)

// ApplyEnv sets AuthURL and ServerURL from the seed's environment variables
// when they are set, reading them through getenv (os.Getenv in a host that
// wants the seed's behaviour). It reports whether anything changed. Nothing
// in this package reads the environment on its own.
func (o *O365) ApplyEnv(getenv func(string) string) bool {
	changed := false
	if v := strings.TrimSpace(getenv(EnvO365AuthURL)); v != "" && v != o.AuthURL {
		o.AuthURL, changed = v, true
	}
	if v := strings.TrimSpace(getenv(EnvO365ServerURL)); v != "" && v != o.ServerURL {
		o.ServerURL, changed = v, true
	}
	return changed
}

// Validate reports every problem, with paths relative to the section.
// Well-formedness is always checked; mandatory fields only when Enabled.
// Whether a selected proxy is configured is checked by Params.Validate.
func (e Email) Validate() error {
	var l fielderr.List
	switch e.Protocol {
	case ProtocolSMTP, ProtocolO365:
	case "":
		l.Add("protocol", "is mandatory (smtp or o365)")
	default:
		l.Add("protocol", "must be smtp or o365, got %s", quote(string(e.Protocol)))
	}
	switch e.Security {
	case SecurityAuto, SecurityStartTLS, SecurityTLS, SecurityNone:
	default:
		l.Add("security", "must be auto, starttls, tls or none, got %s", quote(string(e.Security)))
	}
	switch e.Proxy {
	case ProxyNone, ProxyHTTP, ProxySOCKS:
	default:
		l.Add("proxy", "must be none, http or socks, got %s", quote(string(e.Proxy)))
	}
	smtp := e.Enabled && e.Protocol == ProtocolSMTP
	if e.Port < 0 || e.Port > 65535 || (smtp && e.Port == 0) {
		l.Add("port", "must be 1-65535, got %d", e.Port)
	}
	if e.Server != "" {
		if p := checkHost(e.Server); p != "" {
			l.Add("server", "%s", p)
		}
	} else if smtp {
		l.Add("server", "is mandatory when email is enabled with smtp")
	}
	if e.From != "" {
		if p := checkMailbox(e.From); p != "" {
			l.Add("from", "%s", p)
		}
	} else if smtp {
		l.Add("from", "is mandatory when email is enabled with smtp")
	}
	if strings.ContainsAny(e.Username, "\r\n\x00") {
		l.Add("username", "must not contain CR, LF or NUL")
	}
	if strings.ContainsAny(e.Password.Reveal(), "\r\n\x00") {
		l.Add("password", "must not contain CR, LF or NUL")
	}
	if smtp && e.UseAuth {
		if e.Username == "" {
			l.Add("username", "is mandatory with use_auth")
		}
		if !e.Password.IsSet() {
			l.Add("password", "is mandatory with use_auth")
		}
	}
	if smtp && e.UseAuth && e.Security == SecurityNone {
		l.Add("security", "none sends the password in clear; use auto, starttls or tls with use_auth")
	}
	l.Merge("o365", e.O365.validate(e.Enabled && e.Protocol == ProtocolO365))
	mine := l.Err()
	if smtp {
		// Reuse the SMTP sender's own checks for what is not covered above.
		cfg := e.smtpConfig(nil, nil)
		return mergeMissing(mine, "", cfg.Validate(), map[string]string{"host": "server"})
	}
	return mine
}

func (o O365) validate(required bool) error {
	var l fielderr.List
	switch o.Mode {
	case o365.ModeGraph, o365.ModeSMTP, o365.ModeEWS:
	default:
		l.Add("mode", "must be graph, smtp or ews, got %s", quote(string(o.Mode)))
	}
	if _, ok := o365.EndpointsOf(o.Cloud); !ok || o.Cloud == "" {
		l.Add("cloud", "must be global, usgov, usgov-dod or china, got %s", quote(string(o.Cloud)))
	}
	for _, f := range []struct{ name, v string }{{"client_id", o.ClientID}, {"tenant_id", o.TenantID}} {
		switch {
		case f.v == "" && required:
			l.Add(f.name, "is mandatory with protocol o365")
		case f.v != "" && !isTokenChars(f.v):
			l.Add(f.name, "must be a GUID or name (letters, digits, '-', '.', '_'), got %s", quote(f.v))
		}
	}
	if !o.ClientSecret.IsSet() && required {
		l.Add("client_secret", "is mandatory with protocol o365")
	}
	if strings.ContainsAny(o.ClientSecret.Reveal(), "\r\n\x00") {
		l.Add("client_secret", "must not contain CR, LF or NUL")
	}
	if o.Address != "" {
		if p := checkMailbox(o.Address); p != "" {
			l.Add("address", "%s", p)
		}
	} else if required {
		l.Add("address", "is mandatory with protocol o365")
	}
	for _, f := range []struct{ name, v string }{{"auth_url", o.AuthURL}, {"server_url", o.ServerURL}, {"graph_url", o.GraphURL}} {
		if f.v != "" {
			if p := checkHTTPSURL(f.v); p != "" {
				l.Add(f.name, "%s", p)
			}
		}
	}
	if !required {
		return l.Err()
	}
	// Reuse the Office 365 sender's own checks (reserved tenants, ...).
	return mergeMissing(l.Err(), "", o.config().Validate(), nil)
}

// isTokenChars reports whether s is made of the characters of a tenant name
// or GUID.
func isTokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// checkMailbox accepts a bare address ("a@b.c") or a name-addr
// ("Fax <a@b.c>"), per RFC 5322 as net/mail parses it.
func checkMailbox(s string) string {
	if strings.ContainsAny(s, "\r\n\x00") {
		return "must not contain CR, LF or NUL"
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "must be an email address such as fax@example.com, got " + quote(s)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || at == len(a.Address)-1 {
		return "must be an email address such as fax@example.com, got " + quote(s)
	}
	return ""
}

// smtpConfig returns the SMTP sender configuration of the section, dialing
// through d (nil: direct).
func (e Email) smtpConfig(d proxy.ContextDialer, log *slog.Logger) smtpsend.Config {
	cfg := smtpsend.Config{
		Host:     e.Server,
		Port:     e.Port,
		Security: e.Security,
		From:     bareAddress(e.From),
		Dialer:   d,
		Logger:   log,
	}
	if e.UseAuth {
		cfg.Username = e.Username
		cfg.Password = e.Password
	}
	return cfg
}

// config returns the Office 365 sender configuration of the section.
func (o O365) config() o365.Config {
	return o365.Config{
		TenantID:     o.TenantID,
		ClientID:     o.ClientID,
		ClientSecret: o.ClientSecret,
		Sender:       bareAddress(o.Address),
		Mode:         o.Mode,
		Cloud:        o.Cloud,
		AuthURL:      o.AuthURL,
		ServerURL:    o.ServerURL,
		GraphURL:     o.GraphURL,
	}
}

// bareAddress returns the addr-spec of a mailbox ("Fax <fax@x.org>" →
// "fax@x.org"), or s unchanged when it does not parse.
func bareAddress(s string) string {
	if s == "" {
		return ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return s
	}
	return a.Address
}
