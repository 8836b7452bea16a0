package proxycfg

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ucxkit/ucxkit/internal/fielderr"
	"github.com/ucxkit/ucxkit/internal/secret"
)

// Secret is the string type of every password in this package; it never
// prints its value (see Secret.Reveal).
type Secret = secret.Secret

// NewSecret returns a Secret holding v (the empty string gives the unset
// Secret). Secrets of every ucxkit package are the same type.
func NewSecret(v string) Secret { return secret.New(v) }

// FieldError is one validation problem, naming its field by its JSON path
// ("http.port", "socks.password", "bypass[2]"). Validate returns them joined;
// inspect them with errors.As.
type FieldError = fielderr.Error

// Sentinel errors. Dialers wrap them (often inside a typed error) so that
// callers can test with errors.Is.
var (
	// ErrProxyAuthRequired means the proxy demands authentication and no
	// credentials are configured (HTTP 407 without credentials, SOCKS5
	// "no acceptable methods" when only "no authentication" was offered).
	ErrProxyAuthRequired = errors.New("proxycfg: proxy requires authentication and no credentials are configured")
	// ErrProxyAuthFailed means the proxy refused the configured credentials
	// (HTTP 407 although Proxy-Authorization was sent, SOCKS5 RFC 1929
	// status other than 0). The dialers never retry.
	ErrProxyAuthFailed = errors.New("proxycfg: proxy refused the credentials")
	// ErrProxyAuthUnsupported means the proxy only offers authentication
	// schemes this package does not speak (NTLM, Negotiate, Digest, SOCKS5
	// GSS-API). The error that wraps it names the offered schemes.
	ErrProxyAuthUnsupported = errors.New("proxycfg: proxy offers no supported authentication scheme")
	// ErrProxyProtocol means the proxy answered something that is not the
	// protocol this dialer speaks (not HTTP, wrong SOCKS version).
	ErrProxyProtocol = errors.New("proxycfg: malformed proxy response")
	// ErrNotConfigured is returned by HTTPProxyDialer or SOCKSDialer when
	// the requested proxy has no address.
	ErrNotConfigured = errors.New("proxycfg: proxy is not configured")
	// ErrSOCKS4IPv6 is returned by the SOCKS4 dialer for an IPv6 target,
	// which SOCKS4 cannot carry; use SOCKS5.
	ErrSOCKS4IPv6 = errors.New("proxycfg: SOCKS4 cannot carry an IPv6 target; use SOCKS5")
	// ErrHandshakeTimeout means the proxy did not complete its handshake
	// within the dialer's HandshakeTimeout (DefaultHandshakeTimeout when
	// zero), which applies when the context has no deadline of its own.
	ErrHandshakeTimeout = errors.New("proxycfg: proxy handshake timed out")
	// ErrBadTarget means the address given to DialContext is not a valid
	// "host:port" for the protocol (bad port, name too long, CR/LF/NUL).
	ErrBadTarget = errors.New("proxycfg: invalid target address")
)

// ConnectError is an HTTP proxy's non-2xx answer to CONNECT. It unwraps to
// ErrProxyAuthRequired, ErrProxyAuthFailed or ErrProxyAuthUnsupported for a
// 407 answer, and to nothing otherwise.
type ConnectError struct {
	// Proxy is the proxy's "host:port".
	Proxy string
	// Target is the "host:port" that was asked for.
	Target string
	// StatusCode is the HTTP status code, e.g. 403.
	StatusCode int
	// Status is the reason phrase, e.g. "Forbidden".
	Status string
	// Header holds the response headers (X-Squid-Error, Proxy-Authenticate, ...).
	Header http.Header
	// Body is the first 4 KiB of the response body, if any.
	Body []byte
	// AuthSchemes lists the schemes offered in Proxy-Authenticate (407 only).
	AuthSchemes []string

	err error // sentinel for 407, else nil
}

