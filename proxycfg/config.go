package proxycfg

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/ucxkit/ucxkit/internal/fielderr"
)

// Config is the "Proxy settings" section: an HTTP/HTTPS proxy and/or a
// SOCKS v4/v5 proxy, and hosts that bypass both. The zero value means "no
// proxy": every constructor then connects directly.
//
// Which traffic goes where: HTTP(S) requests (Transport, HTTPClient) use the
// HTTP proxy if it is set, else the SOCKS proxy; raw TCP (Dialer, e.g. SMTP)
// uses the SOCKS proxy if it is set, else an HTTP CONNECT tunnel. A target
// that matches Bypass is always reached directly.
//
// Config is a plain value; it is safe to copy and to use concurrently.
type Config struct {
	// HTTP is the HTTP/HTTPS proxy; disabled when its Address is empty.
	HTTP HTTPProxy `json:"http"`
	// SOCKS is the SOCKS v4/v5 proxy; disabled when its Address is empty.
	SOCKS SOCKSProxy `json:"socks"`
	// Bypass lists targets reached without a proxy, NO_PROXY style; nil
	// means none. See Bypass for the entry syntax.
	Bypass []string `json:"bypass,omitempty"`
	// UseEnvironment makes Transport fall back to HTTP_PROXY, HTTPS_PROXY
	// and NO_PROXY (http.ProxyFromEnvironment) when neither proxy is set.
	// False (the default) means the environment is never read.
	UseEnvironment bool `json:"use_environment,omitempty"`
}

// HTTPProxy is an HTTP proxy reached with CONNECT (raw TCP and https://
// targets) or absolute-form requests (http:// targets).
type HTTPProxy struct {
	// Address is the proxy's host name or IP address, without scheme, port
	// or brackets (IPv6 is written plain: "2001:db8::1"). Empty disables
	// the proxy.
	Address string `json:"address,omitempty"`
	// Port is the proxy's TCP port, 1-65535; mandatory with an Address.
	Port int `json:"port,omitempty"`
	// Username for Basic proxy authentication (RFC 7617); empty means none.
	// It must not contain ':'.
	Username string `json:"username,omitempty"`
	// Password for Basic proxy authentication; mandatory with a Username.
	Password Secret `json:"password,omitzero"`
	// TLS makes the connection to the proxy itself TLS (an "https://"
	// proxy), verified against CAFile or RootCAs, else the system roots.
	TLS bool `json:"tls,omitempty"`
	// CAFile is a PEM file of CA certificates that replaces the system roots
	// for verifying the proxy's certificate (TLS only); empty means the
	// system roots.
	CAFile string `json:"ca_file,omitempty"`
	// RootCAs, for programs that hold the pool in memory, replaces the
	// system roots like CAFile (TLS only; not with CAFile). Nil means unset.
	RootCAs *x509.CertPool `json:"-"`
	// ServerName is the name checked against the proxy's certificate (TLS
	// only); empty means Address.
	ServerName string `json:"server_name,omitempty"`
}

// SOCKSProxy is a SOCKS4/4a (no RFC) or SOCKS5 (RFC 1928, RFC 1929) proxy.
type SOCKSProxy struct {
	// Version is 4 or 5; zero means 5.
	Version int `json:"version,omitempty"`
	// Address is the proxy's host name or IP address, without scheme, port
	// or brackets. Empty disables the proxy.
	Address string `json:"address,omitempty"`
	// Port is the proxy's TCP port, 1-65535; mandatory with an Address.
	Port int `json:"port,omitempty"`
	// Username: for SOCKS5 the RFC 1929 user (1-255 bytes, needs Password);
	// for SOCKS4 the user-id sent in the request. Empty means none.
	Username string `json:"username,omitempty"`
	// Password: SOCKS5 only (1-255 bytes); mandatory with a Username for
	// SOCKS5 and refused for SOCKS4, which cannot carry it.
	Password Secret `json:"password,omitzero"`
	// Resolve says who resolves target names: ResolveProxy sends the name to
	// the proxy (socks5h://, socks4a://), so no DNS query for a proxied
	// target leaves this host; ResolveLocal resolves it here and sends the
	// IP address (socks5://, socks4://). Empty means the usual choice of each
	// version: the proxy for SOCKS5, this host for SOCKS4, since SOCKS4a is
	// an extension that servers such as Dante do not implement.
	Resolve string `json:"resolve,omitempty"`
}

// Enabled reports whether the HTTP proxy is configured (has an Address).
func (p HTTPProxy) Enabled() bool { return p.Address != "" }

// Enabled reports whether the SOCKS proxy is configured (has an Address).
func (p SOCKSProxy) Enabled() bool { return p.Address != "" }

