package o365

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// testCert returns a self-signed certificate for 127.0.0.1 and a pool
// trusting it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"smtp.test"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// parseXOAUTH2 splits the XOAUTH2 initial response
// "user=" u ^A "auth=Bearer " t ^A ^A.
func parseXOAUTH2(b []byte) (user, token string, err error) {
	s := string(b)
	if !strings.HasSuffix(s, "\x01\x01") {
		return "", "", errors.New("missing ^A^A terminator")
	}
	parts := strings.Split(strings.TrimSuffix(s, "\x01\x01"), "\x01")
	if len(parts) != 2 {
		return "", "", errors.New("want two fields")
	}
	user, ok1 := strings.CutPrefix(parts[0], "user=")
	token, ok2 := strings.CutPrefix(parts[1], "auth=Bearer ")
	if !ok1 || !ok2 || user == "" || token == "" {
		return "", "", errors.New("bad fields")
	}
	return user, token, nil
}

// The XOAUTH2 example of Microsoft's "Authenticate an IMAP, POP or SMTP
// connection using OAuth" page.
func TestXOAUTH2GoldenVector(t *testing.T) {
	const blob = "dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9QmVhcmVyIEV3QkFBbDNCQUFVRkZwVUFvN0ozVmUwYmpMQldaV0NjbFJDM0VvQUEBAQ=="
	raw, err := base64.StdEncoding.DecodeString(blob)
	require.NoError(t, err)
	user, tok, err := parseXOAUTH2(raw)
	require.NoError(t, err)
	assert.Equal(t, "test@contoso.onmicrosoft.com", user)
	assert.Equal(t, "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA", tok)
	assert.Equal(t, raw, []byte("user="+user+"\x01auth=Bearer "+tok+"\x01\x01"))
}

// fakeEXO is an Exchange Online SMTP submission fake: STARTTLS, then AUTH
// XOAUTH2 checked against the tokens the fake token endpoint issued.
type fakeEXO struct {
	ms    *fakeMS
	scope string
	addr  string
	pool  *x509.CertPool

	mu         sync.Mutex // guards the fields below
	forms      []string   // "initial" or "334" per AUTH
	authFails  int
	mailFrom   []string
	msgs       [][]byte
	failMail   []*smtp.SMTPError // scripted MAIL replies
	rejectAuth int               // refuse this many valid AUTHs with 535 5.7.3
}

func newFakeEXO(t *testing.T, ms *fakeMS) *fakeEXO {
	cert, pool := testCert(t)
	x := &fakeEXO{ms: ms, scope: ms.srv.URL + "/.default", pool: pool}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &exoSession{x: x}, nil }))
	srv.Domain = "XX.outlook.office365.com"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	// Exchange Online accepts AUTH lines carrying a whole Entra token.
	srv.MaxLineLength = 16 << 10
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	x.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return x
}

func (x *fakeEXO) config(mode Mode) Config {
	cfg := x.ms.config(mode)
	cfg.SMTPAddr = x.addr
	cfg.TLSConfig = &tls.Config{RootCAs: x.pool, ServerName: "smtp.test"}
	return cfg
}

type exoSession struct {
	x      *fakeEXO
	authed bool
}

func (s *exoSession) AuthMechanisms() []string { return []string{"LOGIN", "XOAUTH2"} }

func (s *exoSession) Auth(mech string) (sasl.Server, error) {
	if mech != "XOAUTH2" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return &xoauth2Server{s: s}, nil
}

type xoauth2Server struct {
	s     *exoSession
	asked bool
}

func (a *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	x := a.s.x
	form := "initial"
	if resp == nil && !a.asked {
		// No initial response: ask for it with an empty 334.
		a.asked = true
		return []byte{}, false, nil
	}
	if a.asked {
		form = "334"
	}
	unsuccessful := &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 3},
		Message: "Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]"}
	user, tok, err := parseXOAUTH2(resp)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.forms = append(x.forms, form)
	if err != nil || user != x.ms.sender {
		x.authFails++
		return nil, true, unsuccessful
	}
	ok := false
	x.ms.with(func(f *fakeMS) {
		it, known := f.tokens[tok]
		ok = known && it.scope == x.scope && f.clock.Now().Before(it.expires)
		if known && it.scope != x.scope {
			f.wrongAud++
		}
	})
	if !ok || x.rejectAuth > 0 {
		if x.rejectAuth > 0 {
			x.rejectAuth--
		}
		x.authFails++
		return nil, true, unsuccessful
	}
	a.s.authed = true
	return nil, true, nil
}

