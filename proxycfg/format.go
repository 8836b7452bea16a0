package proxycfg

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
)

// Every type that holds a password implements fmt.Formatter. The fmt
// package prints a value it cannot format with the verb asked for (%d, %t,
// %p on a struct, %s on a nested pointer) as "%!verb(type=value)" with every
// method of the value switched off, Secret's included, which would print a
// password raw. A Format method on the holder itself runs before that
// fallback, so every verb prints the redacted form.

// formatRedacted writes the redacted form s for any verb, quoted for %q,
// and goString() for %#v.
func formatRedacted(f fmt.State, verb rune, s string, goString func() string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, goString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", s)
	default:
		io.WriteString(f, s)
	}
}

// goStringAs prints v (a method-less copy of a type whose fields print
// redacted) with %#v and renames its type from plain to name.
func goStringAs(v any, plain, name string) string {
	return strings.Replace(fmt.Sprintf("%#v", v), "proxycfg."+plain, "proxycfg."+name, 1)
}

type (
	plainConfig        Config
	plainHTTPProxy     HTTPProxy
	plainSOCKSProxy    SOCKSProxy
	plainConnectDialer ConnectDialer
	plainSOCKS5Dialer  SOCKS5Dialer
)

// Format prints String() for every verb (quoted for %q) and a Go-syntax
// dump with the passwords redacted for %#v.
func (c Config) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, c.String(), func() string { return goStringAs(plainConfig(c), "plainConfig", "Config") })
}

// Format prints String() for every verb (quoted for %q) and a Go-syntax
// dump with the password redacted for %#v.
func (p HTTPProxy) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, p.String(), func() string { return goStringAs(plainHTTPProxy(p), "plainHTTPProxy", "HTTPProxy") })
}

// Format prints String() for every verb (quoted for %q) and a Go-syntax
// dump with the password redacted for %#v.
func (p SOCKSProxy) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, p.String(), func() string { return goStringAs(plainSOCKSProxy(p), "plainSOCKSProxy", "SOCKSProxy") })
}

// LogValue logs the redacted String form.
func (p HTTPProxy) LogValue() slog.Value { return slog.StringValue(p.String()) }

// LogValue logs the redacted String form.
func (p SOCKSProxy) LogValue() slog.Value { return slog.StringValue(p.String()) }

// String returns the proxy as a URL with the password replaced by "xxxxx"
// ("http://user:xxxxx@proxy:3128", "https://..." with TLSConfig).
func (d ConnectDialer) String() string {
	scheme := "http"
	if d.TLSConfig != nil {
		scheme = "https"
	}
	return dialerURL(scheme, d.ProxyAddr, d.Username, d.Password)
}

// Format prints String() for every verb (quoted for %q) and a Go-syntax
// dump with the password redacted for %#v.
func (d ConnectDialer) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, d.String(), func() string { return goStringAs(plainConnectDialer(d), "plainConnectDialer", "ConnectDialer") })
}

// LogValue logs the redacted String form.
func (d ConnectDialer) LogValue() slog.Value { return slog.StringValue(d.String()) }

// String returns the proxy as a URL with the password replaced by "xxxxx"
// ("socks5h://user:xxxxx@proxy:1080", "socks5://" with ResolveLocally).
func (d SOCKS5Dialer) String() string {
	scheme := "socks5h"
	if d.ResolveLocally {
		scheme = "socks5"
	}
	return dialerURL(scheme, d.ProxyAddr, d.Username, d.Password)
}

// Format prints String() for every verb (quoted for %q) and a Go-syntax
// dump with the password redacted for %#v.
func (d SOCKS5Dialer) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, d.String(), func() string { return goStringAs(plainSOCKS5Dialer(d), "plainSOCKS5Dialer", "SOCKS5Dialer") })
}

// LogValue logs the redacted String form.
func (d SOCKS5Dialer) LogValue() slog.Value { return slog.StringValue(d.String()) }

// dialerURL is redactedURL for a dialer's "host:port".
func dialerURL(scheme, hostport, user string, pw Secret) string {
	u := url.URL{Scheme: scheme, Host: hostport}
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