// HostPort returns "address:port", with brackets around an IPv6 address.
func (p HTTPProxy) HostPort() string { return net.JoinHostPort(p.Address, strconv.Itoa(p.Port)) }

// HostPort returns "address:port", with brackets around an IPv6 address.
func (p SOCKSProxy) HostPort() string { return net.JoinHostPort(p.Address, strconv.Itoa(p.Port)) }

// Values of SOCKSProxy.Resolve.
const (
	ResolveProxy = "proxy" // the proxy resolves target names (socks5h, socks4a)
	ResolveLocal = "local" // this host resolves target names (socks5, socks4)
)

// ResolvesLocally reports whether target names are resolved on this host,
// applying the per-version default of an empty Resolve.
func (p SOCKSProxy) ResolvesLocally() bool {
	switch p.Resolve {
	case ResolveLocal:
		return true
	case ResolveProxy:
		return false
	}
	return p.version() == 4
}

// version returns the effective SOCKS version (zero means 5).
func (p SOCKSProxy) version() int {
	if p.Version == 0 {
		return 5
	}
	return p.Version
}

// Scheme returns the URL scheme of this SOCKS proxy: socks4, socks4a,
// socks5 or socks5h.
func (p SOCKSProxy) Scheme() string {
	s := "socks5"
	if p.version() == 4 {
		s = "socks4"
		if !p.ResolvesLocally() {
			s = "socks4a"
		}
	} else if !p.ResolvesLocally() {
		s = "socks5h"
	}
	return s
}

// Scheme returns "https" when TLS is set, else "http".
func (p HTTPProxy) Scheme() string {
	if p.TLS {
		return "https"
	}
	return "http"
}

// redactedPassword replaces a set password in String output.
const redactedPassword = "xxxxx"

func redactedURL(scheme, host string, port int, user string, pw Secret) string {
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	switch {
	case user != "" && pw.IsSet():
		u.User = url.UserPassword(user, redactedPassword)
	case user != "":
		u.User = url.User(user)
	case pw.IsSet():
		u.User = url.UserPassword("", redactedPassword)
	}
	return u.String()
}

// String returns the proxy as a URL with the password replaced by
// "xxxxx" ("http://user:xxxxx@host:3128"), or "" when disabled.
func (p HTTPProxy) String() string {
	if !p.Enabled() {
		return ""
	}
	return redactedURL(p.Scheme(), p.Address, p.Port, p.Username, p.Password)
}

// String returns the proxy as a URL with the password replaced by
// "xxxxx" ("socks5h://user:xxxxx@host:1080"), or "" when disabled.
func (p SOCKSProxy) String() string {
	if !p.Enabled() {
		return ""
	}
	return redactedURL(p.Scheme(), p.Address, p.Port, p.Username, p.Password)
}

// String returns the enabled proxies as redacted URLs followed by the
// bypass list, e.g. "http://user:xxxxx@proxy:3128 socks5h://proxy:1080
// bypass=localhost,.corp", or "direct" when no proxy is set.
func (c Config) String() string {
	var parts []string
	if s := c.HTTP.String(); s != "" {
		parts = append(parts, s)
	}
	if s := c.SOCKS.String(); s != "" {
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		parts = append(parts, "direct")
	}
	if len(c.Bypass) > 0 {
		parts = append(parts, "bypass="+strings.Join(c.Bypass, ","))
	}
	return strings.Join(parts, " ")
}

// LogValue logs the redacted String form.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Validate reports every problem of the settings at once, each as a
// *FieldError naming its JSON path ("http.port: must be 1-65535, got
// 70000"), joined with errors.Join. A nil result means every constructor
// will accept c.
func (c Config) Validate() error {
	var l fielderr.List
	c.HTTP.validate(&l, "http")
	c.SOCKS.validate(&l, "socks")
	for i, e := range c.Bypass {
		if _, err := parseBypassEntry(e); err != nil {
			l.Add(fmt.Sprintf("bypass[%d]", i), "%s", err.Error())
		}
	}
	return l.Err()
}

// validate checks the fields shared by both proxies and returns whether the
// section is enabled.
func validateCommon(l *fielderr.List, sect, addr string, port int, user string, pw Secret) bool {
	enabled := addr != ""
	if !enabled {
		if port != 0 || user != "" || pw.IsSet() {
			l.Add(sect+".address", "is mandatory when port, username or password is set")
		}
	} else if p := checkAddress(addr); p != "" {
		l.Add(sect+".address", "%s", p)
	}
	switch {
	case port == 0 && enabled:
		l.Add(sect+".port", "is mandatory when address is set")
	case port < 0 || port > 65535:
		l.Add(sect+".port", "must be 1-65535, got %d", port)
	}
	if hasCtl(user) {
		l.Add(sect+".username", "must not contain CR, LF or NUL")
	}
	if hasCtl(pw.Reveal()) {
		l.Add(sect+".password", "must not contain CR, LF or NUL")
	}
	if pw.IsSet() && user == "" {
		l.Add(sect+".username", "is mandatory when password is set")
	}
	return enabled
}

