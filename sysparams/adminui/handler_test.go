package adminui_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/sysparams"
	"github.com/ucxkit/ucxkit/sysparams/adminui"
)

func TestNewRefusesBadOptions(t *testing.T) {
	store, err := sysparams.OpenFile(context.Background(), t.TempDir()+"/p.json", sysparams.FileOptions{})
	require.NoError(t, err)
	defer store.Close()
	allow := func(*http.Request) bool { return true }
	tests := []struct {
		name  string
		store sysparams.Store
		opts  adminui.Options
		want  error
		text  string
	}{
		{name: "nil store", store: nil, opts: adminui.Options{Authorize: allow}, want: adminui.ErrNoStore},
		{name: "nil authorize", store: store, opts: adminui.Options{}, want: adminui.ErrNoAuthorize},
		{name: "base path with trailing slash", store: store, opts: adminui.Options{Authorize: allow, BasePath: "/admin/"}, want: adminui.ErrBasePath},
		{name: "relative base path", store: store, opts: adminui.Options{Authorize: allow, BasePath: "admin"}, want: adminui.ErrBasePath},
		{name: "short csrf key", store: store, opts: adminui.Options{Authorize: allow, CSRFKey: adminui.NewSecret("short")}, text: "options.csrf_key: must be at least 32 bytes"},
		{name: "negative timeout", store: store, opts: adminui.Options{Authorize: allow, TestTimeout: -1}, text: "options.test_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := adminui.New(tc.store, tc.opts)
			require.Error(t, err)
			assert.Nil(t, h)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			assert.Contains(t, err.Error(), tc.text)
			assert.NotContains(t, err.Error(), "short\"")
		})
	}
	t.Run("every problem at once", func(t *testing.T) {
		_, err := adminui.New(nil, adminui.Options{BasePath: "x/"})
		assert.ErrorIs(t, err, adminui.ErrNoStore)
		assert.ErrorIs(t, err, adminui.ErrNoAuthorize)
		assert.ErrorIs(t, err, adminui.ErrBasePath)
	})
}

var pages = []string{"/", "/telephony", "/email", "/numbering_plan", "/authentication", "/proxy", "/certificate", "/cloud", "/web_server", "/static/style.css", "/numbering_plan/explain?number=123"}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	e := newEnv(t, nil)
	check := func(t *testing.T, r resp) {
		t.Helper()
		csp := r.hdr.Get("Content-Security-Policy")
		assert.Contains(t, csp, "default-src 'none'")
		assert.Contains(t, csp, "frame-ancestors 'none'")
		assert.NotContains(t, csp, "unsafe-inline")
		assert.Equal(t, "DENY", r.hdr.Get("X-Frame-Options"))
		assert.Equal(t, "no-referrer", r.hdr.Get("Referrer-Policy"))
		assert.Equal(t, "no-store", r.hdr.Get("Cache-Control"))
		assert.Equal(t, "nosniff", r.hdr.Get("X-Content-Type-Options"))
	}
	for _, p := range append(pages, "/nope", "/cloud/forget") {
		t.Run(p, func(t *testing.T) {
			r := e.get(p)
			check(t, r)
			if p != "/nope" && p != "/cloud/forget" {
				assert.Equal(t, http.StatusOK, r.code)
			}
			if strings.HasSuffix(p, ".css") {
				return
			}
			assert.NotContains(t, r.body, "<script")
		})
	}
	t.Run("refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
		req.Header.Set(adminHdr, "no")
		check(t, e.do(req))
	})
	t.Run("csrf refused", func(t *testing.T) {
		check(t, e.postRaw("/telephony", url.Values{"telephony.system_name": {"X"}}))
	})
}

