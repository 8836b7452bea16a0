package sysparams

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/authchain"
	"github.com/ucxkit/ucxkit/certgen"
	"github.com/ucxkit/ucxkit/mailqueue"
	"github.com/ucxkit/ucxkit/mailqueue/o365"
	"github.com/ucxkit/ucxkit/numplan"
	"github.com/ucxkit/ucxkit/proxycfg"
	"github.com/ucxkit/ucxkit/proxycfg/proxytest"
)

const testMsg = "From: fax-ha@example.com\r\nTo: bob@example.com\r\nSubject: t\r\n\r\nhello\r\n"

func TestMailSenderSMTPDirect(t *testing.T) {
	ctx := context.Background()
	s := newSink(t)
	p := sinkParams(s)
	snd, err := p.MailSender(MailOptions{})
	require.NoError(t, err)
	defer snd.Close()
	require.NoError(t, snd.Send(ctx, mailqueue.Envelope{From: "fax-ha@example.com", To: []string{"bob@example.com"}}, []byte(testMsg)))
	msgs := s.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, []string{"bob@example.com"}, msgs[0].To)
	require.Contains(t, string(msgs[0].Data), "hello")

	p.Email.Enabled = false
	_, err = p.MailSender(MailOptions{})
	require.ErrorIs(t, err, ErrEmailDisabled)
}

func TestMailSenderThroughSelectedProxy(t *testing.T) {
	ctx := context.Background()
	s := newSink(t)
	httpProxy, err := proxytest.NewServer(proxytest.HTTP, proxytest.Options{Username: "us@er", Password: testProxyPassword})
	require.NoError(t, err)
	defer httpProxy.Close()
	socksProxy, err := proxytest.NewServer(proxytest.SOCKS5, proxytest.Options{Username: "s", Password: testProxyPassword})
	require.NoError(t, err)
	defer socksProxy.Close()

	for _, choice := range []ProxyChoice{ProxyHTTP, ProxySOCKS, ProxyNone} {
		t.Run(string(choice), func(t *testing.T) {
			p := sinkParams(s)
			p.Proxy.HTTP = proxycfg.HTTPProxy{Address: "127.0.0.1", Port: portOf(httpProxy.Addr), Username: "us@er", Password: proxycfg.NewSecret(testProxyPassword)}
			p.Proxy.SOCKS = proxycfg.SOCKSProxy{Version: 5, Address: "127.0.0.1", Port: portOf(socksProxy.Addr), Username: "s", Password: proxycfg.NewSecret(testProxyPassword)}
			p.Email.Proxy = choice
			require.NoError(t, p.Validate())
			hBefore, sBefore := len(httpProxy.Targets()), len(socksProxy.Targets())

			rep, err := p.TestEmail(ctx)
			require.NoError(t, err, "%s", rep)
			require.True(t, rep.OK)
			snd, err := p.MailSender(MailOptions{})
			require.NoError(t, err)
			require.NoError(t, snd.Send(ctx, mailqueue.Envelope{From: "fax-ha@example.com", To: []string{"bob@example.com"}}, []byte(testMsg)))
			snd.Close()

			hAfter, sAfter := len(httpProxy.Targets()), len(socksProxy.Targets())
			switch choice {
			case ProxyHTTP:
				require.Greater(t, hAfter, hBefore)
				require.Equal(t, sBefore, sAfter)
				require.Equal(t, s.Addr, httpProxy.Targets()[hAfter-1])
			case ProxySOCKS:
				require.Greater(t, sAfter, sBefore)
				require.Equal(t, hBefore, hAfter)
			case ProxyNone:
				require.Equal(t, hBefore, hAfter)
				require.Equal(t, sBefore, sAfter)
			}
		})
	}
}

func portOf(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	n := 0
	for _, c := range addr[i+1:] {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestTestEmailReportsFailedStep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := newSink(t)
	p := sinkParams(s)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.Email.Port = portOf(ln.Addr().String())
	ln.Close() // nothing listens there any more
	rep, err := p.TestEmail(ctx)
	require.Error(t, err)
	require.False(t, rep.OK)
	require.Equal(t, "dial", rep.FailedStep)
	require.Contains(t, rep.String(), "result: failed at dial")

	p.Email.Server = ""
	rep, err = p.TestEmail(ctx)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "config", rep.FailedStep)
	require.Contains(t, err.Error(), "email.server: is mandatory")

	// Testing works before email is enabled (the admin tests, then saves).
	s2 := newSink(t)
	p = sinkParams(s2)
	p.Email.Enabled = false
	rep, err = p.TestEmail(ctx)
	require.NoError(t, err)
	require.True(t, rep.OK)
}