// Error describes the refusal without the body, naming the proxy's own
// error tag (X-Squid-Error) when present.
func (e *ConnectError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "proxycfg: proxy %s refused CONNECT %s: %d %s", e.Proxy, e.Target, e.StatusCode, e.Status)
	if v := e.Header.Get("X-Squid-Error"); v != "" {
		fmt.Fprintf(&b, " (X-Squid-Error: %s)", v)
	}
	switch {
	case errors.Is(e.err, ErrProxyAuthUnsupported):
		fmt.Fprintf(&b, ": proxy offers only %s authentication; only Basic is supported", strings.Join(e.AuthSchemes, ", "))
	case errors.Is(e.err, ErrProxyAuthFailed):
		b.WriteString(": the proxy refused the configured credentials")
	case errors.Is(e.err, ErrProxyAuthRequired):
		b.WriteString(": the proxy requires authentication and no credentials are configured")
	}
	return b.String()
}

// Unwrap returns the authentication sentinel of a 407 answer, or nil.
func (e *ConnectError) Unwrap() error { return e.err }

// SOCKS4 reply codes (the CD field of a SOCKS4 reply).
const (
	SOCKS4Granted           byte = 0x5a // request granted
	SOCKS4Rejected          byte = 0x5b // request rejected or failed
	SOCKS4IdentdUnreachable byte = 0x5c // proxy cannot reach the client's identd
	SOCKS4IdentdMismatch    byte = 0x5d // identd reports a different user-id
)

// SOCKS4Error is a SOCKS4 proxy's refusal (reply code 0x5b-0x5d, or any
// other code a broken proxy sends).
type SOCKS4Error struct {
	// Proxy is the proxy's "host:port".
	Proxy string
	// Target is the "host:port" that was asked for.
	Target string
	// Code is the reply code (SOCKS4Rejected, ...).
	Code byte
}

// Error names the proxy, the target and the meaning of the code.
func (e *SOCKS4Error) Error() string {
	var what string
	switch e.Code {
	case SOCKS4Rejected:
		what = "request rejected or failed"
	case SOCKS4IdentdUnreachable:
		what = "proxy cannot reach the client's identd"
	case SOCKS4IdentdMismatch:
		what = "identd could not confirm the user-id"
	default:
		what = "unknown reply code"
	}
	return fmt.Sprintf("proxycfg: socks4 proxy %s refused %s: %s (0x%02x)", e.Proxy, e.Target, what, e.Code)
}

// SOCKS5 reply codes (RFC 1928 §6).
const (
	SOCKS5Succeeded           byte = 0x00
	SOCKS5GeneralFailure      byte = 0x01
	SOCKS5NotAllowed          byte = 0x02
	SOCKS5NetworkUnreachable  byte = 0x03
	SOCKS5HostUnreachable     byte = 0x04
	SOCKS5ConnectionRefused   byte = 0x05
	SOCKS5TTLExpired          byte = 0x06
	SOCKS5CommandNotSupported byte = 0x07
	SOCKS5AddressNotSupported byte = 0x08
)

// SOCKS5Error is a SOCKS5 proxy's non-zero reply to CONNECT (RFC 1928 §6).
type SOCKS5Error struct {
	// Proxy is the proxy's "host:port".
	Proxy string
	// Target is the "host:port" that was asked for.
	Target string
	// Code is the REP field (SOCKS5HostUnreachable, ...).
	Code byte
}

var socks5Replies = [...]string{
	SOCKS5GeneralFailure:      "general SOCKS server failure",
	SOCKS5NotAllowed:          "connection not allowed by ruleset",
	SOCKS5NetworkUnreachable:  "network unreachable",
	SOCKS5HostUnreachable:     "host unreachable",
	SOCKS5ConnectionRefused:   "connection refused",
	SOCKS5TTLExpired:          "TTL expired",
	SOCKS5CommandNotSupported: "command not supported",
	SOCKS5AddressNotSupported: "address type not supported",
}

// Error names the proxy, the target and the meaning of the code.
func (e *SOCKS5Error) Error() string {
	what := "unknown reply code"
	if int(e.Code) < len(socks5Replies) && socks5Replies[e.Code] != "" {
		what = socks5Replies[e.Code]
	}
	return fmt.Sprintf("proxycfg: socks5 proxy %s refused %s: %s (0x%02x)", e.Proxy, e.Target, what, e.Code)
}
