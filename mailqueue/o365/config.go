package o365

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/proxy"

	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/internal/secret"
)

// Secret is the string type of the client secret: it never prints, logs or
// marshals its value. It is the same type as every other ucxkit package's
// Secret.
type Secret = secret.Secret

// NewSecret returns a Secret holding v (the empty string gives the unset
// Secret). Secrets of every ucxkit package are the same type.
func NewSecret(v string) Secret { return secret.New(v) }

// FieldError is one validation problem of one configuration field; Validate
// returns them joined. Its Field is the JSON path ("client_id").
type FieldError = fielderr.Error

// Mode selects the Microsoft service that carries the message.
type Mode string

// The sending modes. The zero value means ModeGraph.
const (
	// ModeGraph posts the MIME message to Microsoft Graph
	// (POST /v1.0/users/{sender}/sendMail, application permission Mail.Send).
	ModeGraph Mode = "graph"
	// ModeSMTP submits over SMTP with STARTTLS and AUTH XOAUTH2
	// (smtp.office365.com:587, application permission SMTP.SendAsApp).
	ModeSMTP Mode = "smtp"
	// ModeEWS uses Exchange Web Services CreateItem with MimeContent
	// (application permission full_access_as_app). Legacy: Exchange Online
	// disables EWS from 1 October 2026 and removes it on 1 April 2027;
	// on-premises Exchange keeps it.
	ModeEWS Mode = "ews"
)

// Cloud names a Microsoft cloud; it fills the login, Graph, Exchange and
// SMTP endpoints together.
type Cloud string

// The Microsoft clouds. The zero value means CloudGlobal.
const (
	// CloudGlobal is the worldwide cloud (also GCC moderate).
	CloudGlobal Cloud = "global"
	// CloudUSGov is Microsoft 365 US Government GCC High.
	CloudUSGov Cloud = "usgov"
	// CloudUSGovDoD is Microsoft 365 US Government DoD.
	CloudUSGovDoD Cloud = "usgov-dod"
	// CloudChina is Microsoft 365 operated by 21Vianet.
	CloudChina Cloud = "china"
)

// Endpoints are the service roots of one cloud.
type Endpoints struct {
	// AuthURL is the token authority, without the tenant.
	AuthURL string `json:"auth_url"`
	// GraphURL is the Microsoft Graph root, also the Graph token resource.
	GraphURL string `json:"graph_url"`
	// ServerURL is the Exchange root (EWS lives under /EWS/Exchange.asmx);
	// its origin is the Exchange token resource used for SMTP and EWS.
	ServerURL string `json:"server_url"`
	// SMTPAddr is the SMTP submission host:port.
	SMTPAddr string `json:"smtp_addr"`
}

// cloudEndpoints follows learn.microsoft.com/graph/deployments for the
// authorities and Graph roots; the Exchange roots and SMTP hosts are those
// Microsoft documents for each environment's Exchange Online.
var cloudEndpoints = map[Cloud]Endpoints{
	CloudGlobal: {
		AuthURL:   "https://login.microsoftonline.com",
		GraphURL:  "https://graph.microsoft.com",
		ServerURL: "https://outlook.office365.com",
		SMTPAddr:  "smtp.office365.com:587",
	},
	CloudUSGov: {
		AuthURL:   "https://login.microsoftonline.us",
		GraphURL:  "https://graph.microsoft.us",
		ServerURL: "https://outlook.office365.us",
		SMTPAddr:  "smtp.office365.us:587",
	},
	CloudUSGovDoD: {
		AuthURL:   "https://login.microsoftonline.us",
		GraphURL:  "https://dod-graph.microsoft.us",
		ServerURL: "https://outlook-dod.office365.us",
		SMTPAddr:  "outlook-dod.office365.us:587",
	},
	CloudChina: {
		AuthURL:   "https://login.chinacloudapi.cn",
		GraphURL:  "https://microsoftgraph.chinacloudapi.cn",
		ServerURL: "https://partner.outlook.cn",
		SMTPAddr:  "smtp.partner.outlook.cn:587",
	},
}