func TestUnauthorized(t *testing.T) {
	e := newEnv(t, withSecrets)
	before := e.fileBytes()
	tok := e.token("/cloud")
	for _, p := range pages {
		t.Run("GET "+p, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+p, nil)
			req.Header.Set(adminHdr, "no")
			r := e.do(req)
			assert.Equal(t, http.StatusForbidden, r.code)
			assert.NotContains(t, r.body, "cloud-client")
			assert.NotContains(t, r.body, "csrf_token")
		})
	}
	t.Run("POST forget with a valid token", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/cloud/forget", strings.NewReader(url.Values{"csrf_token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(adminHdr, "no")
		assert.Equal(t, http.StatusForbidden, e.do(req).code)
		assert.Equal(t, before, e.fileBytes())
	})
	t.Run("custom handler redirects to login", func(t *testing.T) {
		e2 := newEnv(t, nil, func(o *adminui.Options) {
			o.Unauthorized = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/login?return_to="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
			})
		})
		req, _ := http.NewRequest(http.MethodGet, e2.srv.URL+"/email", nil)
		req.Header.Set(adminHdr, "no")
		r := e2.do(req)
		assert.Equal(t, http.StatusSeeOther, r.code)
		assert.Equal(t, "/login?return_to=%2Femail", r.hdr.Get("Location"))
	})
	e.requireNoSecrets()
}

// formCase is one save of one section's form.
type formCase struct {
	name    string
	seed    func(*sysparams.Params)
	page    string
	form    url.Values
	wantErr map[string]string // field id → text expected next to it
	check   func(t *testing.T, p *sysparams.Params)
	flash   []string // text expected on the page after the redirect
}

