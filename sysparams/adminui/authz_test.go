package adminui_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ucxkit/ucxkit/sysparams/adminui"
)

// Every route, with every method, refused by Authorize: 403 before
// anything else happens (a valid CSRF token does not help), no data in
// the body, nothing changed on disk.
func TestAuthorizeGuardsEveryRouteAndMethod(t *testing.T) {
	for _, base := range []string{"", "/admin/params"} {
		t.Run("base="+base, func(t *testing.T) {
			e := newEnv(t, withSecrets, func(o *adminui.Options) { o.BasePath = base })
			before := e.fileBytes()
			tok := e.token("/cloud")
			routes := []string{"/", "/telephony", "/email", "/numbering_plan", "/authentication", "/proxy", "/certificate",
				"/cloud", "/web_server", "/email/test", "/numbering_plan/explain?number=2001", "/certificate/cert.pem",
				"/certificate/regenerate", "/cloud/forget", "/web_server/forget", "/static/style.css", "/static/", "/nope"}
			for _, p := range routes {
				for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodOptions, http.MethodPut, http.MethodDelete} {
					t.Run(m+" "+p, func(t *testing.T) {
						req, _ := http.NewRequest(m, e.srv.URL+base+p, strings.NewReader(url.Values{"csrf_token": {tok}, "telephony.system_name": {"X"}}.Encode()))
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						req.Header.Set(adminHdr, "no")
						r := e.do(req)
						assert.Equal(t, http.StatusForbidden, r.code)
						assert.NotContains(t, r.body, "cloud-client")
						assert.NotContains(t, r.body, "csrf_token")
						assert.NotContains(t, r.body, "BEGIN CERTIFICATE")
					})
				}
			}
			assert.Equal(t, before, e.fileBytes())
			assert.NoDirExists(t, filepath.Join(e.dir, "certs"))
			e.requireNoSecrets()
		})
	}
}