// EndpointsOf returns the endpoints of a cloud ("" means CloudGlobal) and
// whether the cloud is known.
func EndpointsOf(c Cloud) (Endpoints, bool) {
	if c == "" {
		c = CloudGlobal
	}
	e, ok := cloudEndpoints[c]
	return e, ok
}

// The environment variables of the seed product that move the Office 365
// endpoints to a custom or national cloud.
const (
	EnvAuthURL   = "IMAGICLE_OUTGOING_O365_AUTHENTICATION_URL"
	EnvServerURL = "IMAGICLE_OUTGOING_O365_SERVER_URL"
)

// EnvURLs returns the authentication and server URLs set in the seed's
// environment variables (EnvAuthURL, EnvServerURL), each "" when unset.
// The package never reads the environment by itself; a host that wants
// the seed's behaviour calls this and copies the values into Config.AuthURL
// and Config.ServerURL.
func EnvURLs() (authURL, serverURL string) {
	return strings.TrimSpace(os.Getenv(EnvAuthURL)), strings.TrimSpace(os.Getenv(EnvServerURL))
}

// Defaults applied by New.
const (
	// DefaultHTTPTimeout bounds one HTTP exchange of the default client
	// (token, Graph or EWS request including a 4 MB upload).
	DefaultHTTPTimeout = 2 * time.Minute
	// DefaultSMTPRateLimit is Exchange Online's submission limit per
	// mailbox: 30 messages per minute.
	DefaultSMTPRateLimit = 30
	// GraphMaxRequest is the Graph request payload limit: larger requests
	// get 413 Request Entity Too Large, so they are refused before sending.
	GraphMaxRequest = 4 << 20
)

// Config is the configuration of an Office 365 sender. The JSON names are
// those of the parameter store; field errors from Validate use them.
// Configuration is read-only after New.
type Config struct {
	// TenantID is the directory (tenant) ID of the app registration: a
	// GUID or a verified domain. Required; "common", "organizations" and
	// "consumers" are refused because client credentials need a tenant.
	TenantID string `json:"tenant_id"`
	// ClientID is the application (client) ID. Required.
	ClientID string `json:"client_id"`
	// ClientSecret is the client secret value. Required.
	ClientSecret Secret `json:"client_secret"`
	// Sender is the mailbox address the messages are sent from (the seed's
	// "Email Address"). Required.
	Sender string `json:"address"`
	// Mode selects Graph, SMTP or EWS; "" means ModeGraph.
	Mode Mode `json:"mode,omitempty"`
	// Cloud fills AuthURL, GraphURL, ServerURL and SMTPAddr; "" means
	// CloudGlobal.
	Cloud Cloud `json:"cloud,omitempty"`
	// AuthURL overrides the cloud's token authority
	// (default https://login.microsoftonline.com). The token endpoint is
	// {AuthURL}/{TenantID}/oauth2/v2.0/token.
	AuthURL string `json:"auth_url,omitempty"`
	// ServerURL overrides the cloud's Exchange root
	// (default https://outlook.office365.com). Its origin + "/.default" is
	// the token scope of SMTP and EWS unless ServerScope is set.
	ServerURL string `json:"server_url,omitempty"`
	// GraphURL overrides the cloud's Graph root
	// (default https://graph.microsoft.com).
	GraphURL string `json:"graph_url,omitempty"`
	// GraphScope overrides the Graph token scope; "" means the cloud's
	// Graph root + "/.default" (https://graph.microsoft.com/.default), which
	// stays right when GraphURL points at a gateway in front of Graph.
	GraphScope string `json:"graph_scope,omitempty"`
	// ServerScope overrides the Exchange token scope; "" means the origin
	// of the server URL + "/.default".
	ServerScope string `json:"server_scope,omitempty"`
	// SMTPAddr overrides the cloud's SMTP submission host:port
	// (default smtp.office365.com:587). SMTP mode only.
	SMTPAddr string `json:"smtp_addr,omitempty"`
	// SMTPRateLimit caps SMTP submissions per minute; 0 means
	// DefaultSMTPRateLimit (30), a negative value turns the limiter off.
	SMTPRateLimit int `json:"smtp_rate_limit,omitempty"`
	// HTTPClient carries the token, Graph and EWS requests, with the proxy
	// the host chose. nil means a client with a clone of
	// http.DefaultTransport (which honours HTTPS_PROXY/NO_PROXY) and a
	// DefaultHTTPTimeout timeout.
	HTTPClient *http.Client `json:"-"`
	// Dialer opens the SMTP connection (SMTP mode), e.g. through a proxy.
	// nil means a net.Dialer with a 30 s timeout.
	Dialer proxy.ContextDialer `json:"-"`
	// TLSConfig is the TLS configuration of the SMTP STARTTLS handshake.
	// nil means system roots, the SMTP host as server name, TLS 1.2
	// minimum (Exchange Online refuses older versions).
	TLSConfig *tls.Config `json:"-"`
	// Now returns the current time (token expiry, rate limiting); nil means
	// time.Now.
	Now func() time.Time `json:"-"`
	// Logger receives token refreshes and failures; nil means silent. The
	// client secret and access tokens are never logged.
	Logger *slog.Logger `json:"-"`
}