func TestForms(t *testing.T) {
	cases := []formCase{
		{name: "telephony valid", page: "/telephony",
			form:  url.Values{"telephony.system_name": {"Branch"}, "telephony.pbx_address": {"pbx.example.com"}},
			check: func(t *testing.T, p *sysparams.Params) { assert.Equal(t, "Branch", p.Telephony.SystemName) },
			flash: []string{"Saved.", sysparams.NoteTelephony}},
		{name: "telephony invalid", page: "/telephony",
			form:    url.Values{"telephony.system_name": {""}, "telephony.pbx_address": {"http://pbx/"}},
			wantErr: map[string]string{"f-telephony-system_name": "is mandatory", "f-telephony-pbx_address": "not a URL"}},
		{name: "email smtp valid", page: "/email",
			form: url.Values{"email.enabled": {"on"}, "email.protocol": {"smtp"}, "email.from": {"Fax <fax@example.com>"}, "email.server": {"mail.example.com"},
				"email.port": {"587"}, "email.security": {"starttls"}, "email.use_auth": {"on"}, "email.username": {"fax"}, "email.password": {"pw-1"},
				"email.proxy": {"none"}, "email.o365.mode": {"graph"}, "email.o365.cloud": {"global"}},
			check: func(t *testing.T, p *sysparams.Params) {
				assert.True(t, p.Email.Enabled)
				assert.Equal(t, 587, p.Email.Port)
				assert.Equal(t, "pw-1", p.Email.Password.Reveal())
			},
			flash: []string{"Saved."}},
		{name: "email office 365 valid", page: "/email",
			form: url.Values{"email.enabled": {"on"}, "email.protocol": {"o365"}, "email.port": {"25"}, "email.security": {"auto"}, "email.proxy": {"none"},
				"email.o365.client_id": {"1cb8b5d2-8724-4f32-8152-a16a230b682b"}, "email.o365.tenant_id": {"969d5b92-bc05-403f-b576-97201b665e65"},
				"email.o365.client_secret": {"cs-1"}, "email.o365.address": {"fax@example.com"}, "email.o365.mode": {"graph"}, "email.o365.cloud": {"global"}},
			check: func(t *testing.T, p *sysparams.Params) {
				assert.Equal(t, sysparams.ProtocolO365, p.Email.Protocol)
				assert.Equal(t, "cs-1", p.Email.O365.ClientSecret.Reveal())
			}},
		{name: "email invalid port and from", page: "/email",
			form: url.Values{"email.enabled": {"on"}, "email.protocol": {"smtp"}, "email.from": {"not an address"}, "email.server": {"mail.example.com"},
				"email.port": {"70000"}, "email.security": {"auto"}, "email.proxy": {"none"}, "email.o365.mode": {"graph"}, "email.o365.cloud": {"global"}},
			wantErr: map[string]string{"f-email-port": "must be 1-65535, got 70000", "f-email-from": "must be an email address"}},
		{name: "email port not a number", page: "/email",
			form:    url.Values{"email.protocol": {"smtp"}, "email.port": {"abc"}, "email.security": {"auto"}, "email.proxy": {"http"}, "email.o365.mode": {"graph"}, "email.o365.cloud": {"global"}},
			wantErr: map[string]string{"f-email-port": "must be a whole number", "f-email-proxy": "proxy.http is not configured"}},
		{name: "numbering plan valid", page: "/numbering_plan",
			form: url.Values{"numbering_plan.internal_patterns": {"2XXX\r\n\r\n3XXX"}, "numbering_plan.local_country_code": {"+39"},
				"numbering_plan.international_prefix": {"00"}, "numbering_plan.outgoing_prefix": {"0"}, "numbering_plan.e164_dialing": {"on"}},
			check: func(t *testing.T, p *sysparams.Params) {
				assert.False(t, p.NumberingPlan.UseDefaults)
				assert.Equal(t, []string{"2XXX", "3XXX"}, p.NumberingPlan.InternalPatterns)
				assert.True(t, p.NumberingPlan.E164Dialing)
			}},
		{name: "numbering plan use defaults", page: "/numbering_plan",
			seed:  func(p *sysparams.Params) { p.NumberingPlan.UseDefaults = false },
			form:  url.Values{"numbering_plan.use_defaults": {"on"}, "numbering_plan.internal_patterns": {"((("}},
			check: func(t *testing.T, p *sysparams.Params) { assert.True(t, p.NumberingPlan.UseDefaults) }},
		{name: "numbering plan invalid pattern", page: "/numbering_plan",
			form:    url.Values{"numbering_plan.internal_patterns": {"2XXX\n2[X"}, "numbering_plan.outgoing_prefix": {"0a"}},
			wantErr: map[string]string{"f-numbering_plan-internal_patterns": "[1]", "f-numbering_plan-outgoing_prefix": ""}},
		{name: "authentication valid", page: "/authentication",
			form: url.Values{"authentication.order": {"sso>ldap>local"}, "authentication.remember_user": {"false"}, "authentication.inactivity_timeout": {"12d"}},
			check: func(t *testing.T, p *sysparams.Params) {
				assert.Equal(t, "sso>ldap>local", string(p.Authentication.Order))
				assert.False(t, p.Authentication.RememberUser)
				assert.Equal(t, "12d", p.Authentication.InactivityTimeout.String())
			}},
		{name: "authentication timeout too long", page: "/authentication",
			form:    url.Values{"authentication.order": {"sso>local"}, "authentication.remember_user": {"true"}, "authentication.inactivity_timeout": {"31d"}},
			wantErr: map[string]string{"f-authentication-inactivity_timeout": "30d"}},
		{name: "authentication timeout not a duration", page: "/authentication",
			form:    url.Values{"authentication.order": {"local>sso"}, "authentication.remember_user": {"true"}, "authentication.inactivity_timeout": {"soon"}},
			wantErr: map[string]string{"f-authentication-inactivity_timeout": "must be a duration", "f-authentication-order": "local"}},
		{name: "proxy valid", page: "/proxy",
			form: url.Values{"proxy.http.address": {"10.0.0.2"}, "proxy.http.port": {"3128"}, "proxy.http.username": {"u"}, "proxy.http.password": {"pp"},
				"proxy.socks.address": {"10.0.0.4"}, "proxy.socks.port": {"3129"}, "proxy.socks.version": {"4"}, "proxy.bypass": {"example.com\n10.0.0.0/8"}},
			check: func(t *testing.T, p *sysparams.Params) {
				assert.Equal(t, 3128, p.Proxy.HTTP.Port)
				assert.Equal(t, "pp", p.Proxy.HTTP.Password.Reveal())
				assert.Equal(t, 4, p.Proxy.SOCKS.Version)
				assert.Equal(t, []string{"example.com", "10.0.0.0/8"}, p.Proxy.Bypass)
			},
			flash: []string{sysparams.NoteProxy}},
		{name: "proxy address without port", page: "/proxy",
			form:    url.Values{"proxy.http.address": {"10.0.0.2"}, "proxy.socks.version": {"5"}, "proxy.socks.port": {"x"}},
			wantErr: map[string]string{"f-proxy-http-port": "", "f-proxy-socks-port": "must be a whole number"}},
		{name: "certificate valid", page: "/certificate",
			form: url.Values{"certificate.key_type": {"ecdsa-p256"}, "certificate.validity_years": {"3"}, "certificate.extra_names": {"pbx-trunk.example.com\n10.0.0.9"}},
			check: func(t *testing.T, p *sysparams.Params) {
				assert.Equal(t, "ecdsa-p256", string(p.Certificate.KeyType))
				assert.Equal(t, 3, p.Certificate.ValidityYears)
				assert.Len(t, p.Certificate.ExtraNames, 2)
			},
			flash: []string{sysparams.NoteCertificate}},
		{name: "certificate invalid", page: "/certificate",
			form:    url.Values{"certificate.key_type": {"rsa512"}, "certificate.validity_years": {"99"}, "certificate.extra_names": {"*.example.com"}},
			wantErr: map[string]string{"f-certificate-key_type": "", "f-certificate-validity_years": "must be 1-30, got 99", "f-certificate-extra_names": "wildcards"}},
		{name: "cloud valid", page: "/cloud",
			form: url.Values{"cloud.client_id": {"abc"}, "cloud.client_secret": {"zz-top"}},
			check: func(t *testing.T, p *sysparams.Params) {
				assert.Equal(t, "abc", p.Cloud.ClientID)
				assert.Equal(t, "zz-top", p.Cloud.ClientSecret.Reveal())
			},
			flash: []string{"Credentials saved using Client ID: <code>abc</code>", "Forget"}},
		{name: "cloud id without secret", page: "/cloud",
			form:    url.Values{"cloud.client_id": {"abc"}},
			wantErr: map[string]string{"f-cloud-client_secret": "is mandatory with client_id"}},
		{name: "web server valid", page: "/web_server",
			form: url.Values{"web_server.base_url": {"https://ucx.example.com"}},
			check: func(t *testing.T, p *sysparams.Params) {
				assert.Equal(t, "https://ucx.example.com", p.WebServer.BaseURL)
			},
			flash: []string{"https://ucx.example.com", "Forget", sysparams.NoteWebServer}},
		{name: "web server http", page: "/web_server",
			form:    url.Values{"web_server.base_url": {"http://ucx.example.com"}},
			wantErr: map[string]string{"f-web_server-base_url": "must start with https://"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.seed)
			before := e.fileBytes()
			r := e.post(tc.page, tc.page, tc.form)
			if tc.wantErr != nil {
				require.Equal(t, http.StatusUnprocessableEntity, r.code, r.body)
				assert.Contains(t, r.body, "The changes were not saved.")
				for id, text := range tc.wantErr {
					d := fieldDesc(r.body, id)
					require.NotEmpty(t, d, "no description block for %s", id)
					assert.Contains(t, d, `class="err"`, "no error next to %s", id)
					assert.Contains(t, d, text, "error next to %s", id)
					assert.Contains(t, r.body, `id="`+id+`"`)
				}
				assert.Equal(t, before, e.fileBytes(), "a refused save must leave the file byte-identical")
				return
			}
			require.Equal(t, http.StatusSeeOther, r.code, r.body)
			loc := r.hdr.Get("Location")
			assert.True(t, strings.HasPrefix(loc, tc.page+"?saved=1"), loc)
			tc.check(t, e.params())
			after := e.get(loc)
			require.Equal(t, http.StatusOK, after.code)
			assert.Contains(t, after.body, "Saved.")
			for _, f := range tc.flash {
				assert.Contains(t, after.body, f)
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, withSecrets)
	form := url.Values{"telephony.system_name": {"Evil"}, "telephony.pbx_address": {"10.6.6.6"}}
	tok := e.token("/telephony")
	before := e.fileBytes()
	endpoints := []string{"/telephony", "/email", "/email/test", "/numbering_plan", "/authentication", "/proxy", "/certificate", "/certificate/regenerate", "/cloud", "/cloud/forget", "/web_server", "/web_server/forget"}
	for _, ep := range endpoints {
		t.Run("missing "+ep, func(t *testing.T) {
			r := e.postRaw(ep, form)
			assert.Equal(t, http.StatusForbidden, r.code)
			assert.Contains(t, r.body, "CSRF")
		})
		t.Run("wrong "+ep, func(t *testing.T) {
			f := url.Values{"csrf_token": {tok[:len(tok)-2] + "AA"}}
			for k, v := range form {
				f[k] = v
			}
			assert.Equal(t, http.StatusForbidden, e.postRaw(ep, f).code)
		})
	}
	t.Run("token without its cookie", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/telephony", strings.NewReader(url.Values{"csrf_token": {tok}, "telephony.system_name": {"Evil"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(adminHdr, "yes")
		res, err := e.srv.Client().Do(req) // no cookie jar
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
	})
	t.Run("token of another handler", func(t *testing.T) {
		other := newEnv(t, nil)
		otok := other.token("/telephony")
		f := url.Values{"csrf_token": {otok}}
		for k, v := range form {
			f[k] = v
		}
		assert.Equal(t, http.StatusForbidden, e.postRaw("/telephony", f).code)
	})
	t.Run("token in the query string", func(t *testing.T) {
		assert.Equal(t, http.StatusForbidden, e.postRaw("/telephony?csrf_token="+url.QueryEscape(tok), form).code)
	})
	t.Run("cross-site browser request with a valid token", func(t *testing.T) {
		f := url.Values{"csrf_token": {tok}}
		for k, v := range form {
			f[k] = v
		}
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/telephony", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		assert.Equal(t, http.StatusForbidden, e.do(req).code)
	})
	assert.Equal(t, before, e.fileBytes())
	t.Run("valid token saves", func(t *testing.T) {
		f := url.Values{"csrf_token": {tok}}
		for k, v := range form {
			f[k] = v
		}
		assert.Equal(t, http.StatusSeeOther, e.postRaw("/telephony", f).code)
		assert.Equal(t, "Evil", e.params().Telephony.SystemName)
	})
	e.requireNoSecrets()
}

func TestMethods(t *testing.T) {
	e := newEnv(t, withSecrets)
	before := e.fileBytes()
	for _, ep := range []string{"/email/test", "/cloud/forget", "/web_server/forget", "/certificate/regenerate"} {
		t.Run("GET "+ep, func(t *testing.T) {
			r := e.get(ep)
			assert.Equal(t, http.StatusMethodNotAllowed, r.code)
			assert.Equal(t, "POST", r.hdr.Get("Allow"))
		})
	}
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		t.Run(m, func(t *testing.T) {
			req, _ := http.NewRequest(m, e.srv.URL+"/cloud", nil)
			assert.Equal(t, http.StatusMethodNotAllowed, e.do(req).code)
		})
	}
	t.Run("HEAD has no body", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodHead, e.srv.URL+"/email", nil)
		r := e.do(req)
		assert.Equal(t, http.StatusOK, r.code)
		assert.Empty(t, r.body)
	})
	assert.Equal(t, before, e.fileBytes())
	assert.NoDirExists(t, e.dir+"/certs", "GET must not create the certificate")
}

