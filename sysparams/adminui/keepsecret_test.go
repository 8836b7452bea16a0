package adminui_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResubmitKeepsSecretsUnchanged posts each page that holds a secret
// with the stored values and every password input left empty: the stored
// secrets stay, and the save reports no change (an empty input is not a
// change of the secret).
func TestResubmitKeepsSecretsUnchanged(t *testing.T) {
	pages := []struct {
		page string
		form url.Values
	}{
		{"/proxy", url.Values{"proxy.http.address": {"10.0.0.2"}, "proxy.http.port": {"3128"}, "proxy.http.username": {"hu"},
			"proxy.socks.address": {"10.0.0.4"}, "proxy.socks.port": {"1080"}, "proxy.socks.version": {"5"}, "proxy.socks.username": {"su"}}},
		{"/cloud", url.Values{"cloud.client_id": {"cloud-client"}}},
	}
	for _, pg := range pages {
		t.Run(pg.page, func(t *testing.T) {
			e := newEnv(t, withSecrets)
			r := e.post(pg.page, pg.page, pg.form)
			require.Equal(t, http.StatusSeeOther, r.code, r.body)
			assert.Contains(t, r.hdr.Get("Location"), "saved=0", "nothing changed")
			p := e.params()
			assert.Equal(t, secEmail, p.Email.Password.Reveal())
			assert.Equal(t, secO365, p.Email.O365.ClientSecret.Reveal())
			assert.Equal(t, secHTTP, p.Proxy.HTTP.Password.Reveal())
			assert.Equal(t, secSOCKS, p.Proxy.SOCKS.Password.Reveal())
			assert.Equal(t, secCloud, p.Cloud.ClientSecret.Reveal())
			e.requireNoSecrets()
		})
	}
}