// reservedTenants are the multi-tenant aliases that cannot issue
// client-credentials tokens.
var reservedTenants = map[string]bool{"common": true, "organizations": true, "consumers": true}

// Validate reports every problem of the configuration, each naming its JSON
// field ("client_id: required"), joined with errors.Join.
func (c Config) Validate() error {
	var l fielderr.List
	switch t := strings.TrimSpace(c.TenantID); {
	case t == "":
		l.Add("tenant_id", "required (the directory ID of the app registration)")
	case reservedTenants[strings.ToLower(t)]:
		l.Add("tenant_id", "must be the directory ID or a verified domain, not %q", t)
	case !validTenant(t):
		l.Add("tenant_id", "must be a GUID or a domain name, got %q", t)
	}
	if strings.TrimSpace(c.ClientID) == "" {
		l.Add("client_id", "required (the application ID of the app registration)")
	} else if strings.ContainsAny(c.ClientID, " \t\r\n/") {
		l.Add("client_id", "must not contain spaces or slashes, got %q", c.ClientID)
	}
	if !c.ClientSecret.IsSet() {
		l.Add("client_secret", "required")
	}
	if c.Sender == "" {
		l.Add("address", "required (the mailbox the messages are sent from)")
	} else if a, err := mail.ParseAddress(c.Sender); err != nil || a.Name != "" || a.Address != c.Sender {
		l.Add("address", "must be a plain mailbox address like sender@contoso.com, got %q", c.Sender)
	}
	switch c.Mode {
	case "", ModeGraph, ModeSMTP, ModeEWS:
	default:
		l.Add("mode", "must be graph, smtp or ews, got %q", string(c.Mode))
	}
	if _, ok := EndpointsOf(c.Cloud); !ok {
		l.Add("cloud", "must be global, usgov, usgov-dod or china, got %q", string(c.Cloud))
	}
	checkURL(&l, "auth_url", c.AuthURL)
	checkURL(&l, "server_url", c.ServerURL)
	checkURL(&l, "graph_url", c.GraphURL)
	checkScope(&l, "graph_scope", c.GraphScope)
	checkScope(&l, "server_scope", c.ServerScope)
	if c.SMTPAddr != "" {
		host, port, err := net.SplitHostPort(c.SMTPAddr)
		if err != nil || host == "" {
			l.Add("smtp_addr", "must be host:port, got %q", c.SMTPAddr)
		} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			l.Add("smtp_addr", "port must be 1-65535, got %q", port)
		}
	}
	return l.Err()
}