func TestSecretsNeverSent(t *testing.T) {
	e := newEnv(t, withSecrets)
	for _, p := range pages {
		r := e.get(p)
		require.Equal(t, http.StatusOK, r.code, p)
	}
	// Every form re-rendered after a refused save.
	e.post("/email", "/email", url.Values{"email.enabled": {"on"}, "email.protocol": {"smtp"}, "email.port": {"0"}, "email.use_auth": {"on"}, "email.security": {"none"}})
	e.post("/proxy", "/proxy", url.Values{"proxy.http.address": {"10.0.0.2"}, "proxy.http.username": {"hu"}, "proxy.socks.address": {"10.0.0.4"}, "proxy.socks.port": {"99999"}, "proxy.socks.username": {"su"}, "proxy.socks.version": {"5"}})
	e.post("/cloud", "/cloud", url.Values{"cloud.client_id": {" bad id "}})
	e.post("/email", "/email/test", url.Values{"email.enabled": {"on"}, "email.protocol": {"smtp"}, "email.from": {"fax@example.com"}, "email.server": {"127.0.0.1"}, "email.port": {"1"}, "email.security": {"auto"}, "email.use_auth": {"on"}, "email.username": {"fax"}, "email.proxy": {"none"}, "email.o365.mode": {"graph"}, "email.o365.cloud": {"global"}})
	require.NotEmpty(t, e.bodies)
	e.requireNoSecrets()
	// The stored secrets survived the refused saves.
	p := e.params()
	assert.Equal(t, secEmail, p.Email.Password.Reveal())
	assert.Equal(t, secHTTP, p.Proxy.HTTP.Password.Reveal())
	assert.Equal(t, secCloud, p.Cloud.ClientSecret.Reveal())
	// Password inputs are empty and say a value is stored.
	r := e.get("/email")
	assert.Contains(t, r.body, `name="email.password" value=""`)
	assert.Contains(t, r.body, "Leave empty to keep it.")
}

