package adminui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const xss = `"'><svg onload=alert(1)>`

var textInputRE = regexp.MustCompile(`<(?:input type="text"[^>]*|textarea[^>]*) name="([a-z0-9_.]+)"`)

// Every text field of every form, posted with markup: whether the save
// is refused (the form is shown again with the typed values and the
// messages that quote them) or stored (and then shown on the page and in
// the index summary), the markup only ever comes back escaped.
func TestMarkupInEveryFieldIsEscaped(t *testing.T) {
	e := newEnv(t, nil)
	for _, page := range []string{"/telephony", "/email", "/numbering_plan", "/authentication", "/proxy", "/certificate", "/cloud", "/web_server"} {
		t.Run(page, func(t *testing.T) {
			body := e.get(page).body
			f := url.Values{}
			for _, m := range textInputRE.FindAllStringSubmatch(body, -1) {
				f.Set(m[1], xss)
			}
			require.NotEmpty(t, f, "text fields on %s", page)
			r := e.post(page, page, f)
			require.Contains(t, []int{http.StatusSeeOther, http.StatusUnprocessableEntity}, r.code, r.body)
			if r.code == http.StatusSeeOther {
				r = e.get(r.hdr.Get("Location"))
			}
			assert.NotContains(t, r.body, "<svg")
			assert.Contains(t, r.body, "&lt;svg onload=alert(1)&gt;", "the value is shown, escaped")
			// One field alone, so that a message quoting it comes back.
			for name := range f {
				r := e.post(page, page, url.Values{name: {xss}})
				assert.NotContains(t, r.body, "<svg", name)
			}
		})
	}
	// Stored markup (system_name is free text) on the index and in titles.
	r := e.post("/telephony", "/telephony", url.Values{"telephony.system_name": {xss}, "telephony.pbx_address": {"10.0.0.1"}})
	require.Equal(t, http.StatusSeeOther, r.code, r.body)
	for _, p := range []string{"/", "/telephony"} {
		assert.NotContains(t, e.get(p).body, "<svg")
	}
	q := url.Values{"number": {xss}, "primary": {xss}, "direction": {xss}}
	r = e.get("/numbering_plan/explain?" + q.Encode())
	assert.NotContains(t, r.body, "<svg")
	q.Set("direction", "in")
	r = e.get("/numbering_plan/explain?" + q.Encode())
	assert.NotContains(t, r.body, "<svg")
	assert.True(t, strings.Contains(r.body, "&lt;svg"), "the number is shown, escaped")
}
