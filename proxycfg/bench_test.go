package proxycfg_test

import (
	"context"
	"io"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/ucxkit/ucxkit/proxycfg"
	"github.com/ucxkit/ucxkit/proxycfg/proxytest"
)

// chunk is what one benchmark round sends before the sink acknowledges it,
// so that each round measures end-to-end delivery, not socket buffering.
const chunk = 8 << 20

// ackSink reads chunk bytes at a time and answers one byte for each.
func ackSink(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				for {
					n := 0
					for n < chunk {
						m, err := c.Read(buf[:min(len(buf), chunk-n)])
						if err != nil {
							return
						}
						n += m
					}
					if _, err := c.Write([]byte{1}); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// plainRelay forwards every connection to target without any proxy
// protocol: the same extra hop as a proxy, with nothing else.
func plainRelay(b *testing.B, target string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(c, up)
				io.Copy(up, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// round sends one chunk and waits for the acknowledgement.
func round(b *testing.B, c net.Conn, payload []byte) time.Duration {
	start := time.Now()
	if _, err := c.Write(payload); err != nil {
		b.Fatal(err)
	}
	var ack [1]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// BenchmarkTunnelThroughput compares bulk transfer through each tunnel with a
// direct loopback connection and with a plain TCP relay (the same extra hop
// as the proxy, without a proxy protocol), interleaving the three in every
// iteration so that machine load affects them alike. Metrics: MB/s of each,
// the tunnel's share of the direct throughput (%direct) and of the relay's
// (%relay, what the tunnel itself costs once the hop is accounted for).
func BenchmarkTunnelThroughput(b *testing.B) {
	target := ackSink(b)
	relayAddr := plainRelay(b, target)
	payload := make([]byte, chunk)
	type tunnelCase struct {
		name   string
		kind   proxytest.Kind
		dialer func(addr string) proxy.ContextDialer
		real   string // address of a real proxy (integration suite); "" = in-process
	}
	cases := []tunnelCase{
		{"connect", proxytest.HTTP, func(a string) proxy.ContextDialer {
			return &proxycfg.ConnectDialer{ProxyAddr: a, Username: "u", Password: proxycfg.NewSecret("p")}
		}, ""},
		{"socks4", proxytest.SOCKS4, func(a string) proxy.ContextDialer { return &proxycfg.SOCKS4Dialer{ProxyAddr: a, UserID: "u"} }, ""},
		{"socks5", proxytest.SOCKS5, func(a string) proxy.ContextDialer {
			return &proxycfg.SOCKS5Dialer{ProxyAddr: a, Username: "u", Password: proxycfg.NewSecret("p")}
		}, ""},
	}
	// The real proxies of .ci/integration/proxy.sh, when it runs the benchmarks.
	env := func(k string) string { return os.Getenv("UCXKIT_" + k) }
	if a := env("SQUID_ADDR"); a != "" {
		cases = append(cases, tunnelCase{"squid", 0, func(a string) proxy.ContextDialer {
			return &proxycfg.ConnectDialer{ProxyAddr: a, Username: env("SQUID_USER"), Password: proxycfg.NewSecret(env("SQUID_PASSWORD"))}
		}, a})
	}
	if a := env("DANTE_ADDR"); a != "" {
		cases = append(cases, tunnelCase{"dante-socks5", 0, func(a string) proxy.ContextDialer {
			return &proxycfg.SOCKS5Dialer{ProxyAddr: a, Username: env("DANTE_USER"), Password: proxycfg.NewSecret(env("DANTE_PASSWORD"))}
		}, a}, tunnelCase{"dante-socks4", 0, func(a string) proxy.ContextDialer {
			return &proxycfg.SOCKS4Dialer{ProxyAddr: a, UserID: env("DANTE_USER")}
		}, a})
	}
	if a := env("MICROSOCKS_ADDR"); a != "" {
		cases = append(cases, tunnelCase{"microsocks", 0, func(a string) proxy.ContextDialer {
			return &proxycfg.SOCKS5Dialer{ProxyAddr: a, Username: env("MICROSOCKS_USER"), Password: proxycfg.NewSecret(env("MICROSOCKS_PASSWORD"))}
		}, a})
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			proxyAddr := tc.real
			if proxyAddr == "" {
				pw := "p"
				if tc.kind == proxytest.SOCKS4 {
					pw = ""
				}
				srv, err := proxytest.NewServer(tc.kind, proxytest.Options{Username: "u", Password: pw})
				if err != nil {
					b.Fatal(err)
				}
				defer srv.Close()
				proxyAddr = srv.Addr
			}
			ctx := context.Background()
			tunnel, err := tc.dialer(proxyAddr).DialContext(ctx, "tcp", target)
			if err != nil {
				b.Fatal(err)
			}
			defer tunnel.Close()
			direct, err := net.Dial("tcp", target)
			if err != nil {
				b.Fatal(err)
			}
			defer direct.Close()
			relay, err := net.Dial("tcp", relayAddr)
			if err != nil {
				b.Fatal(err)
			}
			defer relay.Close()
			// Warm every path up.
			round(b, direct, payload)
			round(b, relay, payload)
			round(b, tunnel, payload)
			b.ResetTimer()
			// Medians of the rounds: a busy machine delays single rounds of
			// any path, and the median ignores those outliers.
			dDirect := make([]time.Duration, b.N)
			dRelay := make([]time.Duration, b.N)
			dTunnel := make([]time.Duration, b.N)
			for i := 0; i < b.N; i++ {
				dDirect[i] = round(b, direct, payload)
				dRelay[i] = round(b, relay, payload)
				dTunnel[i] = round(b, tunnel, payload)
			}
			md, mr, mt := median(dDirect), median(dRelay), median(dTunnel)
			const mb = float64(chunk) / 1e6
			b.ReportMetric(mb/md.Seconds(), "direct-MB/s")
			b.ReportMetric(mb/mr.Seconds(), "relay-MB/s")
			b.ReportMetric(mb/mt.Seconds(), "tunnel-MB/s")
			b.ReportMetric(100*md.Seconds()/mt.Seconds(), "%direct")
			b.ReportMetric(100*mr.Seconds()/mt.Seconds(), "%relay")
		})
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// acceptClose accepts connections and closes them at once.
func acceptClose(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkSOCKS5Setup compares the cost of opening one authenticated
// SOCKS5 connection with this package and with golang.org/x/net/proxy,
// against the same in-process proxy, alternating the two in every
// iteration, with a context that never ends (background) and with one that
// has a deadline (deadline, the realistic case). Metrics: median ns per
// connection of each and their ratio (ours/xnet; 1 or less means no worse).
func BenchmarkSOCKS5Setup(b *testing.B) {
	target := acceptClose(b)
	srv, err := proxytest.NewServer(proxytest.SOCKS5, proxytest.Options{Username: "alice", Password: "s3cr3t"})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ours := &proxycfg.SOCKS5Dialer{ProxyAddr: srv.Addr, Username: "alice", Password: proxycfg.NewSecret("s3cr3t")}
	xd, err := proxy.SOCKS5("tcp", srv.Addr, &proxy.Auth{User: "alice", Password: "s3cr3t"}, proxy.Direct)
	if err != nil {
		b.Fatal(err)
	}
	theirs := xd.(proxy.ContextDialer)
	for _, mode := range []string{"background", "deadline"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			if mode == "deadline" {
				// The realistic case: every dial carries a deadline.
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Hour)
				defer cancel()
			}
			once := func(d proxy.ContextDialer) time.Duration {
				start := time.Now()
				c, err := d.DialContext(ctx, "tcp", target)
				if err != nil {
					b.Fatal(err)
				}
				el := time.Since(start)
				c.Close()
				return el
			}
			once(ours)
			once(theirs)
			b.ReportAllocs()
			b.ResetTimer()
			dOurs := make([]time.Duration, b.N)
			dTheirs := make([]time.Duration, b.N)
			for i := 0; i < b.N; i++ {
				if i%2 == 0 {
					dOurs[i] = once(ours)
					dTheirs[i] = once(theirs)
				} else {
					dTheirs[i] = once(theirs)
					dOurs[i] = once(ours)
				}
			}
			mo, mt := median(dOurs), median(dTheirs)
			b.ReportMetric(float64(mo.Nanoseconds()), "ours-ns/conn")
			b.ReportMetric(float64(mt.Nanoseconds()), "xnet-ns/conn")
			b.ReportMetric(mo.Seconds()/mt.Seconds(), "ours/xnet")
		})
	}
}
