package o365

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// The host's HTTP client (with its proxy) carries both the token request
// and the send; nothing goes around it.
func TestProxyCarriesTokenAndSend(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  bool
		mode Mode
	}{
		{"graph over CONNECT", true, ModeGraph},
		{"ews over CONNECT", true, ModeEWS},
		{"graph forwarded (http)", false, ModeGraph},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeMS(t, tc.tls)
			p := newCountingProxy(t)
			base := f.srv.Client().Transport.(*http.Transport).Clone()
			base.Proxy = http.ProxyURL(p.URL())
			// Fresh connections per request so the proxy sees each one.
			base.DisableKeepAlives = true
			cfg := f.config(tc.mode)
			cfg.HTTPClient = &http.Client{Transport: base}
			s := newTestSender(t, cfg)
			require.NoError(t, s.Send(context.Background(), testEnv, []byte(testMsg)))
			sn := f.snap()
			assert.Equal(t, 1, sn.tokenCalls)
			assert.Equal(t, 1, len(sn.graphMsgs)+len(sn.ewsMsgs))
			if tc.tls {
				assert.EqualValues(t, 2, p.connects.Load(), "one tunnel for the token, one for the send")
				assert.Zero(t, p.forwards.Load())
			} else {
				assert.EqualValues(t, 2, p.forwards.Load(), "token and send forwarded")
				assert.Zero(t, p.connects.Load())
			}
		})
	}
}

// SMTP mode: the token request goes through the HTTP client's proxy and
// the SMTP connection through the Dialer (here a CONNECT tunnel through
// the same proxy).
func TestProxyCarriesSMTPModeToo(t *testing.T) {
	f := newFakeMS(t, true)
	x := newFakeEXO(t, f)
	p := newCountingProxy(t)
	base := f.srv.Client().Transport.(*http.Transport).Clone()
	base.Proxy = http.ProxyURL(p.URL())
	cfg := x.config(ModeSMTP)
	cfg.HTTPClient = &http.Client{Transport: base}
	cfg.Dialer = connectDialer{proxyAddr: p.srv.Listener.Addr().String()}
	s := newTestSender(t, cfg)
	require.NoError(t, s.Send(context.Background(), testEnv, []byte(testMsg)))
	assert.EqualValues(t, 2, p.connects.Load(), "token tunnel + SMTP tunnel")
	v, ok := p.targets.Load(x.addr)
	require.True(t, ok, "SMTP went through the proxy")
	assert.NotZero(t, v)
	_, _, _, msgs := x.snap()
	assert.Len(t, msgs, 1)
}

// TLS is verified by default: a client that does not trust the fake's
// certificate fails at the token step as a transport problem.
func TestTLSVerifiedByDefault(t *testing.T) {
	f := newFakeMS(t, true)
	cfg := f.config(ModeGraph)
	cfg.HTTPClient = nil // default client: system roots only
	s := newTestSender(t, cfg)
	err := s.Send(context.Background(), testEnv, []byte(testMsg))
	de := requireClass(t, err, mailqueue.ClassTransport)
	assert.Equal(t, "token", de.Step)
	if os.Getenv("HTTPS_PROXY") == "" && os.Getenv("https_proxy") == "" {
		assert.True(t, strings.Contains(err.Error(), "certificate"), err.Error())
	}
	assert.Zero(t, f.snap().tokenCalls)
}
