package adminui_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/sysparams"
	"github.com/ucxkit/ucxkit/sysparams/adminui"
)

// A stored secret is only sent to the destination it was saved for: an
// administrator who changes the server, login URL or proxy address and
// leaves the password empty must type it again, so nobody with access to
// the pages can collect a stored password by pointing "Test connection"
// (or the saved settings) at a server of theirs.
func TestStoredSecretStaysWithItsDestination(t *testing.T) {
	emailForm := func(server string) url.Values {
		return url.Values{"email.enabled": {"on"}, "email.protocol": {"smtp"}, "email.from": {"fax@example.com"},
			"email.server": {server}, "email.port": {"25"}, "email.security": {"auto"}, "email.use_auth": {"on"},
			"email.username": {"fax"}, "email.proxy": {"none"}, "email.o365.mode": {"graph"}, "email.o365.cloud": {"global"}}
	}
	const retype = "type it again: the server changed"

	t.Run("smtp test connection to another server", func(t *testing.T) {
		e := newEnv(t, withSecrets)
		port := startSMTP(t)
		f := emailForm("localhost")
		f.Set("email.port", itoa(port))
		r := e.post("/email", "/email/test", f)
		require.Equal(t, http.StatusUnprocessableEntity, r.code, r.body)
		assert.Contains(t, fieldDesc(r.body, "f-email-password"), retype)
		assert.NotContains(t, r.body, "Connection test:", "no connection is made")
		e.requireNoSecrets()
	})
	t.Run("smtp save with another server", func(t *testing.T) {
		e := newEnv(t, withSecrets)
		before := e.fileBytes()
		r := e.post("/email", "/email", emailForm("mail.attacker.example"))
		require.Equal(t, http.StatusUnprocessableEntity, r.code, r.body)
		assert.Contains(t, fieldDesc(r.body, "f-email-password"), retype)
		assert.Equal(t, before, e.fileBytes())
		// Typing the password again is accepted.
		f := emailForm("mail.example.com")
		f.Set("email.password", "new-password")
		r = e.post("/email", "/email", f)
		require.Equal(t, http.StatusSeeOther, r.code, r.body)
		assert.Equal(t, "new-password", e.params().Email.Password.Reveal())
		e.requireNoSecrets()
	})
	t.Run("same server keeps the stored password", func(t *testing.T) {
		e := newEnv(t, withSecrets)
		r := e.post("/email", "/email", emailForm("127.0.0.1"))
		require.Equal(t, http.StatusSeeOther, r.code, r.body)
		assert.Equal(t, secEmail, e.params().Email.Password.Reveal())
	})
	t.Run("office 365 login URL changed", func(t *testing.T) {
		var hits atomic.Int32
		idp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			http.Error(w, "{}", http.StatusUnauthorized)
		}))
		defer idp.Close()
		e := newEnv(t, func(p *sysparams.Params) { p.Email.O365.ClientSecret = sysparams.NewSecret(secO365) }, func(o *adminui.Options) {
			o.MailOptions.HTTPClient = idp.Client()
		})
		r := e.post("/email", "/email/test", url.Values{"email.protocol": {"o365"}, "email.port": {"25"}, "email.security": {"auto"},
			"email.proxy": {"none"}, "email.o365.client_id": {"1cb8b5d2-8724-4f32-8152-a16a230b682b"},
			"email.o365.tenant_id": {"969d5b92-bc05-403f-b576-97201b665e65"}, "email.o365.address": {"fax@example.com"},
			"email.o365.mode": {"graph"}, "email.o365.cloud": {"global"}, "email.o365.auth_url": {idp.URL}})
		require.Equal(t, http.StatusUnprocessableEntity, r.code, r.body)
		assert.Contains(t, fieldDesc(r.body, "f-email-o365-client_secret"), "type it again: the authentication URL changed")
		assert.Zero(t, hits.Load(), "the stored client secret never reached the new login URL")
		e.requireNoSecrets()
	})
	t.Run("proxy address changed", func(t *testing.T) {
		e := newEnv(t, withSecrets)
		f := url.Values{"proxy.http.address": {"proxy.attacker.example"}, "proxy.http.port": {"3128"}, "proxy.http.username": {"hu"},
			"proxy.socks.address": {"10.0.0.4"}, "proxy.socks.port": {"1080"}, "proxy.socks.version": {"5"}, "proxy.socks.username": {"su"}}
		r := e.post("/proxy", "/proxy", f)
		require.Equal(t, http.StatusUnprocessableEntity, r.code, r.body)
		assert.Contains(t, fieldDesc(r.body, "f-proxy-http-password"), "type it again: the proxy address changed")
		assert.NotContains(t, fieldDesc(r.body, "f-proxy-socks-password"), "type it again")
		// An unused secret whose destination goes away is dropped, so it
		// cannot follow a later address.
		f.Set("proxy.http.address", "")
		f.Set("proxy.http.port", "")
		f.Set("proxy.http.username", "")
		r = e.post("/proxy", "/proxy", f)
		require.Equal(t, http.StatusSeeOther, r.code, r.body)
		p := e.params()
		assert.False(t, p.Proxy.HTTP.Password.IsSet())
		assert.Equal(t, secSOCKS, p.Proxy.SOCKS.Password.Reveal())
		e.requireNoSecrets()
	})
}
