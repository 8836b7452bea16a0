package adminui_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/sysparams"
	"github.com/ucxkit/ucxkit/sysparams/adminui"
)

// echoAuthServer is an implicit-TLS SMTP server that refuses AUTH and
// quotes what it received, decoded and raw, in its 535 reply.
func echoAuthServer(t *testing.T) (port int, cfg *tls.Config) {
	t.Helper()
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(ts.Close)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ts.TLS.Clone())
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				w := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
				w("220 echo.test ESMTP")
				for {
					l, err := br.ReadString('\n')
					if err != nil {
						return
					}
					f := strings.Fields(l)
					if len(f) == 0 {
						continue
					}
					switch strings.ToUpper(f[0]) {
					case "EHLO", "HELO":
						w("250-echo.test\r\n250 AUTH PLAIN LOGIN")
					case "AUTH":
						raw := ""
						if len(f) > 2 {
							raw = f[2]
						}
						dec, _ := base64.StdEncoding.DecodeString(raw)
						w("535 5.7.8 refused " + raw + " = " + strings.ReplaceAll(string(dec), "\x00", "|"))
					case "QUIT":
						w("221 bye")
						return
					default:
						w("250 ok")
					}
				}
			}(c)
		}
	}()
	pool := ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	return ln.Addr().(*net.TCPAddr).Port, &tls.Config{RootCAs: pool}
}

// A server that echoes the credentials in its error reply must not get
// the stored password onto the page through the test's step details.
func TestEmailTestScrubsEchoedSecrets(t *testing.T) {
	port, tlsCfg := echoAuthServer(t)
	e := newEnv(t, func(p *sysparams.Params) {
		withSecrets(p)
		p.Email.Port = port
		p.Email.Security = sysparams.Security("tls")
	}, func(o *adminui.Options) { o.MailOptions.TLSConfig = tlsCfg })
	r := e.post("/email", "/email/test", url.Values{"email.enabled": {"on"}, "email.protocol": {"smtp"}, "email.from": {"fax@example.com"},
		"email.server": {"127.0.0.1"}, "email.port": {itoa(port)}, "email.security": {"tls"}, "email.use_auth": {"on"},
		"email.username": {"fax"}, "email.proxy": {"none"}, "email.o365.mode": {"graph"}, "email.o365.cloud": {"global"}})
	require.Equal(t, http.StatusOK, r.code, r.body)
	assert.Contains(t, r.body, "Connection test: failed at step “auth”")
	assert.Contains(t, r.body, "[REDACTED]", "the server's echo is shown, redacted")
	assert.NotContains(t, r.body, base64.StdEncoding.EncodeToString([]byte("\x00fax\x00"+secEmail)))
	e.requireNoSecrets()
}