func TestLeaveEmptyToKeepAndRemove(t *testing.T) {
	e := newEnv(t, withSecrets)
	base := url.Values{"email.enabled": {"on"}, "email.protocol": {"smtp"}, "email.from": {"fax@example.com"}, "email.server": {"127.0.0.1"},
		"email.port": {"25"}, "email.security": {"auto"}, "email.use_auth": {"on"}, "email.username": {"fax2"}, "email.proxy": {"none"},
		"email.o365.mode": {"graph"}, "email.o365.cloud": {"global"}}
	r := e.post("/email", "/email", base)
	require.Equal(t, http.StatusSeeOther, r.code, r.body)
	p := e.params()
	assert.Equal(t, "fax2", p.Email.Username)
	assert.Equal(t, secEmail, p.Email.Password.Reveal(), "empty password input keeps the stored one")
	assert.Equal(t, secO365, p.Email.O365.ClientSecret.Reveal())

	f := url.Values{}
	for k, v := range base {
		f[k] = v
	}
	f.Set("email.use_auth", "")
	f.Del("email.use_auth")
	f.Set("email.o365.client_secret.clear", "on")
	r = e.post("/email", "/email", f)
	require.Equal(t, http.StatusSeeOther, r.code, r.body)
	p = e.params()
	assert.False(t, p.Email.O365.ClientSecret.IsSet(), "remove checkbox clears the secret")
	assert.Equal(t, secEmail, p.Email.Password.Reveal())

	// Removing a password that use_auth needs is refused, and nothing changes.
	before := e.fileBytes()
	f = url.Values{}
	for k, v := range base {
		f[k] = v
	}
	f.Set("email.password.clear", "on")
	r = e.post("/email", "/email", f)
	require.Equal(t, http.StatusUnprocessableEntity, r.code)
	assert.Contains(t, fieldDesc(r.body, "f-email-password"), "is mandatory with use_auth")
	assert.Equal(t, before, e.fileBytes())
	e.requireNoSecrets()
}