// fakeMicrosoft serves the token endpoint and Graph sendMail as documented.
func fakeMicrosoft(t *testing.T, sent *atomic.Int32) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tenant-1/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		require.Equal(t, "client_credentials", r.PostForm.Get("grant_type"))
		if r.PostForm.Get("client_secret") != testO365Secret {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "tok", "token_type": "Bearer", "expires_in": 3600})
	})
	mux.HandleFunc("POST /v1.0/users/{user}/sendMail", func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
		require.Equal(t, "fax@example.onmicrosoft.com", r.PathValue("user"))
		sent.Add(1)
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("GET /v1.0/users/{user}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": "1", "mail": r.PathValue("user"), "userPrincipalName": r.PathValue("user")})
	})
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestMailSenderO365Graph(t *testing.T) {
	ctx := context.Background()
	var sent atomic.Int32
	ms := fakeMicrosoft(t, &sent)
	p := validParams()
	p.Email.Protocol = ProtocolO365
	p.Email.O365 = O365{
		ClientID: "1cb8b5d2-8724-4f32-8152-a16a230b682b", TenantID: "tenant-1", ClientSecret: NewSecret(testO365Secret),
		Address: "fax@example.onmicrosoft.com", Mode: o365.ModeGraph, Cloud: o365.CloudGlobal,
		AuthURL: ms.URL, GraphURL: ms.URL,
	}
	require.NoError(t, p.Validate())
	snd, err := p.MailSender(MailOptions{HTTPClient: ms.Client()})
	require.NoError(t, err)
	defer snd.Close()
	require.NoError(t, snd.Send(ctx, mailqueue.Envelope{From: "fax@example.onmicrosoft.com", To: []string{"bob@example.com"}}, []byte(testMsg)))
	require.EqualValues(t, 1, sent.Load())

	rep, err := p.TestEmailWith(ctx, MailOptions{HTTPClient: ms.Client()})
	require.NoError(t, err, "%s", rep)
	require.True(t, rep.OK)
	require.Equal(t, ProtocolO365, rep.Protocol)
	require.Equal(t, []string{"token", "permission", "mailbox"}, stepNames(rep))
	require.EqualValues(t, 1, sent.Load(), "a connection test sends nothing")

	p.Email.O365.ClientSecret = NewSecret("wrong")
	rep, err = p.TestEmailWith(ctx, MailOptions{HTTPClient: ms.Client()})
	require.Error(t, err)
	require.False(t, rep.OK)
	require.Equal(t, "token", rep.FailedStep)
	require.NotContains(t, rep.String(), "wrong")

	snd2, err := p.MailSender(MailOptions{HTTPClient: ms.Client()})
	require.NoError(t, err)
	defer snd2.Close()
	err = snd2.Send(ctx, mailqueue.Envelope{From: "fax@example.onmicrosoft.com", To: []string{"bob@example.com"}}, []byte(testMsg))
	require.Error(t, err)
	require.Equal(t, mailqueue.ClassConfig, mailqueue.ClassOf(err))
	require.NotContains(t, err.Error(), "wrong")
}

func TestNormalizerFromParams(t *testing.T) {
	p := validParams()
	p.NumberingPlan = numplan.Config{LocalCountryCode: "+39", InternationalPrefix: "00", IncomingPrefix: "0", OutgoingPrefix: "0", InternalPatterns: []string{"2XXX"}}
	plan, err := p.Normalizer(numplan.Options{})
	require.NoError(t, err)
	require.Equal(t, "+390612345678", plan.In("00612345678").Key)
	require.Equal(t, numplan.KindInternal, plan.In("2001").Kind)

	p.NumberingPlan.InternalPatterns = []string{"+44!"}
	_, err = p.Normalizer(numplan.Options{})
	require.ErrorContains(t, err, "numbering_plan")
}

func TestEnsureCertificateFromParams(t *testing.T) {
	dir := t.TempDir()
	p := validParams()
	p.Certificate.KeyType = certgen.KeyECDSAP256
	p.Certificate.ExtraNames = []string{"ucx.example.com", "10.0.0.5"}
	pair, st, err := p.EnsureCertificate(dir, "IAS-SRV01.corp.example.com", nil)
	require.NoError(t, err)
	require.NotNil(t, pair)
	require.Equal(t, certgen.ActionCreated, st.Action)
	require.Equal(t, certgen.StateValid, st.State)
	require.Contains(t, st.DNSNames, "ias-srv01")
	require.Contains(t, st.DNSNames, "ias-srv01.corp.example.com")
	require.Contains(t, st.DNSNames, "ucx.example.com")
	require.Contains(t, st.IPAddresses, "10.0.0.5")
	require.Equal(t, "IAS-SRV01", st.Subject)

	_, st, err = p.EnsureCertificate(dir, "IAS-SRV01.corp.example.com", nil)
	require.NoError(t, err)
	require.Equal(t, certgen.ActionLoaded, st.Action)
}

func TestSessionManagerFromParams(t *testing.T) {
	p := validParams()
	p.Authentication.InactivityTimeout = Duration(10 * Day)
	p.Authentication.RememberUser = false
	sc := p.SessionConfig()
	require.False(t, sc.RememberUser)
	require.Equal(t, Duration(10*Day), sc.InactivityTimeout)
	m, err := p.SessionManager(authchain.NewMemoryStore())
	require.NoError(t, err)
	require.Equal(t, sc.InactivityTimeout, m.Config().InactivityTimeout)
}

func TestHTTPClientFromParamsUsesProxy(t *testing.T) {
	hp, err := proxytest.NewServer(proxytest.HTTP, proxytest.Options{})
	require.NoError(t, err)
	defer hp.Close()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer target.Close()
	p := validParams()
	p.Proxy.HTTP = proxycfg.HTTPProxy{Address: "127.0.0.1", Port: portOf(hp.Addr)}
	c, err := p.HTTPClient()
	require.NoError(t, err)
	resp, err := c.Get(target.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.NotEmpty(t, hp.Targets())
}

// TestMailHTTPClientIsBounded: the client built for Office 365 bounds each
// exchange, so a Send whose context has no deadline cannot wait forever on
// a service that never answers.
func TestMailHTTPClientIsBounded(t *testing.T) {
	for _, choice := range []ProxyChoice{ProxyNone, ProxyHTTP, ProxySOCKS} {
		p := validParams()
		setTestHTTPProxy(p)
		p.Proxy.SOCKS = proxycfg.SOCKSProxy{Address: "127.0.0.1", Port: 1080}
		p.Email.Proxy = choice
		c, err := p.MailHTTPClient()
		require.NoError(t, err)
		require.Equal(t, o365.DefaultHTTPTimeout, c.Timeout, choice)
	}
}

func stepNames(t EmailTest) []string {
	var out []string
	for _, s := range t.Steps {
		out = append(out, s.Name)
	}
	return out
}
