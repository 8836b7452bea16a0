package proxycfg

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/net/proxy"
)

var _ proxy.ContextDialer = (*SOCKS5Dialer)(nil)
var _ proxy.Dialer = (*SOCKS5Dialer)(nil)

// SOCKS5 constants (RFC 1928, RFC 1929).
const (
	socks5Version      = 5
	socks5NoAuth       = 0x00
	socks5UserPass     = 0x02
	socks5NoAcceptable = 0xff
	socks5Connect      = 0x01
	socks5AtypIPv4     = 0x01
	socks5AtypDomain   = 0x03
	socks5AtypIPv6     = 0x04
	userPassVersion    = 0x01 // RFC 1929 §2 sub-negotiation version
)

// SOCKS5Dialer opens TCP connections through a SOCKS5 proxy (RFC 1928) with
// optional username/password authentication (RFC 1929).
//
// Target names are sent to the proxy (socks5h) unless ResolveLocally is set
// (socks5). A refusal of the CONNECT is a *SOCKS5Error; a refused login is
// ErrProxyAuthFailed. The handshake honours the context's deadline and
// cancellation.
//
// The fields must not change after the first DialContext; a SOCKS5Dialer is
// safe for concurrent use.
type SOCKS5Dialer struct {
	// ProxyAddr is the proxy's "host:port".
	ProxyAddr string
	// Username and Password (1-255 bytes each) are offered when Username is
	// set.
	Username string
	Password Secret
	// ResolveLocally resolves target names here and sends the IP.
	ResolveLocally bool
	// Resolver is used with ResolveLocally; nil means net.DefaultResolver.
	Resolver Resolver
	// Forward dials the proxy; nil means a plain net.Dialer.
	Forward proxy.ContextDialer
	// HandshakeTimeout bounds the handshake with the proxy when the
	// context has no deadline; 0 means DefaultHandshakeTimeout. A context
	// deadline always wins.
	HandshakeTimeout time.Duration
	// Logger receives one record per dial (debug on success, info on
	// failure), never with credentials; nil means silent.
	Logger *slog.Logger
}

// Dial is DialContext with a background context.
func (d *SOCKS5Dialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

// DialContext connects to addr through the proxy.
func (d *SOCKS5Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return loggedDial(ctx, d.Logger, "socks5", d.ProxyAddr, addr, func() (net.Conn, error) {
		return d.dial(ctx, network, addr)
	})
}

func (d *SOCKS5Dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := checkNetwork("socks5", network); err != nil {
		return nil, err
	}
	host, port, err := splitTarget(addr)
	if err != nil {
		return nil, err
	}
	target := net.JoinHostPort(host, strconv.Itoa(port))
	pw := d.Password.Reveal()
	if d.Username != "" && (len(d.Username) > 255 || len(pw) == 0 || len(pw) > 255) {
		return nil, fmt.Errorf("proxycfg: socks5: username and password must be 1-255 bytes each (RFC 1929)")
	}

	// CONNECT request: VER CMD RSV ATYP DST.ADDR DST.PORT.
	req := make([]byte, 0, 6+1+len(host)+16)
	req = append(req, socks5Version, socks5Connect, 0)
	ip, ipErr := netip.ParseAddr(host)
	if ipErr != nil && d.ResolveLocally {
		if ip, err = resolve(ctx, d.Resolver, "ip", host); err != nil {
			return nil, fmt.Errorf("proxycfg: socks5: resolve %s: %w", host, err)
		}
		ipErr = nil
	}
	switch {
	case ipErr == nil && ip.Unmap().Is4():
		a := ip.Unmap().As4()
		req = append(req, socks5AtypIPv4)
		req = append(req, a[:]...)
	case ipErr == nil:
		a := ip.As16()
		req = append(req, socks5AtypIPv6)
		req = append(req, a[:]...)
	default:
		if len(host) > 255 {
			return nil, fmt.Errorf("%w %q: host name longer than 255 bytes", ErrBadTarget, addr)
		}
		req = append(req, socks5AtypDomain, byte(len(host)))
		req = append(req, host...)
	}
	req = append(req, byte(port>>8), byte(port))

	return socksTunnel(ctx, "socks5", d.Forward, d.ProxyAddr, target, d.HandshakeTimeout, func(c net.Conn) error {
		return d.handshake(c, req, pw, target)
	})
}

func (d *SOCKS5Dialer) handshake(c net.Conn, req []byte, pw, target string) error {
	var buf [262]byte // largest reply part: 4 + 1 + 255 + 2 for a domain BND.ADDR
	greet := []byte{socks5Version, 1, socks5NoAuth}
	if d.Username != "" {
		greet = []byte{socks5Version, 2, socks5NoAuth, socks5UserPass}
	}
	if _, err := c.Write(greet); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, buf[:2]); err != nil {
		return fmt.Errorf("read method selection: %w", err)
	}
	if buf[0] != socks5Version {
		return fmt.Errorf("%w: method selection version %d", ErrProxyProtocol, buf[0])
	}
	switch buf[1] {
	case socks5NoAuth:
	case socks5UserPass:
		if d.Username == "" {
			return fmt.Errorf("%w: proxy chose username/password, which was not offered", ErrProxyProtocol)
		}
		// RFC 1929: VER ULEN UNAME PLEN PASSWD.
		auth := make([]byte, 0, 3+len(d.Username)+len(pw))
		auth = append(auth, userPassVersion, byte(len(d.Username)))
		auth = append(auth, d.Username...)
		auth = append(auth, byte(len(pw)))
		auth = append(auth, pw...)
		if _, err := c.Write(auth); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, buf[:2]); err != nil {
			return fmt.Errorf("read authentication status: %w", err)
		}
		// Some servers answer with version 5 instead of 1; only the status matters.
		if buf[1] != 0 {
			return fmt.Errorf("%w: socks5 proxy %s (status %d)", ErrProxyAuthFailed, d.ProxyAddr, buf[1])
		}
	case socks5NoAcceptable:
		if d.Username == "" {
			return fmt.Errorf("%w: socks5 proxy %s", ErrProxyAuthRequired, d.ProxyAddr)
		}
		return fmt.Errorf("%w: socks5 proxy %s accepts neither no-authentication nor username/password", ErrProxyAuthUnsupported, d.ProxyAddr)
	default:
		return fmt.Errorf("%w: proxy chose method 0x%02x, which was not offered", ErrProxyProtocol, buf[1])
	}
	if _, err := c.Write(req); err != nil {
		return err
	}
	// Reply: VER REP RSV ATYP BND.ADDR BND.PORT.
	if _, err := io.ReadFull(c, buf[:4]); err != nil {
		return fmt.Errorf("read reply: %w", err)
	}
	if buf[0] != socks5Version {
		return fmt.Errorf("%w: reply version %d", ErrProxyProtocol, buf[0])
	}
	if buf[1] != SOCKS5Succeeded {
		return &SOCKS5Error{Proxy: d.ProxyAddr, Target: target, Code: buf[1]}
	}
	var n int
	switch buf[3] {
	case socks5AtypIPv4:
		n = 4 + 2
	case socks5AtypIPv6:
		n = 16 + 2
	case socks5AtypDomain:
		if _, err := io.ReadFull(c, buf[:1]); err != nil {
			return fmt.Errorf("read reply: %w", err)
		}
		n = int(buf[0]) + 2
	default:
		return fmt.Errorf("%w: reply address type %d", ErrProxyProtocol, buf[3])
	}
	if _, err := io.ReadFull(c, buf[:n]); err != nil {
		return fmt.Errorf("read reply address: %w", err)
	}
	return nil
}
