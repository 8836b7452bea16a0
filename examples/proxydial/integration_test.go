package main

import (
	"net"
	"net/url"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// realProxyURL builds the proxy URL of a real proxy started by
// .ci/integration/proxy.sh from UCXKIT_<prefix>_ADDR/_USER/_PASSWORD, with
// the credentials percent-encoded as a user would write them.
func realProxyURL(t *testing.T, scheme, prefix string) string {
	addr := os.Getenv("UCXKIT_" + prefix + "_ADDR")
	if addr == "" {
		t.Skipf("set UCXKIT_%s_ADDR, UCXKIT_%s_USER and UCXKIT_%s_PASSWORD to run against a real proxy; .ci/integration/proxy.sh does", prefix, prefix, prefix)
	}
	u := url.URL{Scheme: scheme, Host: addr, User: url.UserPassword(os.Getenv("UCXKIT_"+prefix+"_USER"), os.Getenv("UCXKIT_"+prefix+"_PASSWORD"))}
	return u.String()
}

func TestIntegrationCLISquid(t *testing.T) {
	p := realProxyURL(t, "http", "SQUID")
	target := lineServer(t)
	code, out, errs := runCLI("hi\r\nQUIT\r\n", "-proxy", p, target)
	require.Equal(t, 0, code, errs)
	require.Equal(t, "220 ready\r\nHI\r\n221 bye\r\n", out)

	u, _ := url.Parse(p)
	u.User = url.UserPassword(u.User.Username(), "wrong")
	code, _, errs = runCLI("", "-proxy", u.String(), target)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "407")
	code, _, errs = runCLI("", "-proxy", p, "192.0.2.1:25")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "X-Squid-Error: ERR_ACCESS_DENIED")
}

func TestIntegrationCLISOCKS(t *testing.T) {
	target := lineServer(t)
	_, port, _ := net.SplitHostPort(target)
	for _, p := range []string{realProxyURL(t, "socks5h", "MICROSOCKS"), realProxyURL(t, "socks5", "DANTE")} {
		code, out, errs := runCLI("QUIT\r\n", "-proxy", p, "localhost:"+port)
		require.Equal(t, 0, code, errs)
		require.Equal(t, "220 ready\r\n221 bye\r\n", out)
	}
}