func TestForget(t *testing.T) {
	e := newEnv(t, func(p *sysparams.Params) {
		withSecrets(p)
		p.WebServer.BaseURL = "https://ucx.example.com"
	})
	r := e.get("/cloud")
	assert.Contains(t, r.body, "Credentials saved using Client ID: <code>cloud-client</code>")
	assert.NotContains(t, r.body, `name="cloud.client_id"`)
	r = e.post("/cloud", "/cloud/forget", nil)
	require.Equal(t, http.StatusSeeOther, r.code, r.body)
	assert.False(t, e.params().Cloud.Configured())
	r = e.get("/cloud")
	assert.Contains(t, r.body, `name="cloud.client_id"`)
	assert.NotContains(t, r.body, "Credentials saved")

	r = e.get("/web_server")
	assert.Contains(t, r.body, "https://ucx.example.com")
	r = e.post("/web_server", "/web_server/forget", nil)
	require.Equal(t, http.StatusSeeOther, r.code)
	assert.Empty(t, e.params().WebServer.BaseURL)
	r = e.get("/web_server")
	assert.Contains(t, r.body, "https://"+fixedHost)

	// Forgetting again changes nothing.
	r = e.post("/web_server", "/web_server/forget", nil)
	require.Equal(t, http.StatusSeeOther, r.code)
	assert.Contains(t, r.hdr.Get("Location"), "saved=0")
	e.requireNoSecrets()
}

func TestCertificate(t *testing.T) {
	e := newEnv(t, nil)
	r := e.get("/certificate")
	assert.Contains(t, r.body, "Status: missing")
	assert.Contains(t, r.body, "Generate certificate")
	assert.Equal(t, http.StatusNotFound, e.get("/certificate/cert.pem").code)

	r = e.post("/certificate", "/certificate/regenerate", nil)
	require.Equal(t, http.StatusSeeOther, r.code, r.body)
	assert.Contains(t, r.hdr.Get("Location"), "done=created")
	r = e.get(r.hdr.Get("Location"))
	assert.Contains(t, r.body, "Certificate created.")
	assert.Contains(t, r.body, "Status: valid")
	assert.Contains(t, r.body, "Download certificate (.pem)")
	assert.Contains(t, r.body, "days left")

	dl := e.get("/certificate/cert.pem")
	require.Equal(t, http.StatusOK, dl.code)
	assert.Equal(t, "application/x-pem-file", dl.hdr.Get("Content-Type"))
	assert.Equal(t, `attachment; filename="`+fixedHost+`.pem"`, dl.hdr.Get("Content-Disposition"))
	assert.NotContains(t, dl.body, "PRIVATE KEY")
	blk, rest := pem.Decode([]byte(dl.body))
	require.NotNil(t, blk)
	assert.Empty(t, bytes.TrimSpace(rest))
	c1, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	assert.Equal(t, fixedHost, c1.Subject.CommonName)

	r = e.post("/certificate", "/certificate/regenerate", nil)
	require.Equal(t, http.StatusSeeOther, r.code)
	assert.Contains(t, r.hdr.Get("Location"), "done=regenerated")
	blk, _ = pem.Decode([]byte(e.get("/certificate/cert.pem").body))
	require.NotNil(t, blk)
	c2, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	assert.NotEqual(t, c1.SerialNumber, c2.SerialNumber)
	for _, b := range e.bodies {
		assert.NotContains(t, b, "PRIVATE KEY")
	}
}

