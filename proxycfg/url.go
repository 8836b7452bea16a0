package proxycfg

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Default ports when a proxy URL has none: the scheme's own port for HTTP
// proxies (as net/http does) and 1080 (RFC 1928 §3) for SOCKS.
const (
	defaultHTTPPort  = 80
	defaultHTTPSPort = 443
	defaultSOCKSPort = 1080
)

// FromURL parses a proxy URL into a Config with one proxy set:
//
//	http://[user:pass@]host[:port]      HTTP proxy (port 80 by default)
//	https://[user:pass@]host[:port]     HTTP proxy over TLS (port 443)
//	socks4://[user@]host[:port]         SOCKS4, names resolved here (1080)
//	socks4a://[user@]host[:port]        SOCKS4a, names resolved by the proxy
//	socks5://[user:pass@]host[:port]    SOCKS5, names resolved here
//	socks5h://[user:pass@]host[:port]   SOCKS5, names resolved by the proxy
//
// The username and password are percent-decoded, so any character works when
// encoded ("p%40ss%3Aword" is "p@ss:word"). IPv6 proxy addresses are written
// in brackets. The result is validated; every problem is reported.
func FromURL(raw string) (Config, error) {
	var c Config
	if hasCtl(raw) {
		return c, errors.New("proxycfg: proxy URL must not contain CR, LF or NUL")
	}
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return c, fmt.Errorf("proxycfg: proxy URL %q must start with http://, https://, socks4://, socks4a://, socks5:// or socks5h://", redactRaw(raw))
	}
	// Error messages show the URL with everything between "://" and the
	// last '@' hidden, and never echo the parser's view of the rest: a
	// password with a raw '/', '?' or '#' ends up in the "port", path or
	// fragment, where url.Redacted would print it.
	hint := ""
	if strings.Contains(raw, "@") {
		hint = "; percent-encode @ : / ? # % and spaces in the username and password"
	}
	u, err := url.Parse(raw)
	if err != nil {
		if hint != "" {
			return c, fmt.Errorf("proxycfg: invalid proxy URL %q%s", redactRaw(raw), hint)
		}
		return c, fmt.Errorf("proxycfg: invalid proxy URL %q: %v", redactRaw(raw), unwrapURLError(err))
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return c, fmt.Errorf("proxycfg: proxy URL %q must not have a path, query or fragment%s", redactRaw(raw), hint)
	}
	host := u.Hostname()
	if host == "" {
		return c, fmt.Errorf("proxycfg: proxy URL %q has no host%s", redactRaw(raw), hint)
	}
	port := 0
	if p := u.Port(); p != "" {
		port, err = strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return c, fmt.Errorf("proxycfg: proxy URL %q: port must be 1-65535, got %q%s", redactRaw(raw), p, hint)
		}
	}
	var user string
	var pw Secret
	if u.User != nil {
		user = u.User.Username()
		if p, ok := u.User.Password(); ok {
			pw = NewSecret(p)
		}
	}
	orPort := func(def int) int {
		if port == 0 {
			return def
		}
		return port
	}
	switch strings.ToLower(scheme) {
	case "http", "https":
		tls := strings.EqualFold(scheme, "https")
		def := defaultHTTPPort
		if tls {
			def = defaultHTTPSPort
		}
		c.HTTP = HTTPProxy{Address: host, Port: orPort(def), Username: user, Password: pw, TLS: tls}
	case "socks4", "socks4a", "socks5", "socks5h":
		s := strings.ToLower(scheme)
		v := 5
		if strings.HasPrefix(s, "socks4") {
			v = 4
		}
		resolve := ResolveProxy
		if s == "socks4" || s == "socks5" {
			resolve = ResolveLocal
		}
		c.SOCKS = SOCKSProxy{Version: v, Address: host, Port: orPort(defaultSOCKSPort), Username: user, Password: pw, Resolve: resolve}
	default:
		return c, fmt.Errorf("proxycfg: unsupported proxy scheme %q (want http, https, socks4, socks4a, socks5 or socks5h)", scheme)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("proxycfg: proxy URL %s: %w", c.String(), err)
	}
	return c, nil
}

// redactRaw hides everything between "://" and the last '@' of an
// unparseable URL, so that an error never shows a password.
func redactRaw(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			return "xxxxx" + raw[i:]
		}
		return raw
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		return scheme + "://xxxxx" + rest[i:]
	}
	return raw
}

// unwrapURLError drops url.Error's echo of the whole URL (which may hold a
// password) and keeps the reason.
func unwrapURLError(err error) error {
	var ee url.EscapeError
	if errors.As(err, &ee) {
		// The bad sequence may be part of the password: do not echo it.
		return errors.New("invalid percent-encoding (write a literal % as %25)")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New(strings.TrimPrefix(ue.Err.Error(), "net/url: "))
	}
	return err
}
