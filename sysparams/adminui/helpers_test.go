package adminui_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/sysparams"
	"github.com/ucxkit/ucxkit/sysparams/adminui"
)

// Distinctive secret values: no response body may ever contain them.
const (
	secEmail  = "mail-PASSWORD-e7f1"
	secO365   = "o365-SECRET-93ab"
	secHTTP   = "http-PROXYPASS-51c2"
	secSOCKS  = "socks-PROXYPASS-7d0e"
	secCloud  = "cloud-SECRET-a4b9"
	adminHdr  = "X-Test-Admin"
	fixedHost = "ucx-test"
)

var allSecrets = []string{secEmail, secO365, secHTTP, secSOCKS, secCloud}

// env is one handler over a real file store in a temp folder, served by
// an httptest server, with a browser-like client (cookie jar, no
// redirects followed).
type env struct {
	t      *testing.T
	dir    string
	store  *sysparams.FileStore
	srv    *httptest.Server
	client *http.Client
	base   string // BasePath
	bodies []string
}

type envOpt func(*adminui.Options)

func newEnv(t *testing.T, seed func(*sysparams.Params), opts ...envOpt) *env {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	store, err := sysparams.OpenFile(ctx, filepath.Join(dir, "params.json"), sysparams.FileOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	_, err = store.Update(ctx, func(p *sysparams.Params) error {
		p.Telephony = sysparams.Telephony{SystemName: "HQ", PBXAddress: "10.0.0.1"}
		if seed != nil {
			seed(p)
		}
		return nil
	})
	require.NoError(t, err)
	o := adminui.Options{
		Authorize: func(r *http.Request) bool { return r.Header.Get(adminHdr) == "yes" },
		Hostname:  fixedHost,
		Now:       func() time.Time { return time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC) },
	}
	for _, f := range opts {
		f(&o)
	}
	h, err := adminui.New(store, o)
	require.NoError(t, err)
	e := &env{t: t, dir: dir, store: store, base: o.BasePath}
	var root http.Handler = h
	if o.BasePath != "" {
		m := http.NewServeMux()
		m.Handle(o.BasePath+"/", h)
		m.Handle(o.BasePath, h)
		root = m
	}
	e.srv = httptest.NewServer(root)
	t.Cleanup(e.srv.Close)
	jar, _ := cookiejar.New(nil)
	e.client = &http.Client{
		Jar:           jar,
		Transport:     adminTransport{e.srv.Client().Transport},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return e
}

// adminTransport marks every request as coming from an administrator.
type adminTransport struct{ next http.RoundTripper }

func (a adminTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if r.Header.Get(adminHdr) == "" {
		r.Header.Set(adminHdr, "yes")
	}
	return a.next.RoundTrip(r)
}

type resp struct {
	code int
	body string
	hdr  http.Header
}

func (e *env) do(req *http.Request) resp {
	e.t.Helper()
	res, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	e.bodies = append(e.bodies, string(b))
	return resp{code: res.StatusCode, body: string(b), hdr: res.Header}
}

func (e *env) get(path string) resp {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+e.base+path, nil)
	require.NoError(e.t, err)
	return e.do(req)
}

func (e *env) postRaw(path string, form url.Values) resp {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+e.base+path, strings.NewReader(form.Encode()))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

var tokenRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token loads a page and returns its CSRF token (the cookie is in the jar).
func (e *env) token(page string) string {
	e.t.Helper()
	r := e.get(page)
	require.Equal(e.t, http.StatusOK, r.code, r.body)
	m := tokenRE.FindStringSubmatch(r.body)
	require.NotNil(e.t, m, "no csrf token on %s", page)
	return m[1]
}

// post submits form to path with a valid token taken from page.
func (e *env) post(page, path string, form url.Values) resp {
	e.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("csrf_token", e.token(page))
	return e.postRaw(path, f)
}

func (e *env) params() *sysparams.Params {
	e.t.Helper()
	p, err := e.store.Load(context.Background())
	require.NoError(e.t, err)
	return p
}

func (e *env) fileBytes() []byte {
	e.t.Helper()
	b, err := os.ReadFile(e.store.Path())
	require.NoError(e.t, err)
	return b
}

// requireNoSecrets checks every body this env has received.
func (e *env) requireNoSecrets() {
	e.t.Helper()
	for _, b := range e.bodies {
		for _, s := range allSecrets {
			require.NotContains(e.t, b, s)
		}
	}
}

// fieldDesc returns the description block rendered next to a field
// (its errors and hint), by the field's id.
func fieldDesc(body, id string) string {
	i := strings.Index(body, `id="`+id+`-d"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	if j := strings.Index(rest, "</div>"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// withSecrets fills every secret field and what it needs to validate.
func withSecrets(p *sysparams.Params) {
	p.Email.Enabled = true
	p.Email.From = "fax@example.com"
	p.Email.Server = "127.0.0.1"
	p.Email.Port = 25
	p.Email.UseAuth = true
	p.Email.Username = "fax"
	p.Email.Password = sysparams.NewSecret(secEmail)
	p.Email.O365.ClientSecret = sysparams.NewSecret(secO365)
	p.Proxy.HTTP.Address = "10.0.0.2"
	p.Proxy.HTTP.Port = 3128
	p.Proxy.HTTP.Username = "hu"
	p.Proxy.HTTP.Password = adminui.NewSecret(secHTTP)
	p.Proxy.SOCKS.Address = "10.0.0.4"
	p.Proxy.SOCKS.Port = 1080
	p.Proxy.SOCKS.Version = 5
	p.Proxy.SOCKS.Username = "su"
	p.Proxy.SOCKS.Password = adminui.NewSecret(secSOCKS)
	p.Cloud.ClientID = "cloud-client"
	p.Cloud.ClientSecret = sysparams.NewSecret(secCloud)
}

// smtpSink is an in-process SMTP server that accepts everything.
type smtpSink struct{}

func (smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return sinkSession{}, nil }

type sinkSession struct{}

func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (sinkSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
func (sinkSession) Reset()                               {}
func (sinkSession) Logout() error                        { return nil }

// startSMTP serves smtpSink on 127.0.0.1:0 and returns its port.
func startSMTP(t *testing.T) int {
	t.Helper()
	s := smtp.NewServer(smtpSink{})
	s.Domain = "sink.test"
	s.AllowInsecureAuth = true
	l, err := netListen()
	require.NoError(t, err)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { s.Close() })
	return l.Addr().(*netTCPAddr).Port
}

// contains reports whether b contains s (bytes helper for file checks).
func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }

type netTCPAddr = net.TCPAddr

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// newEnvFromHandler serves an existing handler with the test client.
func newEnvFromHandler(t *testing.T, h http.Handler) *env {
	t.Helper()
	e := &env{t: t}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	jar, _ := cookiejar.New(nil)
	e.client = &http.Client{Jar: jar, Transport: adminTransport{e.srv.Client().Transport},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func itoa(n int) string { return strconv.Itoa(n) }

// closedPort returns a port on 127.0.0.1 that nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := netListen()
	require.NoError(t, err)
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