func (s *exoSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 57}, Message: "Client not authenticated to send mail"}
	}
	x := s.x
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.failMail) > 0 {
		e := x.failMail[0]
		x.failMail = x.failMail[1:]
		return e
	}
	x.mailFrom = append(x.mailFrom, from)
	return nil
}

func (s *exoSession) Rcpt(string, *smtp.RcptOptions) error { return nil }

func (s *exoSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.x.mu.Lock()
	s.x.msgs = append(s.x.msgs, b)
	s.x.mu.Unlock()
	return nil
}

func (s *exoSession) Reset()        {}
func (s *exoSession) Logout() error { return nil }

func (x *fakeEXO) snap() (forms []string, fails int, froms []string, msgs [][]byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.forms...), x.authFails, append([]string(nil), x.mailFrom...), append([][]byte(nil), x.msgs...)
}

func TestSMTPXOAUTH2Delivers(t *testing.T) {
	for _, tc := range []struct {
		name string
		pad  int
		form string
	}{
		{"short token on the AUTH line", 0, "initial"},
		{"Entra-sized token after 334", 1500, "334"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := newFakeMS(t, false)
			if tc.pad > 0 {
				ms.with(func(f *fakeMS) { f.roles[f.srv.URL] = []string{strings.Repeat("SMTP.SendAsApp", tc.pad/14)} })
			}
			x := newFakeEXO(t, ms)
			cfg := x.config(ModeSMTP)
			s := newTestSender(t, cfg)
			env := mailqueue.Envelope{From: "someone-else@example.com", To: []string{"bob@example.com"}}
			require.NoError(t, s.Send(context.Background(), env, []byte(testMsg)))
			forms, fails, froms, msgs := x.snap()
			assert.Equal(t, []string{tc.form}, forms)
			assert.Zero(t, fails)
			assert.Equal(t, []string{testSender}, froms, "MAIL FROM is the authenticated mailbox")
			require.Len(t, msgs, 1)
			assert.Equal(t, testMsg, string(msgs[0]))
			assert.Equal(t, []string{ms.srv.URL + "/.default"}, ms.snap().tokenScopes, "Exchange scope, never Graph's")
		})
	}
}

func TestSMTPAuthRefusedIsConfigAfterOneRefresh(t *testing.T) {
	ms := newFakeMS(t, false)
	x := newFakeEXO(t, ms)
	x.mu.Lock()
	x.rejectAuth = 2
	x.mu.Unlock()
	s := newTestSender(t, x.config(ModeSMTP))
	err := s.Send(context.Background(), testEnv, []byte(testMsg))
	de := requireClass(t, err, mailqueue.ClassConfig)
	assert.Equal(t, 535, de.Code)
	assert.Equal(t, "5.7.3", de.Enhanced)
	assert.Contains(t, de.Hint, "SMTP.SendAsApp")
	assert.Contains(t, de.Hint, "New-ServicePrincipal")
	assert.Equal(t, 2, ms.snap().tokenCalls, "one forced refresh")
	_, fails, _, _ := x.snap()
	assert.Equal(t, 2, fails)
}

func TestSMTPRejectedTokenRefreshedOnceThenDelivers(t *testing.T) {
	ms := newFakeMS(t, false)
	x := newFakeEXO(t, ms)
	x.mu.Lock()
	x.rejectAuth = 1
	x.mu.Unlock()
	s := newTestSender(t, x.config(ModeSMTP))
	require.NoError(t, s.Send(context.Background(), testEnv, []byte(testMsg)))
	assert.Equal(t, 2, ms.snap().tokenCalls)
}

