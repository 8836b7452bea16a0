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

var _ proxy.ContextDialer = (*SOCKS4Dialer)(nil)
var _ proxy.Dialer = (*SOCKS4Dialer)(nil)

// Resolver looks up the IP addresses of a host; *net.Resolver implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// SOCKS4Dialer opens TCP connections through a SOCKS4 or SOCKS4a proxy
// (the de-facto protocol of NEC's "SOCKS: A protocol for TCP proxy across
// firewalls" and its 4A extension). SOCKS4 carries IPv4 targets only and a
// user-id without password.
//
// A target name is sent to the proxy (SOCKS4a) unless ResolveLocally is
// set; IPv4 literals always use plain SOCKS4. IPv6 targets fail with
// ErrSOCKS4IPv6; a refusal is a *SOCKS4Error.
//
// The fields must not change after the first DialContext; a SOCKS4Dialer is
// safe for concurrent use.
type SOCKS4Dialer struct {
	// ProxyAddr is the proxy's "host:port".
	ProxyAddr string
	// UserID is sent in the request; empty is allowed.
	UserID string
	// ResolveLocally resolves target names here (SOCKS4) instead of at the
	// proxy (SOCKS4a).
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
func (d *SOCKS4Dialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

// DialContext connects to addr through the proxy.
func (d *SOCKS4Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return loggedDial(ctx, d.Logger, "socks4", d.ProxyAddr, addr, func() (net.Conn, error) {
		return d.dial(ctx, network, addr)
	})
}

func (d *SOCKS4Dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := checkNetwork("socks4", network); err != nil {
		return nil, err
	}
	host, port, err := splitTarget(addr)
	if err != nil {
		return nil, err
	}
	if hasCtl(d.UserID) {
		return nil, fmt.Errorf("proxycfg: socks4 user-id must not contain CR, LF or NUL")
	}
	target := net.JoinHostPort(host, strconv.Itoa(port))
	ip, err := netip.ParseAddr(host)
	isIP := err == nil
	if isIP {
		ip = ip.Unmap()
		if !ip.Is4() {
			return nil, fmt.Errorf("%w (target %s)", ErrSOCKS4IPv6, target)
		}
	} else if d.ResolveLocally {
		if ip, err = resolve(ctx, d.Resolver, "ip4", host); err != nil {
			return nil, fmt.Errorf("proxycfg: socks4: resolve %s: %w", host, err)
		}
		isIP = true
	} else if len(host) > 255 {
		return nil, fmt.Errorf("%w %q: host name longer than 255 bytes", ErrBadTarget, addr)
	}

	// Request: VN=4 CD=1 DSTPORT DSTIP USERID NUL [HOST NUL (4a)].
	req := make([]byte, 0, 9+len(d.UserID)+len(host)+1)
	req = append(req, 4, 1, byte(port>>8), byte(port))
	if isIP {
		a := ip.As4()
		req = append(req, a[:]...)
	} else {
		// SOCKS4a: DSTIP 0.0.0.x with x != 0 means "the name follows".
		req = append(req, 0, 0, 0, 1)
	}
	req = append(req, d.UserID...)
	req = append(req, 0)
	if !isIP {
		req = append(req, host...)
		req = append(req, 0)
	}

	var reply [8]byte
	c, err := socksTunnel(ctx, "socks4", d.Forward, d.ProxyAddr, target, d.HandshakeTimeout, func(c net.Conn) error {
		if _, err := c.Write(req); err != nil {
			return err
		}
		_, err := io.ReadFull(c, reply[:])
		return err
	})
	if err != nil {
		return nil, err
	}
	// Reply: VN (0; some servers echo 4) CD DSTPORT DSTIP.
	if reply[0] != 0 && reply[0] != 4 {
		c.Close()
		return nil, fmt.Errorf("proxycfg: socks4 proxy %s: %w: reply version %d", d.ProxyAddr, ErrProxyProtocol, reply[0])
	}
	if reply[1] != SOCKS4Granted {
		c.Close()
		return nil, &SOCKS4Error{Proxy: d.ProxyAddr, Target: target, Code: reply[1]}
	}
	return c, nil
}

// resolve returns the first address of host for network ("ip", "ip4").
func resolve(ctx context.Context, r Resolver, network, host string) (netip.Addr, error) {
	if r == nil {
		r = net.DefaultResolver
	}
	ips, err := r.LookupNetIP(ctx, network, host)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, ip := range ips {
		ip = ip.Unmap()
		if network != "ip4" || ip.Is4() {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no %s address", network)
}

// loggedDial runs dial and reports it with logDial (nothing is timed when
// l is nil).
func loggedDial(ctx context.Context, l *slog.Logger, kind, proxyAddr, target string, dial func() (net.Conn, error)) (net.Conn, error) {
	var start time.Time
	if l != nil {
		start = time.Now()
	}
	c, err := dial()
	logDial(ctx, l, kind, proxyAddr, target, start, err)
	return c, err
}

// socksTunnel dials the SOCKS proxy at proxyAddr through fwd (nil means
// direct) and runs exchange on the connection under guard: ctx's deadline
// and cancellation, or timeout when ctx has no deadline. If the exchange
// fails, the connection is closed and the error returned as is when it is
// a typed refusal (isTyped), else wrapped with the proxy and target. kind
// ("socks4", "socks5") names the protocol in errors.
func socksTunnel(ctx context.Context, kind string, fwd proxy.ContextDialer, proxyAddr, target string, timeout time.Duration, exchange func(net.Conn) error) (net.Conn, error) {
	c, err := forwardOrDirect(fwd).DialContext(ctx, "tcp", proxyAddr)
	if err != nil {
		return nil, fmt.Errorf("proxycfg: dial %s proxy %s: %w", kind, proxyAddr, err)
	}
	done := guard(ctx, c, timeout)
	if err := done(exchange(c)); err != nil {
		c.Close()
		if isTyped(err) {
			return nil, err
		}
		return nil, fmt.Errorf("proxycfg: %s proxy %s: connect %s: %w", kind, proxyAddr, target, err)
	}
	return c, nil
}