func validTenant(t string) bool {
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

func checkURL(l *fielderr.List, field, raw string) {
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		l.Add(field, "must be an absolute http(s) URL, got %q", raw)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		l.Add(field, "must be an absolute http(s) URL, got %q", raw)
	case u.User != nil:
		l.Add(field, "must not carry credentials")
	case u.RawQuery != "" || u.Fragment != "":
		l.Add(field, "must not have a query or fragment, got %q", raw)
	}
}

func checkScope(l *fielderr.List, field, raw string) {
	if raw == "" {
		return
	}
	if strings.ContainsAny(raw, " \t\r\n") || !strings.Contains(raw, "/") {
		l.Add(field, "must be one scope like https://graph.microsoft.com/.default, got %q", raw)
	}
}

// resolved is a validated configuration with every default filled.
type resolved struct {
	Config
	tokenURL    string
	graphScope  string
	serverScope string
	sendMailURL string
	userURL     string
	ewsURL      string
	smtpHost    string
}

func (c Config) resolve() (resolved, error) {
	if err := c.Validate(); err != nil {
		return resolved{}, err
	}
	ep, _ := EndpointsOf(c.Cloud)
	r := resolved{Config: c}
	if r.Mode == "" {
		r.Mode = ModeGraph
	}
	if r.Cloud == "" {
		r.Cloud = CloudGlobal
	}
	r.TenantID = strings.TrimSpace(r.TenantID)
	r.ClientID = strings.TrimSpace(r.ClientID)
	authURL := trimSlash(or(c.AuthURL, ep.AuthURL))
	serverURL := trimSlash(or(c.ServerURL, ep.ServerURL))
	graphURL := trimSlash(or(c.GraphURL, ep.GraphURL))
	r.AuthURL, r.ServerURL, r.GraphURL = authURL, serverURL, graphURL
	r.SMTPAddr = or(c.SMTPAddr, ep.SMTPAddr)
	r.smtpHost, _, _ = net.SplitHostPort(r.SMTPAddr)
	r.tokenURL = authURL + "/" + url.PathEscape(r.TenantID) + "/oauth2/v2.0/token"
	r.graphScope = or(c.GraphScope, ep.GraphURL+"/.default")
	r.serverScope = c.ServerScope
	if r.serverScope == "" {
		u, _ := url.Parse(serverURL)
		r.serverScope = u.Scheme + "://" + u.Host + "/.default"
	}
	user := graphURL + "/v1.0/users/" + url.PathEscape(r.Sender)
	r.userURL = user
	r.sendMailURL = user + "/sendMail"
	r.ewsURL = serverURL + "/EWS/Exchange.asmx"
	if r.SMTPRateLimit == 0 {
		r.SMTPRateLimit = DefaultSMTPRateLimit
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		r.HTTPClient = &http.Client{Transport: tr, Timeout: DefaultHTTPTimeout}
	}
	if r.Dialer == nil {
		r.Dialer = &net.Dialer{Timeout: 30 * time.Second}
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func trimSlash(s string) string { return strings.TrimRight(s, "/") }

// String describes the configuration without the secret.
func (c Config) String() string {
	secretState := "unset"
	if c.ClientSecret.IsSet() {
		secretState = "set"
	}
	return fmt.Sprintf("o365.Config{mode=%s cloud=%s tenant=%s client=%s sender=%s secret=%s}",
		or(string(c.Mode), string(ModeGraph)), or(string(c.Cloud), string(CloudGlobal)),
		c.TenantID, c.ClientID, c.Sender, secretState)
}

// Format prints String for every verb. String alone is not enough: fmt
// calls it only for %v, %s, %x, %X and %q, and a *Config reached through a
// struct printed with another verb (%t, %d on a value) would be printed
// field by field, client secret included.
func (c Config) Format(f fmt.State, verb rune) { io.WriteString(f, c.String()) }