func (p HTTPProxy) validate(l *fielderr.List, sect string) {
	validateCommon(l, sect, p.Address, p.Port, p.Username, p.Password)
	if strings.Contains(p.Username, ":") {
		l.Add(sect+".username", "must not contain ':' (RFC 7617 Basic authentication)")
	}
	if p.Username != "" && !p.Password.IsSet() {
		l.Add(sect+".password", "is mandatory when username is set")
	}
	if !p.TLS && p.CAFile != "" {
		l.Add(sect+".ca_file", "is only used with tls: true")
	}
	if !p.TLS && p.RootCAs != nil {
		l.Add(sect+".root_cas", "is only used with tls: true")
	}
	if p.CAFile != "" && p.RootCAs != nil {
		l.Add(sect+".ca_file", "and RootCAs are exclusive; set one")
	}
	if !p.TLS && p.ServerName != "" {
		l.Add(sect+".server_name", "is only used with tls: true")
	}
	if hasCtl(p.CAFile) {
		l.Add(sect+".ca_file", "must not contain CR, LF or NUL")
	}
	if hasCtl(p.ServerName) || strings.ContainsAny(p.ServerName, " \t/:") {
		l.Add(sect+".server_name", "must be a host name")
	}
}

func (p SOCKSProxy) validate(l *fielderr.List, sect string) {
	validateCommon(l, sect, p.Address, p.Port, p.Username, p.Password)
	if p.Resolve != "" && p.Resolve != ResolveProxy && p.Resolve != ResolveLocal {
		l.Add(sect+".resolve", "must be %q, %q or empty, got %q", ResolveProxy, ResolveLocal, p.Resolve)
	}
	switch p.Version {
	case 0, 5:
		// RFC 1929: ULEN and PLEN are one octet each and must be at least 1.
		if n := len(p.Username); n > 255 {
			l.Add(sect+".username", "must be 1-255 bytes for SOCKS5 (RFC 1929), got %d", n)
		}
		if n := len(p.Password.Reveal()); n > 255 {
			l.Add(sect+".password", "must be 1-255 bytes for SOCKS5 (RFC 1929), got %d", n)
		}
		if p.Username != "" && !p.Password.IsSet() {
			l.Add(sect+".password", "is mandatory when username is set")
		}
	case 4:
		if p.Password.IsSet() {
			l.Add(sect+".password", "SOCKS4 cannot carry a password; use version 5 for username/password authentication")
		}
	default:
		l.Add(sect+".version", "must be 4 or 5, got %d", p.Version)
	}
}

func hasCtl(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }

// checkAddress returns the problem of a proxy address, or "".
func checkAddress(a string) string {
	switch {
	case hasCtl(a):
		return "must not contain CR, LF or NUL"
	case strings.IndexFunc(a, unicode.IsSpace) >= 0:
		return "must not contain whitespace"
	case strings.Contains(a, "://"):
		return "must be a host name or IP address without a scheme (set tls for an https proxy)"
	case strings.Contains(a, "@"):
		return "must not contain user info; use username and password"
	case strings.ContainsAny(a, "[]"):
		return "must not have brackets; write an IPv6 address plain"
	case strings.ContainsAny(a, "/?#"):
		return "must be a host name or IP address, not a URL"
	}
	if _, err := netip.ParseAddr(a); err == nil {
		return ""
	}
	if strings.Contains(a, ":") {
		return "must not include a port; use the port field"
	}
	if p := checkHostName(a); p != "" {
		return p
	}
	return ""
}

// checkHostName checks an ASCII DNS name (letters, digits, '-', '_', '.';
// labels 1-63 bytes, total at most 253 bytes).
func checkHostName(h string) string {
	h = strings.TrimSuffix(h, ".")
	if len(h) == 0 || len(h) > 253 {
		return "must be a host name of 1-253 characters"
	}
	for _, label := range strings.Split(h, ".") {
		if len(label) == 0 || len(label) > 63 {
			return "must be a host name with labels of 1-63 characters"
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return fmt.Sprintf("must be a host name or IP address, got invalid character %q", r)
			}
		}
	}
	return ""
}