func TestSMTPThrottleIsTemporary(t *testing.T) {
	ms := newFakeMS(t, false)
	x := newFakeEXO(t, ms)
	x.mu.Lock()
	x.failMail = []*smtp.SMTPError{{Code: 432, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information."}}
	x.mu.Unlock()
	s := newTestSender(t, x.config(ModeSMTP))
	de := requireClass(t, s.Send(context.Background(), testEnv, []byte(testMsg)), mailqueue.ClassTemporary)
	assert.Equal(t, 432, de.Code)
	assert.Equal(t, time.Minute, de.RetryAfter)
	// The next attempt goes through on the kept connection.
	require.NoError(t, s.Send(context.Background(), testEnv, []byte(testMsg)))
}

func TestSMTPBadSecretIsConfig(t *testing.T) {
	ms := newFakeMS(t, false)
	x := newFakeEXO(t, ms)
	cfg := x.config(ModeSMTP)
	cfg.ClientSecret = NewSecret("expired")
	s := newTestSender(t, cfg)
	de := requireClass(t, s.Send(context.Background(), testEnv, []byte(testMsg)), mailqueue.ClassConfig)
	assert.Equal(t, "token", de.Step)
	forms, _, _, _ := x.snap()
	assert.Empty(t, forms, "no AUTH attempted without a token")
}

func TestSMTPTestConnection(t *testing.T) {
	ms := newFakeMS(t, false)
	ms.with(func(f *fakeMS) { f.roles[f.srv.URL] = []string{"SMTP.SendAsApp"} })
	x := newFakeEXO(t, ms)
	s := newTestSender(t, x.config(ModeSMTP))
	rep, err := s.TestConnection(context.Background())
	require.NoError(t, err, rep.String())
	assert.True(t, rep.OK)
	names := []string{}
	for _, st := range rep.Steps {
		names = append(names, st.Name)
		assert.NotEqual(t, StepFailed, st.Status, st.Name+": "+st.Detail)
	}
	assert.Equal(t, []string{"token", "permission"}, names[:2])
	assert.Contains(t, names, "auth")
	assert.Contains(t, names, "mail")
	_, _, froms, msgs := x.snap()
	assert.Equal(t, []string{testSender}, froms)
	assert.Empty(t, msgs, "no message sent by the test")
}

func TestSMTPRateLimiterPaces(t *testing.T) {
	clock := newFakeClock()
	var slept []time.Duration
	l := newLimiter(3, time.Minute, clock.Now)
	l.sleep = func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		clock.Advance(d)
		return nil
	}
	for range 3 {
		require.NoError(t, l.Wait(context.Background()))
		clock.Advance(10 * time.Second)
	}
	require.Empty(t, slept)
	require.NoError(t, l.Wait(context.Background()))
	assert.Equal(t, []time.Duration{30 * time.Second}, slept, "the 4th waits until the 1st is a minute old")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.sleep = sleepCtx
	err := l.Wait(ctx)
	assert.ErrorIs(t, err, context.Canceled)

	var none *limiter
	assert.NoError(t, none.Wait(ctx), "nil limiter never waits")
}

func TestSMTPThirtyPerMinuteDefault(t *testing.T) {
	ms := newFakeMS(t, false)
	x := newFakeEXO(t, ms)
	s := newTestSender(t, x.config(ModeSMTP))
	require.NotNil(t, s.smtp.limit)
	assert.Equal(t, 30, s.smtp.limit.n)
	var waited time.Duration
	s.smtp.limit.sleep = func(_ context.Context, d time.Duration) error {
		waited += d
		ms.clock.Advance(d)
		return nil
	}
	for range 31 {
		require.NoError(t, s.Send(context.Background(), testEnv, []byte(testMsg)))
	}
	assert.Equal(t, time.Minute, waited, "the 31st message waits for the window")
	_, _, _, msgs := x.snap()
	assert.Len(t, msgs, 31)
	assert.True(t, bytes.Equal(msgs[30], []byte(testMsg)))
}
