package proxycfg

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeResolver answers every lookup with addrs.
type fakeResolver []netip.Addr

func (r fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	return r, nil
}

var okSOCKS4 = []byte{0, 0x5a, 0, 0, 0, 0, 0, 0}

func TestSOCKS4RequestBytes(t *testing.T) {
	tests := []struct {
		name   string
		d      SOCKS4Dialer
		target string
		want   []byte
	}{
		{"socks4 ipv4", SOCKS4Dialer{UserID: "alice"}, "93.184.216.34:443",
			cat([]byte{4, 1, 0x01, 0xbb, 0x5d, 0xb8, 0xd8, 0x22}, []byte("alice"), []byte{0})},
		{"socks4a name", SOCKS4Dialer{}, "example.com:443",
			cat([]byte{4, 1, 0x01, 0xbb, 0, 0, 0, 1, 0}, []byte("example.com"), []byte{0})},
		{"socks4a name with user", SOCKS4Dialer{UserID: "alice"}, "example.com:25",
			cat([]byte{4, 1, 0, 25, 0, 0, 0, 1}, []byte("alice\x00example.com\x00"))},
		{"socks4 local resolution", SOCKS4Dialer{ResolveLocally: true, Resolver: fakeResolver{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.0.2.7")}},
			"example.com:443", []byte{4, 1, 0x01, 0xbb, 192, 0, 2, 7, 0}},
		{"ipv4-mapped ipv6 literal", SOCKS4Dialer{}, "[::ffff:192.0.2.1]:80", []byte{4, 1, 0, 80, 192, 0, 2, 1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := fakeProxy(t, step{len(tc.want), okSOCKS4})
			d := tc.d
			d.ProxyAddr = p.addr
			c, err := d.DialContext(context.Background(), "tcp", tc.target)
			require.NoError(t, err)
			defer c.Close()
			require.Equal(t, tc.want, p.next(t))
			require.IsType(t, &net.TCPConn{}, c, "the tunnel is the proxy connection itself")
			peer := p.peer(t)
			_, err = peer.Write([]byte("220 hi"))
			require.NoError(t, err)
			b := make([]byte, 6)
			_, err = io.ReadFull(c, b)
			require.NoError(t, err)
			require.Equal(t, "220 hi", string(b))
		})
	}
}

func TestSOCKS4Refusals(t *testing.T) {
	req := cat([]byte{4, 1, 0, 25, 0, 0, 0, 1, 0}, []byte("example.com\x00"))
	for _, code := range []byte{SOCKS4Rejected, SOCKS4IdentdUnreachable, SOCKS4IdentdMismatch} {
		p := fakeProxy(t, step{len(req), []byte{0, code, 0, 0, 0, 0, 0, 0}})
		_, err := (&SOCKS4Dialer{ProxyAddr: p.addr}).DialContext(context.Background(), "tcp", "example.com:25")
		var se *SOCKS4Error
		require.True(t, errors.As(err, &se), "%v", err)
		require.Equal(t, code, se.Code)
		require.Equal(t, "example.com:25", se.Target)
	}
	_, err := (&SOCKS4Dialer{ProxyAddr: "127.0.0.1:1"}).DialContext(context.Background(), "tcp", "[2001:db8::1]:25")
	require.ErrorIs(t, err, ErrSOCKS4IPv6)
	require.ErrorContains(t, err, "use SOCKS5")
	_, err = (&SOCKS4Dialer{ProxyAddr: "127.0.0.1:1", ResolveLocally: true, Resolver: fakeResolver{netip.MustParseAddr("::1")}}).
		DialContext(context.Background(), "tcp", "v6only.example:25")
	require.ErrorContains(t, err, "no ip4 address")

	p := fakeProxy(t, step{len(req), []byte{0x47, 0x45, 0x54, 0x20, 0, 0, 0, 0}})
	_, err = (&SOCKS4Dialer{ProxyAddr: p.addr}).DialContext(context.Background(), "tcp", "example.com:25")
	require.ErrorIs(t, err, ErrProxyProtocol)
}

func TestSOCKS5Bytes(t *testing.T) {
	okReply := []byte{5, 0, 0, 1, 10, 0, 0, 1, 0x30, 0x39}
	tests := []struct {
		name   string
		d      SOCKS5Dialer
		target string
		steps  []step
	}{
		{"auth and domain", SOCKS5Dialer{Username: "alice", Password: NewSecret("s3cr3t")}, "example.com:443", []step{
			{4, []byte{5, 2}}, // greeting 05 02 00 02
			{14, []byte{1, 0}},
			{18, okReply},
		}},
		{"no auth ipv4", SOCKS5Dialer{}, "93.184.216.34:443", []step{{3, []byte{5, 0}}, {10, okReply}}},
		{"ipv6 with domain reply", SOCKS5Dialer{}, "[2001:db8::1]:25", []step{{3, []byte{5, 0}}, {22, []byte{5, 0, 0, 3, 4, 'h', 'o', 's', 't', 0, 25}}}},
		{"local resolution", SOCKS5Dialer{ResolveLocally: true, Resolver: fakeResolver{netip.MustParseAddr("192.0.2.9")}}, "example.com:80",
			[]step{{3, []byte{5, 0}}, {10, []byte{5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}}},
		{"server picks no-auth although creds offered", SOCKS5Dialer{Username: "alice", Password: NewSecret("s3cr3t")}, "example.com:443",
			[]step{{4, []byte{5, 0}}, {18, okReply}}},
	}
	wants := map[string][][]byte{
		"auth and domain": {{5, 2, 0, 2}, cat([]byte{1, 5}, []byte("alice"), []byte{6}, []byte("s3cr3t")),
			cat([]byte{5, 1, 0, 3, 11}, []byte("example.com"), []byte{1, 0xbb})},
		"no auth ipv4":                                {{5, 1, 0}, {5, 1, 0, 1, 0x5d, 0xb8, 0xd8, 0x22, 1, 0xbb}},
		"ipv6 with domain reply":                      {{5, 1, 0}, cat([]byte{5, 1, 0, 4}, netip.MustParseAddr("2001:db8::1").AsSlice(), []byte{0, 25})},
		"local resolution":                            {{5, 1, 0}, {5, 1, 0, 1, 192, 0, 2, 9, 0, 80}},
		"server picks no-auth although creds offered": {{5, 2, 0, 2}, cat([]byte{5, 1, 0, 3, 11}, []byte("example.com"), []byte{1, 0xbb})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := fakeProxy(t, tc.steps...)
			d := tc.d
			d.ProxyAddr = p.addr
			c, err := d.DialContext(context.Background(), "tcp", tc.target)
			require.NoError(t, err)
			defer c.Close()
			for _, w := range wants[tc.name] {
				require.Equal(t, w, p.next(t))
			}
			require.IsType(t, &net.TCPConn{}, c, "the tunnel is the proxy connection itself")
			peer := p.peer(t)
			peer.Write([]byte("ok"))
			b := make([]byte, 2)
			_, err = io.ReadFull(c, b)
			require.NoError(t, err)
			require.Equal(t, "ok", string(b), "no reply byte may be left in the stream")
		})
	}
}

func TestSOCKS5Failures(t *testing.T) {
	req := cat([]byte{5, 1, 0, 3, 11}, []byte("example.com"), []byte{0, 25})
	tests := []struct {
		name  string
		user  string
		steps []step
		is    error
		code  byte
	}{
		{"auth refused", "alice", []step{{4, []byte{5, 2}}, {14, []byte{1, 1}}}, ErrProxyAuthFailed, 0},
		{"auth required", "", []step{{3, []byte{5, 0xff}}}, ErrProxyAuthRequired, 0},
		{"no acceptable method", "alice", []step{{4, []byte{5, 0xff}}}, ErrProxyAuthUnsupported, 0},
		{"unoffered method", "", []step{{3, []byte{5, 2}}}, ErrProxyProtocol, 0},
		{"gssapi chosen", "alice", []step{{4, []byte{5, 1}}}, ErrProxyProtocol, 0},
		{"wrong version", "", []step{{3, []byte{4, 0}}}, ErrProxyProtocol, 0},
		{"host unreachable", "", []step{{3, []byte{5, 0}}, {len(req), []byte{5, 4, 0, 1, 0, 0, 0, 0, 0, 0}}}, nil, SOCKS5HostUnreachable},
		{"not allowed", "", []step{{3, []byte{5, 0}}, {len(req), []byte{5, 2, 0, 1, 0, 0, 0, 0, 0, 0}}}, nil, SOCKS5NotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := fakeProxy(t, tc.steps...)
			_, err := (&SOCKS5Dialer{ProxyAddr: p.addr, Username: tc.user, Password: NewSecret("s3cr3t")}).DialContext(context.Background(), "tcp", "example.com:25")
			require.Error(t, err)
			require.NotContains(t, err.Error(), "s3cr3t")
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
				return
			}
			var se *SOCKS5Error
			require.True(t, errors.As(err, &se), "%v", err)
			require.Equal(t, tc.code, se.Code)
		})
	}
	// RFC 1929 limits are enforced before any byte is sent.
	_, err := (&SOCKS5Dialer{ProxyAddr: "127.0.0.1:1", Username: "u", Password: NewSecret(string(make([]byte, 256)))}).DialContext(context.Background(), "tcp", "h:1")
	require.ErrorContains(t, err, "1-255 bytes")
}
