package adminui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/sysparams"
	"github.com/ucxkit/ucxkit/sysparams/adminui"
)

// Environment of the Chromium suite.
const (
	// envChromium is the browser binary; default /usr/bin/chromium.
	envChromium = "UCXKIT_CHROMIUM"
	// envShots, when set, is a folder that receives a copy of every
	// screenshot (the suite always writes them to its temp folder).
	envShots = "UCXKIT_ADMINUI_SHOTS"
)

// chromiumPath returns the browser to drive, or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv(envChromium)
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		t.Skipf("no Chromium at %s: install Debian's chromium package or set %s to the browser binary", p, envChromium)
	}
	return p
}

// browser is one headless Chromium with a fresh profile, driving the
// admin pages over a real file store.
type browser struct {
	t     *testing.T
	ctx   context.Context
	url   string
	store *sysparams.FileStore
	shots string
}

func newBrowser(t *testing.T) *browser {
	path := chromiumPath(t)
	dir := t.TempDir()
	ctx := context.Background()
	store, err := sysparams.OpenFile(ctx, filepath.Join(dir, "params.json"), sysparams.FileOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })

	// The browser is "logged in" by a cookie the test sets; without it the
	// handler refuses every request.
	const adminCookie = "test_admin"
	const adminToken = "7f3c0d5e9a1b2c4d"
	h, err := adminui.New(store, adminui.Options{
		Authorize: func(r *http.Request) bool {
			c, err := r.Cookie(adminCookie)
			return err == nil && c.Value == adminToken
		},
		Hostname: fixedHost,
	})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.UserDataDir(filepath.Join(dir, "chromium-profile")),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancelA)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(cancelB)
	tctx, cancelT := context.WithTimeout(bctx, 3*time.Minute)
	t.Cleanup(cancelT)

	b := &browser{t: t, ctx: tctx, url: srv.URL, store: store, shots: filepath.Join(dir, "shots")}
	require.NoError(t, os.MkdirAll(b.shots, 0o755))

	// Unauthenticated first: the handler refuses.
	b.do(chromedp.Navigate(srv.URL + "/"))
	assert.Contains(t, b.text("main"), "not allowed")
	b.shot("00-forbidden")

	_, err = chromedp.Call(tctx, network.SetCookie, network.SetCookieParams{
		Name: adminCookie, Value: adminToken, URL: srv.URL + "/",
	})
	require.NoError(t, err)
	return b
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, steps...))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(b.t, err, sel)
	return s
}

func (b *browser) html() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(b.t, err)
	return s
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.url+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
}

// submit clicks a button and waits for an element of the next page.
func (b *browser) submit(button, waitFor string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(button)), chromedp.WaitVisible(chromedp.CSS(waitFor)))
}

func (b *browser) set(id, value string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS("#"+id), value))
}

// shot saves a full-page PNG, and a copy to $UCXKIT_ADMINUI_SHOTS.
func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	require.NoError(b.t, os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644))
	if d := os.Getenv(envShots); d != "" {
		if err := os.MkdirAll(d, 0o755); err == nil {
			_ = os.WriteFile(filepath.Join(d, name+".png"), png, 0o644)
		}
	}
}

func (b *browser) params() *sysparams.Params {
	b.t.Helper()
	p, err := b.store.Load(context.Background())
	require.NoError(b.t, err)
	return p
}

func TestChromiumIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("browser suite skipped in -short mode")
	}
	b := newBrowser(t)

	// The section list, with telephony flagged on a fresh installation.
	b.open("/")
	assert.Contains(t, b.text("table.sections"), "IP Telephony system parameters")
	assert.Contains(t, b.text("table.sections"), "Set\u00a0»")
	bg, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("header.top")).backgroundColor`))
	require.NoError(t, err)
	assert.Equal(t, "rgb(11, 92, 173)", bg, "the stylesheet must load under the CSP")
	b.shot("01-index")

	// Telephony first: every other save validates the whole set.
	b.open("/telephony")
	b.set("f-telephony-system_name", "HQ")
	b.set("f-telephony-pbx_address", "10.0.0.1")
	b.shot("02-telephony")
	b.submit("form[action='/telephony'] button[type=submit]", ".notice.ok")
	assert.Contains(t, b.text("main"), sysparams.NoteTelephony)
	b.shot("03-telephony-saved")

	// Email: a validation error shown next to its field, nothing stored.
	b.open("/email")
	b.do(chromedp.Click(chromedp.CSS("#f-email-enabled")))
	b.set("f-email-from", "Fax <fax@example.com>")
	b.set("f-email-server", "127.0.0.1")
	b.set("f-email-port", "70000")
	b.do(chromedp.Click(chromedp.CSS("#f-email-use_auth")))
	b.set("f-email-username", "fax")
	b.set("f-email-password", secEmail)
	b.shot("04-email-filled")
	b.submit("form[action='/email'] button:not([formaction])", "#problems")
	assert.Contains(t, b.text("#f-email-port-d .err"), "must be 1-65535, got 70000")
	assert.Contains(t, b.text("#problems"), "email.port: must be 1-65535, got 70000")
	assert.False(t, b.params().Email.Enabled, "a refused save stores nothing")
	pw, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS("#f-email-password")))
	require.NoError(t, err)
	assert.Empty(t, pw, "the password is not sent back")
	assert.NotContains(t, b.html(), secEmail)
	b.shot("05-email-invalid")

	// Fix it and save; the password typed again is kept.
	b.set("f-email-port", "587")
	b.set("f-email-password", secEmail)
	b.submit("form[action='/email'] button:not([formaction])", ".notice.ok")
	p := b.params()
	assert.True(t, p.Email.Enabled)
	assert.Equal(t, 587, p.Email.Port)
	assert.Equal(t, secEmail, p.Email.Password.Reveal())
	assert.Contains(t, b.text("#f-email-password-d"), "Leave empty to keep it.")
	assert.NotContains(t, b.html(), secEmail)
	b.shot("06-email-saved")

	// Test connection against a port nothing listens on: the failed step.
	b.set("f-email-port", fmt.Sprint(closedPort(t)))
	b.submit("button[formaction='/email/test']", "section.test")
	assert.Contains(t, b.text("section.test h2"), "failed at step “dial”")
	assert.NotContains(t, b.html(), secEmail)
	assert.Equal(t, 587, b.params().Email.Port, "a test never saves")
	b.shot("07-email-test-failed")

	// Cloud credentials, then Forget.
	b.open("/cloud")
	b.set("f-cloud-client_id", "clientId")
	b.set("f-cloud-client_secret", secCloud)
	b.submit("form[action='/cloud'] button", ".saved")
	assert.Contains(t, b.text(".saved"), "Credentials saved using Client ID: clientId")
	assert.NotContains(t, b.html(), secCloud)
	assert.Equal(t, secCloud, b.params().Cloud.ClientSecret.Reveal())
	b.shot("08-cloud-saved")
	b.submit("form[action='/cloud/forget'] button", "#f-cloud-client_id")
	assert.False(t, b.params().Cloud.Configured())
	b.shot("09-cloud-forgotten")

	// Web server URL, then Forget.
	b.open("/web_server")
	b.set("f-web_server-base_url", "https://ucx.example.com")
	b.submit("form[action='/web_server'] button", ".saved")
	assert.Contains(t, b.text(".saved"), "https://ucx.example.com")
	assert.Contains(t, b.text("main"), sysparams.NoteWebServer)
	b.shot("10-web-server-saved")
	b.submit("form[action='/web_server/forget'] button", "#f-web_server-base_url")
	assert.Empty(t, b.params().WebServer.BaseURL)

	// Numbering plan with the explain tool.
	b.open("/numbering_plan")
	b.do(chromedp.Click(chromedp.CSS("#f-numbering_plan-use_defaults")))
	b.set("f-numbering_plan-internal_patterns", "2XXX\n3XXX")
	b.set("f-numbering_plan-local_country_code", "+39")
	b.set("f-numbering_plan-international_prefix", "00")
	b.submit("form[action='/numbering_plan'] button", ".notice.ok")
	b.set("x-number", "00390212345678")
	b.submit("form.inline button", "table.trace")
	assert.Contains(t, b.text("table.trace caption"), "+390212345678")
	b.shot("11-numbering-plan-explain")

	// Authentication, proxy (with its reboot warning), certificate.
	b.open("/authentication")
	b.do(chromedp.SetValue(chromedp.CSS("#f-authentication-order"), "sso>ldap>local"))
	b.set("f-authentication-inactivity_timeout", "12d")
	b.submit("form[action='/authentication'] button", ".notice.ok")
	assert.Equal(t, "sso>ldap>local", string(b.params().Authentication.Order))
	b.shot("12-authentication")

	b.open("/proxy")
	b.set("f-proxy-http-address", "10.0.0.2")
	b.set("f-proxy-http-port", "3128")
	b.set("f-proxy-http-username", "httpUsername")
	b.set("f-proxy-http-password", secHTTP)
	b.submit("form[action='/proxy'] button", ".notice.ok")
	assert.Contains(t, b.text("main"), sysparams.NoteProxy)
	assert.NotContains(t, b.html(), secHTTP)
	b.shot("13-proxy-saved")

	b.open("/certificate")
	assert.Contains(t, b.text("section.cert h2"), "missing")
	b.submit("form[action='/certificate/regenerate'] button", "a.button")
	assert.Contains(t, b.text("section.cert h2"), "valid")
	assert.Contains(t, b.text("section.cert dl"), "days left")
	b.shot("14-certificate")

	b.open("/")
	assert.NotContains(t, b.text("table.sections"), "to fix")
	b.shot("15-index-configured")
	for _, s := range []string{secEmail, secHTTP, secCloud} {
		assert.NotContains(t, b.html(), s)
	}
	moreSections(t, b)
	entries, err := os.ReadDir(b.shots)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(entries), 21)
	t.Logf("screenshots in %s", b.shots)

}

// moreSections drives the variants the first pass does not: the Office
// 365 email form, a changed server that asks for the password again, SOCKS
// v4, remember-user, "use default settings" turned back on, regenerating
// an existing certificate, and a save refused because someone else saved
// the page meanwhile.
func moreSections(t *testing.T, b *browser) {
	// A new server with the password left empty: type it again.
	b.open("/email")
	b.set("f-email-server", "mail.example.com")
	b.submit("form[action='/email'] button:not([formaction])", "#problems")
	assert.Contains(t, b.text("#f-email-password-d .err"), "type it again: the server changed")
	assert.Equal(t, "127.0.0.1", b.params().Email.Server)
	b.shot("16-email-retype-password")

	// Office 365.
	b.open("/email")
	b.do(chromedp.SetValue(chromedp.CSS("#f-email-protocol"), "o365"))
	b.set("f-email-o365-client_id", "1cb8b5d2-8724-4f32-8152-a16a230b682b")
	b.set("f-email-o365-tenant_id", "969d5b92-bc05-403f-b576-97201b665e65")
	b.set("f-email-o365-client_secret", secO365)
	b.set("f-email-o365-address", "fax@example.com")
	b.submit("form[action='/email'] button:not([formaction])", ".notice.ok")
	p := b.params()
	assert.Equal(t, sysparams.ProtocolO365, p.Email.Protocol)
	assert.Equal(t, secO365, p.Email.O365.ClientSecret.Reveal())
	assert.NotContains(t, b.html(), secO365)
	b.open("/")
	assert.Contains(t, b.text("table.sections"), "Office 365 as fax@example.com")
	b.shot("17-email-o365-saved")

	// SOCKS v4 beside the HTTP proxy.
	b.open("/proxy")
	b.set("f-proxy-socks-address", "10.0.0.4")
	b.set("f-proxy-socks-port", "1080")
	b.do(chromedp.Click(chromedp.CSS("#f-proxy-socks-version-4")))
	b.submit("form[action='/proxy'] button", ".notice.ok")
	p = b.params()
	assert.Equal(t, 4, p.Proxy.SOCKS.Version)
	assert.Equal(t, secHTTP, p.Proxy.HTTP.Password.Reveal(), "same HTTP proxy: the stored password is kept")
	b.shot("18-proxy-socks4")

	// Remember logged in user.
	b.open("/authentication")
	want := !p.Authentication.RememberUser
	b.do(chromedp.SetValue(chromedp.CSS("#f-authentication-remember_user"), fmt.Sprint(want)))
	b.submit("form[action='/authentication'] button", ".notice.ok")
	assert.Equal(t, want, b.params().Authentication.RememberUser)

	// Back to the default numbering plan; the custom one is kept.
	b.open("/numbering_plan")
	b.do(chromedp.Click(chromedp.CSS("#f-numbering_plan-use_defaults")))
	b.submit("form[action='/numbering_plan'] button", ".notice.ok")
	p = b.params()
	assert.True(t, p.NumberingPlan.UseDefaults)
	assert.Equal(t, []string{"2XXX", "3XXX"}, p.NumberingPlan.InternalPatterns)
	b.shot("19-numbering-plan-defaults")

	// Regenerate the existing certificate: a new serial, and the
	// download link.
	b.open("/certificate")
	serial := b.text("section.cert dd code")
	b.submit("form[action='/certificate/regenerate'] button", ".notice.ok")
	assert.Contains(t, b.text(".notice.ok"), "Certificate regenerated")
	assert.NotEqual(t, serial, b.text("section.cert dd code"))
	href, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS("a.button"), "href"))
	require.NoError(t, err)
	assert.Equal(t, "/certificate/cert.pem", href.Value)
	b.shot("20-certificate-regenerated")

	// Someone else saves the telephony page while it is open here.
	b.open("/telephony")
	b.set("f-telephony-system_name", "Mine")
	_, err = b.store.Update(context.Background(), func(p *sysparams.Params) error {
		p.Telephony.SystemName = "Theirs"
		return nil
	})
	require.NoError(t, err)
	b.submit("form[action='/telephony'] button", "#conflict")
	assert.Equal(t, "Theirs", b.params().Telephony.SystemName)
	v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS("#f-telephony-system_name")))
	require.NoError(t, err)
	assert.Equal(t, "Theirs", v, "the page shows what is stored now")
	b.shot("21-telephony-conflict")
}
