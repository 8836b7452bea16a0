package adminui_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ucxkit/ucxkit/authchain"
	"github.com/ucxkit/ucxkit/sysparams"
)

// The section list reads like the seed: the authentication order by its
// name on the authentication page, the cloud credentials as "Credentials
// saved using Client ID: …".
func TestIndexSummaries(t *testing.T) {
	e := newEnv(t, func(p *sysparams.Params) {
		withSecrets(p)
		p.Authentication.Order = authchain.Order("sso>ucm>ldap>local")
		p.Authentication.RememberUser = true
	})
	body := e.get("/").body
	for _, want := range []string{
		"SSO &gt; Cisco UCM &gt; AD/LDAP &gt; Local; users remembered",
		"Credentials saved using Client ID: cloud-client",
		"HTTP 10.0.0.2:3128, SOCKS 10.0.0.4:1080",
		"SMTP 127.0.0.1:25",
	} {
		assert.Contains(t, body, want)
	}
	assert.Contains(t, body, "missing (rsa2048, 5 years)")
	r := e.post("/certificate", "/certificate/regenerate", nil)
	assert.Equal(t, http.StatusSeeOther, r.code)
	assert.Contains(t, e.get("/").body, "valid, expires 3 Dec 2031 (")

	// Every label of the summary is the one the authentication page offers.
	auth := e.get("/authentication").body
	for _, l := range []string{"SSO &gt; AD/LDAP &gt; Local", "SSO &gt; Cisco UCM &gt; Local", "SSO &gt; Local",
		"SSO &gt; AD/LDAP &gt; Cisco UCM &gt; Local", "SSO &gt; Cisco UCM &gt; AD/LDAP &gt; Local"} {
		assert.Contains(t, auth, ">"+l+"</option>")
	}
	e.requireNoSecrets()
}