func TestEmailTestConnection(t *testing.T) {
	port := startSMTP(t)
	e := newEnv(t, nil)
	form := func(port string) url.Values {
		return url.Values{"email.protocol": {"smtp"}, "email.from": {"fax@example.com"}, "email.server": {"127.0.0.1"}, "email.port": {port},
			"email.security": {"none"}, "email.proxy": {"none"}, "email.o365.mode": {"graph"}, "email.o365.cloud": {"global"}}
	}
	before := e.fileBytes()
	t.Run("success", func(t *testing.T) {
		r := e.post("/email", "/email/test", form(itoa(port)))
		require.Equal(t, http.StatusOK, r.code, r.body)
		assert.Contains(t, r.body, "Connection test: succeeded")
		assert.Contains(t, r.body, "127.0.0.1:"+itoa(port))
		// The page keeps the tested values in the form.
		assert.Contains(t, r.body, `value="`+itoa(port)+`"`)
	})
	t.Run("closed port fails at the dial step", func(t *testing.T) {
		r := e.post("/email", "/email/test", form(itoa(closedPort(t))))
		require.Equal(t, http.StatusOK, r.code, r.body)
		assert.Contains(t, r.body, "Connection test: failed at step “dial”")
		assert.Contains(t, r.body, `class="st-failed"`)
	})
	t.Run("invalid settings", func(t *testing.T) {
		r := e.post("/email", "/email/test", form("0"))
		require.Equal(t, http.StatusUnprocessableEntity, r.code, r.body)
		assert.Contains(t, fieldDesc(r.body, "f-email-port"), "must be 1-65535")
	})
	assert.Equal(t, before, e.fileBytes(), "a test never saves")
}

func TestExplain(t *testing.T) {
	e := newEnv(t, func(p *sysparams.Params) {
		p.NumberingPlan.UseDefaults = false
		p.NumberingPlan.InternalPatterns = []string{"2XXX"}
		p.NumberingPlan.LocalCountryCode = "+39"
		p.NumberingPlan.InternationalPrefix = "00"
	})
	before := e.fileBytes()
	r := e.get("/numbering_plan/explain?number=00390212345678&direction=in")
	require.Equal(t, http.StatusOK, r.code)
	assert.Contains(t, r.body, `class="trace"`)
	assert.Contains(t, r.body, "&#43;390212345678") // html/template escapes +
	r = e.get("/numbering_plan/explain?number=2001&direction=classify")
	assert.Contains(t, r.body, "internal")
	r = e.get("/numbering_plan/explain?number=2001&direction=sideways")
	assert.Contains(t, r.body, "direction must be")
	r = e.get("/numbering_plan/explain?number=abc%00&direction=in")
	assert.Equal(t, http.StatusOK, r.code)
	assert.Equal(t, before, e.fileBytes())
}

func TestBasePath(t *testing.T) {
	e := newEnv(t, nil, func(o *adminui.Options) { o.BasePath = "/admin/params" })
	r := e.get("")
	assert.Equal(t, http.StatusSeeOther, r.code)
	assert.Equal(t, "/admin/params/", r.hdr.Get("Location"))
	r = e.get("/")
	require.Equal(t, http.StatusOK, r.code)
	assert.Contains(t, r.body, `href="/admin/params/email"`)
	assert.Contains(t, r.body, `href="/admin/params/static/style.css"`)
	assert.Equal(t, http.StatusOK, e.get("/static/style.css").code)
	r = e.post("/telephony", "/telephony", url.Values{"telephony.system_name": {"B"}, "telephony.pbx_address": {"10.0.0.3"}})
	require.Equal(t, http.StatusSeeOther, r.code, r.body)
	assert.True(t, strings.HasPrefix(r.hdr.Get("Location"), "/admin/params/telephony?saved=1"))
}

