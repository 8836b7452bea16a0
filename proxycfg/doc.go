// Package proxycfg implements the "Proxy settings" of a UC server: an HTTP or
// HTTPS proxy and/or a SOCKS v4/v5 proxy in front of every cloud call, with
// validation, redaction, dialers and net/http integration.
//
// # What it implements
//
//   - HTTP CONNECT tunnels (RFC 9110 §9.3.6) over plain TCP or TLS to the
//     proxy, with Basic proxy authentication (RFC 7617) sent up front:
//     ConnectDialer.
//   - SOCKS4 and SOCKS4a (no RFC; the NEC protocol and its 4A extension):
//     SOCKS4Dialer.
//   - SOCKS5 (RFC 1928) with username/password authentication (RFC 1929),
//     remote name resolution by default (socks5h) or local resolution:
//     SOCKS5Dialer. SOCKS4 resolves names locally by default, as SOCKS4a is
//     an extension some servers (Dante) lack; SOCKSProxy.Resolve chooses.
//   - NO_PROXY-style bypass lists (hosts, .domains, IPs, CIDRs, "*"): Bypass
//     and BypassDialer.
//   - Settings (Config) with JSON names http, socks, address, port,
//     username, password, version, bypass; Validate reports every problem
//     at once as *FieldError values naming the field ("http.port: must be
//     1-65535, got 70000"); FromURL parses http, https, socks4, socks4a,
//     socks5 and socks5h URLs with percent-encoded credentials.
//   - Config.Transport and Config.HTTPClient for HTTP(S) calls, and
//     Config.Dialer, HTTPProxyDialer and SOCKSDialer (golang.org/x/net/proxy
//     ContextDialer) for raw TCP such as SMTP.
//
// # Which traffic goes where
//
// HTTP(S) requests use the HTTP proxy when it is set, else the SOCKS proxy:
// an HTTP proxy understands HTTP and can log URLs of plain requests. Raw TCP
// uses the SOCKS proxy when it is set, else an HTTP CONNECT tunnel: SOCKS is
// made for arbitrary TCP, while many HTTP proxies allow CONNECT to port 443
// only. Bypass applies to both. A transport built from settings never reads
// HTTP_PROXY, HTTPS_PROXY or NO_PROXY unless Config.UseEnvironment is set.
//
// # Guarantees
//
//   - Any character but CR, LF and NUL works in usernames and passwords
//     (the product's ban on '@' is lifted); ':' is refused only in an HTTP
//     username, where RFC 7617 cannot carry it. SOCKS5 credentials are
//     checked to be 1-255 bytes at validation time.
//   - Passwords are a Secret: String, %v, %+v, %#v, JSON and slog show
//     "xxxxx" or "[REDACTED]", never the value; errors never contain it,
//     not even for a URL with an unencoded password. Every type holding a
//     password (Config, HTTPProxy, SOCKSProxy, ConnectDialer,
//     SOCKS5Dialer) has its own Format, so bad verbs (%d, %t) and nested
//     pointers, which make fmt switch methods off, print it redacted too.
//   - Every handshake honours the context's deadline and cancellation: a
//     proxy that accepts TCP and never answers fails at the deadline, and no
//     goroutine outlives the call. Without a context deadline (Dial), the
//     dialer's HandshakeTimeout (DefaultHandshakeTimeout, one minute, as
//     net/http uses for CONNECT) bounds it: ErrHandshakeTimeout.
//   - A hostile proxy cannot make a dialer buffer without bound: CONNECT
//     answer headers (interim answers included) are limited to 64 KiB,
//     the kept error body to 4 KiB, and SOCKS replies are read to their
//     exact length.
//   - Any 2xx answer to CONNECT opens the tunnel, and bytes the proxy sent
//     after its answer (an SMTP greeting in the same packet) are read first
//     from the tunnel, never lost.
//   - TLS to an HTTPS proxy is verified (system roots, or CAFile).
//
// # Failure semantics
//
// A CONNECT refusal is a *ConnectError with the status, headers (such as
// X-Squid-Error) and the first 4 KiB of the body. A 407 answer unwraps to
// ErrProxyAuthRequired (no credentials configured), ErrProxyAuthFailed
// (credentials refused; never retried) or ErrProxyAuthUnsupported (only
// NTLM, Negotiate or other schemes offered; the message names them). SOCKS
// refusals are *SOCKS4Error (codes 0x5b-0x5d) and *SOCKS5Error (RFC 1928
// REP codes); SOCKS5 authentication failures use the same sentinels. An
// answer in the wrong protocol is ErrProxyProtocol. Use errors.Is and
// errors.As; never match messages.
//
// # Logging and testing
//
// The dialer types take an optional *slog.Logger (nil is silent) that gets
// one record per dial, never with credentials. Package proxycfg/proxytest
// runs in-process HTTP, SOCKS4 and SOCKS5 proxies on 127.0.0.1 for tests of
// code that dials through this package.
//
// # What it does not do
//
// No NTLM, Negotiate or Digest proxy authentication (Basic only), no SOCKS5
// GSS-API, BIND or UDP ASSOCIATE, no proxy chains (pass one dialer as
// another's Forward to build one), no PAC files, and no implicit bypass of
// localhost: list it in Bypass when wanted.
package proxycfg