func TestOtherSectionProblemsLinked(t *testing.T) {
	dir := t.TempDir()
	store, err := sysparams.OpenFile(context.Background(), dir+"/params.json", sysparams.FileOptions{})
	require.NoError(t, err)
	defer store.Close()
	h, err := adminui.New(store, adminui.Options{Authorize: func(*http.Request) bool { return true }, Hostname: fixedHost})
	require.NoError(t, err)
	e := &env{t: t}
	_ = e
	// A fresh installation: telephony is not configured, so saving the
	// web server section is refused with a link to the telephony page.
	srvEnv := newEnvFromHandler(t, h)
	r := srvEnv.post("/web_server", "/web_server", url.Values{"web_server.base_url": {"https://ucx.example.com"}})
	require.Equal(t, http.StatusUnprocessableEntity, r.code)
	assert.Contains(t, r.body, `<a href="/telephony">telephony.system_name: is mandatory</a>`)
	idx := srvEnv.get("/")
	assert.Contains(t, idx.body, "to fix")
	var fe *sysparams.FileError
	assert.False(t, errors.As(err, &fe))
}

func TestEmailTestOffice365(t *testing.T) {
	// A fake Microsoft identity platform that refuses the client secret,
	// as login.microsoftonline.com does (RFC 6749 §5.2 error body).
	var gotPath string
	idp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.Path
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}`))
	}))
	defer idp.Close()
	e := newEnv(t, func(p *sysparams.Params) {
		p.Email.O365.ClientSecret = sysparams.NewSecret(secO365)
		p.Email.O365.AuthURL = idp.URL // the stored secret belongs to this login URL
	}, func(o *adminui.Options) {
		o.MailOptions.HTTPClient = idp.Client()
	})
	before := e.fileBytes()
	r := e.post("/email", "/email/test", url.Values{"email.protocol": {"o365"}, "email.port": {"25"}, "email.security": {"auto"}, "email.proxy": {"none"},
		"email.o365.client_id": {"1cb8b5d2-8724-4f32-8152-a16a230b682b"}, "email.o365.tenant_id": {"969d5b92-bc05-403f-b576-97201b665e65"},
		"email.o365.address": {"fax@example.com"}, "email.o365.mode": {"graph"}, "email.o365.cloud": {"global"}, "email.o365.auth_url": {idp.URL}})
	require.Equal(t, http.StatusOK, r.code, r.body)
	assert.Equal(t, "/969d5b92-bc05-403f-b576-97201b665e65/oauth2/v2.0/token", gotPath)
	assert.Contains(t, r.body, "Connection test: failed at step “token”")
	assert.Contains(t, r.body, "AADSTS7000215")
	assert.Equal(t, before, e.fileBytes())
	e.requireNoSecrets()
}

func TestGetChangesNothing(t *testing.T) {
	e := newEnv(t, withSecrets)
	before := e.fileBytes()
	for _, p := range append(pages, "/certificate/cert.pem", "/email/test", "/cloud/forget", "/web_server/forget", "/certificate/regenerate", "/telephony?telephony.system_name=X") {
		e.get(p)
	}
	assert.Equal(t, before, e.fileBytes())
	assert.NoDirExists(t, filepath.Join(e.dir, "certs"))
	e.requireNoSecrets()
}

func TestFormLimits(t *testing.T) {
	e := newEnv(t, nil)
	before := e.fileBytes()
	tok := e.token("/telephony")
	big := url.Values{"csrf_token": {tok}, "telephony.system_name": {strings.Repeat("x", 70<<10)}, "telephony.pbx_address": {"10.0.0.1"}}
	assert.Equal(t, http.StatusRequestEntityTooLarge, e.postRaw("/telephony", big).code)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/telephony", strings.NewReader("csrf_token=%zz"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	assert.Equal(t, http.StatusBadRequest, e.do(req).code)
	assert.Equal(t, before, e.fileBytes())
}
